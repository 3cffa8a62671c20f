//! One request to the sign-in listener: its head read (with a deadline) and parsed, the
//! start address or the callback served, the callback judged, and the short answers.

use super::{final_verdict, Callback, OAuthError, Shared, MAX_HEAD};
use secrecy::SecretString;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

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
    pub(super) fn serve(
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
            let live = start
                .as_ref()
                .is_some_and(|p| constant_time_eq(p.token.as_bytes(), token.as_bytes()));
            let url = self
                .authorize
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            match url {
                Some(url) if live => {
                    // Used once; the browser has read the page, which goes with it.
                    *start = None;
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
pub(super) fn judge(query: &str, state: &str) -> Option<Result<Callback, OAuthError>> {
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
