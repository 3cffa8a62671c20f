//! [`ConnectionInfo`]: everything about a connection that is safe to show, and what its
//! provider's check said.

use super::{ConnectionName, CredentialKind, Status};
use crate::oauth::Provider;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything about a connection that is safe to show.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionInfo {
    /// User-chosen name, unique in the vault.
    pub name: ConnectionName,
    /// What it holds: OAuth tokens (records written before kinds existed), an API key,
    /// a static token.
    #[serde(default)]
    pub kind: CredentialKind,
    /// The provider, as it was when connecting (endpoints included).
    pub provider: Provider,
    /// OAuth client id.
    pub client_id: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Token type (`Bearer`).
    pub token_type: String,
    /// When the tokens were issued (Unix seconds).
    pub issued_at: u64,
    /// When the access token expires (Unix seconds), if the provider said.
    pub expires_at: Option<u64>,
    /// When the connection was made.
    pub created_at: u64,
    /// Whether a refresh token is held (never the token itself).
    pub has_refresh_token: bool,
    /// Whether a client secret is held.
    pub has_client_secret: bool,
    /// What the connection check said (e.g. Pleo's `subjectURN`), sanitised strings.
    pub check: BTreeMap<String, String>,
    /// Why the connection check failed, if it did.
    pub check_error: Option<String>,
    /// When the credential was last checked with its provider (`check`), if ever.
    #[serde(default)]
    pub checked_at: Option<u64>,
    /// Status.
    pub status: Status,
    /// When the tokens were last refreshed (Unix seconds).
    #[serde(default)]
    pub last_refresh: Option<u64>,
    /// Refreshes that failed in a row (reset by a success).
    #[serde(default)]
    pub refresh_failures: u32,
    /// The last refresh failure, if the last attempt failed.
    #[serde(default)]
    pub last_refresh_error: Option<String>,
    /// Set (persisted) before a refresh request is sent and cleared with its result: found
    /// set by the next refresher, it means a refresher died between the provider's answer
    /// and the write, so the refresh token may already be rotated away.
    #[serde(default)]
    pub refreshing_since: Option<u64>,
    /// The machine (its host name) that last claimed a refresh of this connection: on a
    /// team vault, who refreshes (the lease's last holder; with `last_refresh`, whether a
    /// refresher is alive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refreshed_by: Option<String>,
    /// When an access token was last handed out (Unix seconds).
    #[serde(default)]
    pub last_export: Option<u64>,
    /// When this connection was restored from a backup with its refresh token (Unix
    /// seconds): the vault the backup came from may hold the same grant, and two places
    /// refreshing one grant makes the provider revoke it. Cleared by re-authorising.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored_at: Option<u64>,
}

impl ConnectionInfo {
    /// A newly made, active connection's facts: `Bearer` tokens issued at `issued_at`, no
    /// refresh token or client secret, nothing checked, refreshed or exported yet. Callers
    /// set what else they know with struct update syntax.
    pub fn new(
        name: &ConnectionName,
        provider: Provider,
        client_id: String,
        scopes: Vec<String>,
        issued_at: u64,
        expires_at: Option<u64>,
    ) -> Self {
        Self {
            name: name.clone(),
            kind: CredentialKind::Oauth,
            provider,
            client_id,
            scopes,
            token_type: "Bearer".into(),
            issued_at,
            expires_at,
            created_at: issued_at,
            has_refresh_token: false,
            has_client_secret: false,
            check: Default::default(),
            check_error: None,
            checked_at: None,
            status: Status::Active,
            last_refresh: None,
            refresh_failures: 0,
            last_refresh_error: None,
            refreshing_since: None,
            refreshed_by: None,
            last_export: None,
            restored_at: None,
        }
    }

    /// Whether it holds a refresh token that a backup copied: the same grant may still be
    /// used where the backup was made.
    pub fn is_restored_copy(&self) -> bool {
        self.restored_at.is_some() && self.has_refresh_token && self.kind.is_refreshed()
    }
}

impl ConnectionInfo {
    /// What the provider's check said, typed ([`crate::facts::CheckFacts`]).
    pub fn facts(&self) -> crate::facts::CheckFacts {
        crate::facts::CheckFacts::of(&self.check)
    }

    /// The installation as the last check found it (Pleo's `/v1/installations/me`), if
    /// it was asked for.
    pub fn installation(&self) -> Option<crate::facts::Installation> {
        self.facts().installation
    }

    /// Whether the installation is in a state that stops the integration (`ERROR`,
    /// `INACTIVE`).
    pub fn installation_broken(&self) -> bool {
        self.installation().is_some_and(|i| i.status.is_broken())
    }

    /// Why the installation's status is unknown: the provider's answer could not be had
    /// or read at the last check. `None` when it was read (or never asked for).
    pub fn installation_unknown(&self) -> Option<String> {
        let i = self.installation()?;
        (i.status == crate::facts::InstallationStatus::Unknown)
            .then(|| i.read_error.unwrap_or_else(|| "no reason given".into()))
    }
}
