//! The agent: holds an unlocked vault in memory and hands access tokens to local tools
//! over a Unix socket, so they need neither the passphrase nor the keystore for each call.
//! The CLI's `token-wallet agent` runs it headless; the desktop app embeds the same
//! [`Agent`].
//!
//! - **Where**: `$XDG_RUNTIME_DIR/token-wallet/<profile>-<hash of data dir>.sock` (else
//!   `<tmp>/token-wallet-<uid>/…`). The directory must be owned by this user and closed
//!   to others (0700): it is created so, and refused otherwise, by both ends; the socket
//!   is 0600.
//! - **Who**: each connection's peer uid is read from the kernel (`SO_PEERCRED`) and any
//!   other user is refused. Exports are audited with the peer's pid and executable and
//!   its parent's, as `/proc` tells them.
//! - **What**: the small versioned protocol of [`protocol`]: token, list, status, lock,
//!   unlock, stop. Never a refresh token.
//! - **How long**: auto-lock after an idle time (default 15 minutes); `lock` on request.
//!   Locking drops the vault and the token cache (zeroized on drop).
//! - **Hostile clients**: frames are capped (64 KiB) and must arrive whole within a
//!   deadline; each client has its own thread; past a cap on concurrent clients new
//!   ones get "busy". A bad client gets an error and is closed; the agent stays up.
//!
//! The agent itself ([`Agent`]: the vault, the token cache, the audit journal) is built
//! everywhere; its transport (the socket server and client, the peer check) is Unix only
//! for now: on Windows the CLI works on the vault directly until the named pipe is built.

pub mod client;
mod error;
mod journal;
mod peer;
pub mod protocol;
mod session;
#[cfg(unix)]
mod socket;
mod tokens;

pub use error::AgentError;
pub use protocol::{AgentStatus, Issued};
pub use session::{Agent, AgentOptions};

use crate::profile::Profile;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Where the agent of `profile` whose data directory is `data_dir` will listen on this
/// platform: a named pipe (the transport is not built yet, so nothing listens there).
#[cfg(not(unix))]
pub fn socket_path(profile: &Profile, data_dir: &Path) -> Result<PathBuf, AgentError> {
    let h = Sha256::digest(data_dir.as_os_str().as_encoded_bytes());
    Ok(PathBuf::from(format!(
        r"\\.\pipe\token-wallet-{}-{}",
        profile.name(),
        hex::encode(&h[..4])
    )))
}

/// The longest Unix socket path (`sun_path` is 108 bytes on Linux, 104 on macOS).
#[cfg(unix)]
const MAX_SOCKET_PATH: usize = 100;

/// The directory that holds this user's agent sockets.
#[cfg(unix)]
pub fn socket_dir() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from) {
        Some(d) if d.is_absolute() => d.join("token-wallet"),
        _ => std::env::temp_dir().join(format!("token-wallet-{}", peer::my_uid())),
    }
}

/// The agent socket of `profile` whose data directory is `data_dir`.
#[cfg(unix)]
pub fn socket_path(profile: &Profile, data_dir: &Path) -> Result<PathBuf, AgentError> {
    let h = Sha256::digest(data_dir.as_os_str().as_encoded_bytes());
    let p = socket_dir().join(format!("{}-{}.sock", profile.name(), hex::encode(&h[..4])));
    if p.as_os_str().len() > MAX_SOCKET_PATH {
        return Err(AgentError::UnsafeDir(
            p.display().to_string(),
            format!("the socket path is longer than {MAX_SOCKET_PATH} bytes; set a shorter XDG_RUNTIME_DIR"),
        ));
    }
    Ok(p)
}

/// Checks (and with `create`, makes) the socket's directory: a real directory owned by
/// this user with no access for group or others.
#[cfg(unix)]
pub fn secure_dir(dir: &Path, create: bool) -> Result<(), AgentError> {
    use std::os::unix::fs::DirBuilderExt;
    let unsafe_dir = |why: String| AgentError::UnsafeDir(dir.display().to_string(), why);
    if create {
        match std::fs::DirBuilder::new().mode(0o700).create(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(unsafe_dir(e.to_string())),
        }
    }
    let m = std::fs::symlink_metadata(dir).map_err(|e| unsafe_dir(e.to_string()))?;
    let mode = crate::files::owned_dir(&m).map_err(unsafe_dir)?;
    if mode & 0o077 != 0 {
        return Err(unsafe_dir(format!(
            "mode {mode:o} lets others in; it must be 0700"
        )));
    }
    Ok(())
}

use crate::clock::now;
