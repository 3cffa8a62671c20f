//! The vault header: the one entry that names the current data-key generation. Writing it
//! is the commit point of every key change.
//!
//! Stored form: `TWVAULT\n` + JSON body + `\n` + hex SHA-256 of the body. The checksum
//! tells a damaged header (truncated, bit flips) from a wrong passphrase: a header whose
//! checksum holds but whose data key will not unwrap was opened with the wrong passphrase.

use super::VaultError;
use super::{FORMAT_VERSION, OLDEST_FORMAT};
use crate::crypto::{KdfParams, Salt, VaultId};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const MAGIC: &[u8] = b"TWVAULT\n";

/// The parsed header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    /// The vault's format version (`docs/format.md`): how its index is encoded.
    pub format: u64,
    pub vault_id: VaultId,
    pub kdf: KdfParams,
    /// The vault was created with parameters below RFC 9106's floor, on purpose (tests).
    pub kdf_below_floor: bool,
    pub salt: Salt,
    pub generation: u64,
    pub wrapped_dek: Vec<u8>,
    pub created_at: u64,
    pub dek_created_at: u64,
    pub passphrase_changed_at: u64,
    /// A data-key rotation to this generation started and has not committed.
    pub rotating_to: Option<u64>,
    /// A committed rotation left this generation's entries to delete.
    pub cleanup: Option<u64>,
    /// Format 3: the OpenBao Transit key that wraps the data key instead of the
    /// passphrase (`wrapped_dek` is then Transit's ciphertext text; `kdf` and `salt` are
    /// kept and unused).
    pub transit: Option<TransitRef>,
    /// Format 3, with `transit`: the refresher key, wrapped by its own Transit key. Only
    /// identities that may decrypt with that key read refresh tokens and refresh.
    pub refresher: Option<RefresherWrap>,
}

/// A team vault's refresher key as stored: the Transit key that wraps it, and what
/// Transit returned (its ciphertext text's bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RefresherWrap {
    pub key: TransitRef,
    pub wrapped: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefresherBody {
    mount: String,
    key: String,
    wrapped_key: String,
}

/// A Transit key: the engine's mount and the key's name in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitRef {
    /// The Transit engine's mount (`transit`).
    pub mount: String,
    /// The key's name.
    pub key: String,
}

impl TransitRef {
    /// `transit:KEY` or `transit:MOUNT/KEY` (the `init --unlock` form); each part 1-128
    /// characters from `A-Z a-z 0-9 . _ -`, the mount also `/`.
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.strip_prefix("transit:")?;
        let (mount, key) = rest.rsplit_once('/').unwrap_or(("transit", rest));
        let r = Self {
            mount: mount.into(),
            key: key.into(),
        };
        r.is_valid().then_some(r)
    }

    fn is_valid(&self) -> bool {
        let part = |s: &str, extra: &[u8]| {
            (1..=128).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b) || extra.contains(&b))
        };
        part(&self.mount, b"/") && part(&self.key, b"")
    }
}

impl std::fmt::Display for TransitRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "transit:{}/{}", self.mount, self.key)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    format: u64,
    vault_id: String,
    kdf: KdfParams,
    kdf_below_floor: bool,
    salt: String,
    generation: u64,
    wrapped_dek: String,
    created_at: u64,
    dek_created_at: u64,
    passphrase_changed_at: u64,
    rotating_to: Option<u64>,
    cleanup: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    transit: Option<TransitRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresher: Option<RefresherBody>,
}

#[derive(Deserialize)]
struct FormatOnly {
    format: u64,
}

/// The base64 of every stored field (headers, backups): standard, padded.
pub(super) fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn damaged(why: &'static str) -> VaultError {
    VaultError::Damaged {
        what: "the header".into(),
        why,
    }
}

/// A stored salt: base64 of exactly 16 bytes.
pub(super) fn salt_from_b64(text: &str) -> Option<Salt> {
    b64().decode(text).ok()?.try_into().ok()
}

impl Header {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let body = Body {
            format: self.format,
            vault_id: self.vault_id.to_hex(),
            kdf: self.kdf,
            kdf_below_floor: self.kdf_below_floor,
            salt: b64().encode(self.salt),
            generation: self.generation,
            wrapped_dek: b64().encode(&self.wrapped_dek),
            created_at: self.created_at,
            dek_created_at: self.dek_created_at,
            passphrase_changed_at: self.passphrase_changed_at,
            rotating_to: self.rotating_to,
            cleanup: self.cleanup,
            transit: self.transit.clone(),
            refresher: self.refresher.as_ref().map(|r| RefresherBody {
                mount: r.key.mount.clone(),
                key: r.key.key.clone(),
                wrapped_key: b64().encode(&r.wrapped),
            }),
        };
        // Invariant: a struct of strings and integers always serialises.
        let json = serde_json::to_vec(&body).expect("header serialises");
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&json);
        out.push(b'\n');
        out.extend_from_slice(hex::encode(Sha256::digest(&json)).as_bytes());
        out
    }

    /// Parses a stored header. Checks, in order: framing, checksum, format version, cost
    /// cap, then field shapes.
    pub(crate) fn parse(raw: &[u8]) -> Result<Self, VaultError> {
        let rest = raw
            .strip_prefix(MAGIC)
            .ok_or_else(|| damaged("is not a Token Wallet header (truncated or overwritten)"))?;
        let nl = rest
            .iter()
            .rposition(|&b| b == b'\n')
            .ok_or_else(|| damaged("is truncated"))?;
        let (json, sum) = (&rest[..nl], &rest[nl + 1..]);
        if sum.len() != 64 {
            return Err(damaged("is truncated"));
        }
        if hex::encode(Sha256::digest(json)).as_bytes() != sum {
            return Err(damaged("fails its checksum"));
        }
        let format: FormatOnly =
            serde_json::from_slice(json).map_err(|_| damaged("has no format version"))?;
        if format.format == 0 {
            return Err(damaged(
                "has format version 0, which no Token Wallet writes",
            ));
        }
        if format.format > FORMAT_VERSION {
            return Err(VaultError::NewerFormat {
                found: format.format,
                oldest: OLDEST_FORMAT,
                newest: FORMAT_VERSION,
            });
        }
        let body: Body = serde_json::from_slice(json).map_err(|_| damaged("has bad fields"))?;
        if !body.kdf.within_cap() {
            return Err(VaultError::KdfTooExpensive(body.kdf));
        }
        if !body.kdf.meets_floor() && !body.kdf_below_floor {
            return Err(damaged(
                "asks for KDF parameters below the floor without recording the test setting",
            ));
        }
        match &body.transit {
            Some(_) if body.format < 3 => {
                return Err(damaged("names a Transit key, which its format has not"))
            }
            Some(t) if !t.is_valid() => return Err(damaged("has a bad Transit key name")),
            _ => {}
        }
        let refresher = match body.refresher {
            None => None,
            Some(_) if body.transit.is_none() => {
                return Err(damaged("has a refresher key without a Transit key"))
            }
            Some(r) => {
                let key = TransitRef {
                    mount: r.mount,
                    key: r.key,
                };
                if !key.is_valid() {
                    return Err(damaged("has a bad Transit key name"));
                }
                let wrapped = b64()
                    .decode(&r.wrapped_key)
                    .map_err(|_| damaged("has a bad wrapped refresher key"))?;
                Some(RefresherWrap { key, wrapped })
            }
        };
        let vault_id =
            VaultId::from_hex(&body.vault_id).ok_or_else(|| damaged("has a bad vault id"))?;
        let salt = salt_from_b64(&body.salt).ok_or_else(|| damaged("has a bad salt"))?;
        let wrapped_dek = b64()
            .decode(&body.wrapped_dek)
            .map_err(|_| damaged("has a bad wrapped key"))?;
        Ok(Header {
            format: body.format,
            vault_id,
            kdf: body.kdf,
            kdf_below_floor: body.kdf_below_floor,
            salt,
            generation: body.generation,
            wrapped_dek,
            created_at: body.created_at,
            dek_created_at: body.dek_created_at,
            passphrase_changed_at: body.passphrase_changed_at,
            rotating_to: body.rotating_to,
            cleanup: body.cleanup,
            transit: body.transit,
            refresher,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Header {
        Header {
            format: FORMAT_VERSION,
            vault_id: VaultId([7; 16]),
            kdf: KdfParams::default(),
            kdf_below_floor: false,
            salt: [1; 16],
            generation: 1,
            wrapped_dek: vec![9; 60],
            created_at: 1,
            dek_created_at: 2,
            passphrase_changed_at: 3,
            rotating_to: None,
            cleanup: None,
            transit: None,
            refresher: None,
        }
    }

    /// Re-frames a body with a valid checksum (as a tamperer who knows the format would).
    fn reframe(json: &str) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(json.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(hex::encode(Sha256::digest(json.as_bytes())).as_bytes());
        out
    }

    fn body_of(h: &Header) -> String {
        let raw = h.encode();
        let s = String::from_utf8(raw).unwrap();
        let mut lines = s.lines();
        lines.next();
        lines.next().unwrap().to_string()
    }

    #[test]
    fn round_trip() {
        let h = sample();
        assert_eq!(Header::parse(&h.encode()).unwrap(), h);
    }

    #[test]
    fn fail_truncated() {
        let raw = sample().encode();
        for cut in [0, 3, MAGIC.len(), raw.len() / 2, raw.len() - 1] {
            assert!(
                matches!(Header::parse(&raw[..cut]), Err(VaultError::Damaged { .. })),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn fail_bit_flip() {
        let mut raw = sample().encode();
        raw[20] ^= 1;
        assert!(matches!(
            Header::parse(&raw),
            Err(VaultError::Damaged { .. })
        ));
    }

    #[test]
    fn fail_newer_format() {
        let json = body_of(&sample()).replace("\"format\":3", "\"format\":4");
        assert!(matches!(
            Header::parse(&reframe(&json)),
            Err(VaultError::NewerFormat {
                found: 4,
                oldest: 1,
                newest: 3
            })
        ));
    }

    #[test]
    fn fail_format_zero() {
        let json = body_of(&sample()).replace("\"format\":3", "\"format\":0");
        assert!(matches!(
            Header::parse(&reframe(&json)),
            Err(VaultError::Damaged { .. })
        ));
    }

    #[test]
    fn a_transit_header_round_trips_and_parses_its_names() {
        let t = TransitRef::parse("transit:team").unwrap();
        assert_eq!((t.mount.as_str(), t.key.as_str()), ("transit", "team"));
        let t = TransitRef::parse("transit:kv/transit/team-1").unwrap();
        assert_eq!((t.mount.as_str(), t.key.as_str()), ("kv/transit", "team-1"));
        for bad in [
            "team",
            "transit:",
            "transit:a/",
            "transit:a b",
            "transit:/k",
        ] {
            assert_eq!(TransitRef::parse(bad), None, "{bad}");
        }
        let h = Header {
            transit: Some(t.clone()),
            ..sample()
        };
        assert_eq!(Header::parse(&h.encode()).unwrap(), h);
        let h = Header {
            refresher: Some(RefresherWrap {
                key: t,
                wrapped: b"vault:v1:abc".to_vec(),
            }),
            ..h
        };
        assert_eq!(Header::parse(&h.encode()).unwrap(), h);
        let no_transit = Header { transit: None, ..h };
        assert!(matches!(
            Header::parse(&no_transit.encode()),
            Err(VaultError::Damaged { .. })
        ));
    }

    #[test]
    fn fail_a_transit_key_in_format_2() {
        let h = Header {
            transit: TransitRef::parse("transit:team"),
            ..sample()
        };
        let json = body_of(&h).replace("\"format\":3", "\"format\":2");
        assert!(matches!(
            Header::parse(&reframe(&json)),
            Err(VaultError::Damaged { .. })
        ));
    }

    #[test]
    fn every_known_format_round_trips() {
        for format in OLDEST_FORMAT..=FORMAT_VERSION {
            let h = Header { format, ..sample() };
            assert_eq!(Header::parse(&h.encode()).unwrap(), h);
        }
    }

    #[test]
    fn fail_four_gib_of_memory() {
        let json = body_of(&sample()).replace("\"m_kib\":65536", "\"m_kib\":4194304");
        assert!(matches!(
            Header::parse(&reframe(&json)),
            Err(VaultError::KdfTooExpensive(KdfParams {
                m_kib: 4194304,
                ..
            }))
        ));
    }

    #[test]
    fn fail_silent_downgrade() {
        let json = body_of(&sample()).replace("\"m_kib\":65536", "\"m_kib\":1024");
        assert!(matches!(
            Header::parse(&reframe(&json)),
            Err(VaultError::Damaged { .. })
        ));
    }
}
