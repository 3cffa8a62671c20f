//! TEST ONLY: what the Rust tests of every crate share. Never a dependency of shipped code.
//!
//! - [`deadline`]: every child process a test starts finishes within a deadline, or is
//!   killed and the test fails naming it.
//! - [`oauth_server`]: the real OAuth server of `tests/oauth-server` (oidc-provider, set up
//!   like Pleo), started per test on a random 127.0.0.1 port.

pub mod deadline;
pub mod oauth_server;

/// A whole number from the environment variable `var`, else `default` (bench settings).
pub fn env_number(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}
