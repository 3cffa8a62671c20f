//! The only HTTP client: ureq with no redirects, a global timeout, and a 1 MiB cap on
//! response bodies. Used by `oauth2` (as its `SyncHttpClient`) and by the plain calls
//! (revocation, checks, discovery). Errors never carry a body.

use std::time::Duration;

/// The largest response body accepted.
pub const MAX_BODY: u64 = 1024 * 1024;
/// The longest any one request may take.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Why an HTTP call failed (no response to look at).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The body was larger than [`MAX_BODY`].
    #[error("the response body is larger than allowed (1 MiB for a token's answer)")]
    TooLarge,
    /// Could not connect, or the connection broke, or it timed out: said in plain words
    /// ("connection refused"), without the OS's error numbers.
    #[error("{0}")]
    Network(String),
}

/// A small blocking HTTP client.
#[derive(Clone)]
pub struct Http {
    agent: ureq::Agent,
}

impl Default for Http {
    fn default() -> Self {
        Self::new()
    }
}

impl Http {
    /// A client with the caps above.
    pub fn new() -> Self {
        let config = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_global(Some(TIMEOUT))
            .max_response_header_size(64 * 1024)
            .user_agent(concat!("token-wallet/", env!("CARGO_PKG_VERSION")))
            // No pooled connections: a kept connection keeps its buffers, and with them
            // the last token response, alive after the vault is locked.
            .max_idle_connections(0)
            .max_idle_connections_per_host(0)
            .build();
        Self {
            agent: ureq::Agent::new_with_config(config),
        }
    }

    /// Sends one request and reads at most [`MAX_BODY`] of the answer.
    pub fn send(&self, req: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, HttpError> {
        self.send_up_to(req, MAX_BODY)
    }

    /// [`Self::send`], reading at most `limit` bytes of the answer (an API's answer to
    /// `token-wallet api`, which a person asked for, may be larger than a token's).
    pub fn send_up_to(
        &self,
        req: http::Request<Vec<u8>>,
        limit: u64,
    ) -> Result<http::Response<Vec<u8>>, HttpError> {
        let resp = self.agent.run(req).map_err(map_err)?;
        let (parts, mut body) = resp.into_parts();
        let bytes = body
            .with_config()
            .limit(limit)
            .read_to_vec()
            .map_err(map_err)?;
        Ok(http::Response::from_parts(parts, bytes))
    }
}

/// A ureq failure in plain words (for other clients of ureq in this crate).
pub(crate) fn plain_network_error(e: ureq::Error) -> String {
    map_err(e).to_string()
}

fn map_err(e: ureq::Error) -> HttpError {
    match e {
        ureq::Error::BodyExceedsLimit(_) => HttpError::TooLarge,
        ureq::Error::Io(io) => HttpError::Network(io_words(&io)),
        ureq::Error::Timeout(_) => HttpError::Network("no answer in time".into()),
        ureq::Error::HostNotFound => HttpError::Network("the host name does not resolve".into()),
        ureq::Error::ConnectionFailed => HttpError::Network("could not connect".into()),
        // ureq's messages name the host and the failure, never a body.
        other => HttpError::Network(other.to_string()),
    }
}

/// An I/O failure in words, without the OS's error number.
fn io_words(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => "connection refused".into(),
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => {
            "the connection was cut".into()
        }
        K::TimedOut => "no answer in time".into(),
        K::UnexpectedEof => "the connection closed before the answer ended".into(),
        K::AddrNotAvailable | K::NetworkUnreachable | K::HostUnreachable => {
            "the address cannot be reached".into()
        }
        _ => {
            let text = e.to_string();
            match text.find(" (os error ") {
                Some(cut) => text[..cut].to_string(),
                None => text,
            }
        }
    }
}

impl oauth2::SyncHttpClient for Http {
    type Error = HttpError;
    fn call(&self, request: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, HttpError> {
        self.send(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_port_is_said_in_plain_words() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let req = http::Request::get(format!("http://127.0.0.1:{port}/token"))
            .body(Vec::new())
            .unwrap();
        let e = Http::new().send(req).unwrap_err();
        assert_eq!(e.to_string(), "connection refused");
    }

    #[test]
    fn io_failures_lose_the_os_error_number() {
        let e = std::io::Error::from_raw_os_error(28); // ENOSPC, no plain-words case
        let words = io_words(&e);
        assert!(!words.contains("os error"), "{words}");
        assert!(!words.is_empty());
    }
}
