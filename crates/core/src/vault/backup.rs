//! Backups: one file holding a vault's connection records, sealed under a backup key that
//! a passphrase-derived key wraps (the vault's own passphrase, or one given for the
//! backup). Specified byte by byte in `docs/format.md` (Backup file).
//!
//! ```text
//! TWBACKUP\n{"backup_format":1,"backup_id":HEX,"created_at":U64,"vault_id":HEX,
//!            "vault_format":N,"records":N,"kdf":{..},"kdf_below_floor":B,"salt":B64,
//!            "wrapped_key":B64,"payload":B64}
//! ```
//!
//! The payload is the JSON `{"records":[{"name","value"(base64),"summary","created_at"}]}`
//! sealed with AES-256-GCM under the backup key; the key is wrapped under the
//! key-encryption key derived from the passphrase with `kdf` and `salt`. Both associated
//! data strings name the backup's id (and the key's the KDF settings), so neither can be
//! moved into another backup or a vault. The outer `created_at`, `vault_id`,
//! `vault_format` and `records` are for display before the passphrase is known; the
//! payload repeats them, authenticated, and a restore believes only the payload's.

use super::*;
use crate::crypto::{BackupKey, BackupPlace};
use base64::Engine as _;
use header::b64;
use zeroize::Zeroizing;

const MAGIC: &[u8] = b"TWBACKUP\n";
/// The backup file's own format version.
pub const BACKUP_FORMAT: u64 = 1;
/// The largest backup file read (a cost cap: a thousand connections take well under 10 MiB).
const BACKUP_MAX: usize = 64 << 20;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    backup_format: u64,
    backup_id: String,
    created_at: u64,
    vault_id: String,
    vault_format: u64,
    records: usize,
    kdf: KdfParams,
    kdf_below_floor: bool,
    salt: String,
    wrapped_key: String,
    payload: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload {
    backup_id: String,
    created_at: u64,
    vault_id: String,
    vault_format: u64,
    records: Vec<Item>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Item {
    name: String,
    value: String,
    summary: Option<String>,
    created_at: u64,
}

/// What a backup file says of itself before the passphrase is known (not authenticated).
#[derive(Clone, Debug, Serialize)]
pub struct BackupInfo {
    /// When it was made (Unix seconds).
    pub created_at: u64,
    /// The id of the vault it was made from (hex).
    pub vault_id: String,
    /// That vault's format.
    pub vault_format: u64,
    /// How many records it holds.
    pub records: usize,
    /// The KDF settings of its passphrase.
    pub kdf: KdfParams,
}

/// One record of an opened backup.
pub struct BackupRecord {
    /// The record's name in the vault (`c.<connection>`).
    pub name: String,
    /// Its plaintext (wiped when dropped).
    pub value: Zeroizing<Vec<u8>>,
    /// Its summary in the index.
    pub summary: Option<String>,
}

impl std::fmt::Debug for BackupRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BackupRecord({}, <redacted>)", self.name)
    }
}

/// An opened backup: its facts (from the authenticated payload) and records.
#[derive(Debug)]
pub struct OpenedBackup {
    /// Its facts.
    pub info: BackupInfo,
    /// Whether its KDF settings are below RFC 9106's floor (a test vault's).
    pub kdf_below_floor: bool,
    /// The records.
    pub records: Vec<BackupRecord>,
}

fn bad(why: &'static str) -> VaultError {
    VaultError::BadBackup(why)
}

fn envelope(bytes: &[u8]) -> Result<Envelope, VaultError> {
    if bytes.len() > BACKUP_MAX {
        return Err(bad(
            "is larger than any backup Token Wallet writes (64 MiB)",
        ));
    }
    let json = bytes
        .strip_prefix(MAGIC)
        .ok_or_else(|| bad("is not a Token Wallet backup"))?;
    #[derive(Deserialize)]
    struct FormatOnly {
        backup_format: u64,
    }
    let f: FormatOnly = serde_json::from_slice(json).map_err(|_| bad("is not a valid backup"))?;
    if f.backup_format > BACKUP_FORMAT {
        return Err(VaultError::NewerBackup {
            found: f.backup_format,
            newest: BACKUP_FORMAT,
        });
    }
    let e: Envelope = serde_json::from_slice(json).map_err(|_| bad("is not a valid backup"))?;
    if e.backup_format == 0 {
        return Err(bad("has backup format 0, which no Token Wallet writes"));
    }
    if !e.kdf.within_cap() {
        return Err(VaultError::KdfTooExpensive(e.kdf));
    }
    if !e.kdf.meets_floor() && !e.kdf_below_floor {
        return Err(bad(
            "asks for KDF parameters below the floor without recording the test setting",
        ));
    }
    Ok(e)
}

/// Reads a backup file, refusing one over the cap (without reading more than one byte
/// past it). Errors are the OS's, or `InvalidData` for an oversized file.
pub fn read_backup_file(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(BACKUP_MAX as u64 + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() > BACKUP_MAX {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "larger than any backup Token Wallet writes (64 MiB)",
        ));
    }
    Ok(bytes)
}

/// What a backup file says of itself, read without the passphrase.
pub fn backup_info(bytes: &[u8]) -> Result<BackupInfo, VaultError> {
    let e = envelope(bytes)?;
    Ok(BackupInfo {
        created_at: e.created_at,
        vault_id: e.vault_id,
        vault_format: e.vault_format,
        records: e.records,
        kdf: e.kdf,
    })
}

/// Opens a backup file with its passphrase. Nothing is written anywhere.
pub fn open_backup(bytes: &[u8], passphrase: &Passphrase) -> Result<OpenedBackup, VaultError> {
    let e = envelope(bytes)?;
    let id: [u8; 16] = hex::decode(&e.backup_id)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| bad("has a bad backup id"))?;
    let salt = header::salt_from_b64(&e.salt).ok_or_else(|| bad("has a bad salt"))?;
    let wrapped = b64()
        .decode(&e.wrapped_key)
        .map_err(|_| bad("has a bad wrapped key"))?;
    let sealed = b64()
        .decode(&e.payload)
        .map_err(|_| bad("has a bad payload"))?;
    let place = BackupPlace {
        id,
        kdf: &e.kdf,
        salt: &salt,
    };
    let kek = derive(passphrase, &e.kdf, &salt)?;
    let key = kek
        .unwrap_backup(&wrapped, &place)
        .ok_or(VaultError::WrongPassphrase)?;
    let plain = key
        .open(&place, &sealed)
        .ok_or_else(|| bad("fails authentication (it was modified)"))?;
    let p: Payload =
        serde_json::from_slice(&plain).map_err(|_| bad("holds a payload that is not valid"))?;
    if p.backup_id != e.backup_id {
        return Err(bad("holds another backup's payload"));
    }
    let mut records: Vec<BackupRecord> = Vec::with_capacity(p.records.len());
    for item in p.records {
        check_name(&item.name).map_err(|_| bad("holds a record with an invalid name"))?;
        if records.iter().any(|r| r.name == item.name) {
            return Err(bad("holds a record twice"));
        }
        let value = Zeroizing::new(
            b64()
                .decode(&item.value)
                .map_err(|_| bad("holds a record that is not valid base64"))?,
        );
        records.push(BackupRecord {
            name: item.name,
            value,
            summary: item.summary,
        });
        drop(Zeroizing::new(item.value));
    }
    Ok(OpenedBackup {
        info: BackupInfo {
            created_at: p.created_at,
            vault_id: p.vault_id,
            vault_format: p.vault_format,
            records: records.len(),
            kdf: e.kdf,
        },
        kdf_below_floor: e.kdf_below_floor,
        records,
    })
}

impl UnlockedVault {
    /// A backup of every record whose name starts with `prefix` (the connections, `c.`),
    /// sealed under the vault's own passphrase (`None`: its key-encryption key, salt and
    /// KDF settings, so the vault's passphrase opens it) or under `passphrase` (Argon2id
    /// with `kdf` and a new salt). Reads the vault as it is now; writes nothing to it.
    /// Returns the file's bytes and how many records it holds.
    pub fn backup(
        &mut self,
        prefix: &str,
        passphrase: Option<(&Passphrase, KdfParams)>,
    ) -> Result<(Vec<u8>, usize), VaultError> {
        self.follow()?;
        if self.header.refresher.is_some() {
            return Err(VaultError::RefresherBackup);
        }
        let own;
        let (kek, kdf, salt, below) = match passphrase {
            Some((p, kdf)) => {
                let salt = new_salt();
                own = derive(p, &kdf, &salt)?;
                (&own, kdf, salt, !kdf.meets_floor())
            }
            None => (
                self.kek.kek()?,
                self.header.kdf,
                self.header.salt,
                self.header.kdf_below_floor,
            ),
        };
        let id: [u8; 16] = crate::crypto::random();
        let created_at = now();
        let mut items = Vec::new();
        let names: Vec<(String, Option<String>, u64)> = self
            .index
            .records
            .iter()
            .filter(|(n, _)| n.starts_with(prefix))
            .map(|(n, e)| (n.clone(), e.summary.clone(), e.created_at))
            .collect();
        for (name, summary, created_at) in names {
            let value = self.read_current(&name)?;
            items.push(Item {
                name,
                value: b64().encode(secrecy::ExposeSecret::expose_secret(&value)),
                summary,
                created_at,
            });
        }
        let count = items.len();
        let payload = Payload {
            backup_id: hex::encode(id),
            created_at,
            vault_id: self.header.vault_id.to_hex(),
            vault_format: self.header.format,
            records: items,
        };
        // Invariant: strings and integers always serialise.
        let plain = Zeroizing::new(serde_json::to_vec(&payload).expect("backup serialises"));
        for item in payload.records {
            drop(Zeroizing::new(item.value));
        }
        let key = BackupKey::generate();
        let place = BackupPlace {
            id,
            kdf: &kdf,
            salt: &salt,
        };
        let envelope = Envelope {
            backup_format: BACKUP_FORMAT,
            backup_id: hex::encode(id),
            created_at,
            vault_id: self.header.vault_id.to_hex(),
            vault_format: self.header.format,
            records: count,
            kdf,
            kdf_below_floor: below,
            salt: b64().encode(salt),
            wrapped_key: b64().encode(kek.wrap_backup(&key, &place)),
            payload: b64().encode(key.seal(&place, &plain)),
        };
        let mut out = MAGIC.to_vec();
        // Invariant: as above.
        out.extend_from_slice(&serde_json::to_vec(&envelope).expect("backup serialises"));
        out.push(b'\n');
        if out.len() > BACKUP_MAX {
            return Err(bad(
                "would be larger than 64 MiB, more than a restore reads; back up fewer connections per file",
            ));
        }
        Ok((out, count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(s: &str) -> Passphrase {
        Passphrase::new(s.into()).unwrap()
    }

    #[test]
    fn a_backup_opens_with_the_vault_passphrase_or_its_own_and_nothing_else() {
        let (_dir, _vault, mut v) = memory_vault();
        v.put_with_summary("c.a", b"secret-a", Some("facts-a"))
            .unwrap();
        v.put("audit.key", b"not backed up").unwrap();
        let (own, _) = v.backup("c.", None).unwrap();
        let b = open_backup(&own, &pw("pw")).unwrap();
        assert_eq!(b.records.len(), 1);
        assert_eq!(b.records[0].name, "c.a");
        assert_eq!(b.records[0].value.as_slice(), b"secret-a");
        assert_eq!(b.records[0].summary.as_deref(), Some("facts-a"));
        assert_eq!(b.info.vault_id, v.info().vault_id);
        assert!(!String::from_utf8_lossy(&own).contains("secret-a"));
        assert!(matches!(
            open_backup(&own, &pw("nope")),
            Err(VaultError::WrongPassphrase)
        ));
        let (other, count) = v
            .backup(
                "c.",
                Some((&pw("backup pass"), KdfParams::INSECURE_FOR_TESTS)),
            )
            .unwrap();
        assert_eq!(count, 1);
        assert!(open_backup(&other, &pw("backup pass")).is_ok());
        assert!(matches!(
            open_backup(&other, &pw("pw")),
            Err(VaultError::WrongPassphrase)
        ));
        assert_eq!(backup_info(&other).unwrap().records, 1);
    }

    #[test]
    fn fail_tampered_swapped_truncated_and_newer_backups() {
        let (_dir, _vault, mut v) = memory_vault();
        v.put_with_summary("c.a", b"secret-a", Some("s")).unwrap();
        let (one, _) = v.backup("c.", None).unwrap();
        let (two, _) = v.backup("c.", None).unwrap();
        let field = |raw: &[u8], k: &str| -> serde_json::Value {
            serde_json::from_slice::<serde_json::Value>(&raw[MAGIC.len()..]).unwrap()[k].clone()
        };
        let with = |raw: &[u8], k: &str, val: serde_json::Value| -> Vec<u8> {
            let mut j: serde_json::Value = serde_json::from_slice(&raw[MAGIC.len()..]).unwrap();
            j[k] = val;
            let mut out = MAGIC.to_vec();
            out.extend_from_slice(&serde_json::to_vec(&j).unwrap());
            out
        };
        // A flipped payload byte.
        let mut p = b64()
            .decode(field(&one, "payload").as_str().unwrap())
            .unwrap();
        p[20] ^= 1;
        let e = open_backup(&with(&one, "payload", b64().encode(&p).into()), &pw("pw"));
        assert!(matches!(e, Err(VaultError::BadBackup(_))), "{e:?}");
        // Another backup's payload (each backup has its own key and id).
        let e = open_backup(&with(&one, "payload", field(&two, "payload")), &pw("pw"));
        assert!(matches!(e, Err(VaultError::BadBackup(_))), "{e:?}");
        // Another backup's id: the wrapped key no longer belongs.
        let e = open_backup(
            &with(&one, "backup_id", field(&two, "backup_id")),
            &pw("pw"),
        );
        assert!(matches!(e, Err(VaultError::WrongPassphrase)), "{e:?}");
        // Truncated, not a backup at all, a newer format, a hostile KDF cost.
        for cut in [0, 5, one.len() / 2] {
            assert!(open_backup(&one[..cut], &pw("pw")).is_err());
        }
        let e = open_backup(&with(&one, "backup_format", 9.into()), &pw("pw"));
        assert!(
            matches!(e, Err(VaultError::NewerBackup { found: 9, .. })),
            "{e:?}"
        );
        assert!(e
            .unwrap_err()
            .to_string()
            .contains("newer Token Wallet (backup format 9)"));
        let e = open_backup(
            &with(
                &one,
                "kdf",
                serde_json::json!({"m_kib": 4194304, "t": 3, "p": 4}),
            ),
            &pw("pw"),
        );
        assert!(matches!(e, Err(VaultError::KdfTooExpensive(_))), "{e:?}");
    }
}
