//! Token Wallet's local authenticating proxy (`token-wallet proxy NAME`, the app's Proxy
//! action): a reverse proxy on this machine to one connection's API. A tool sends it
//! plain requests and never holds the connection's token; each request forwarded gets the
//! token's `Authorization` from a [`TokenSource`] (the agent's session, or the vault
//! unlocked in the process that runs the proxy), kept fresh in the background.
//!
//! - **Who**: TCP on 127.0.0.1 and `::1` only, and every TCP client presents the proxy's
//!   [`Capability`] (`Authorization: Bearer twp_…` or `Proxy-Authorization`); a Unix
//!   socket admits only this user (the OS's peer credentials).
//! - **What**: `--allow` rules ([`Allow`]) narrow the methods and paths below what the
//!   token can do; a path that could mean another one ([`SafePath`]) is refused.
//! - **Safety**: hyper parses every byte. Absolute-form targets, `CONNECT`, a foreign
//!   `Host`, `Transfer-Encoding` (hyper drops a `Content-Length` sent beside it, which is
//!   how requests are smuggled, so request bodies must come with their length), CR or LF
//!   in a header are refused;
//!   the client's `Authorization`, `Cookie` and hop-by-hop headers are dropped, and so is
//!   the upstream's `Set-Cookie`. Redirects go back to the client, never followed. The
//!   upstream's TLS is verified against the platform's roots or a given CA. The token is
//!   concealed in anything the upstream echoes ([`mask`]).
//! - **Bounds**: requests in flight and connections are capped (more get 503 or are
//!   closed); a client must send its headers within a deadline; the upstream must answer
//!   within one.
//! - **Audited**: each request's method, path (no query), status, bytes and client
//!   process go to the [`TokenSource`] in batches.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod capability;
mod client_process;
mod keeper;
pub mod mask;
pub mod rules;
mod server;
mod upstream;

pub use capability::{Capability, PREFIX as CAPABILITY_PREFIX};
pub use rules::{Allow, SafePath};
pub use token_wallet_core::ops::ProxiedRequests;

use secrecy::SecretString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// An access token as the proxy gets it.
pub struct Credential {
    /// The token itself (concealed wherever the upstream echoes it).
    pub token: SecretString,
    /// The whole `Authorization` value (`Bearer …`, `Basic …`).
    pub header: SecretString,
    /// When it expires (Unix seconds), if known.
    pub expires_at: Option<u64>,
    /// When it was issued (Unix seconds), if known: with the expiry, its lifetime.
    pub issued_at: Option<u64>,
}

/// Where the proxy's tokens come from, and where its audit lines go. Called on the thread
/// that runs [`serve`] only.
pub trait TokenSource {
    /// A token with at least `min_ttl` left (the source refreshes if need be).
    fn credential(&mut self, min_ttl: Duration) -> Result<Credential, String>;
    /// Audits a batch of requests forwarded or refused.
    fn record(&mut self, requests: Vec<ProxiedRequests>) -> Result<(), String>;
    /// Whether it is locked, or has locked since it was last asked (asked every 2 s, so
    /// a lock and an unlock between two asks count): when it says so, the token the proxy
    /// holds is dropped at once, and the next request asks for one again. An error (an
    /// agent too busy to answer) is not a lock.
    fn locked(&mut self) -> Result<bool, String> {
        Ok(false)
    }
}

/// How a proxy runs.
#[derive(Clone, Debug)]
pub struct ProxyOptions {
    /// The API it forwards to: `https://`, or `http://` on this machine only.
    pub upstream: url::Url,
    /// What it lets through (none: everything the token can do).
    pub allow: Vec<Allow>,
    /// Where it listens on TCP: a loopback address (port 0: one it picks). `None`:
    /// 127.0.0.1 and `::1` on a port it picks.
    pub listen: Option<SocketAddr>,
    /// A Unix socket to listen on as well (Unix only).
    pub socket: Option<PathBuf>,
    /// Whether to listen on TCP at all (`false`: the Unix socket only).
    pub tcp: bool,
    /// A PEM file of the CAs the upstream's certificate must chain to (else the
    /// platform's roots).
    pub ca_file: Option<PathBuf>,
    /// Requests forwarded at once; more get 503.
    pub max_in_flight: usize,
    /// Client connections open at once; more are closed at once.
    pub max_connections: usize,
    /// A client must send a request's headers within this.
    pub header_timeout: Duration,
    /// The upstream must answer (its status and headers) within this.
    pub upstream_timeout: Duration,
    /// How often the audit batch is handed to the source.
    pub flush_every: Duration,
}

impl ProxyOptions {
    /// The defaults, forwarding to `upstream`.
    pub fn new(upstream: url::Url) -> Self {
        Self {
            upstream,
            allow: Vec::new(),
            listen: None,
            socket: None,
            tcp: true,
            ca_file: None,
            max_in_flight: 512,
            max_connections: 1024,
            header_timeout: Duration::from_secs(10),
            upstream_timeout: Duration::from_secs(120),
            flush_every: Duration::from_secs(10),
        }
    }
}

/// Counters of a running proxy (the app's live count).
#[derive(Debug, Default)]
pub struct Stats {
    /// Requests forwarded to the upstream.
    pub forwarded: AtomicU64,
    /// Requests the proxy answered itself (refused, busy, no token).
    pub refused: AtomicU64,
    /// Requests that waited for a token (none was fresh): a refresh on a request's path.
    pub waited: AtomicU64,
    /// Tokens fetched from the source (each an export, audited by it).
    pub fetched: AtomicU64,
}

impl Stats {
    /// The counts now.
    pub fn summary(&self) -> Summary {
        Summary {
            forwarded: self.forwarded.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            waited: self.waited.load(Ordering::Relaxed),
            fetched: self.fetched.load(Ordering::Relaxed),
        }
    }
}

/// What a proxy did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Requests forwarded.
    pub forwarded: u64,
    /// Requests answered by the proxy itself.
    pub refused: u64,
    /// Requests that waited for a token.
    pub waited: u64,
    /// Tokens fetched.
    pub fetched: u64,
}

/// A proxy, listening.
pub struct Ready {
    /// Its base URLs (`http://127.0.0.1:PORT`, `http://[::1]:PORT`).
    pub urls: Vec<String>,
    /// Its Unix socket, if any.
    pub socket: Option<PathBuf>,
    /// The capability TCP clients present.
    pub capability: SecretString,
    /// Its counters.
    pub stats: Arc<Stats>,
}

/// Why a proxy could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// The upstream URL or its TLS settings are unusable.
    #[error("{0}")]
    Upstream(String),
    /// It cannot listen where asked.
    #[error("{0}")]
    Listen(String),
    /// The first token could not be had.
    #[error("no token for the proxy: {0}")]
    Token(String),
    /// Anything else (no runtime, no randomness).
    #[error("{0}")]
    Other(String),
}

/// Runs a proxy until `stop` is set: listens, calls `ready` once, then keeps the token
/// fresh and flushes the audit batch on this thread (the only one that calls `source`).
/// Returns what it did.
pub fn serve(
    opts: ProxyOptions,
    source: &mut dyn TokenSource,
    stop: &AtomicBool,
    ready: impl FnOnce(&Ready),
) -> Result<Summary, ProxyError> {
    server::serve(opts, source, stop, ready)
}
