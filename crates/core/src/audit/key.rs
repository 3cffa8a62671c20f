//! The audit log's keys: the MAC key ([`AuditKey`], a vault record), the name key derived
//! from it ([`NameKey`], which labels connections) and the keys a log caches while the
//! vault is unlocked ([`Keys`]).

use super::event::Line;
use super::log::AuditLog;
use super::AuditError;
use crate::vault::UnlockedVault;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;

type HmacSha256 = Hmac<Sha256>;

/// A key that names connections where a clear name would tell too much (audit lines,
/// refresh lock files): HMAC-SHA256 keyed with HMAC-SHA256(audit key,
/// `"token-wallet/name-key/v1"`). The audit key is a vault record that a data-key
/// rotation, a passphrase change and a format upgrade carry over unchanged, so the labels
/// are stable for the vault's life; nothing in the clear derives them.
#[derive(Clone)]
pub struct NameKey(zeroize::Zeroizing<[u8; 32]>);

impl NameKey {
    pub(super) fn of(audit: &AuditKey) -> Self {
        // Invariant: HMAC accepts keys of any length.
        let mut m = HmacSha256::new_from_slice(&audit.0).expect("any key length");
        m.update(b"token-wallet/name-key/v1");
        let mut k = zeroize::Zeroizing::new([0u8; 32]);
        k.copy_from_slice(&m.finalize().into_bytes());
        Self(k)
    }

    /// HMAC-SHA256 of `purpose`, a zero byte and `name`.
    pub fn tag(&self, purpose: &str, name: &str) -> [u8; 32] {
        // Invariant: as above.
        let mut m = HmacSha256::new_from_slice(&*self.0).expect("any key length");
        m.update(purpose.as_bytes());
        m.update(&[0]);
        m.update(name.as_bytes());
        m.finalize().into_bytes().into()
    }

    /// How audit lines name the connection `name`: `#` and 16 hex (64 bits of the tag).
    pub fn audit_label(&self, name: &str) -> String {
        format!(
            "{LABEL_PREFIX}{}",
            hex::encode(&self.tag("audit-connection", name)[..8])
        )
    }
}

impl std::fmt::Debug for NameKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NameKey(<redacted>)")
    }
}

/// How a connection's label starts in an audit line (names never hold it).
pub const LABEL_PREFIX: char = '#';

/// The name key of `vault` (the audit key is made first if the vault has none yet).
pub fn name_key(vault: &mut UnlockedVault) -> Result<NameKey, AuditError> {
    Ok(NameKey::of(&AuditLog::load_key(vault)?))
}

/// The keys a log caches while the vault is unlocked, and the labels it can map back.
pub(super) struct Keys {
    pub(super) mac: AuditKey,
    pub(super) names: NameKey,
    /// Label -> name, for every connection the vault held when the keys were read or
    /// the log was last anchored, and every one named in a line written since.
    pub(super) labels: HashMap<String, String>,
}

impl Keys {
    pub(super) fn learn(&mut self, vault: &UnlockedVault) {
        for n in crate::connection::names(vault) {
            let label = self.names.audit_label(&n);
            self.labels.entry(label).or_insert_with(|| n.to_string());
        }
    }
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(<redacted>)")
    }
}

/// The audit log's MAC key (a vault record): it authenticates lines and checks them,
/// and cannot be mistaken for any other key.
#[derive(Clone)]
pub(super) struct AuditKey(pub(super) zeroize::Zeroizing<Vec<u8>>);

impl AuditKey {
    /// The HMAC over a line without its `mac` field, ready to finish.
    fn state(&self, line: &Line) -> HmacSha256 {
        let mut unmacd = line.clone();
        unmacd.mac = None;
        // Invariant: as in `append`.
        let bytes = serde_json::to_vec(&unmacd).expect("audit line serialises");
        // Invariant: HMAC accepts keys of any length.
        let mut m = HmacSha256::new_from_slice(&self.0).expect("any key length");
        m.update(&bytes);
        m
    }

    /// The line's MAC, hex.
    pub(super) fn mac(&self, line: &Line) -> String {
        hex::encode(self.state(line).finalize().into_bytes())
    }

    /// Whether `mac` (hex, as stored) is the line's MAC, compared in constant time
    /// (`Mac::verify_slice`): the time taken does not tell how many leading bytes match.
    pub(super) fn verify(&self, line: &Line, mac: &str) -> bool {
        match hex::decode(mac) {
            Ok(tag) => self.state(line).verify_slice(&tag).is_ok(),
            Err(_) => false,
        }
    }
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(<redacted>)")
    }
}
