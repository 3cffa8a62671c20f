//! The vault's index (record name -> record id, created, summary): its encoding (JSON,
//! from format 2 deflated behind a prefix), sealing and re-reading.

use super::header::Header;
use super::{idx_name, UnlockedVault, VaultError};
use crate::crypto::{Dek, RecordPlace};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Default, Serialize, Deserialize)]
pub(super) struct Index {
    pub(super) records: BTreeMap<String, IndexEntry>,
}

#[derive(Clone, Serialize, Deserialize)]
pub(super) struct IndexEntry {
    pub(super) id: String,
    pub(super) created_at: u64,
    /// Written with the record, in the same commit (see [`UnlockedVault::put_with_summary`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) summary: Option<String>,
}

/// From format 2 the index's plaintext starts with this, then a deflate stream of its
/// JSON: the summaries repeat the same providers and words, so a thousand connections'
/// index shrinks about tenfold and stays in one or two keystore entries. A format-1 index
/// is plain JSON; builds of late November 2026 also wrote this compressed form under format
/// 1, so a format-1 index is read in either form. Only the key's holder can write an
/// index, so the inflate cap below guards against damage, not an attacker.
pub(super) const INDEX_DEFLATE: &[u8] = b"TWIDXZ1\n";
/// The largest index inflated (a cost cap).
const INDEX_MAX: u64 = 256 << 20;

pub(super) fn encode_index(index: &Index, format: u64) -> zeroize::Zeroizing<Vec<u8>> {
    use std::io::Write as _;
    // Invariant: the index is a map of strings and integers; it always serialises.
    let json = zeroize::Zeroizing::new(serde_json::to_vec(index).expect("index serialises"));
    if format < 2 {
        return json;
    }
    let mut z =
        flate2::write::DeflateEncoder::new(INDEX_DEFLATE.to_vec(), flate2::Compression::fast());
    // Invariant: writing into a Vec cannot fail.
    z.write_all(&json).expect("deflate into memory");
    zeroize::Zeroizing::new(z.finish().expect("deflate into memory"))
}

fn decode_index(plain: &[u8], format: u64) -> Option<Index> {
    use std::io::Read as _;
    match plain.strip_prefix(INDEX_DEFLATE) {
        Some(z) => {
            let mut json = zeroize::Zeroizing::new(Vec::new());
            flate2::read::DeflateDecoder::new(z)
                .take(INDEX_MAX + 1)
                .read_to_end(&mut json)
                .ok()?;
            if json.len() as u64 > INDEX_MAX {
                return None;
            }
            serde_json::from_slice(&json).ok()
        }
        None if format < 2 => serde_json::from_slice(plain).ok(),
        None => None,
    }
}

pub(super) fn open_index(dek: &Dek, h: &Header, raw: Option<Vec<u8>>) -> Result<Index, VaultError> {
    let name = idx_name(h.generation);
    let raw = raw.ok_or_else(|| VaultError::Damaged {
        what: format!("the index `{name}`"),
        why: "is missing",
    })?;
    let place = RecordPlace {
        vault: h.vault_id,
        generation: h.generation,
        entry: &name,
    };
    let plain = dek.open(&place, &raw).ok_or_else(|| VaultError::Damaged {
        what: format!("the index `{name}`"),
        why: "fails authentication",
    })?;
    decode_index(&plain, h.format).ok_or_else(|| VaultError::Damaged {
        what: format!("the index `{name}`"),
        why: "is not a valid index",
    })
}

pub(super) fn new_record_id() -> String {
    hex::encode(crate::crypto::random::<12>())
}

impl UnlockedVault {
    /// Writes generation `g`'s index, encoded as vault format `format` wants it.
    pub(super) fn write_index(
        &self,
        g: u64,
        dek: &Dek,
        index: &Index,
        format: u64,
    ) -> Result<(), VaultError> {
        let name = idx_name(g);
        let plain = encode_index(index, format);
        let blob = dek.seal(
            &RecordPlace {
                vault: self.header.vault_id,
                generation: g,
                entry: &name,
            },
            &plain,
        );
        self.ks.set(&name, &blob)?;
        Ok(())
    }

    /// Re-reads the index (another process may have added or removed records).
    pub(super) fn reload_index(&mut self) -> Result<(), VaultError> {
        let raw = self.ks.get(&idx_name(self.header.generation))?;
        self.index = open_index(&self.dek, &self.header, raw)?;
        Ok(())
    }
}
