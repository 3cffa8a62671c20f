//! The vault: key hierarchy, record encryption, rotation, passphrase change.
//!
//! Keystore entries under one service (one per profile):
//! - `header`: format, vault id, KDF parameters and salt, the wrapped data key, its
//!   generation `g`, dates, and recovery flags. Writing it is the commit point.
//! - `idx.<g>`: the encrypted index (record name -> record id, created, and the record's
//!   summary: public facts its owner wants without reading the record).
//! - `rec.<g>.<id>`: one encrypted record.
//!
//! Every write happens under the profile's OS file lock, after re-reading the header, so
//! two processes never interleave and a process never writes under a stale key.

mod backup;
mod error;
mod header;
mod index;
mod open;
mod records;
mod rotation;
mod unlocker;

pub use backup::{
    backup_info, open_backup, read_backup_file, BackupInfo, BackupRecord, OpenedBackup,
    BACKUP_FORMAT,
};
pub use error::VaultError;
pub use header::TransitRef;
pub use open::UnlockMethod;

use crate::crypto::{new_salt, Dek, KdfParams, Passphrase, RecordPlace, Salt};
use crate::keystore::Keystore;
use crate::lock::{Stamp, VaultLock};
use header::Header;
use index::{new_record_id, open_index, Index, IndexEntry};
use open::derive;
use secrecy::SecretSlice;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use unlocker::{Refresher, Unlocker};

const HEADER: &str = "header";

/// The newest vault format this build reads, and the one it writes new vaults in
/// (`docs/format.md`). Any change to what a vault stores bumps it.
///
/// - 1: the index is JSON.
/// - 2: the index is `TWIDXZ1\n` and a raw DEFLATE stream of that JSON.
/// - 3: the header may name an OpenBao Transit key that wraps the data key (`transit`).
pub const FORMAT_VERSION: u64 = 3;

/// The oldest vault format this build reads. A vault in an older format than
/// [`FORMAT_VERSION`] is read and written as it is, until [`UnlockedVault::upgrade_format`].
pub const OLDEST_FORMAT: u64 = 1;

fn idx_name(g: u64) -> String {
    format!("idx.{g}")
}

fn rec_name(g: u64, id: &str) -> String {
    format!("rec.{g}.{id}")
}

use crate::clock::now;

/// Checks a record name: 1-64 characters from `A-Z a-z 0-9 . _ -`.
pub fn check_name(name: &str) -> Result<(), VaultError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(VaultError::InvalidName(name.to_string()))
    }
}

/// How to create a vault.
#[derive(Clone, Debug, Default)]
pub struct CreateOptions {
    /// Argon2id parameters; the default is RFC 9106's second recommendation.
    pub kdf: KdfParams,
    /// Accept parameters below that floor. For tests only; the header records it and
    /// `status` shows it.
    pub allow_weak_kdf: bool,
}

impl CreateOptions {
    /// Argon2id at 1 MiB, 1 pass, 1 lane, below the floor on purpose: for tests only. The
    /// header records it and `status` and the app warn about it.
    pub fn insecure_for_tests() -> Self {
        Self {
            kdf: KdfParams::INSECURE_FOR_TESTS,
            allow_weak_kdf: true,
        }
    }
}

/// What anyone may know about a vault (no secrets).
#[derive(Clone, Debug, Serialize)]
pub struct VaultInfo {
    /// The vault's format version (`docs/format.md`).
    pub format: u64,
    /// Vault id (hex).
    pub vault_id: String,
    /// Store name.
    pub store: &'static str,
    /// Keystore service name.
    pub service: String,
    /// Argon2id parameters.
    pub kdf: KdfParams,
    /// Created below RFC 9106's floor on purpose (tests).
    pub kdf_below_floor: bool,
    /// Data-key generation.
    pub generation: u64,
    /// When the vault was created (Unix seconds).
    pub created_at: u64,
    /// When the current data key was made (Unix seconds).
    pub dek_created_at: u64,
    /// When the passphrase was last set (Unix seconds).
    pub passphrase_changed_at: u64,
    /// How it unlocks: `passphrase`, or `transit:MOUNT/KEY` (by an OpenBao identity).
    pub unlock: String,
    /// A team vault's refresher key (`transit:MOUNT/KEY`), if refresh tokens are sealed
    /// for refreshers only.
    pub refresher_key: Option<String>,
    /// This identity may only consume (known once unlocked).
    pub consume_only: bool,
    /// How many records (only known once unlocked).
    pub record_count: Option<usize>,
}

/// One record's public facts.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RecordInfo {
    /// Record name.
    pub name: String,
    /// When it was first stored (Unix seconds).
    pub created_at: u64,
}

/// What [`UnlockedVault::update`] stores: a record's new plaintext and its summary.
pub struct Write {
    /// The record's plaintext (wiped when dropped).
    pub value: zeroize::Zeroizing<Vec<u8>>,
    /// Its summary in the index (see [`UnlockedVault::put_with_summary`]).
    pub summary: Option<String>,
}

/// A vault that is not unlocked: a keystore handle and the lock file's place.
#[derive(Clone, Debug)]
pub struct Vault {
    ks: Keystore,
    lock_path: PathBuf,
    /// KDF parameters and salt of the last header read (not secret). `unlock` starts
    /// Argon2 with them while it re-reads the header, and starts again if they changed.
    kdf_hint: Arc<Mutex<Option<(KdfParams, Salt)>>>,
}

/// Where a connection record's refresher secrets are (see
/// [`UnlockedVault::refresher_secrets`]).
pub(crate) enum RefresherSecrets {
    /// In the record, with the access token (no refresher key).
    InRecord,
    /// Sealed in the record under this refresher key, bound to this vault.
    Sealed(Arc<crate::crypto::RefresherKey>, crate::crypto::VaultId),
    /// Sealed under a refresher key this identity does not hold.
    Unreadable,
}

/// An unlocked vault: holds the key-encryption key and the data key (zeroized on drop).
pub struct UnlockedVault {
    ks: Keystore,
    lock_path: PathBuf,
    header: Header,
    header_raw: Vec<u8>,
    kek: Unlocker,
    dek: Dek,
    index: Index,
    /// The refresher key, if the vault has one and this identity may hold it.
    refresher: Refresher,
    /// The change stamp this handle's header and index are known to match (`None`:
    /// unknown, so [`UnlockedVault::follow`] re-reads).
    seen: Option<Stamp>,
}

impl std::fmt::Debug for UnlockedVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "UnlockedVault({:?}, <keys redacted>)",
            self.header.vault_id
        )
    }
}

fn info_of(ks: &Keystore, h: &Header, count: Option<usize>) -> VaultInfo {
    VaultInfo {
        format: h.format,
        vault_id: h.vault_id.to_hex(),
        store: ks.store_name(),
        service: ks.service().to_string(),
        kdf: h.kdf,
        kdf_below_floor: h.kdf_below_floor,
        generation: h.generation,
        created_at: h.created_at,
        dek_created_at: h.dek_created_at,
        passphrase_changed_at: h.passphrase_changed_at,
        unlock: h
            .transit
            .as_ref()
            .map_or_else(|| "passphrase".into(), ToString::to_string),
        refresher_key: h.refresher.as_ref().map(|r| r.key.to_string()),
        consume_only: false,
        record_count: count,
    }
}

impl Vault {
    /// A vault in `ks`, locked with the file at `lock_path`.
    pub fn new(ks: Keystore, lock_path: PathBuf) -> Self {
        Self {
            ks,
            lock_path,
            kdf_hint: Arc::default(),
        }
    }

    /// The keystore it lives in.
    pub fn keystore(&self) -> &Keystore {
        &self.ks
    }

    fn lock(&self) -> Result<VaultLock, VaultError> {
        lock(&self.lock_path)
    }

    fn no_vault(&self) -> VaultError {
        VaultError::NoVault {
            store: self.ks.store_name(),
            service: self.ks.service().to_string(),
        }
    }

    fn read_header(&self) -> Result<(Header, Vec<u8>), VaultError> {
        match self.ks.get(HEADER)? {
            Some(raw) => {
                let h = Header::parse(&raw)?;
                *self.kdf_hint.lock().unwrap_or_else(|p| p.into_inner()) = Some((h.kdf, h.salt));
                Ok((h, raw))
            }
            None => {
                // A missing header with entries left is damage, not an empty profile.
                if let Ok(Some(names)) = self.ks.list_raw() {
                    if !names.is_empty() {
                        return Err(VaultError::Damaged {
                            what: "the header".into(),
                            why: "is missing while other vault entries remain",
                        });
                    }
                }
                Err(self.no_vault())
            }
        }
    }

    /// Whether a vault header exists.
    pub fn exists(&self) -> Result<bool, VaultError> {
        Ok(self.ks.get(HEADER)?.is_some())
    }

    /// The vault's public facts, read without the passphrase.
    pub fn info(&self) -> Result<VaultInfo, VaultError> {
        let (h, _) = self.read_header()?;
        Ok(info_of(&self.ks, &h, None))
    }
}

/// The header parser, for the fuzz targets.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn fuzz_header(raw: &[u8]) -> Result<(), VaultError> {
    Header::parse(raw).map(|_| ())
}

fn lock(path: &std::path::Path) -> Result<VaultLock, VaultError> {
    Ok(VaultLock::acquire_stamping(path)?)
}

impl UnlockedVault {
    /// Whether other machines write this vault's store too (see [`Keystore::is_shared`]).
    pub fn is_shared(&self) -> bool {
        self.ks.is_shared()
    }

    /// The vault's public facts.
    pub fn info(&self) -> VaultInfo {
        let mut i = info_of(&self.ks, &self.header, Some(self.index.records.len()));
        i.consume_only = self.consume_only();
        i
    }

    /// Whether this identity may only consume this team vault: it reads access tokens,
    /// and OpenBao refused it the refresher key (so it never reads a refresh token).
    pub fn consume_only(&self) -> bool {
        matches!(self.refresher, Refresher::ConsumeOnly)
    }

    /// How this vault keeps connections' refresher secrets (refresh tokens, client
    /// secrets), for the connection records' encoding.
    pub(crate) fn refresher_secrets(&self) -> RefresherSecrets {
        match &self.refresher {
            Refresher::NoSplit => RefresherSecrets::InRecord,
            Refresher::Holder(k) => RefresherSecrets::Sealed(k.clone(), self.header.vault_id),
            Refresher::ConsumeOnly => RefresherSecrets::Unreadable,
        }
    }

    /// The vault's change stamp: it changes after every write by any process (see
    /// [`crate::lock::change_stamp`]). Equal stamps mean nothing was written in between.
    pub fn change_stamp(&self) -> Option<[u8; 8]> {
        crate::lock::change_stamp(&self.lock_path)
    }

    /// Brings this handle up to date with what other processes wrote since it last looked:
    /// one small file read (the change stamp) when nothing was written, else the header
    /// and the index. Reads no record.
    pub fn follow(&mut self) -> Result<(), VaultError> {
        // A write after the stamp was read changes it again: the next call re-reads.
        let stamp = self.change_stamp();
        self.catch_up(stamp)
    }

    /// Re-reads the header and the index unless `stamp` is the one this handle last saw
    /// (then nothing was written since); remembers `stamp`.
    fn catch_up(&mut self, stamp: Option<Stamp>) -> Result<(), VaultError> {
        // A shared store's other writers do not move this machine's stamp.
        if stamp.is_none() || stamp != self.seen || self.ks.is_shared() {
            self.sync()?;
            self.seen = stamp;
        }
        Ok(())
    }

    /// A locked handle on the same vault (for a check that must not hold this one).
    pub fn handle(&self) -> Vault {
        Vault {
            ks: self.ks.clone(),
            lock_path: self.lock_path.clone(),
            kdf_hint: Arc::new(Mutex::new(Some((self.header.kdf, self.header.salt)))),
        }
    }

    /// Forgets the keys (they are zeroized on drop).
    pub fn lock(self) -> Vault {
        self.handle()
    }

    fn write_header(&mut self) -> Result<(), VaultError> {
        let raw = self.header.encode();
        self.ks.set(HEADER, &raw)?;
        self.header_raw = raw;
        Ok(())
    }

    /// Takes the file lock and brings this handle up to date with what other processes
    /// committed (re-reading only if the change stamp moved); then finishes any
    /// interrupted key change.
    fn begin_write(&mut self) -> Result<VaultLock, VaultError> {
        let l = lock(&self.lock_path)?;
        // The stamp found as the writing started equal to the one this handle last saw:
        // nobody wrote in between (a writer that died mid-write changed it too).
        self.catch_up(l.stamp_before())?;
        self.recover()?;
        Ok(l)
    }

    /// Re-reads the header; if another process rotated the data key, re-opens it with the
    /// key-encryption key we hold. A changed passphrase makes this handle stale.
    fn sync(&mut self) -> Result<(), VaultError> {
        let raw = self.ks.get(HEADER)?.ok_or(VaultError::Stale)?;
        self.sync_with(raw)
    }

    /// [`Self::sync`] with the header bytes already read.
    fn sync_with(&mut self, raw: Vec<u8>) -> Result<(), VaultError> {
        if raw == self.header_raw {
            return self.reload_index();
        }
        let h = Header::parse(&raw)?;
        if h.vault_id != self.header.vault_id
            || h.salt != self.header.salt
            || h.kdf != self.header.kdf
            || h.transit != self.header.transit
        {
            return Err(VaultError::Stale);
        }
        let dek = match self.kek.unwrap(&h) {
            Err(VaultError::WrongPassphrase) => return Err(VaultError::Stale),
            other => other?,
        };
        let index = open_index(&dek, &h, self.ks.get(&idx_name(h.generation))?)?;
        self.header = h;
        self.header_raw = raw;
        self.dek = dek;
        self.index = index;
        Ok(())
    }

    /// The key-encryption key and the data key, raw. Only with the `test-secrets` feature,
    /// for tests that search a process's memory for these exact bytes.
    #[cfg(feature = "test-secrets")]
    pub fn expose_keys_for_tests(&self) -> (Vec<u8>, Vec<u8>) {
        (self.kek.bytes_for_tests(), self.dek.bytes_for_tests())
    }
}

#[cfg(test)]
mod tests;

/// For core's unit tests: a fresh vault in an in-memory store (4 KiB chunks) with the test
/// KDF settings and passphrase `pw`, unlocked; the directory holds its lock file.
#[cfg(test)]
pub(crate) fn memory_vault() -> (tempfile::TempDir, Vault, UnlockedVault) {
    use crate::keystore::{KeystoreOptions, StoreKind};
    let dir = tempfile::tempdir().unwrap();
    let ks = Keystore::open(
        "t",
        &KeystoreOptions {
            kind: StoreKind::Memory,
            chunk_cap: 4096,
            timeout: std::time::Duration::from_secs(5),
        },
    )
    .unwrap();
    let vault = Vault::new(ks, dir.path().join("vault.lock"));
    let pass = Passphrase::new("pw".into()).unwrap();
    let v = vault
        .create(&pass, &CreateOptions::insecure_for_tests())
        .unwrap();
    (dir, vault, v)
}
