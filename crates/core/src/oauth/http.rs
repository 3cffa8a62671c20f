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
    #[error("the response body is larger than 1 MiB")]
    TooLarge,
    /// Could not connect, or the connection broke, or it timed out.
    #[error("network error: {0}")]
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
        let resp = self.agent.run(req).map_err(map_err)?;
        let (parts, mut body) = resp.into_parts();
        let bytes = body
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(map_err)?;
        Ok(http::Response::from_parts(parts, bytes))
    }
}

fn map_err(e: ureq::Error) -> HttpError {
    match e {
        ureq::Error::BodyExceedsLimit(_) => HttpError::TooLarge,
        // ureq's messages name the host and the failure, never a body.
        other => HttpError::Network(other.to_string()),
    }
}

impl oauth2::SyncHttpClient for Http {
    type Error = HttpError;
    fn call(&self, request: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, HttpError> {
        self.send(request)
    }
}
