//! The one-shot loopback redirect listener (RFC 8252 §7.3). It accepts exactly one valid
//! callback: the right path with the right `state`. Stray requests (favicon, probes) get a
//! 404 and are ignored; a wrong `state` ends the flow (someone else is answering); an
//! `error` from the provider ends it with that error. It answers with a short page that
//! reflects nothing it was sent, and gives up at the deadline or on cancel.

use super::OAuthError;
use secrecy::SecretString;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};
use url::Url;

/// A pinned redirect: `http://localhost:PORT/PATH` (or 127.0.0.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pinned {
    /// As registered (the exact redirect URI sent to the provider).
    pub uri: String,
    /// Port to bind on 127.0.0.1.
    pub port: u16,
    /// Path to accept.
    pub path: String,
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
        })
    }
}

/// The listener, bound and waiting.
pub struct Listener {
    listener: TcpListener,
    redirect_uri: String,
    path: String,
}

/// What the provider sent back.
pub struct Callback {
    /// The authorisation code.
    pub code: SecretString,
}

const CALLBACK_PATH: &str = "/callback";

impl Listener {
    /// Binds `127.0.0.1:0` (loopback mode) or the pinned port.
    pub fn bind(pinned: Option<&Pinned>) -> Result<Self, OAuthError> {
        match pinned {
            None => {
                let listener = TcpListener::bind(("127.0.0.1", 0))
                    .map_err(|e| OAuthError::Listener(e.to_string()))?;
                let port = listener
                    .local_addr()
                    .map_err(|e| OAuthError::Listener(e.to_string()))?
                    .port();
                Ok(Self {
                    listener,
                    redirect_uri: format!("http://127.0.0.1:{port}{CALLBACK_PATH}"),
                    path: CALLBACK_PATH.into(),
                })
            }
            Some(p) => {
                let listener = TcpListener::bind(("127.0.0.1", p.port)).map_err(|e| {
                    if e.kind() == std::io::ErrorKind::AddrInUse {
                        OAuthError::PortInUse(p.port)
                    } else {
                        OAuthError::Listener(e.to_string())
                    }
                })?;
                Ok(Self {
                    listener,
                    redirect_uri: p.uri.clone(),
                    path: p.path.clone(),
                })
            }
        }
    }

    /// The redirect URI to send to the provider.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
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
        self.listener
            .set_nonblocking(true)
            .map_err(|e| OAuthError::Listener(e.to_string()))?;
        loop {
            if cancel.load(Ordering::SeqCst) {
                return Err(OAuthError::Cancelled);
            }
            if Instant::now() >= deadline {
                return Err(OAuthError::Timeout(timeout));
            }
            match self.listener.accept() {
                Ok((stream, _)) => {
                    if let Some(result) = self.serve(stream, state) {
                        return result;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if let Some(rx) = pasted {
                        if let Ok(line) = rx.try_recv() {
                            match self.pasted(line.trim(), state) {
                                Some(r) => return r,
                                None => continue,
                            }
                        }
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(OAuthError::Listener(e.to_string())),
            }
        }
    }

    fn pasted(&self, line: &str, state: &str) -> Option<Result<Callback, OAuthError>> {
        let u = Url::parse(line).ok()?;
        if u.path() != self.path {
            return None;
        }
        judge(u.query().unwrap_or(""), state)
    }

    /// Answers one connection; `Some` when it ends the wait.
    fn serve(&self, mut stream: TcpStream, state: &str) -> Option<Result<Callback, OAuthError>> {
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let mut buf = Vec::with_capacity(1024);
        let mut chunk = [0u8; 1024];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 8192 {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let head = String::from_utf8_lossy(&buf);
        let mut parts = head.lines().next().unwrap_or("").split(' ');
        let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        if method != "GET" || path != self.path {
            respond(&mut stream, 404, "Not found.");
            return None;
        }
        let verdict = judge(query, state);
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
            Some(Err(_)) => respond(
                &mut stream,
                400,
                "Token Wallet could not complete the sign-in. Return to Token Wallet for details.",
            ),
        }
        verdict
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn get(uri: &str, path_and_query: &str) -> String {
        let u = Url::parse(uri).unwrap();
        let mut s = TcpStream::connect((u.host_str().unwrap(), u.port().unwrap())).unwrap();
        write!(s, "GET {path_and_query} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
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
        let r = l.wait(
            "st4te",
            Duration::from_secs(5),
            &AtomicBool::new(false),
            None,
        );
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
    fn fail_wrong_state() {
        let (r, _) = run(vec!["/callback?code=c0de&state=other"]);
        assert!(matches!(r, Err(OAuthError::StateMismatch)));
    }

    #[test]
    fn fail_missing_code() {
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
    fn pinned_parse() {
        assert!(Pinned::parse("http://localhost:8976/callback").is_ok());
        assert!(Pinned::parse("https://localhost:8976/callback").is_err());
        assert!(Pinned::parse("http://example.com:8976/callback").is_err());
        assert!(Pinned::parse("http://localhost/callback").is_err());
    }
}
