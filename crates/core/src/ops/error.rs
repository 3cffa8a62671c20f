//! What an operation can fail with. Messages say what happened in neutral words; each
//! front end adds its own advice (a flag in the CLI, a button in the app).

use crate::oauth::api_key::ApiKeyError;
use crate::oauth::OAuthError;
use crate::refresh::RefreshError;
use crate::vault::VaultError;

/// An operation's failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpError {
    /// The vault or its keystore.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The provider, or the sign-in.
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    /// Getting a live access token.
    #[error(transparent)]
    Refresh(RefreshError),
    /// A pasted or typed secret that is empty (or only spaces).
    #[error("the key or token is empty; nothing was stored")]
    EmptySecret,
    /// A new passphrase shorter than the rule.
    #[error("the new passphrase is too short: use at least {0} characters")]
    PassphraseTooShort(usize),
    /// The provider refused the revocation, and a fresh access token to retry with could
    /// not be had either. The connection is kept; its tokens may still be live.
    #[error("could not revoke `{name}`: {refused}{}", .refresh.as_deref().map(|r| format!("; renewing its access token first failed too ({r})")).unwrap_or_default())]
    RevocationRefused {
        /// Connection.
        name: String,
        /// What the revocation endpoint said.
        refused: OAuthError,
        /// Why the refresh before it failed, if it did.
        refresh: Option<String>,
    },
    /// An API key that did not verify.
    #[error("{0}; nothing was stored")]
    ApiKey(#[from] ApiKeyError),
    /// A new key that did not verify: the old one is kept, untouched.
    #[error("the new key did not verify: {0}; the old one is kept")]
    Rotation(ApiKeyError),
    /// Rotating an OAuth connection's secret by hand: its tokens are renewed by refresh
    /// and a new sign-in.
    #[error("`{0}` is an OAuth connection: its tokens are renewed by refreshing or re-authorising it, not replaced by hand")]
    NotRotatable(String),
    /// The "new" secret is the one already held.
    #[error("that is the key `{0}` already holds; nothing was changed")]
    SameSecret(String),
    /// A replacement key that acts for another company than the key it would replace.
    #[error("the new key acts for another company ({now}) than `{name}` does ({was}); nothing was changed. A key for another company is another credential: add it under its own name")]
    KeyForAnotherCompany {
        /// The key's name.
        name: String,
        /// The company the old key acts for.
        was: String,
        /// The company the new key acts for.
        now: String,
    },
    /// A restore into a vault that already holds connections.
    #[error("the vault already holds connections; a backup is restored only into a vault that holds none")]
    RestoreIntoFullVault,
    /// The audit log could not be written: the operation was not done (or, when its line
    /// failed after it, nothing more is done). No audited operation runs unaudited.
    #[error("the audit log could not be written, so no audited operation runs: {0}")]
    Audit(#[from] crate::audit::AuditError),
    /// Re-authorising a connection that is being disconnected.
    #[error("`{0}` is being disconnected (revocation pending) and cannot be signed in again")]
    BeingDisconnected(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_neutral_and_complete() {
        let e = OpError::RevocationRefused {
            name: "payroll".into(),
            refused: OAuthError::Status {
                what: "the revocation endpoint",
                status: 401,
            },
            refresh: Some("the token endpoint refused (HTTP 400): invalid_grant".into()),
        };
        assert_eq!(
            e.to_string(),
            "could not revoke `payroll`: the revocation endpoint answered HTTP 401; renewing its access token first failed too (the token endpoint refused (HTTP 400): invalid_grant)"
        );
        assert_eq!(
            OpError::PassphraseTooShort(8).to_string(),
            "the new passphrase is too short: use at least 8 characters"
        );
        for e in [
            OpError::PassphraseTooShort(8).to_string(),
            OpError::BeingDisconnected("x".into()).to_string(),
        ] {
            assert!(!e.contains("--") && !e.contains("token-wallet"), "{e}");
        }
    }
}
