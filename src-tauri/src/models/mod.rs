//! What the webview receives. Explicit types (not core's structs passed through), so a
//! field added to core never reaches the webview unless it is added here on purpose. None
//! of them carries a secret.

use serde::Serialize;
use token_wallet_core::VaultInfo;

/// Where the lock screen is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
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
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Kdf {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

/// A backup written or restored: how many connections, and what to tell the person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct BackupDone {
    /// Connections in it.
    pub records: u64,
    /// The outcome in words (with the copied-refresh-token warning after a restore).
    pub message: String,
}

/// A vault's public facts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
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
    /// `passphrase`, or `transit:MOUNT/KEY`: a team vault on OpenBao that unlocks by this
    /// machine's OpenBao identity, with no passphrase.
    pub unlock: String,
    /// A team vault whose refresh tokens are sealed for refreshers: their Transit key.
    pub refresher_key: Option<String>,
    /// This identity may only consume the team vault (known once unlocked).
    pub consume_only: bool,
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
            unlock: i.unlock,
            refresher_key: i.refresher_key,
            consume_only: i.consume_only,
        }
    }
}

/// Everything the lock screen needs to draw itself.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
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
    /// Why it locked by itself, for the lock screen ("Locked after 15 minutes without
    /// use."); `None` when the person locked it (or it was never unlocked).
    pub locked_because: Option<String>,
}

/// A provider the connect wizard offers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ProviderView {
    /// Short name.
    pub name: String,
    /// The name people see.
    pub display_name: String,
    /// The client id used when the form leaves it empty, if there is one.
    pub default_client_id: Option<String>,
    /// The scopes asked for when the form leaves them empty.
    pub default_scopes: Vec<String>,
    /// "built-in preset", "config", "config (discovery)".
    pub source: String,
    /// Pleo or a Pleo-style provider: the wizard shows Pleo's client-secret advice.
    pub pleo: bool,
}

/// What the connect wizard sends. No `Debug`: it may carry a client secret.
#[derive(serde::Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectForm {
    /// Connection name.
    pub name: String,
    /// A provider's short name, or `custom`.
    pub provider: String,
    /// Client id (empty: the provider's default).
    #[serde(default)]
    pub client_id: String,
    /// A confidential client: the command asks for its secret in the native dialog.
    #[serde(default)]
    pub confidential: bool,
    /// Client secret (empty: none): never from the page.
    #[serde(skip)]
    pub client_secret: String,
    /// Space-separated scopes (empty: the provider's defaults).
    #[serde(default)]
    pub scopes: String,
    /// Custom provider only.
    #[serde(default)]
    pub authorize_url: String,
    /// Custom provider only.
    #[serde(default)]
    pub token_url: String,
    /// Custom provider only (empty: no revocation).
    #[serde(default)]
    pub revocation_url: String,
}

/// How a disconnect ended, in one word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum DisconnectOutcome {
    /// Revoked at the provider and deleted.
    Revoked,
    /// Deleted; the provider has no revocation.
    NoRevocation,
    /// Forgotten without revoking (forced).
    Forgotten,
    /// An API key or static token deleted here (revoke it where it was made).
    KeyForgotten,
    /// Kept as "revocation pending" (the provider could not be reached).
    Pending,
    /// Anything else core may add.
    Other,
}

/// How a check went, in one word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum CheckResult {
    /// Accepted (its installation, if any, fine).
    Ok,
    /// Refused: wrong, expired or revoked.
    Refused,
    /// Could not be completed.
    Failed,
    /// Accepted, but the installation is in error or inactive.
    InstallationProblem,
    /// Accepted, but the installation's status could not be read.
    InstallationUnknown,
    /// A static token: nothing to check it with.
    Unverifiable,
}

impl From<&token_wallet_core::ops::CheckOutcome> for CheckResult {
    fn from(o: &token_wallet_core::ops::CheckOutcome) -> Self {
        use token_wallet_core::ops::CheckOutcome as O;
        match o {
            O::Ok => Self::Ok,
            O::Refused => Self::Refused,
            O::InstallationProblem => Self::InstallationProblem,
            O::InstallationUnknown => Self::InstallationUnknown,
            O::Unverifiable => Self::Unverifiable,
            _ => Self::Failed,
        }
    }
}

/// How a disconnect ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Disconnect {
    /// How it ended.
    pub outcome: DisconnectOutcome,
    /// One sentence for the user.
    pub message: String,
}

/// An access token put on the clipboard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Copied {
    /// Its expiry (Unix seconds), if known.
    pub expires_at: Option<u64>,
    /// The clipboard is cleared after this many seconds (if it still holds the token).
    pub clears_in_secs: u64,
}

/// A running proxy (the Proxy action): where it listens, what it lets through, how many
/// requests it has seen. Never its capability.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ProxyView {
    /// The connection.
    pub name: String,
    /// Its base URLs (`http://127.0.0.1:PORT`, `http://[::1]:PORT`).
    pub urls: Vec<String>,
    /// Its `--allow` rules (empty: everything the token can do).
    pub allow: Vec<String>,
    /// Requests forwarded to the API.
    pub forwarded: u64,
    /// Requests it answered itself (refused, busy).
    pub refused: u64,
    /// Requests that waited for a token.
    pub waited: u64,
}

/// One audit-log line for the audit view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AuditLine {
    /// Sequence number.
    pub seq: u64,
    /// Unix seconds.
    pub ts: u64,
    /// Event name (`connected`, `export`...).
    pub event: String,
    /// The event's fields, as `key=value` strings.
    pub fields: Vec<(String, String)>,
    /// Written with the vault's audit key (else while locked).
    pub authenticated: bool,
}

/// The audit log and its verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AuditView {
    /// Newest first.
    pub lines: Vec<AuditLine>,
    /// Chain, MACs and anchor intact.
    pub intact: bool,
    /// Lines authenticated.
    pub authenticated: u64,
    /// Where it is broken and why.
    pub broken: Option<String>,
    /// The log file.
    pub path: String,
}

/// Something to look at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AlertView {
    /// What it is about.
    pub kind: token_wallet_core::monitor::AlertKind,
    /// The connection concerned, if any.
    pub connection: Option<String>,
    /// One sentence.
    pub text: String,
}

/// Progress of a data-key rotation, sent as the `rotation-progress` event.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Progress {
    /// Records re-encrypted so far.
    pub done: usize,
    /// Records in all.
    pub total: usize,
}

/// The settings, and why the file could not be read if it could not.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    /// What is in force.
    pub settings: crate::settings::Settings,
    /// Why the settings file could not be read (the defaults are in force until a save).
    pub problem: Option<String>,
    /// The profile's data directory.
    pub data_dir: String,
    /// The providers file the wizard reads.
    pub providers_file: Option<String>,
}

/// The connections tab's content: every connection and what needs attention.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Connections {
    /// Every connection's public facts.
    pub connections: Vec<ConnectionView>,
    /// Alerts, connections' and failed unlocks'.
    pub alerts: Vec<AlertView>,
    /// The wallet's clock (Unix seconds) when this was read: the window counts down from
    /// it, so it agrees with the wallet's expiry decisions.
    pub now: u64,
}

/// What the "Add API key" dialog sends. No `Debug`: it carries the key.
#[derive(serde::Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddKeyForm {
    /// Its name.
    pub name: String,
    /// `pleo`, `pleo-staging` or a Pleo-style provider.
    pub provider: String,
    /// The key: never from the page; the command asks for it in the native dialog.
    #[serde(skip)]
    pub key: String,
    /// Its expiry date, `YYYY-MM-DD` (empty: none given).
    #[serde(default)]
    pub expires: String,
}

/// What the rotate form sends. No `Debug`: it carries the key.
#[derive(serde::Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotateForm {
    /// The key's or token's name.
    pub name: String,
    /// The new one: never from the page; the command asks for it in the native dialog.
    #[serde(skip)]
    pub key: String,
    /// Its expiry date, `YYYY-MM-DD` (empty: none given).
    #[serde(default)]
    pub expires: String,
}

/// A rotation's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Rotated {
    /// The connection with its new credential.
    pub connection: ConnectionView,
    /// One sentence: what to revoke where.
    pub message: String,
}

/// A check's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Checked {
    /// The connection as saved after the check.
    pub connection: ConnectionView,
    /// How it went.
    pub outcome: CheckResult,
    /// One sentence.
    pub message: String,
}

mod connection;

pub use connection::{ConnectionStatus, ConnectionView};

/// The contract with the UI: one sample of every model the webview receives, serialised
/// as Rust sends it, pinned in `ui/src/contract.json`. The UI's `contract.test.ts` checks
/// that `types.ts` names exactly these fields, so neither side can drift alone. After a
/// deliberate change, `UPDATE_CONTRACT=1 cargo test -p token-wallet-app contract`.
#[cfg(test)]
mod contract;

/// The UI's TypeScript types, generated from these Rust types into `ui/src/generated.ts`
/// and checked in: the test fails when Rust changes and the file does not. After a
/// deliberate change, `UPDATE_CONTRACT=1 cargo test -p token-wallet-app --lib generated`.
/// (ts-rs, not tauri-specta: it reads serde's attributes, needs no change to how commands
/// are registered, and is a stable release; the command wrappers in `ui/src/api.ts` are
/// typed with these.)
#[cfg(test)]
mod generated;
