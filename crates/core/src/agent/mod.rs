//! The agent: holds an unlocked vault in memory and hands access tokens to local tools
//! over a Unix socket (a named pipe on Windows), so they need neither the passphrase nor
//! the keystore for each call.
//! The CLI's `token-wallet agent` runs it headless; the desktop app embeds the same
//! [`Agent`].
//!
//! - **Where**: `$XDG_RUNTIME_DIR/token-wallet/<profile>-<hash of data dir>.sock` (else
//!   `<tmp>/token-wallet-<uid>/…`). The directory must be owned by this user and closed
//!   to others (0700): it is created so, and refused otherwise, by both ends; the socket
//!   is 0600. On Windows, `\\.\pipe\token-wallet-<profile>-<hash>`, a pipe whose DACL
//!   admits only this user ([`transport`]).
//! - **Who**: each connection's peer user is read from the OS (`SO_PEERCRED`,
//!   `getpeereid`, the pipe client's token) and any other user is refused; the client
//!   checks the server the same way. Exports are audited with the peer's pid and
//!   executable and its parent's, where the OS tells them.
//! - **What**: the small versioned protocol of [`protocol`]: token, refresh, check,
//!   disconnect, prune, add_key, add_token, rotate_secret, audit, connect, reauthorise
//!   (the sign-in runs here; the client is sent the link to open), list, status, lock,
//!   unlock, stop, each answered by [`crate::ops::Session`] (audit: the log) over the
//!   agent's vault. Never a refresh token.
//! - **How long**: auto-lock after an idle time (default 15 minutes); `lock` on request.
//!   Locking drops the vault and the token cache (zeroized on drop).
//! - **Hostile clients**: frames are capped (64 KiB) and must arrive whole within a
//!   deadline; each client has its own thread; past a cap on concurrent clients new
//!   ones get "busy". A bad client gets an error and is closed; the agent stays up.

pub mod client;
mod error;
mod journal;
pub mod peer;
pub mod protocol;
mod server;
mod session;
mod tokens;
pub mod transport;

pub use error::AgentError;
pub use protocol::{AgentStatus, Issued};
pub use session::{Agent, AgentOptions, LockReason, LockWatch};
pub use transport::socket_path;
