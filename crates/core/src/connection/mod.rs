//! Connections: one vault record per connection, holding its tokens and what is known
//! about it. Secrets live in [`Secrets`] (zeroized on drop, never printed); everything
//! else is [`ConnectionInfo`], safe to show.

mod info;
mod name;
mod store;

pub use info::ConnectionInfo;
pub use name::{ConnectionName, MAX_NAME_CHARS, RECORD_PREFIX};
pub use store::{create, decode, exists, list, load, names, remove, save_all, update};

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Where a connection stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum Status {
    /// Connected.
    Active,
    /// Disconnect could not reach the provider; kept until revocation succeeds.
    RevocationPending {
        /// When the first attempt failed (Unix seconds).
        since: u64,
        /// Attempts so far.
        attempts: u32,
        /// The last failure.
        last_error: String,
    },
    /// The provider refused the refresh token (`invalid_grant`), or a refresh was
    /// interrupted after the provider may have rotated it: sign in again (`connect`).
    NeedsReauthorisation {
        /// Since when (Unix seconds).
        since: u64,
        /// Why.
        reason: String,
    },
}

/// What kind of credential a connection holds. One list, one name space, one export path
/// for all of them; only `oauth` is ever refreshed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum CredentialKind {
    /// OAuth tokens from a sign-in (refreshed with the refresh token).
    #[default]
    Oauth,
    /// A Pleo standalone API key (made in Pleo's web app; verified with
    /// `/v1/introspect`; sent with HTTP Basic, the key and an empty password).
    ApiKey,
    /// Any other token or key a tool needs, sent as a bearer token.
    StaticBearer,
    /// Any other token or key, sent with HTTP Basic as the user name.
    StaticBasic,
    /// Any other token or key, sent as the `Authorization` header's whole value.
    StaticRaw,
}

impl CredentialKind {
    /// Whether it is refreshed (OAuth) or stays as it was given until it expires.
    pub fn is_refreshed(self) -> bool {
        self == Self::Oauth
    }

    /// The `Authorization` header value that presents `secret` for this kind.
    pub fn authorization(self, token_type: &str, secret: &str) -> zeroize::Zeroizing<String> {
        match self {
            Self::Oauth => zeroize::Zeroizing::new(format!("{token_type} {secret}")),
            Self::StaticBearer => zeroize::Zeroizing::new(format!("Bearer {secret}")),
            Self::ApiKey | Self::StaticBasic => crate::facts::basic_authorization(secret),
            Self::StaticRaw => zeroize::Zeroizing::new(secret.to_string()),
        }
    }
}

/// The tokens and client secret of a connection.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop, Default)]
pub struct Secrets {
    /// The access token.
    pub access_token: String,
    /// The refresh token, if the provider issued one.
    pub refresh_token: Option<String>,
    /// The client secret of a confidential client.
    pub client_secret: Option<String>,
    /// In a team vault with a refresher key (`docs/format.md` §10.2): the refresh token
    /// and client secret, sealed under that key (base64). Read by an identity without the
    /// key, `refresh_token` and `client_secret` are `None` and this is kept as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(<redacted>)")
    }
}

impl Connection {
    /// Its grant at the provider, for revocation and the check.
    pub fn grant(&self) -> crate::oauth::Grant<'_> {
        crate::oauth::Grant {
            provider: &self.info.provider,
            client_id: &self.info.client_id,
            client_secret: self.secrets.client_secret.as_deref(),
            access_token: &self.secrets.access_token,
            refresh_token: self.secrets.refresh_token.as_deref(),
        }
    }
}

/// A stored connection.
#[derive(Serialize, Deserialize)]
pub struct Connection {
    /// Public part.
    pub info: ConnectionInfo,
    /// Secret part.
    pub secrets: Secrets,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("info", &self.info)
            .field("secrets", &self.secrets)
            .finish()
    }
}

pub use crate::clock::now;

/// An active Pleo connection issued at `issued` and expiring at `expires`, for tests.
#[cfg(test)]
pub(crate) fn sample_info(name: &str, issued: u64, expires: Option<u64>) -> ConnectionInfo {
    ConnectionInfo {
        has_refresh_token: true,
        ..ConnectionInfo::new(
            &ConnectionName::new(name).expect("a valid test name"),
            crate::oauth::presets().remove(0),
            "id".into(),
            vec![],
            issued,
            expires,
        )
    }
}

#[cfg(test)]
mod tests;
