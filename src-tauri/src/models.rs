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
}

/// Where a connection stands (the UI adds "expiring" and "expired" from `expiresAt`, live).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum ConnectionStatus {
    /// Connected.
    Active,
    /// The provider refused the refresh token: sign in again.
    NeedsReauthorisation,
    /// Disconnected here, but the provider has not confirmed the revocation yet.
    RevocationPending,
}

/// A connection's public facts: never a token, never whether a secret's value is known.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ConnectionView {
    /// Unique name.
    pub name: String,
    /// `oauth`, `api-key`, `static-bearer`, `static-basic` or `static-raw`.
    pub kind: token_wallet_core::connection::CredentialKind,
    /// Provider's short name.
    pub provider: String,
    /// Provider's display name.
    pub provider_name: String,
    /// OAuth client id.
    pub client_id: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Status.
    pub status: ConnectionStatus,
    /// Why (re-authorisation reason, or the last revocation error).
    pub status_detail: Option<String>,
    /// Revocation attempts so far (revocation pending).
    pub revocation_attempts: u32,
    /// Unix seconds.
    pub created_at: u64,
    /// When the current tokens were issued (Unix seconds).
    pub issued_at: u64,
    /// Access-token expiry (Unix seconds), if the provider said.
    pub expires_at: Option<u64>,
    /// A refresh token is held (never sent here).
    pub has_refresh_token: bool,
    /// When the refresh token is expected to lapse if unused: issued + the assumed
    /// lifetime (Pleo: 60 days, renewed by every rotation). `None` without one.
    pub refresh_expires_at: Option<u64>,
    /// A client secret is held.
    pub has_client_secret: bool,
    /// Unix seconds.
    pub last_refresh: Option<u64>,
    /// Unix seconds.
    pub last_export: Option<u64>,
    /// Failed refreshes in a row.
    pub refresh_failures: u32,
    /// A refresh was interrupted at this time (Unix seconds); checked on next use.
    pub refreshing_since: Option<u64>,
    /// The last refresh failure.
    pub last_refresh_error: Option<String>,
    /// What the connection check reported (sanitised strings).
    pub check: Vec<(String, String)>,
    /// The account it acts for, as its provider's check named it (Pleo: the company's URN).
    pub account: Option<String>,
    /// The application it acts as, as its provider's check named it (Pleo).
    pub application: Option<String>,
    /// Why the connection check failed.
    pub check_error: Option<String>,
    /// When it was last checked with its provider (Unix seconds).
    pub checked_at: Option<u64>,
    /// Pleo's installation status (`ACTIVATED`, `ERROR`, `NONE`...), if it was read.
    pub installation_status: Option<String>,
    /// The installation's error code (`AUTH_ERROR`...), if any.
    pub installation_error: Option<String>,
    /// The provider can revoke tokens (else disconnect only forgets them).
    pub can_revoke: bool,
}

impl ConnectionView {
    /// From core's facts; `refresh_days` is the assumed refresh-token lifetime.
    pub fn from_info(i: token_wallet_core::connection::ConnectionInfo, refresh_days: u64) -> Self {
        use token_wallet_core::connection::Status as S;
        let facts = i.facts();
        let installation = facts.installation.clone();
        let (status, status_detail, revocation_attempts) = match &i.status {
            S::Active => (ConnectionStatus::Active, None, 0),
            S::NeedsReauthorisation { reason, .. } => (
                ConnectionStatus::NeedsReauthorisation,
                Some(reason.clone()),
                0,
            ),
            S::RevocationPending {
                attempts,
                last_error,
                ..
            } => (
                ConnectionStatus::RevocationPending,
                Some(last_error.clone()),
                *attempts,
            ),
        };
        Self {
            kind: i.kind,
            checked_at: i.checked_at,
            installation_status: installation.as_ref().map(|x| x.status.as_str().to_string()),
            installation_error: installation.and_then(|x| x.error_code),
            refresh_expires_at: i
                .has_refresh_token
                .then(|| i.issued_at + refresh_days * 86_400),
            can_revoke: i.provider.revocation != token_wallet_core::oauth::Revocation::None,
            name: i.name.to_string(),
            provider: i.provider.name,
            provider_name: i.provider.display_name,
            client_id: i.client_id,
            scopes: i.scopes,
            status,
            status_detail: status_detail.map(|d| crate::error::plain(&d)),
            revocation_attempts,
            created_at: i.created_at,
            issued_at: i.issued_at,
            expires_at: i.expires_at,
            has_refresh_token: i.has_refresh_token,
            has_client_secret: i.has_client_secret,
            last_refresh: i.last_refresh,
            last_export: i.last_export,
            refresh_failures: i.refresh_failures,
            refreshing_since: i.refreshing_since,
            last_refresh_error: i.last_refresh_error.map(|e| crate::error::plain(&e)),
            check: i.check.into_iter().collect(),
            account: facts.subject,
            application: facts.application,
            check_error: i.check_error.map(|e| crate::error::plain(&e)),
        }
    }
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

/// The contract with the UI: one sample of every model the webview receives, serialised
/// as Rust sends it, pinned in `ui/src/contract.json`. The UI's `contract.test.ts` checks
/// that `types.ts` names exactly these fields, so neither side can drift alone. After a
/// deliberate change, `UPDATE_CONTRACT=1 cargo test -p token-wallet-app contract`.
#[cfg(test)]
mod contract {
    use super::*;
    use token_wallet_core::connection::ConnectionInfo;

    fn samples() -> serde_json::Value {
        let facts = VaultFacts {
            vault_id: "00".into(),
            store: "file".into(),
            service: "token-wallet".into(),
            kdf: Kdf {
                m_kib: 65536,
                t: 3,
                p: 4,
            },
            kdf_below_floor: false,
            generation: 1,
            created_at: 1,
            dek_created_at: 1,
            passphrase_changed_at: 1,
            record_count: Some(1),
        };
        let state = VaultState {
            status: Status::Unlocked,
            profile: "default".into(),
            store: Some("file".into()),
            vault: Some(facts),
            message: Some("m".into()),
            retry_after_ms: 0,
            failed_attempts: 0,
            insecure_kdf: false,
            min_passphrase_chars: 8,
        };
        let mut info = ConnectionInfo::new(
            &"c".parse().unwrap(),
            token_wallet_core::oauth::presets().remove(0),
            "client".into(),
            vec!["users:read".into()],
            1,
            Some(2),
        );
        info.has_refresh_token = true;
        info.last_refresh = Some(1);
        info.last_export = Some(1);
        info.last_refresh_error = Some("e".into());
        info.check_error = Some("e".into());
        info.checked_at = Some(1);
        let alert = AlertView {
            kind: token_wallet_core::monitor::AlertKind::Inactive,
            connection: Some("c".into()),
            text: "t".into(),
        };
        let audit = AuditView {
            lines: vec![AuditLine {
                seq: 1,
                ts: 1,
                event: "connected".into(),
                fields: vec![("connection".into(), "c".into())],
                authenticated: true,
            }],
            intact: true,
            authenticated: 1,
            broken: Some("b".into()),
            path: "p".into(),
        };
        serde_json::json!({
            "VaultState": state,
            "Connections": Connections {
                connections: vec![ConnectionView::from_info(info.clone(), 60)],
                alerts: vec![alert],
                now: 1,
            },
            "Rotated": Rotated { connection: ConnectionView::from_info(info.clone(), 60), message: "m".into() },
            "Checked": Checked { connection: ConnectionView::from_info(info, 60), outcome: CheckResult::Ok, message: "m".into() },
            "Provider": ProviderView {
                name: "pleo".into(),
                display_name: "Pleo".into(),
                default_client_id: Some("c".into()),
                default_scopes: vec!["users:read".into()],
                source: "s".into(),
                pleo: true,
            },
            "Disconnect": Disconnect { outcome: DisconnectOutcome::Revoked, message: "m".into() },
            "Copied": Copied { expires_at: Some(1), clears_in_secs: 30 },
            "AuditView": audit,
            "SettingsView": SettingsView {
                settings: crate::settings::Settings::default(),
                problem: Some("p".into()),
                data_dir: "d".into(),
                providers_file: Some("f".into()),
            },
            "Progress": Progress { done: 1, total: 2 },
            "BackupDone": BackupDone { records: 1, message: "m".into() },
        })
    }

    #[test]
    fn contract_is_what_the_ui_expects() {
        token_wallet_test_support::pinned(
            "ui/src/contract.json",
            &(serde_json::to_string_pretty(&samples()).unwrap() + "\n"),
            "UPDATE_CONTRACT",
            "cargo test -p token-wallet-app --lib contract",
        );
    }
}

/// The UI's TypeScript types, generated from these Rust types into `ui/src/generated.ts`
/// and checked in: the test fails when Rust changes and the file does not. After a
/// deliberate change, `UPDATE_CONTRACT=1 cargo test -p token-wallet-app --lib generated`.
/// (ts-rs, not tauri-specta: it reads serde's attributes, needs no change to how commands
/// are registered, and is a stable release; the command wrappers in `ui/src/api.ts` are
/// typed with these.)
#[cfg(test)]
mod generated {
    use super::*;
    use ts_rs::{Config, TS};

    fn typescript() -> String {
        let cfg = Config::new().with_large_int("number");
        let mut out = String::from(
            "// Generated from the Rust types the app sends and receives (src-tauri/src/models.rs\n\
             // and the core types they hold) by the app's test `models::generated`. Do not\n\
             // edit: change the Rust, then `UPDATE_CONTRACT=1 cargo test -p token-wallet-app --lib generated`.\n",
        );
        macro_rules! decl {
            ($($t:ty),* $(,)?) => {
                $(
                    out.push_str(&format!("\nexport {}\n", <$t as TS>::decl(&cfg)));
                )*
            };
        }
        decl!(
            Status,
            Kdf,
            VaultFacts,
            VaultState,
            ConnectionStatus,
            token_wallet_core::connection::CredentialKind,
            ConnectionView,
            ProviderView,
            ConnectForm,
            DisconnectOutcome,
            Disconnect,
            Copied,
            AuditLine,
            AuditView,
            token_wallet_core::monitor::AlertKind,
            AlertView,
            Progress,
            crate::settings::Settings,
            SettingsView,
            Connections,
            AddKeyForm,
            RotateForm,
            Rotated,
            CheckResult,
            Checked,
            BackupDone,
        );
        out
    }

    #[test]
    fn generated_typescript_is_current() {
        token_wallet_test_support::pinned(
            "ui/src/generated.ts",
            &typescript(),
            "UPDATE_CONTRACT",
            "cargo test -p token-wallet-app --lib generated",
        );
    }
}
