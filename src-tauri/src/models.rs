//! What the webview receives. Explicit types (not core's structs passed through), so a
//! field added to core never reaches the webview unless it is added here on purpose. None
//! of them carries a secret.

use serde::Serialize;
use token_wallet_core::VaultInfo;

/// Where the lock screen is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    /// No vault under this profile: offer to create one.
    NoVault,
    /// A vault exists and is locked.
    Locked,
    /// The vault is unlocked in this process.
    Unlocked,
    /// The keystore or the configuration failed; `message` says why.
    Unavailable,
}

/// Argon2id parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Kdf {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

/// A vault's public facts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VaultFacts {
    /// Vault id (hex).
    pub vault_id: String,
    /// Store name (`secret-service`, `keychain`, `windows-credential-manager`, `file`).
    pub store: String,
    /// Keystore service name.
    pub service: String,
    /// Argon2id parameters.
    pub kdf: Kdf,
    /// Created below RFC 9106's floor on purpose (tests only): the UI warns.
    pub kdf_below_floor: bool,
    /// Data-key generation.
    pub generation: u64,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub dek_created_at: u64,
    /// Unix seconds.
    pub passphrase_changed_at: u64,
    /// Only known while unlocked.
    pub record_count: Option<usize>,
}

impl From<VaultInfo> for VaultFacts {
    fn from(i: VaultInfo) -> Self {
        Self {
            vault_id: i.vault_id,
            store: i.store.to_string(),
            service: i.service,
            kdf: Kdf {
                m_kib: i.kdf.m_kib,
                t: i.kdf.t,
                p: i.kdf.p,
            },
            kdf_below_floor: i.kdf_below_floor,
            generation: i.generation,
            created_at: i.created_at,
            dek_created_at: i.dek_created_at,
            passphrase_changed_at: i.passphrase_changed_at,
            record_count: i.record_count,
        }
    }
}

/// Everything the lock screen needs to draw itself.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VaultState {
    /// Where we are.
    pub status: Status,
    /// Profile name (empty when the configuration is invalid).
    pub profile: String,
    /// Store name, once the keystore is open.
    pub store: Option<String>,
    /// The vault's facts (record count only while unlocked).
    pub vault: Option<VaultFacts>,
    /// Why the vault is unavailable.
    pub message: Option<String>,
    /// Milliseconds before the next unlock attempt is accepted (0: now).
    pub retry_after_ms: u64,
    /// Wrong passphrases since the last successful unlock.
    pub failed_attempts: u32,
    /// New vaults get test-only KDF settings (`TOKEN_WALLET_INSECURE_KDF=1`).
    pub insecure_kdf: bool,
    /// The shortest passphrase `create_vault` accepts, in characters.
    pub min_passphrase_chars: usize,
}
