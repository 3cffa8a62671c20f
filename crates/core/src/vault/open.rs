//! Making and opening a vault: [`Vault::create`], [`Vault::check_passphrase`] and
//! [`Vault::unlock`], their by-identity forms [`Vault::create_with_transit`] and
//! [`Vault::unlock_by_identity`], and the key derivation they share with rotation.

use super::header::{Header, TransitRef};
use super::unlocker::{Refresher, Unlocker};
use super::{
    idx_name, now, open_index, CreateOptions, Index, UnlockedVault, Vault, VaultError, VaultLock,
    FORMAT_VERSION,
};
use crate::crypto::{new_salt, Dek, DekPlace, KdfParams, Kek, Passphrase, VaultId};

/// How a vault is unlocked (its header says).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnlockMethod {
    /// With its passphrase.
    Passphrase,
    /// By this machine's OpenBao identity, which may decrypt with this Transit key.
    Transit(TransitRef),
}

impl Vault {
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
        let salt = new_salt();
        let kek = derive(passphrase, &opts.kdf, &salt)?;
        self.create_with(Unlocker::Passphrase(kek), opts.kdf, salt, None, None)
    }

    /// Creates a new, empty vault whose data key is wrapped by OpenBao Transit key `t`
    /// (format 3): it unlocks for every identity OpenBao lets decrypt with `t`, and has no
    /// passphrase. Only on the OpenBao store.
    ///
    /// With `refresher`, refresh tokens and client secrets are sealed under a refresher
    /// key of their own, wrapped by that second Transit key: identities that may decrypt
    /// with `t` but not with `refresher` read access tokens only (consumers).
    pub fn create_with_transit(
        &self,
        t: &TransitRef,
        refresher: Option<&TransitRef>,
    ) -> Result<UnlockedVault, VaultError> {
        let unlocker = Unlocker::transit(&self.ks, t)?;
        self.create_with(
            unlocker,
            KdfParams::default(),
            new_salt(),
            Some(t.clone()),
            refresher,
        )
    }

    fn create_with(
        &self,
        kek: Unlocker,
        kdf: KdfParams,
        salt: [u8; 16],
        transit: Option<TransitRef>,
        refresher_key: Option<&TransitRef>,
    ) -> Result<UnlockedVault, VaultError> {
        let lock = self.lock()?;
        if self.exists()? {
            return Err(VaultError::AlreadyExists {
                store: self.ks.store_name(),
                service: self.ks.service().to_string(),
            });
        }
        let vault_id = VaultId::generate();
        let dek = Dek::generate();
        let generation = 1;
        let t = now();
        let mut header = Header {
            format: FORMAT_VERSION,
            vault_id,
            kdf,
            kdf_below_floor: !kdf.meets_floor(),
            salt,
            generation,
            wrapped_dek: Vec::new(),
            created_at: t,
            dek_created_at: t,
            passphrase_changed_at: t,
            rotating_to: None,
            cleanup: None,
            transit,
            refresher: None,
        };
        header.wrapped_dek = kek.wrap(&dek, &header)?;
        let refresher = match refresher_key {
            None => Refresher::NoSplit,
            Some(r) => {
                let (rk, wrap) = Refresher::create(&self.ks, r, vault_id)?;
                header.refresher = Some(wrap);
                Refresher::Holder(rk.into())
            }
        };
        let mut v = UnlockedVault {
            ks: self.ks.clone(),
            lock_path: self.lock_path.clone(),
            header_raw: Vec::new(),
            header,
            kek,
            dek,
            index: Index::default(),
            refresher,
            seen: None,
        };
        // The index first, then the header: a crash before the header leaves no vault.
        v.write_index(generation, &v.dek, &v.index, FORMAT_VERSION)?;
        v.write_header()?;
        v.seen = lock.release();
        tracing::info!(vault = %vault_id.to_hex(), service = self.ks.service(), "vault created");
        Ok(v)
    }

    /// Whether `p` opens this vault as its stored header stands (one Argon2 run; nothing
    /// is unlocked or written). For an operation a person confirms with the current
    /// passphrase while the vault is open.
    pub fn check_passphrase(&self, p: &Passphrase) -> Result<(), VaultError> {
        let (header, _) = self.read_header()?;
        if header.transit.is_some() {
            return Err(VaultError::NoPassphrase);
        }
        let kek = derive(p, &header.kdf, &header.salt)?;
        match kek.unwrap(&header.wrapped_dek, &dek_place(&header)) {
            Some(_dek) => Ok(()),
            None => Err(VaultError::WrongPassphrase),
        }
    }

    /// Unlocks with the passphrase. Finishes or rolls back any key change a crash
    /// interrupted.
    pub fn unlock(&self, passphrase: &Passphrase) -> Result<UnlockedVault, VaultError> {
        // Not a stamping lock: unlocking writes nothing unless it must recover (below), so
        // other processes' caches stay valid.
        let lock = VaultLock::acquire(&self.lock_path)?;
        let hint = *self.kdf_hint.lock().unwrap_or_else(|p| p.into_inner());
        // Argon2 runs while the keystore is read: with the KDF settings of the header this
        // handle last saw (the lock screen read it), while the header and index are
        // fetched; else while the index is. Unlock costs Argon2 plus (at most) one read.
        // Argon2 runs on this thread, the reads on another: key bytes stay on the stack
        // the caller scrubs (a finished thread's stack is kept by the C library unwiped).
        let (header, header_raw, kek, idx_raw) = std::thread::scope(|s| {
            let (reads, kdf, salt) = match hint {
                Some((kdf, salt)) => {
                    let reads = s.spawn(|| {
                        let (header, raw) = self.read_header()?;
                        let idx = self.ks.get(&idx_name(header.generation));
                        Ok::<_, VaultError>((header, raw, idx))
                    });
                    (reads, kdf, salt)
                }
                None => {
                    let (header, raw) = self.read_header()?;
                    let (kdf, salt) = (header.kdf, header.salt);
                    let reads = s.spawn(move || {
                        let idx = self.ks.get(&idx_name(header.generation));
                        Ok::<_, VaultError>((header, raw, idx))
                    });
                    (reads, kdf, salt)
                }
            };
            let early = derive(passphrase, &kdf, &salt);
            // Invariant: the reads do not panic (they return errors).
            let (header, header_raw, idx) = reads.join().expect("keystore read thread panicked")?;
            let kek = if (kdf, salt) == (header.kdf, header.salt) {
                early
            } else {
                // Changed since (another process changed the passphrase): start over.
                derive(passphrase, &header.kdf, &header.salt)
            };
            Ok::<_, VaultError>((header, header_raw, kek, idx))
        })?;
        if header.transit.is_some() {
            return Err(VaultError::NoPassphrase);
        }
        let kek = Unlocker::Passphrase(kek?);
        let dek = kek.unwrap(&header).inspect_err(|_| {
            tracing::warn!(vault = %header.vault_id.to_hex(), "unlock failed: wrong passphrase");
        })?;
        let keys = (kek, Refresher::NoSplit);
        self.finish_unlock(lock, header, header_raw, keys, dek, idx_raw?)
    }

    /// How this vault unlocks: with a passphrase, or by identity (a Transit key).
    pub fn unlock_method(&self) -> Result<UnlockMethod, VaultError> {
        let (header, _) = self.read_header()?;
        Ok(match header.transit {
            Some(t) => UnlockMethod::Transit(t),
            None => UnlockMethod::Passphrase,
        })
    }

    /// Unlocks a vault whose data key a Transit key wraps: OpenBao decrypts it if this
    /// machine's identity may use the key. [`VaultError::NoPassphrase`]'s opposite: a
    /// passphrase vault is refused here ([`VaultError::PassphraseNeeded`]).
    pub fn unlock_by_identity(&self) -> Result<UnlockedVault, VaultError> {
        let lock = VaultLock::acquire(&self.lock_path)?;
        let (header, header_raw) = self.read_header()?;
        let Some(t) = &header.transit else {
            return Err(VaultError::PassphraseNeeded);
        };
        let kek = Unlocker::transit(&self.ks, t)?;
        let dek = kek.unwrap(&header)?;
        let refresher = Refresher::of(&self.ks, &header)?;
        let idx = self.ks.get(&idx_name(header.generation))?;
        self.finish_unlock(lock, header, header_raw, (kek, refresher), dek, idx)
    }

    fn finish_unlock(
        &self,
        mut lock: VaultLock,
        header: Header,
        header_raw: Vec<u8>,
        (kek, refresher): (Unlocker, Refresher),
        dek: Dek,
        idx_raw: Option<Vec<u8>>,
    ) -> Result<UnlockedVault, VaultError> {
        let index = open_index(&dek, &header, idx_raw)?;
        let mut v = UnlockedVault {
            ks: self.ks.clone(),
            lock_path: self.lock_path.clone(),
            header,
            header_raw,
            kek,
            dek,
            index,
            refresher,
            seen: None,
        };
        if v.header.rotating_to.is_some() || v.header.cleanup.is_some() {
            lock.start_writing();
        }
        v.recover()?;
        v.seen = lock.release();
        tracing::info!(vault = %v.header.vault_id.to_hex(), generation = v.header.generation, "vault unlocked");
        Ok(v)
    }
}

pub(super) fn derive(p: &Passphrase, kdf: &KdfParams, salt: &[u8; 16]) -> Result<Kek, VaultError> {
    if !kdf.within_cap() {
        return Err(VaultError::KdfTooExpensive(*kdf));
    }
    Kek::derive(p, kdf, salt).map_err(|_| VaultError::Damaged {
        what: "the header".into(),
        why: "has KDF parameters Argon2 rejects",
    })
}

pub(super) fn dek_place(h: &Header) -> DekPlace<'_> {
    DekPlace {
        vault: h.vault_id,
        generation: h.generation,
        kdf: &h.kdf,
        salt: &h.salt,
    }
}
