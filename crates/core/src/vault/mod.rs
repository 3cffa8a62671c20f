//! The vault: key hierarchy, record encryption, rotation, passphrase change.
//!
//! Keystore entries under one service (one per profile):
//! - `header`: format, vault id, KDF parameters and salt, the wrapped data key, its
//!   generation `g`, dates, and recovery flags. Writing it is the commit point.
//! - `idx.<g>`: the encrypted index (record name -> record id, created).
//! - `rec.<g>.<id>`: one encrypted record.
//!
//! Every write happens under the profile's OS file lock, after re-reading the header, so
//! two processes never interleave and a process never writes under a stale key.

mod error;
mod header;

pub use error::VaultError;

use crate::crypto::{
    new_salt, Dek, DekPlace, KdfParams, Kek, Passphrase, RecordPlace, Salt, VaultId,
};
use crate::keystore::Keystore;
use crate::lock::VaultLock;
use header::Header;
use secrecy::SecretSlice;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

const HEADER: &str = "header";

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

#[derive(Clone, Default, Serialize, Deserialize)]
struct Index {
    records: BTreeMap<String, IndexEntry>,
}

#[derive(Clone, Serialize, Deserialize)]
struct IndexEntry {
    id: String,
    created_at: u64,
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

/// An unlocked vault: holds the key-encryption key and the data key (zeroized on drop).
pub struct UnlockedVault {
    ks: Keystore,
    lock_path: PathBuf,
    header: Header,
    header_raw: Vec<u8>,
    kek: Kek,
    dek: Dek,
    index: Index,
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
        vault_id: h.vault_id.to_hex(),
        store: ks.store_name(),
        service: ks.service().to_string(),
        kdf: h.kdf,
        kdf_below_floor: h.kdf_below_floor,
        generation: h.generation,
        created_at: h.created_at,
        dek_created_at: h.dek_created_at,
        passphrase_changed_at: h.passphrase_changed_at,
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

    /// Creates a new, empty vault.
    pub fn create(
        &self,
        passphrase: &Passphrase,
        opts: &CreateOptions,
    ) -> Result<UnlockedVault, VaultError> {
        if !opts.kdf.within_cap() {
            return Err(VaultError::KdfTooExpensive(opts.kdf));
        }
        if !opts.kdf.meets_floor() && !opts.allow_weak_kdf {
            return Err(VaultError::WeakKdf(opts.kdf));
        }
        let _lock = self.lock()?;
        if self.exists()? {
            return Err(VaultError::AlreadyExists {
                store: self.ks.store_name(),
                service: self.ks.service().to_string(),
            });
        }
        let vault_id = VaultId::generate();
        let salt = new_salt();
        let kek = derive(passphrase, &opts.kdf, &salt)?;
        let dek = Dek::generate();
        let generation = 1;
        let wrapped_dek = kek.wrap(
            &dek,
            &DekPlace {
                vault: vault_id,
                generation,
                kdf: &opts.kdf,
                salt: &salt,
            },
        );
        let t = now();
        let header = Header {
            vault_id,
            kdf: opts.kdf,
            kdf_below_floor: !opts.kdf.meets_floor(),
            salt,
            generation,
            wrapped_dek,
            created_at: t,
            dek_created_at: t,
            passphrase_changed_at: t,
            rotating_to: None,
            cleanup: None,
        };
        let mut v = UnlockedVault {
            ks: self.ks.clone(),
            lock_path: self.lock_path.clone(),
            header_raw: Vec::new(),
            header,
            kek,
            dek,
            index: Index::default(),
        };
        // The index first, then the header: a crash before the header leaves no vault.
        v.write_index(generation, &v.dek, &v.index)?;
        v.write_header()?;
        tracing::info!(vault = %vault_id.to_hex(), service = self.ks.service(), "vault created");
        Ok(v)
    }

    /// Unlocks with the passphrase. Finishes or rolls back any key change a crash
    /// interrupted.
    pub fn unlock(&self, passphrase: &Passphrase) -> Result<UnlockedVault, VaultError> {
        let _lock = self.lock()?;
        let hint = *self.kdf_hint.lock().unwrap_or_else(|p| p.into_inner());
        // Argon2 runs while the keystore is read: with the KDF settings of the header this
        // handle last saw (the lock screen read it), while the header and index are
        // fetched; else while the index is. Unlock costs Argon2 plus (at most) one read.
        let (header, header_raw, kek, idx_raw) = std::thread::scope(|s| {
            let early = hint
                .map(|(kdf, salt)| (kdf, salt, s.spawn(move || derive(passphrase, &kdf, &salt))));
            let (header, header_raw) = self.read_header()?;
            let (kdf, salt) = (header.kdf, header.salt);
            let kdf_thread = match early {
                Some((k, sa, t)) if k == kdf && sa == salt => t,
                // Changed since (another process changed the passphrase): start over.
                _ => s.spawn(move || derive(passphrase, &kdf, &salt)),
            };
            let idx = self.ks.get(&idx_name(header.generation));
            // Invariant: `derive` does not panic (it returns errors).
            let kek = kdf_thread.join().expect("KDF thread panicked");
            Ok::<_, VaultError>((header, header_raw, kek, idx))
        })?;
        let kek = kek?;
        let dek = kek
            .unwrap(&header.wrapped_dek, &dek_place(&header))
            .ok_or_else(|| {
                tracing::warn!(vault = %header.vault_id.to_hex(), "unlock failed: wrong passphrase");
                VaultError::WrongPassphrase
            })?;
        let index = open_index(&dek, &header, idx_raw?)?;
        let mut v = UnlockedVault {
            ks: self.ks.clone(),
            lock_path: self.lock_path.clone(),
            header,
            header_raw,
            kek,
            dek,
            index,
        };
        v.recover()?;
        tracing::info!(vault = %v.header.vault_id.to_hex(), generation = v.header.generation, "vault unlocked");
        Ok(v)
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

fn derive(p: &Passphrase, kdf: &KdfParams, salt: &[u8; 16]) -> Result<Kek, VaultError> {
    if !kdf.within_cap() {
        return Err(VaultError::KdfTooExpensive(*kdf));
    }
    Kek::derive(p, kdf, salt).map_err(|_| VaultError::Damaged {
        what: "the header".into(),
        why: "has KDF parameters Argon2 rejects",
    })
}

fn dek_place(h: &Header) -> DekPlace<'_> {
    DekPlace {
        vault: h.vault_id,
        generation: h.generation,
        kdf: &h.kdf,
        salt: &h.salt,
    }
}

fn open_index(dek: &Dek, h: &Header, raw: Option<Vec<u8>>) -> Result<Index, VaultError> {
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
    serde_json::from_slice(&plain).map_err(|_| VaultError::Damaged {
        what: format!("the index `{name}`"),
        why: "is not a valid index",
    })
}

fn new_record_id() -> String {
    hex::encode(crate::crypto::random::<12>())
}

impl UnlockedVault {
    /// The vault's public facts.
    pub fn info(&self) -> VaultInfo {
        info_of(&self.ks, &self.header, Some(self.index.records.len()))
    }

    /// The vault's change stamp: it changes after every write by any process (see
    /// [`crate::lock::change_stamp`]). Equal stamps mean nothing was written in between.
    pub fn change_stamp(&self) -> Option<[u8; 8]> {
        crate::lock::change_stamp(&self.lock_path)
    }

    /// Forgets the keys (they are zeroized on drop).
    pub fn lock(self) -> Vault {
        Vault {
            ks: self.ks.clone(),
            lock_path: self.lock_path.clone(),
            kdf_hint: Arc::new(Mutex::new(Some((self.header.kdf, self.header.salt)))),
        }
    }

    /// Records, by name.
    pub fn list(&self) -> Vec<RecordInfo> {
        self.index
            .records
            .iter()
            .map(|(name, e)| RecordInfo {
                name: name.clone(),
                created_at: e.created_at,
            })
            .collect()
    }

    fn write_header(&mut self) -> Result<(), VaultError> {
        let raw = self.header.encode();
        self.ks.set(HEADER, &raw)?;
        self.header_raw = raw;
        Ok(())
    }

    fn write_index(&self, g: u64, dek: &Dek, index: &Index) -> Result<(), VaultError> {
        let name = idx_name(g);
        // Invariant: the index is a map of strings and integers; it always serialises.
        let json = zeroize::Zeroizing::new(serde_json::to_vec(index).expect("index serialises"));
        let blob = dek.seal(
            &RecordPlace {
                vault: self.header.vault_id,
                generation: g,
                entry: &name,
            },
            &json,
        );
        self.ks.set(&name, &blob)?;
        Ok(())
    }

    /// Takes the file lock and brings this handle up to date with what other processes
    /// committed; then finishes any interrupted key change.
    fn begin_write(&mut self) -> Result<VaultLock, VaultError> {
        let l = lock(&self.lock_path)?;
        self.sync()?;
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
        {
            return Err(VaultError::Stale);
        }
        let dek = self
            .kek
            .unwrap(&h.wrapped_dek, &dek_place(&h))
            .ok_or(VaultError::Stale)?;
        let index = open_index(&dek, &h, self.ks.get(&idx_name(h.generation))?)?;
        self.header = h;
        self.header_raw = raw;
        self.dek = dek;
        self.index = index;
        Ok(())
    }

    /// Re-reads the index (another process may have added or removed records).
    fn reload_index(&mut self) -> Result<(), VaultError> {
        let raw = self.ks.get(&idx_name(self.header.generation))?;
        self.index = open_index(&self.dek, &self.header, raw)?;
        Ok(())
    }

    /// Deletes what an interrupted rotation left, then clears the header's flag.
    /// The caller holds the lock.
    /// Returns how many unreachable entries the sweep removed. The flag is cleared only
    /// after the sweep, so a crash during either is finished by the next recovery.
    fn recover(&mut self) -> Result<usize, VaultError> {
        let mut swept = 0;
        if let Some(g) = self.header.rotating_to {
            tracing::warn!(
                generation = g,
                "rolling back an interrupted data-key rotation"
            );
            // The rotation never committed: its new-generation entries are garbage.
            self.delete_generation(g)?;
            swept += self.sweep()?;
            self.header.rotating_to = None;
            self.write_header()?;
        }
        if let Some(g) = self.header.cleanup {
            tracing::info!(generation = g, "deleting the previous data-key generation");
            // The rotation committed: the old generation's entries are garbage, and so is
            // anything else the header does not reach (e.g. a record a crash left before
            // its index write).
            self.delete_generation(g)?;
            swept += self.sweep()?;
            self.header.cleanup = None;
            self.write_header()?;
        }
        Ok(swept)
    }

    fn delete_generation(&self, g: u64) -> Result<(), VaultError> {
        if g == self.header.generation {
            return Ok(());
        }
        for e in self.index.records.values() {
            self.ks.delete(&rec_name(g, &e.id))?;
        }
        self.ks.delete(&idx_name(g))?;
        Ok(())
    }

    fn place<'a>(&self, entry: &'a str) -> RecordPlace<'a> {
        RecordPlace {
            vault: self.header.vault_id,
            generation: self.header.generation,
            entry,
        }
    }

    fn read_record(
        &self,
        name: &str,
        g: u64,
        dek: &Dek,
        id: &str,
    ) -> Result<SecretSlice<u8>, VaultError> {
        let entry = rec_name(g, id);
        let blob = self.ks.get(&entry)?.ok_or_else(|| VaultError::Damaged {
            what: format!("record `{name}`"),
            why: "is listed in the index but missing from the keystore",
        })?;
        let place = RecordPlace {
            vault: self.header.vault_id,
            generation: g,
            entry: &entry,
        };
        let plain = dek
            .open(&place, &blob)
            .ok_or_else(|| VaultError::RecordTampered(name.to_string()))?;
        Ok(SecretSlice::from(plain.to_vec()))
    }

    /// Reads a record.
    ///
    /// Reads the header (one keystore read) to follow changes other processes made; the
    /// index is re-read only when the header changed or the name is not in it.
    pub fn get(&mut self, name: &str) -> Result<SecretSlice<u8>, VaultError> {
        check_name(name)?;
        let raw = self.ks.get(HEADER)?.ok_or(VaultError::Stale)?;
        if raw != self.header_raw || !self.index.records.contains_key(name) {
            self.sync_with(raw)?;
        }
        match self.read_current(name) {
            // Deleted by another process since we read the index: say so plainly.
            Err(VaultError::Damaged { .. }) => {
                self.sync()?;
                self.read_current(name)
            }
            other => other,
        }
    }

    /// Reads `name` as the index this handle holds describes it.
    fn read_current(&self, name: &str) -> Result<SecretSlice<u8>, VaultError> {
        let e = self
            .index
            .records
            .get(name)
            .ok_or_else(|| VaultError::NotFound(name.to_string()))?;
        self.read_record(name, self.header.generation, &self.dek, &e.id)
    }

    /// Creates or replaces a record. Replacing is one keystore write (atomic); creating
    /// writes the record, then the index (the commit point).
    pub fn put(&mut self, name: &str, value: &[u8]) -> Result<(), VaultError> {
        check_name(name)?;
        let _l = self.begin_write()?;
        let (id, is_new) = match self.index.records.get(name) {
            Some(e) => (e.id.clone(), false),
            None => (new_record_id(), true),
        };
        let entry = rec_name(self.header.generation, &id);
        let blob = self.dek.seal(&self.place(&entry), value);
        self.ks.set(&entry, &blob)?;
        if is_new {
            let mut index = self.index.clone();
            index.records.insert(
                name.to_string(),
                IndexEntry {
                    id,
                    created_at: now(),
                },
            );
            self.write_index(self.header.generation, &self.dek, &index)?;
            self.index = index;
        }
        Ok(())
    }

    /// Deletes a record: the index first (the commit point), then the record.
    pub fn delete(&mut self, name: &str) -> Result<(), VaultError> {
        check_name(name)?;
        let _l = self.begin_write()?;
        let mut index = self.index.clone();
        let e = index
            .records
            .remove(name)
            .ok_or_else(|| VaultError::NotFound(name.to_string()))?;
        self.write_index(self.header.generation, &self.dek, &index)?;
        self.index = index;
        self.ks.delete(&rec_name(self.header.generation, &e.id))?;
        Ok(())
    }

    /// The key-encryption key and the data key, raw. Only with the `test-secrets` feature,
    /// for tests that search a process's memory for these exact bytes.
    #[cfg(feature = "test-secrets")]
    pub fn expose_keys_for_tests(&self) -> (Vec<u8>, Vec<u8>) {
        (self.kek.bytes_for_tests(), self.dek.bytes_for_tests())
    }

    /// Changes the passphrase and rotates the data key with it (through the crash-safe
    /// rotation of [`Self::rotate_data_key`], whose single commit point writes the new
    /// salt and the new data key wrapped by the new key-encryption key). So an old header
    /// together with the old passphrase, should both have leaked, opens nothing written
    /// after the change. Until the commit the old passphrase unlocks; after it, the new.
    pub fn change_passphrase(&mut self, new: &Passphrase) -> Result<(), VaultError> {
        self.change_passphrase_with_progress(new, |_, _| {})
    }

    /// [`Self::change_passphrase`], calling `progress(done, total)` after each record.
    pub fn change_passphrase_with_progress(
        &mut self,
        new: &Passphrase,
        progress: impl FnMut(usize, usize),
    ) -> Result<(), VaultError> {
        let salt = new_salt();
        let kek = derive(new, &self.header.kdf, &salt)?;
        self.rotate(Some((kek, salt)), progress)?;
        tracing::info!(vault = %self.header.vault_id.to_hex(), "passphrase changed, data key rotated");
        Ok(())
    }

    /// Changes the passphrase only: a new salt and key-encryption key re-wrap the same
    /// data key, in one header write (atomic, and fast: no record is rewritten). Anyone
    /// holding an old header and the old passphrase can still open the data key.
    pub fn change_passphrase_keep_data_key(&mut self, new: &Passphrase) -> Result<(), VaultError> {
        let _l = self.begin_write()?;
        let salt = new_salt();
        let kek = derive(new, &self.header.kdf, &salt)?;
        let mut h = self.header.clone();
        h.salt = salt;
        h.passphrase_changed_at = now();
        h.wrapped_dek = kek.wrap(&self.dek, &dek_place(&h));
        let raw = h.encode();
        self.ks.set(HEADER, &raw)?;
        self.header = h;
        self.header_raw = raw;
        self.kek = kek;
        tracing::info!(vault = %self.header.vault_id.to_hex(), "passphrase changed");
        Ok(())
    }

    /// Rotates the data key: every record is re-encrypted under a new key as generation
    /// g+1, the header naming g+1 is written (the single commit point), then generation g
    /// is deleted. A crash at any step leaves the vault unlockable and every record
    /// readable; the next unlock or write finishes the clean-up.
    pub fn rotate_data_key(&mut self) -> Result<(), VaultError> {
        self.rotate_data_key_with_progress(|_, _| {})
    }

    /// [`Self::rotate_data_key`], calling `progress(done, total)` after each record.
    pub fn rotate_data_key_with_progress(
        &mut self,
        progress: impl FnMut(usize, usize),
    ) -> Result<(), VaultError> {
        self.rotate(None, progress)
    }

    /// The rotation; with `new_kek`, its commit also switches to a new passphrase (new
    /// salt, the new data key wrapped by the new key-encryption key).
    fn rotate(
        &mut self,
        new_kek: Option<(Kek, Salt)>,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<(), VaultError> {
        let _l = self.begin_write()?;
        let old_g = self.header.generation;
        let new_g = old_g + 1;
        // 1. Record the intent, so a crash before the commit is rolled back.
        self.header.rotating_to = Some(new_g);
        self.write_header()?;
        // 2. Re-encrypt everything as generation g+1.
        let new_dek = Dek::generate();
        let total = self.index.records.len();
        for (i, (name, e)) in self.index.records.iter().enumerate() {
            let plain = self.read_record(name, old_g, &self.dek, &e.id)?;
            let entry = rec_name(new_g, &e.id);
            let place = RecordPlace {
                vault: self.header.vault_id,
                generation: new_g,
                entry: &entry,
            };
            let blob = new_dek.seal(&place, secrecy::ExposeSecret::expose_secret(&plain));
            self.ks.set(&entry, &blob)?;
            progress(i + 1, total);
        }
        self.write_index(new_g, &new_dek, &self.index)?;
        // 3. Commit: the header names g+1 and its wrapped key (and, on a passphrase
        //    change, the new salt).
        let mut h = self.header.clone();
        h.generation = new_g;
        h.rotating_to = None;
        h.cleanup = Some(old_g);
        h.dek_created_at = now();
        if let Some((_, salt)) = &new_kek {
            h.salt = *salt;
            h.passphrase_changed_at = now();
        }
        let kek = new_kek.as_ref().map_or(&self.kek, |(k, _)| k);
        h.wrapped_dek = kek.wrap(&new_dek, &dek_place(&h));
        let raw = h.encode();
        self.ks.set(HEADER, &raw)?;
        self.header = h;
        self.header_raw = raw;
        self.dek = new_dek;
        if let Some((k, _)) = new_kek {
            self.kek = k;
        }
        // 4. Delete generation g, sweep anything unreachable, clear the flag.
        let swept = self.recover()?;
        tracing::info!(
            generation = new_g,
            records = total,
            swept,
            "data key rotated"
        );
        Ok(())
    }

    /// Deletes every entry of this service that the header does not reach (left by a
    /// crash between writing a new record and committing the index, or by a delete that
    /// committed before removing its record). Skipped where the store cannot enumerate.
    /// The caller holds the lock.
    fn sweep(&self) -> Result<usize, VaultError> {
        let Some(names) = self.ks.list_raw()? else {
            return Ok(0);
        };
        let g = self.header.generation;
        let mut live: BTreeSet<String> = self
            .index
            .records
            .values()
            .map(|e| rec_name(g, &e.id))
            .collect();
        live.insert(HEADER.to_string());
        live.insert(idx_name(g));
        let mut n = 0;
        for name in names {
            let base = name.split('~').next().unwrap_or(&name);
            if !live.contains(base) {
                self.ks.delete_raw(&name)?;
                n += 1;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests;
