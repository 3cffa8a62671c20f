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
//! - the browser is sent to a one-time start address
//!   (`http://127.0.0.1:PORT/start/<random>`) that redirects once to the provider, so the
//!   authorisation URL (with `state` and the PKCE challenge) never appears in a process's
//!   arguments, and what other users can read there is dead after one use.
//!
//! It answers with a short page that reflects nothing it was sent, and gives up at the
//! deadline or on cancel.

use super::OAuthError;
use secrecy::SecretString;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
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
    /// The one-time start address's secret part and where it sends the browser.
    start: Mutex<Option<(String, String)>>,
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
const MAX_CONNECTIONS: usize = 32;
/// The longest request head read.
const MAX_HEAD: usize = 8192;

fn bind_err(port: u16, e: std::io::Error) -> OAuthError {
    if e.kind() == std::io::ErrorKind::AddrInUse {
        OAuthError::PortInUse(port)
    } else {
        OAuthError::Listener(e.to_string())
    }
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
            }),
        })
    }

    /// The redirect URI to send to the provider.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// A one-time local address that redirects the browser to `authorize_url`: give the
    /// browser this, never the authorisation URL itself. A new call replaces the last.
    pub fn start_url(&self, authorize_url: &str) -> String {
        let token = hex::encode(crate::crypto::random::<16>());
        *self.shared.start.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((token.clone(), authorize_url.to_string()));
        format!("http://127.0.0.1:{}/start/{token}", self.port)
    }

    /// Waits for the callback. `pasted` delivers redirect URLs a person pasted instead
    /// (when the browser runs on another machine).
    pub fn wait(
        &self,
        state: &str,
        timeout: Duration,
        cancel: &AtomicBool,
        pasted: Option<&Receiver<String>>,
    ) -> Result<Callback, OAuthError> {
        let deadline = Instant::now() + timeout;
        for s in &self.sockets {
            s.set_nonblocking(true)
                .map_err(|e| OAuthError::Listener(e.to_string()))?;
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let active = Arc::new(AtomicUsize::new(0));
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
                    Ok((stream, _)) => {
                        idle = false;
                        if active.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
                            continue; // dropped: closed at once
                        }
                        active.fetch_add(1, Ordering::SeqCst);
                        let (shared, state, tx, active) = (
                            self.shared.clone(),
                            state.clone(),
                            tx.clone(),
                            active.clone(),
                        );
                        let until = deadline.min(Instant::now() + REQUEST_DEADLINE);
                        std::thread::spawn(move || {
                            if let Some(v) = shared.serve(stream, &state, until) {
                                let _ = tx.send(v);
                            }
                            active.fetch_sub(1, Ordering::SeqCst);
                        });
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(OAuthError::Listener(e.to_string())),
                }
            }
            if let Ok(v) = rx.try_recv() {
                return v;
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

/// Reads a request head until the blank line, `MAX_HEAD` bytes, or `until`.
fn read_head(stream: &mut TcpStream, until: Instant) -> Vec<u8> {
    let _ = stream.set_nonblocking(false);
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < MAX_HEAD {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    buf
}

/// A parsed request head: method, path, query and `Host`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Head {
    pub method: String,
    pub path: String,
    pub query: String,
    pub host: Option<String>,
}

/// Parses a request head (lossily: a hostile head yields empty fields, never a panic).
pub(crate) fn parse_head(buf: &[u8]) -> Head {
    let text = String::from_utf8_lossy(buf);
    let mut lines = text.split("\r\n");
    let mut parts = lines.next().unwrap_or("").split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let host = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.trim().to_ascii_lowercase());
    Head {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        host,
    }
}

impl Shared {
    /// Answers one connection; `Some` when it ends the wait.
    fn serve(
        &self,
        mut stream: TcpStream,
        state: &str,
        until: Instant,
    ) -> Option<Result<Callback, OAuthError>> {
        let buf = read_head(&mut stream, until);
        let head = parse_head(&buf);
        if !head.host.as_ref().is_some_and(|h| self.hosts.contains(h)) {
            // A DNS-rebinding page, or no Host at all: not a browser coming back to us.
            tracing::warn!("ignored a request to the sign-in listener with a foreign Host");
            respond(&mut stream, 400, "Not for this host.");
            return None;
        }
        if head.method != "GET" {
            respond(&mut stream, 404, "Not found.");
            return None;
        }
        if let Some(token) = head.path.strip_prefix("/start/") {
            let mut start = self.start.lock().unwrap_or_else(|p| p.into_inner());
            match start.as_ref() {
                Some((t, _)) if constant_time_eq(t.as_bytes(), token.as_bytes()) => {
                    // Invariant: matched just above.
                    let (_, url) = start.take().expect("start address set");
                    redirect(&mut stream, &url);
                }
                _ => respond(&mut stream, 404, "This sign-in link was already used."),
            }
            return None;
        }
        if head.path != self.path {
            respond(&mut stream, 404, "Not found.");
            return None;
        }
        let verdict = judge(&head.query, state);
        match &verdict {
            None => respond(
                &mut stream,
                400,
                "This is Token Wallet's sign-in callback; it was called without a sign-in result.",
            ),
            Some(Ok(_)) => respond(
                &mut stream,
                200,
                "Signed in. You can close this tab and return to Token Wallet.",
            ),
            Some(Err(OAuthError::StateMismatch)) => respond(
                &mut stream,
                400,
                "This sign-in result does not belong to the sign-in Token Wallet is waiting for; it was ignored.",
            ),
            Some(Err(_)) => respond(
                &mut stream,
                400,
                "Token Wallet could not complete the sign-in. Return to Token Wallet for details.",
            ),
        }
        final_verdict(verdict)
    }
}
/// The request-head parser and the callback judgement, for the fuzz targets.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn fuzz_request(data: &[u8]) {
    let head = parse_head(data);
    let _ = final_verdict(judge(&head.query, "fuzz-state"));
}

/// Judges a callback query. `None`: not a sign-in result at all (a probe).
fn judge(query: &str, state: &str) -> Option<Result<Callback, OAuthError>> {
    let mut code = None;
    let mut got_state = None;
    let mut error = None;
    let mut description = None;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match &*k {
            "code" => code = Some(v.into_owned()),
            "state" => got_state = Some(v.into_owned()),
            "error" => error = Some(v.into_owned()),
            "error_description" => description = Some(v.into_owned()),
            _ => {}
        }
    }
    if code.is_none() && got_state.is_none() && error.is_none() {
        return None;
    }
    match got_state {
        Some(s) if constant_time_eq(s.as_bytes(), state.as_bytes()) => {}
        _ => return Some(Err(OAuthError::StateMismatch)),
    }
    if let Some(e) = error {
        return Some(Err(OAuthError::Denied {
            error: sanitize(&e),
            description: description.as_deref().map(sanitize),
        }));
    }
    match code {
        Some(c) if !c.is_empty() => Some(Ok(Callback {
            code: SecretString::from(c),
        })),
        _ => Some(Err(OAuthError::MissingCode)),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Provider-supplied text shown to a person: printable, short.
pub(crate) fn sanitize(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}

fn respond(stream: &mut TcpStream, status: u16, message: &str) {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Bad Request",
    };
    let body = format!(
        "<!doctype html><meta charset=utf-8><title>Token Wallet</title><body style=\"font-family:sans-serif;margin:3em\"><h1>Token Wallet</h1><p>{message}</p></body>"
    );
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

/// Sends the browser on to `url` (the provider's authorisation page), once.
fn redirect(stream: &mut TcpStream, url: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 302 Found\r\nLocation: {url}\r\nContent-Length: 0\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n"
    );
    let _ = stream.flush();
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn send(uri: &str, host: &str, path_and_query: &str) -> String {
        let u = Url::parse(uri).unwrap();
        let mut s = TcpStream::connect((u.host_str().unwrap(), u.port().unwrap())).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(s, "GET {path_and_query} HTTP/1.1\r\nHost: {host}\r\n\r\n").unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    }

    fn get(uri: &str, path_and_query: &str) -> String {
        let port = Url::parse(uri).unwrap().port().unwrap();
        send(uri, &format!("127.0.0.1:{port}"), path_and_query)
    }

    /// Waits on `l` for the callback with state `st4te`, at most `secs` seconds.
    fn wait(l: &Listener, secs: u64) -> Result<Callback, OAuthError> {
        l.wait(
            "st4te",
            Duration::from_secs(secs),
            &AtomicBool::new(false),
            None,
        )
    }

    fn run(requests: Vec<&'static str>) -> (Result<Callback, OAuthError>, Vec<String>) {
        let l = Listener::bind(None).unwrap();
        let uri = l.redirect_uri().to_string();
        let t = std::thread::spawn(move || {
            requests
                .into_iter()
                .map(|r| get(&uri, r))
                .collect::<Vec<_>>()
        });
        let r = wait(&l, 5);
        (r, t.join().unwrap())
    }

    #[test]
    fn ignores_strays_then_accepts_the_right_callback() {
        let (r, answers) = run(vec![
            "/favicon.ico",
            "/",
            "/callback",
            "/callback?code=c0de&state=st4te",
        ]);
        assert_eq!(r.unwrap().code.expose_secret(), "c0de");
        assert!(answers[0].starts_with("HTTP/1.1 404"));
        assert!(answers[1].starts_with("HTTP/1.1 404"));
        assert!(answers[2].starts_with("HTTP/1.1 400"));
        assert!(answers[3].starts_with("HTTP/1.1 200"));
        assert!(!answers[3].contains("c0de"), "nothing reflected");
    }

    #[test]
    fn fail_wrong_or_missing_state_is_ignored_and_the_sign_in_goes_on() {
        let (r, answers) = run(vec![
            "/callback?code=attacker&state=other",
            "/callback?code=attacker",
            "/callback?error=access_denied&state=other",
            "/callback?code=c0de&state=st4te",
        ]);
        assert_eq!(r.unwrap().code.expose_secret(), "c0de");
        for a in &answers[..3] {
            assert!(a.starts_with("HTTP/1.1 400"), "{a}");
        }
    }

    #[test]
    fn fail_foreign_host_is_ignored() {
        let l = Listener::bind(None).unwrap();
        let uri = l.redirect_uri().to_string();
        let t = std::thread::spawn(move || {
            let a = send(&uri, "evil.example:80", "/callback?code=x&state=st4te");
            let b = get(&uri, "/callback?code=c0de&state=st4te");
            (a, b)
        });
        let r = wait(&l, 5);
        assert_eq!(r.unwrap().code.expose_secret(), "c0de");
        assert!(t.join().unwrap().0.starts_with("HTTP/1.1 400"));
    }

    #[test]
    fn fail_slow_client_holds_no_one_up() {
        let l = Listener::bind(None).unwrap();
        let uri = l.redirect_uri().to_string();
        let port = Url::parse(&uri).unwrap().port().unwrap();
        // One byte every 1.5 s, for longer than the whole wait.
        let slow = std::thread::spawn(move || {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                for b in b"GET /callback?code=slow&state=st4te HTTP/1.1\r\n" {
                    if s.write_all(&[*b]).is_err() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(1500));
                }
            }
        });
        std::thread::sleep(Duration::from_millis(100));
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(500));
            get(&uri, "/callback?code=c0de&state=st4te")
        });
        let began = Instant::now();
        let r = wait(&l, 20);
        assert_eq!(r.unwrap().code.expose_secret(), "c0de");
        assert!(began.elapsed() < Duration::from_secs(10));
        t.join().unwrap();
        drop(slow);
    }

    #[test]
    fn start_address_redirects_once() {
        let l = Listener::bind(None).unwrap();
        let start = l.start_url("http://127.0.0.1:9/oauth/authorize?state=s&code_challenge=c");
        let uri = l.redirect_uri().to_string();
        let path = Url::parse(&start).unwrap().path().to_string();
        let t = std::thread::spawn(move || {
            let a = get(&uri, &path);
            let b = get(&uri, &path);
            let c = get(&uri, "/start/00");
            get(&uri, "/callback?code=c0de&state=st4te");
            (a, b, c)
        });
        wait(&l, 5).unwrap();
        let (a, b, c) = t.join().unwrap();
        assert!(a.starts_with("HTTP/1.1 302"), "{a}");
        assert!(
            a.contains("Location: http://127.0.0.1:9/oauth/authorize?state=s&code_challenge=c\r\n")
        );
        assert!(b.starts_with("HTTP/1.1 404"), "used once: {b}");
        assert!(c.starts_with("HTTP/1.1 404"));
    }

    #[test]
    fn missing_code_with_the_right_state_ends_the_wait() {
        let (r, _) = run(vec!["/callback?state=st4te"]);
        assert!(matches!(r, Err(OAuthError::MissingCode)));
    }

    #[test]
    fn fail_access_denied() {
        let (r, a) = run(vec![
            "/callback?error=access_denied&error_description=no%0A%1Bway&state=st4te",
        ]);
        match r {
            Err(OAuthError::Denied { error, description }) => {
                assert_eq!(error, "access_denied");
                assert_eq!(description.as_deref(), Some("noway"));
            }
            _ => panic!(),
        }
        assert!(!a[0].contains("noway"));
    }

    #[test]
    fn fail_timeout_and_cancel() {
        let l = Listener::bind(None).unwrap();
        let r = l.wait(
            "s",
            Duration::from_millis(100),
            &AtomicBool::new(false),
            None,
        );
        assert!(matches!(r, Err(OAuthError::Timeout(_))));
        let r = l.wait("s", Duration::from_secs(5), &AtomicBool::new(true), None);
        assert!(matches!(r, Err(OAuthError::Cancelled)));
    }

    #[test]
    fn fail_pinned_port_taken() {
        let busy = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = busy.local_addr().unwrap().port();
        let p = Pinned::parse(&format!("http://localhost:{port}/callback")).unwrap();
        assert!(matches!(Listener::bind(Some(&p)), Err(OAuthError::PortInUse(x)) if x == port));
    }

    #[test]
    fn fail_pinned_localhost_with_ipv6_loopback_squatted() {
        // Someone holds [::1]:PORT: a browser resolving localhost to it would hand them
        // the code, so the sign-in refuses to start.
        let Ok(squat) = TcpListener::bind(("::1", 0)) else {
            return; // no IPv6 loopback on this machine: nobody can squat it either
        };
        let port = squat.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_err() {
            return; // the port is taken on IPv4 too; not the case under test
        }
        let p = Pinned::parse(&format!("http://localhost:{port}/callback")).unwrap();
        assert!(matches!(Listener::bind(Some(&p)), Err(OAuthError::PortInUse(x)) if x == port));
        // Free: both addresses are ours.
        drop(squat);
        let l = Listener::bind(Some(&p)).unwrap();
        assert_eq!(l.sockets.len(), 2);
    }

    #[test]
    fn pasted_redirect_url_is_accepted() {
        let l = Listener::bind(None).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        tx.send("not a url".to_string()).unwrap();
        tx.send(format!("{}?code=pasted&state=st4te", l.redirect_uri()))
            .unwrap();
        let r = l.wait(
            "st4te",
            Duration::from_secs(5),
            &AtomicBool::new(false),
            Some(&rx),
        );
        assert_eq!(r.unwrap().code.expose_secret(), "pasted");
    }

    #[test]
    fn heads_parse_and_hostile_ones_do_not_panic() {
        let h = parse_head(b"GET /callback?a=b HTTP/1.1\r\nHOST: LocalHost:80\r\n\r\n");
        assert_eq!(h.path, "/callback");
        assert_eq!(h.query, "a=b");
        assert_eq!(h.host.as_deref(), Some("localhost:80"));
        for bad in [
            &b""[..],
            b"\xff\xfe",
            b"GET",
            b"\r\n\r\n",
            b"GET  HTTP/1.1\r\nHost\r\n",
        ] {
            let h = parse_head(bad);
            assert!(h.host.is_none() || bad.is_empty());
        }
    }

    #[test]
    fn pinned_parse() {
        assert!(
            Pinned::parse("http://localhost:8976/callback")
                .unwrap()
                .localhost
        );
        assert!(
            !Pinned::parse("http://127.0.0.1:8976/callback")
                .unwrap()
                .localhost
        );
        assert!(Pinned::parse("https://localhost:8976/callback").is_err());
        assert!(Pinned::parse("http://example.com:8976/callback").is_err());
        assert!(Pinned::parse("http://localhost/callback").is_err());
    }
}
