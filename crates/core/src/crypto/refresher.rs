//! The team vault's refresher key (`docs/format.md` §8.8) and its associated data.

use super::{hazmat, key_from, random_key, VaultId, AAD_VERSION};
use zeroize::Zeroizing;

/// A team vault's refresher key (format 3): seals each connection's refresh token and
/// client secret inside its record, so that an identity that may only consume (it
/// unwraps the data key, not this one) reads access tokens and never a refresh token. Its
/// own type, wrapped only by an OpenBao Transit key.
pub(crate) struct RefresherKey(Box<Zeroizing<[u8; 32]>>);

/// The associated data a Transit key binds a wrapped refresher key to: the vault.
pub(crate) fn transit_refresher_aad(vault: VaultId) -> Vec<u8> {
    let mut a = b"token-wallet/transit-refresher/v".to_vec();
    a.extend_from_slice(&AAD_VERSION.to_be_bytes());
    a.extend_from_slice(&vault.0);
    a
}

/// The associated data of a record's sealed refresher secrets: the vault and the record's
/// name (not its generation: they stay sealed as they are through data-key rotations).
fn refresher_secrets_aad(vault: VaultId, record: &str) -> Vec<u8> {
    let mut a = b"token-wallet/refresher-secrets/v".to_vec();
    a.extend_from_slice(&AAD_VERSION.to_be_bytes());
    a.extend_from_slice(&vault.0);
    a.extend_from_slice(&(record.len() as u64).to_be_bytes());
    a.extend_from_slice(record.as_bytes());
    a
}

impl RefresherKey {
    pub(crate) fn generate() -> Self {
        Self(random_key())
    }

    /// The raw key, to be wrapped by a Transit key.
    pub(crate) fn expose_for_wrapping(&self) -> &[u8] {
        &self.0[..]
    }

    /// A refresher key unwrapped by Transit; `None` unless it is 32 bytes.
    pub(crate) fn from_unwrapped(raw: &[u8]) -> Option<Self> {
        key_from(raw).map(Self)
    }

    pub(crate) fn seal(&self, vault: VaultId, record: &str, plaintext: &[u8]) -> Vec<u8> {
        hazmat::seal(&self.0, &refresher_secrets_aad(vault, record), plaintext)
    }

    /// `None`: changed, or moved from another record or vault.
    pub(crate) fn open(
        &self,
        vault: VaultId,
        record: &str,
        blob: &[u8],
    ) -> Option<Zeroizing<Vec<u8>>> {
        hazmat::open(&self.0, &refresher_secrets_aad(vault, record), blob)
    }
}
