//! What wraps a vault's data key: the passphrase's key-encryption key, or an OpenBao
//! Transit key (format 3, `docs/team-vault.md`). Both wrap and unwrap the data key bound
//! to the vault and generation; only the Transit one asks a server, and its answer is
//! "this identity may (or may not) decrypt with the key".

use super::header::{Header, RefresherWrap, TransitRef};
use super::open::dek_place;
use super::VaultError;
use crate::crypto::{transit_dek_aad, transit_refresher_aad, Dek, Kek, RefresherKey, VaultId};
use crate::keystore::{Keystore, KeystoreError, TransitError, TransitKey};

/// The key that wraps the data key.
pub(crate) enum Unlocker {
    /// Derived from the passphrase (Argon2id).
    Passphrase(Kek),
    /// A Transit key on the vault's OpenBao.
    Transit(TransitKey),
}

impl Unlocker {
    /// The Transit key `t` on `ks`'s OpenBao.
    pub(crate) fn transit(ks: &Keystore, t: &TransitRef) -> Result<Self, VaultError> {
        ks.transit(&t.mount, &t.key)
            .map(Self::Transit)
            .ok_or(VaultError::TransitNeedsOpenBao)
    }

    /// Wraps `dek` for the place `h` describes (its vault, generation and, for a
    /// passphrase, KDF settings and salt).
    pub(crate) fn wrap(&self, dek: &Dek, h: &Header) -> Result<Vec<u8>, VaultError> {
        match self {
            Self::Passphrase(kek) => Ok(kek.wrap(dek, &dek_place(h))),
            Self::Transit(t) => t
                .encrypt(
                    dek.expose_for_wrapping(),
                    &transit_dek_aad(h.vault_id, h.generation),
                )
                .map(String::into_bytes)
                .map_err(|e| transit_error(t, e)),
        }
    }

    /// Unwraps the data key of header `h`. A passphrase that does not open it is
    /// [`VaultError::WrongPassphrase`]; a Transit key that does not is damage (the
    /// identity was let in, and the wrapped key is not this place's).
    pub(crate) fn unwrap(&self, h: &Header) -> Result<Dek, VaultError> {
        match self {
            Self::Passphrase(kek) => kek
                .unwrap(&h.wrapped_dek, &dek_place(h))
                .ok_or(VaultError::WrongPassphrase),
            Self::Transit(t) => {
                let text = std::str::from_utf8(&h.wrapped_dek).map_err(|_| damaged())?;
                let raw = t
                    .decrypt(text, &transit_dek_aad(h.vault_id, h.generation))
                    .map_err(|e| transit_error(t, e))?;
                Dek::from_unwrapped(&raw).ok_or_else(damaged)
            }
        }
    }

    /// The passphrase's key, for what only a passphrase vault does (a backup sealed
    /// under the vault's own passphrase).
    pub(crate) fn kek(&self) -> Result<&Kek, VaultError> {
        match self {
            Self::Passphrase(k) => Ok(k),
            Self::Transit(_) => Err(VaultError::NoPassphrase),
        }
    }

    /// The key's raw bytes, for the memory-scan tests (none for Transit: the key stays
    /// in OpenBao).
    #[cfg(feature = "test-secrets")]
    pub(crate) fn bytes_for_tests(&self) -> Vec<u8> {
        match self {
            Self::Passphrase(k) => k.bytes_for_tests(),
            Self::Transit(_) => Vec::new(),
        }
    }
}

/// What this identity may do with a team vault's refresh tokens.
pub(crate) enum Refresher {
    /// The vault has no refresher key: refresh tokens are in the records with the rest.
    NoSplit,
    /// This identity holds the refresher key: it reads refresh tokens and refreshes.
    Holder(std::sync::Arc<RefresherKey>),
    /// OpenBao refused this identity the refresher key: it may only consume.
    ConsumeOnly,
}

impl Refresher {
    /// Makes a refresher key and wraps it with Transit key `t` for vault `vault`.
    pub(crate) fn create(
        ks: &Keystore,
        t: &TransitRef,
        vault: VaultId,
    ) -> Result<(RefresherKey, RefresherWrap), VaultError> {
        let key = ks
            .transit(&t.mount, &t.key)
            .ok_or(VaultError::TransitNeedsOpenBao)?;
        let rk = RefresherKey::generate();
        let wrapped = key
            .encrypt(rk.expose_for_wrapping(), &transit_refresher_aad(vault))
            .map_err(|e| transit_error(&key, e))?
            .into_bytes();
        Ok((
            rk,
            RefresherWrap {
                key: t.clone(),
                wrapped,
            },
        ))
    }

    /// What header `h` says for this identity: its refresher key if OpenBao lets it
    /// decrypt it, else consume only.
    pub(crate) fn of(ks: &Keystore, h: &Header) -> Result<Self, VaultError> {
        let Some(w) = &h.refresher else {
            return Ok(Self::NoSplit);
        };
        let key = ks
            .transit(&w.key.mount, &w.key.key)
            .ok_or(VaultError::TransitNeedsOpenBao)?;
        let text = std::str::from_utf8(&w.wrapped).map_err(|_| damaged())?;
        match key.decrypt(text, &transit_refresher_aad(h.vault_id)) {
            Ok(raw) => RefresherKey::from_unwrapped(&raw)
                .map(|k| Self::Holder(k.into()))
                .ok_or_else(damaged),
            Err(TransitError::Refused(why)) => {
                tracing::info!(key = %key.name(), why, "no refresher key for this identity: consume only");
                Ok(Self::ConsumeOnly)
            }
            Err(e) => Err(transit_error(&key, e)),
        }
    }
}

fn damaged() -> VaultError {
    VaultError::Damaged {
        what: "the header".into(),
        why: "has a wrapped data key that its Transit key does not open",
    }
}

fn transit_error(t: &TransitKey, e: TransitError) -> VaultError {
    match e {
        TransitError::NotThisPlace => damaged(),
        TransitError::Refused(why) => VaultError::IdentityRefused { key: t.name(), why },
        TransitError::Unavailable(detail) => VaultError::Keystore(KeystoreError::Unavailable {
            store: "openbao",
            detail,
            hint: "Check that OpenBao is reachable and unsealed, and try again",
        }),
    }
}
