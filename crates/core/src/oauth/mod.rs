//! OAuth 2.0: providers (Pleo presets, config file, discovery), the PKCE flow with a
//! loopback redirect, revocation and connection checks. The connection lifecycle over
//! the vault is the operations layer's (`ops`); only `refresh` refreshes.

mod api;
pub mod api_key;
mod discovery;
mod endpoints;
mod error;
mod flow;
pub mod http;
pub mod loopback;
mod provider;
pub mod relay;

pub use api::{check, revoke, Grant};
pub use error::OAuthError;
pub use flow::{Client, Interaction, SignInLink, TokenSet};
pub use provider::{
    load_specs, presets, Check, ClientAuth, Provider, ProviderKind, ProviderSpec, RedirectMode,
    Revocation,
};

/// `providers.toml` parsing, for the fuzz targets.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn fuzz_parse_config(text: &str) -> Result<Vec<ProviderSpec>, OAuthError> {
    provider::parse_config(text, "fuzz")
}

/// Discovery-document checking, for the fuzz targets.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn fuzz_discovery(body: &[u8]) -> Result<(), OAuthError> {
    // Invariant: a constant, valid URL.
    let at = url::Url::parse("https://issuer.example/.well-known/openid-configuration")
        .expect("a valid URL");
    discovery::check_document(&at, at.as_str(), body).map(|_| ())
}

/// Token-response parsing, for the fuzz targets.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn fuzz_token_response(body: &[u8]) -> Result<(), OAuthError> {
    flow::fuzz_token_response(body)
}
