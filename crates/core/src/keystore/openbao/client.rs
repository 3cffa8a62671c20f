//! The connection to OpenBao shared by the KV store and Transit: the nodes, TLS, the
//! login, and one call with its retries on the next node.

use super::{BaoAuth, OpenBaoOptions};
use crate::keystore::backend::BackendError;
use secrecy::{ExposeSecret, SecretString};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// The largest answer read from OpenBao.
const MAX_BODY: u64 = 8 * 1024 * 1024;
/// How long a call is tried again, on the next node, when a node does not answer or
/// answers 5xx (a Raft cluster elects a new leader within that); at most three quarters of
/// the keystore call's timeout, so the answer says what happened.
const RETRY_FOR: Duration = Duration::from_secs(30);

/// The connection to OpenBao: one HTTP agent, the nodes, and the token.
pub(super) struct Client {
    agent: ureq::Agent,
    /// The cluster's nodes (one or more addresses); calls go to `current`, and to the next
    /// one when it does not answer.
    bases: Vec<url::Url>,
    current: AtomicUsize,
    /// How long a call goes on trying nodes ([`RETRY_FOR`], within the call's timeout).
    retry_for: Duration,
    pub(super) opts: OpenBaoOptions,
    token: Mutex<SecretString>,
}

/// One answer: the status and the JSON body (`Null` when empty).
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) body: serde_json::Value,
}

impl Answer {
    /// OpenBao's own words for a refusal (`errors`), joined; never stored bytes.
    pub(super) fn errors(&self) -> String {
        let list: Vec<&str> = self.body["errors"]
            .as_array()
            .map(|a| a.iter().filter_map(|e| e.as_str()).collect())
            .unwrap_or_default();
        if list.is_empty() {
            format!("HTTP {}", self.status)
        } else {
            format!("HTTP {}: {}", self.status, list.join("; "))
        }
    }
}

pub(super) fn unavailable(s: impl Into<String>) -> BackendError {
    BackendError::Unavailable(s.into())
}

/// A JSON body as bytes, wiped when dropped (it may hold a key or a secret id).
pub(super) fn json_bytes(v: &serde_json::Value) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(v.to_string().into_bytes())
}

impl Client {
    /// Connects: checks the address, builds the TLS settings, and logs in.
    pub(super) fn new(opts: OpenBaoOptions, timeout: Duration) -> Result<Self, BackendError> {
        let mut bases = Vec::new();
        for addr in opts
            .addr
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            let base = url::Url::parse(addr)
                .map_err(|e| unavailable(format!("the address `{addr}` is not a URL ({e})")))?;
            let loopback = matches!(base.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
            match base.scheme() {
                "https" => {}
                "http" if loopback => {}
                _ => {
                    return Err(unavailable(format!(
                        "the address `{addr}` must be https:// (http:// only on this machine: 127.0.0.1, localhost)"
                    )))
                }
            }
            bases.push(base);
        }
        if bases.is_empty() {
            return Err(unavailable("no OpenBao address was given"));
        }
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(ca) = &opts.ca_file {
            let pem = std::fs::read(ca).map_err(|e| {
                unavailable(format!("cannot read the CA file {}: {e}", ca.display()))
            })?;
            let certs: Vec<_> = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                    _ => None,
                })
                .collect();
            if certs.is_empty() {
                return Err(unavailable(format!(
                    "the CA file {} holds no PEM certificate",
                    ca.display()
                )));
            }
            tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
        }
        let config = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .tls_config(tls.build())
            .user_agent(concat!("token-wallet/", env!("CARGO_PKG_VERSION")))
            .build();
        let me = Self {
            agent: ureq::Agent::new_with_config(config),
            bases,
            current: AtomicUsize::new(0),
            retry_for: RETRY_FOR.min(timeout * 3 / 4),
            opts,
            token: Mutex::new(SecretString::from(String::new())),
        };
        me.login()?;
        Ok(me)
    }

    /// Gets a token: the one given, the file's, or an AppRole login's.
    fn login(&self) -> Result<(), BackendError> {
        let token = match &self.opts.auth {
            BaoAuth::Token(t) => t.0.clone(),
            BaoAuth::TokenFile(p) => {
                let t = std::fs::read_to_string(p).map_err(|e| {
                    unavailable(format!("cannot read the token file {}: {e}", p.display()))
                })?;
                SecretString::from(t.trim().to_string())
            }
            BaoAuth::AppRole {
                role_id,
                secret_id_file,
                mount,
            } => {
                let secret_id = std::fs::read_to_string(secret_id_file).map_err(|e| {
                    unavailable(format!(
                        "cannot read the AppRole secret id file {}: {e}",
                        secret_id_file.display()
                    ))
                })?;
                let body = serde_json::json!({ "role_id": role_id, "secret_id": secret_id.trim() });
                let body = json_bytes(&body);
                let a = self.send("POST", &["auth", mount, "login"], Some(&body), false)?;
                if a.status != 200 {
                    return Err(unavailable(format!(
                        "the AppRole login was refused ({})",
                        a.errors()
                    )));
                }
                let t = a.body["auth"]["client_token"]
                    .as_str()
                    .ok_or_else(|| unavailable("the AppRole login gave no token"))?;
                SecretString::from(t.to_string())
            }
        };
        if token.expose_secret().is_empty() {
            return Err(unavailable("no OpenBao token was given"));
        }
        *crate::guard(&self.token) = token;
        Ok(())
    }

    /// The URL of `/v1/` and `segments` (each percent-encoded); a last segment ending in
    /// `/` is a folder, listed (`?list=true`).
    fn url(&self, node: usize, segments: &[&str]) -> url::Url {
        let mut u = self.bases[node].clone();
        {
            // Invariant: `new` accepted only http(s) URLs, which can be a base.
            let mut p = u.path_segments_mut().expect("an http(s) URL");
            p.pop_if_empty().push("v1");
            for s in segments {
                p.extend(s.split('/').filter(|s| !s.is_empty()));
            }
        }
        if segments.last().is_some_and(|s| s.ends_with('/')) {
            u.set_query(Some("list=true"));
        }
        u
    }

    /// One call, with the token when `auth`. A node that does not answer or answers 5xx
    /// is left for the next one (each in turn, waiting a little more after each round)
    /// for at most `retry_for`.
    fn send(
        &self,
        method: &str,
        segments: &[&str],
        body: Option<&[u8]>,
        auth: bool,
    ) -> Result<Answer, BackendError> {
        let bytes = body.unwrap_or_default();
        let start = Instant::now();
        let mut last = String::new();
        for attempt in 1u32.. {
            let node = self.current.load(Ordering::Relaxed) % self.bases.len();
            let url = self.url(node, segments);
            let mut req = http::Request::builder()
                .method(method)
                .uri(url.as_str())
                .header("content-type", "application/json");
            if auth {
                req = req.header("X-Vault-Token", crate::guard(&self.token).expose_secret());
            }
            let req = req
                .body(bytes)
                .map_err(|e| BackendError::Other(format!("bad request: {e}")))?;
            match self.agent.run(req) {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    // Wiped when dropped: a Transit answer holds a data key.
                    let raw = Zeroizing::new(
                        resp.into_body()
                            .with_config()
                            .limit(MAX_BODY)
                            .read_to_vec()
                            .map_err(|e| BackendError::Other(format!("reading the answer: {e}")))?,
                    );
                    let body = serde_json::from_slice(&raw).unwrap_or(serde_json::Value::Null);
                    let a = Answer { status, body };
                    // A standby that redirects to the active node (307) is never
                    // followed with the token: the next node of the list is asked.
                    if a.status < 500 && !(300..400).contains(&a.status) {
                        return Ok(a);
                    }
                    last = a.errors();
                    if last.contains("sealed") && self.bases.len() == 1 {
                        return Err(unavailable(format!(
                            "OpenBao is sealed ({last}); unseal it (bao operator unseal)"
                        )));
                    }
                }
                Err(ureq::Error::Tls(e)) => {
                    return Err(unavailable(format!(
                        "TLS to {} failed ({e}); give its CA with TOKEN_WALLET_BAO_CACERT",
                        self.bases[node]
                    )))
                }
                Err(e) => last = crate::oauth::http::plain_network_error(e),
            }
            if start.elapsed() >= self.retry_for {
                break;
            }
            self.current.store(node + 1, Ordering::Relaxed);
            let rounds = attempt / self.bases.len() as u32;
            if attempt % self.bases.len() as u32 == 0 {
                std::thread::sleep(Duration::from_millis((100u64 << rounds.min(4)).min(1000)));
            }
        }
        if last.contains("sealed") {
            return Err(unavailable(format!(
                "OpenBao is sealed ({last}); unseal it (bao operator unseal)"
            )));
        }
        Err(unavailable(format!(
            "{} did not answer within {} s ({last})",
            self.opts.addr,
            self.retry_for.as_secs()
        )))
    }

    /// A call with the token; an AppRole token that expired is renewed by logging in again.
    pub(super) fn call(
        &self,
        method: &str,
        segments: &[&str],
        body: Option<&[u8]>,
    ) -> Result<Answer, BackendError> {
        let a = self.send(method, segments, body, true)?;
        if a.status == 403 && matches!(self.opts.auth, BaoAuth::AppRole { .. }) {
            self.login()?;
            return self.send(method, segments, body, true);
        }
        Ok(a)
    }

    pub(super) fn refused(&self, what: &str, path: &str, a: &Answer) -> BackendError {
        if a.status == 403 {
            unavailable(format!(
                "permission denied to {what} {}/{path} ({})",
                self.opts.mount,
                a.errors()
            ))
        } else {
            BackendError::Other(a.errors())
        }
    }
}
