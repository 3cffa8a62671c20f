//! A connection as the webview sees it.

use serde::Serialize;
use token_wallet_core::health::Health;

/// Where a connection stands with its provider (its health, which the clock changes too, is
/// [`ConnectionView::health`]).
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
    /// The machine that last claimed a refresh (a team vault's refresher).
    pub refreshed_by: Option<String>,
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
    /// A Pleo provider: its connections and keys have an installation, whose status the
    /// check reads.
    pub pleo: bool,
    /// Where it stands at `now` (core's `health::Health`, the CLI's words too).
    pub health: Health,
    /// When its health next changes by the clock alone (Unix seconds): ask again then.
    pub health_until: Option<u64>,
}

impl ConnectionView {
    /// From core's facts at `now` (Unix seconds); `refresh_days` is the assumed
    /// refresh-token lifetime.
    pub fn from_info(
        i: token_wallet_core::connection::ConnectionInfo,
        refresh_days: u64,
        now: u64,
    ) -> Self {
        use token_wallet_core::connection::Status as S;
        let health = Health::of(&i, now);
        let health_until = Health::until(&i, now);
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
            health,
            health_until,
            kind: i.kind,
            checked_at: i.checked_at,
            installation_status: installation.as_ref().map(|x| x.status.as_str().to_string()),
            installation_error: installation.and_then(|x| x.error_code),
            refresh_expires_at: i
                .has_refresh_token
                .then(|| i.issued_at + refresh_days * 86_400),
            can_revoke: i.provider.revocation != token_wallet_core::oauth::Revocation::None,
            pleo: i.provider.kind() == token_wallet_core::oauth::ProviderKind::Pleo,
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
            refreshed_by: i.refreshed_by,
            last_refresh_error: i.last_refresh_error.map(|e| crate::error::plain(&e)),
            check: i.check.into_iter().collect(),
            account: facts.subject,
            application: facts.application,
            check_error: i.check_error.map(|e| crate::error::plain(&e)),
        }
    }
}
