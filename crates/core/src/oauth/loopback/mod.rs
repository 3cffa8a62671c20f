//! The loopback redirect listener (RFC 8252 §7.3, §8.3). It waits for exactly one valid
//! callback: the right path with the right `state`, on a connection whose `Host` is a
//! loopback name of our port. Anything else from any local process cannot end or stall
//! the sign-in:
//!
//! - a callback with a wrong or missing `state` (or a foreign `Host`, as a DNS-rebinding
//!   web page would send) is answered, logged and ignored; the flow keeps waiting;
//! - each connection is served on its own thread with its own read deadline, so a client
//!   trickling one byte at a time holds up no one, and the whole wait has one deadline;
//! - a pinned `http://localhost:PORT` redirect binds both `127.0.0.1` and `[::1]`, so no
//!   other user can squat the address family we left free and receive the code;
//! - the browser is given a private page (`file://…/token-wallet-sign-in-XXXX/sign-in.html`
//!   in a fresh 0700 directory, the file 0600) that sends it on to a one-time start address
//!   (`http://127.0.0.1:PORT/start/<random>`), which redirects once to the provider. So
//!   neither the authorisation URL (with `state` and the PKCE challenge) nor the start
//!   address ever appears in a process's arguments: another user reading the browser's
//!   command line learns a file name they cannot open, and cannot be first at the start
//!   address. The page is deleted once the start address is used, or with the listener;
//! - on Linux each connection's owner is looked up (`/proc/net/tcp`): another user's
//!   connections are served at most [`MAX_FOREIGN`] at a time, so a flood of slow
//!   connections from another account cannot crowd out the browser's.
//!
//! It answers with a short page that reflects nothing it was sent, and gives up at the
//! deadline or on cancel.

use super::OAuthError;

mod peer;
mod request;
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use request::fuzz_request;
use request::judge;
#[cfg(test)]
use request::parse_head;
pub(crate) use request::sanitize;
use secrecy::SecretString;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use url::Url;

/// A pinned redirect: `http://localhost:PORT/PATH` (or 127.0.0.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pinned {
    /// As registered (the exact redirect URI sent to the provider).
    pub uri: String,
    /// Port to bind.
    pub port: u16,
    /// Path to accept.
    pub path: String,
    /// The host is `localhost` (so both loopback addresses are bound).
    pub localhost: bool,
}

impl Pinned {
    /// Parses and checks a pinned redirect URI.
    pub fn parse(s: &str) -> Result<Self, String> {
        let u = Url::parse(s).map_err(|e| format!("redirect `{s}` is not a URL ({e})"))?;
        if u.scheme() != "http" || !matches!(u.host_str(), Some("localhost" | "127.0.0.1")) {
            return Err(format!(
                "redirect `{s}` must be http://localhost:PORT/PATH or http://127.0.0.1:PORT/PATH"
            ));
        }
        let port = u
            .port()
            .ok_or_else(|| format!("redirect `{s}` must name its port"))?;
        Ok(Self {
            uri: s.to_string(),
            port,
            path: u.path().to_string(),
            localhost: u.host_str() == Some("localhost"),
        })
    }
}

/// The listener, bound and waiting.
pub struct Listener {
    sockets: Vec<TcpListener>,
    redirect_uri: String,
    port: u16,
    shared: Arc<Shared>,
}

/// What the connection threads need.
struct Shared {
    path: String,
    /// `Host` values we answer: the loopback names of our port.
    hosts: Vec<String>,
    /// The live start address and its private page (gone once used: the page is deleted
    /// with it).
    start: Mutex<Option<StartPage>>,
    /// Where a start address sends the browser, kept after one is used: a fresh start
    /// address can be minted for it ([`Listener::restart_url`]).
    authorize: Mutex<Option<String>>,
}

/// The private page that sends the browser to the start address: `sign-in.html` (0600,
/// created new) in a fresh directory (0700, random name) under the user's runtime
/// directory (`$XDG_RUNTIME_DIR`) or else the temporary directory. Deleted on drop.
struct StartPage {
    _dir: tempfile::TempDir,
    url: String,
    /// The start address's secret part.
    token: String,
}

impl StartPage {
    fn write(port: u16, token: String) -> Result<Self, OAuthError> {
        let start = format!("http://127.0.0.1:{port}/start/{token}");
        let base = std::env::var_os("XDG_RUNTIME_DIR")
            .map(std::path::PathBuf::from)
            .filter(|d| d.is_absolute() && d.is_dir())
            .unwrap_or_else(std::env::temp_dir);
        let failed = |e: &dyn std::fmt::Display| {
            OAuthError::Listener(format!(
                "could not write the private sign-in page in {}: {e}",
                base.display()
            ))
        };
        // A new directory with a random name (never one another user made first), made
        // with mode 0700 (not widened by the umask).
        let mut b = tempfile::Builder::new();
        b.prefix("token-wallet-sign-in-");
        #[cfg(unix)]
        b.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
        let dir = b.tempdir_in(&base).map_err(|e| failed(&e))?;
        let path = dir.path().join("sign-in.html");
        let page = format!(
            "<!doctype html><meta charset=utf-8><meta name=referrer content=no-referrer>\
             <meta http-equiv=refresh content=\"0;url={start}\"><title>Token Wallet</title>\
             <body style=\"font-family:sans-serif;margin:3em\"><h1>Token Wallet</h1>\
             <p>Opening the sign-in page… <a href=\"{start}\">Continue</a></p></body>"
        );
        crate::files::write_new_private(&path, page.as_bytes()).map_err(|e| failed(&e))?;
        let url = Url::from_file_path(&path)
            .map_err(|()| failed(&"not an absolute path"))?
            .to_string();
        Ok(Self {
            _dir: dir,
            url,
            token,
        })
    }
}

/// What the provider sent back.
pub struct Callback {
    /// The authorisation code.
    pub code: SecretString,
}

const CALLBACK_PATH: &str = "/callback";
/// The longest one connection may take to send its request head.
const REQUEST_DEADLINE: Duration = Duration::from_secs(5);
/// The most connections served at once; more are closed at once.
const MAX_CONNECTIONS: usize = 64;
/// The most connections served at once for other users (known on Linux); theirs beyond
/// it are closed at once, so they cannot crowd out the browser's.
const MAX_FOREIGN: usize = 8;
/// The longest request head read.
const MAX_HEAD: usize = 8192;

fn bind_err(port: u16, e: std::io::Error) -> OAuthError {
    if e.kind() == std::io::ErrorKind::AddrInUse {
        OAuthError::PortInUse(port)
    } else {
        OAuthError::Listener(e.to_string())
    }
}

/// A person's request, while a sign-in waits, to open the browser again: `asked` is set
/// (by a button, say); the wait then mints a fresh one-time start address and gives it to
/// `open`.
pub struct Reopen<'a> {
    /// Set to ask; the wait clears it.
    pub asked: &'a AtomicBool,
    /// Opens a start address in the browser.
    pub open: &'a dyn Fn(&str) -> Result<(), String>,
}

impl Listener {
    /// Binds `127.0.0.1:0` (loopback mode) or the pinned port (with `localhost`, on both
    /// `127.0.0.1` and `[::1]`; a machine without IPv6 gets only the first).
    pub fn bind(pinned: Option<&Pinned>) -> Result<Self, OAuthError> {
        let port = pinned.map_or(0, |p| p.port);
        let v4 = TcpListener::bind(("127.0.0.1", port)).map_err(|e| bind_err(port, e))?;
        let port = v4
            .local_addr()
            .map_err(|e| OAuthError::Listener(e.to_string()))?
            .port();
        let mut sockets = vec![v4];
        if pinned.is_some_and(|p| p.localhost) {
            match TcpListener::bind(("::1", port)) {
                Ok(v6) => sockets.push(v6),
                // Someone else holds [::1]:PORT: a browser resolving `localhost` to it
                // would hand them the code.
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                    return Err(OAuthError::PortInUse(port))
                }
                // No IPv6 loopback here: nobody can bind it either.
                Err(e) => tracing::debug!("no [::1] listener: {e}"),
            }
        }
        let (redirect_uri, path) = match pinned {
            None => (
                format!("http://127.0.0.1:{port}{CALLBACK_PATH}"),
                CALLBACK_PATH.to_string(),
            ),
            Some(p) => (p.uri.clone(), p.path.clone()),
        };
        Ok(Self {
            sockets,
            redirect_uri,
            port,
            shared: Arc::new(Shared {
                path,
                hosts: ["127.0.0.1", "localhost", "[::1]"]
                    .iter()
                    .map(|h| format!("{h}:{port}"))
                    .collect(),
                start: Mutex::new(None),
                authorize: Mutex::new(None),
            }),
        })
    }

    /// The redirect URI to send to the provider.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// The address to give the browser for a sign-in at `authorize_url`: a private page
    /// (`file://`) that sends it on to a one-time start address, which redirects once to
    /// `authorize_url`. Never give the browser the authorisation URL itself. A new call
    /// replaces the last.
    pub fn start_url(&self, authorize_url: &str) -> Result<String, OAuthError> {
        *self
            .shared
            .authorize
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(authorize_url.to_string());
        self.mint()
    }

    /// A fresh private page and start address for the same sign-in (the browser did not
    /// open, or the page was closed); any earlier one dies. `None` before
    /// [`Self::start_url`].
    pub fn restart_url(&self) -> Option<Result<String, OAuthError>> {
        let known = self
            .shared
            .authorize
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some();
        known.then(|| self.mint())
    }

    /// A new start address (its secret replaces the last one's) in a new private page
    /// (which replaces, and so deletes, the last one).
    fn mint(&self) -> Result<String, OAuthError> {
        let page = StartPage::write(self.port, hex::encode(crate::crypto::random::<16>()))?;
        let url = page.url.clone();
        *self.shared.start.lock().unwrap_or_else(|p| p.into_inner()) = Some(page);
        Ok(url)
    }

    /// Waits for the callback. `pasted` delivers redirect URLs a person pasted instead
    /// (when the browser runs on another machine).
    pub fn wait(
        &self,
        state: &str,
        timeout: Duration,
        cancel: &AtomicBool,
        pasted: Option<&Receiver<String>>,
        reopen: Option<Reopen<'_>>,
    ) -> Result<Callback, OAuthError> {
        let deadline = Instant::now() + timeout;
        for s in &self.sockets {
            s.set_nonblocking(true)
                .map_err(|e| OAuthError::Listener(e.to_string()))?;
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let active = Arc::new(AtomicUsize::new(0));
        let foreign = Arc::new(AtomicUsize::new(0));
        let state: Arc<str> = Arc::from(state);
        loop {
            if cancel.load(Ordering::SeqCst) {
                return Err(OAuthError::Cancelled);
            }
            if Instant::now() >= deadline {
                return Err(OAuthError::Timeout(timeout));
            }
            let mut idle = true;
            for s in &self.sockets {
                match s.accept() {
                    Ok((stream, peer)) => {
                        idle = false;
                        let (count, cap) = if peer::foreign(peer, self.port) {
                            (&foreign, MAX_FOREIGN)
                        } else {
                            (&active, MAX_CONNECTIONS)
                        };
                        if count.load(Ordering::SeqCst) >= cap {
                            continue; // dropped: closed at once
                        }
                        count.fetch_add(1, Ordering::SeqCst);
                        let (shared, state, tx, count) = (
                            self.shared.clone(),
                            state.clone(),
                            tx.clone(),
                            count.clone(),
                        );
                        let until = deadline.min(Instant::now() + REQUEST_DEADLINE);
                        std::thread::spawn(move || {
                            if let Some(v) = shared.serve(stream, &state, until) {
                                let _ = tx.send(v);
                            }
                            count.fetch_sub(1, Ordering::SeqCst);
                        });
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(OAuthError::Listener(e.to_string())),
                }
            }
            if let Ok(v) = rx.try_recv() {
                return v;
            }
            if let Some(r) = &reopen {
                if r.asked.swap(false, Ordering::SeqCst) {
                    match self.restart_url() {
                        Some(Ok(url)) => {
                            if let Err(e) = (r.open)(&url) {
                                tracing::warn!(error = %e, "could not open the browser again");
                            }
                        }
                        Some(Err(e)) => {
                            tracing::warn!(error = %e, "could not write a new sign-in page")
                        }
                        None => {}
                    }
                }
            }
            if let Some(rx) = pasted {
                if let Ok(line) = rx.try_recv() {
                    if let Some(v) = self.pasted(line.trim(), &state) {
                        return v;
                    }
                }
            }
            if idle {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    fn pasted(&self, line: &str, state: &str) -> Option<Result<Callback, OAuthError>> {
        let u = Url::parse(line).ok()?;
        if u.path() != self.shared.path {
            return None;
        }
        final_verdict(judge(u.query().unwrap_or(""), state))
    }
}

/// A verdict that ends the wait: a callback with our `state`. One with a wrong or no
/// `state` is someone else's (or an attack) and does not.
fn final_verdict(v: Option<Result<Callback, OAuthError>>) -> Option<Result<Callback, OAuthError>> {
    match v {
        Some(Err(OAuthError::StateMismatch)) => {
            tracing::warn!("ignored a sign-in callback with a wrong or missing state");
            None
        }
        v => v,
    }
}

#[cfg(test)]
mod tests;
