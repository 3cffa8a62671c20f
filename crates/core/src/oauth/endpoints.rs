//! Endpoint URLs: the set a provider has (some perhaps found by discovery), and the rule
//! every one of them is held to (HTTPS, plain HTTP only on loopback).

use super::OAuthError;
use url::Url;

/// Endpoints, some maybe unknown.
#[derive(Debug, Default)]
pub(crate) struct Endpoints {
    pub authorize: Option<String>,
    pub token: Option<String>,
    pub revocation: Option<String>,
    pub introspection: Option<String>,
}

impl Endpoints {
    pub(crate) fn or(self, other: Endpoints) -> Endpoints {
        Endpoints {
            authorize: self.authorize.or(other.authorize),
            token: self.token.or(other.token),
            revocation: self.revocation.or(other.revocation),
            introspection: self.introspection.or(other.introspection),
        }
    }
}

/// Whether `u` is a loopback host (where plain HTTP is acceptable).
pub(crate) fn is_loopback(u: &Url) -> bool {
    matches!(
        u.host_str(),
        Some("127.0.0.1" | "localhost" | "[::1]" | "::1")
    )
}

/// Parses an endpoint URL: HTTPS, or HTTP on a loopback host only.
pub(crate) fn endpoint_url(provider: &str, what: &str, s: &str) -> Result<Url, OAuthError> {
    let u = Url::parse(s).map_err(|e| OAuthError::Config {
        provider: provider.into(),
        why: format!("{what} `{s}` is not a URL ({e})"),
    })?;
    let ok = u.scheme() == "https" || (u.scheme() == "http" && is_loopback(&u));
    if !ok || u.host_str().is_none() {
        return Err(OAuthError::Config {
            provider: provider.into(),
            why: format!("{what} `{s}` must be https (plain http only on 127.0.0.1 / localhost)"),
        });
    }
    Ok(u)
}
