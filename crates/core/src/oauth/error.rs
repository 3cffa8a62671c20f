//! OAuth errors. Provider-supplied text is sanitised (printable, 200 characters); no
//! token, code, verifier, secret or response body is ever part of a message.

use std::time::Duration;

/// What went wrong in an OAuth operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// A provider's configuration is wrong.
    #[error("provider `{provider}`: {why}")]
    Config {
        /// Provider (or config file).
        provider: String,
        /// What is wrong.
        why: String,
    },
    /// The authorisation endpoint did not answer, checked before the browser was opened.
    #[error("the sign-in page of `{provider}` ({host}) did not answer: {why}; the browser was not opened and nothing was stored")]
    AuthorizeUnreachable {
        /// Provider.
        provider: String,
        /// Its host and port.
        host: String,
        /// What the network said.
        why: String,
    },
    /// The authorisation endpoint refused the sign-in request itself (a wrong client id
    /// or redirect address, say), checked before the browser was opened.
    #[error("the sign-in page of `{provider}` refused the request (HTTP {status}{}); check the client id and the redirect address registered with the provider; the browser was not opened and nothing was stored", .what.as_deref().map(|w| format!(": {w}")).unwrap_or_default())]
    AuthorizeRefused {
        /// Provider.
        provider: String,
        /// The status it answered.
        status: u16,
        /// What its answer said (its title or `error`), sanitised.
        what: Option<String>,
    },
    /// No provider of that name.
    #[error("no provider named `{0}`")]
    UnknownProvider(String),
    /// The discovery document could not be used.
    #[error("discovery document {url} refused: {why}")]
    Discovery {
        /// Its URL.
        url: String,
        /// Why.
        why: String,
    },
    /// The pinned redirect port is taken.
    #[error("port {0} is in use by another program, and this provider only accepts its registered redirect on that port; close the other program and try again")]
    PortInUse(u16),
    /// The loopback listener failed.
    #[error("the sign-in listener failed: {0}")]
    Listener(String),
    /// No callback came in time.
    #[error("no sign-in came back within {} s; nothing was stored", .0.as_secs())]
    Timeout(Duration),
    /// The wait was cancelled.
    #[error("sign-in cancelled; nothing was stored")]
    Cancelled,
    /// The callback's `state` was missing or wrong.
    #[error("the sign-in callback carried the wrong `state` (it did not come from this sign-in; possible forgery); nothing was stored")]
    StateMismatch,
    /// Re-authorisation signed in to another account than the connection's.
    #[error("the sign-in was for another account ({now}) than this connection's ({was}); nothing was changed. To use the other account, connect it under a new name (and disconnect this one if it is no longer wanted)")]
    AccountChanged {
        /// The connection's account.
        was: String,
        /// The account the new sign-in belongs to.
        now: String,
    },
    /// The callback had no `code`.
    #[error("the sign-in callback carried no authorisation code; nothing was stored")]
    MissingCode,
    /// The provider said no (`error=` on the callback).
    #[error("the provider refused the sign-in: {error}{}; nothing was stored", .description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Denied {
        /// The `error` code.
        error: String,
        /// Its `error_description`, sanitised.
        description: Option<String>,
    },
    /// The browser could not be opened.
    #[error("could not open a browser ({0})")]
    Browser(String),
    /// The token endpoint returned an OAuth error.
    #[error("the token endpoint refused (HTTP {status}): {error}{}", .description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    TokenRefused {
        /// HTTP status.
        status: u16,
        /// OAuth error code.
        error: String,
        /// Sanitised description.
        description: Option<String>,
    },
    /// The token endpoint's answer is not a usable token response.
    #[error("the token endpoint's answer (HTTP {status}) is not a valid token response: {why}")]
    BadTokenResponse {
        /// HTTP status (0 if none).
        status: u16,
        /// What is wrong (never the body).
        why: String,
    },
    /// A network failure talking to the provider.
    #[error("could not reach {what}: {detail}")]
    Network {
        /// Which endpoint.
        what: &'static str,
        /// What happened.
        detail: String,
    },
    /// A provider endpoint answered with an unexpected status.
    #[error("{what} answered HTTP {status}")]
    Status {
        /// Which endpoint.
        what: &'static str,
        /// HTTP status.
        status: u16,
    },
    /// A connection name is already used.
    #[error("a connection named `{0}` already exists; disconnect it first or choose another name")]
    NameTaken(String),
    /// The provider has no default client id and none was given.
    #[error("provider `{0}` has no default client id; a client id must be given")]
    NoClientId(String),
    /// The provider uses a confidential client and no client secret was given.
    #[error("provider `{0}` uses a confidential client; its client secret must be given")]
    NoClientSecret(String),
    /// Another refresh of the same connection in this process failed; its message.
    #[error("{message}")]
    Relayed {
        /// What the other refresh reported.
        message: String,
        /// Whether that failure may pass.
        transient: bool,
    },
}

impl OAuthError {
    /// The token endpoint said `invalid_grant`: the refresh token (or code) is dead.
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self, OAuthError::TokenRefused { error, .. } if error == "invalid_grant")
    }

    /// Whether retrying later may help (network failures and 5xx).
    pub fn is_transient(&self) -> bool {
        match self {
            OAuthError::Network { .. } => true,
            OAuthError::Relayed { transient, .. } => *transient,
            OAuthError::Status { status, .. }
            | OAuthError::TokenRefused { status, .. }
            | OAuthError::BadTokenResponse { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        let e = OAuthError::Denied {
            error: "access_denied".into(),
            description: Some("The user denied access".into()),
        };
        assert_eq!(
            e.to_string(),
            "the provider refused the sign-in: access_denied (The user denied access); nothing was stored"
        );
        assert!(OAuthError::PortInUse(8976)
            .to_string()
            .contains("port 8976 is in use"));
        assert!(OAuthError::Network {
            what: "x",
            detail: "y".into()
        }
        .is_transient());
        assert!(!OAuthError::StateMismatch.is_transient());
    }
}
