//! TEST ONLY: what the Rust tests of every crate share. Never a dependency of shipped code.
//!
//! - [`deadline`]: every child process a test starts finishes within a deadline, or is
//!   killed and the test fails naming it.
//! - [`oauth_server`]: the real OAuth server of `tests/oauth-server` (oidc-provider, set up
//!   like Pleo), started per test on a random 127.0.0.1 port.
//! - [`bao`]: a real OpenBao dev server, started per test on a random 127.0.0.1 port.

pub mod bao;
pub mod deadline;
pub mod oauth_server;

/// A file generated from the code and checked in (`docs/cli.md`, `ui/src/generated.ts`,
/// `ui/src/contract.json`): `path` (in the repository) must hold exactly `now`; with the
/// environment variable `update` set, it is written first. Fails saying how to update it.
pub fn pinned(path: &str, now: &str, update: &str, how: &str) {
    let path = oauth_server::repo().join(path);
    if std::env::var_os(update).is_some() {
        std::fs::write(&path, now).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    let pinned = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        pinned == now,
        "{} is not what the code generates; after a deliberate change run {update}=1 {how}",
        path.display()
    );
}

/// A whole number from the environment variable `var`, else `default` (bench settings).
pub fn env_number(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}
