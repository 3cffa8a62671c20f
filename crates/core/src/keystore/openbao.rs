//! OpenBao (or HashiCorp Vault) as a store: each entry is one KV v2 secret,
//! `{mount}/data/{prefix}/{service}/{name}`, whose only field `value` holds the entry's
//! bytes in base64. Those bytes are what the vault writes to every store: its header,
//! index and records, encrypted on this machine; OpenBao sees ciphertext and random
//! names only.
//!
//! Every write is a check-and-set: on the version this handle last read of that entry
//! (or found, just before, for an entry it never read; 0 for one that must not exist
//! yet). A write from a stale read is refused by OpenBao ("check-and-set parameter did
//! not match") and comes back as [`BackendError::Conflict`]: another machine wrote first,
//! and nothing of theirs was overwritten.
//!
//! The address may name several nodes of a cluster (comma-separated). A node that does
//! not answer, answers 5xx (what a leader change in a Raft cluster looks like from
//! outside) or redirects to the active node (never followed with the token) is left for
//! the next, for up to 30 s (at most three quarters of the keystore timeout); a sealed server says so. TLS is always
//! verified, against the platform's roots or `ca_file`.

use super::backend::{Backend, BackendError};
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The store's name in messages.
pub(crate) const STORE_NAME: &str = "openbao";
/// What to check when OpenBao will not let us in.
pub(crate) const HINT: &str = "Check the OpenBao address (TOKEN_WALLET_BAO_ADDR or BAO_ADDR), that it is unsealed, and that this identity may use the mount";
/// The largest answer read from OpenBao.
const MAX_BODY: u64 = 8 * 1024 * 1024;
/// How long a call is tried again, on the next node, when a node does not answer or
/// answers 5xx (a Raft cluster elects a new leader within that); at most three quarters of
/// the keystore call's timeout, so the answer says what happened.
const RETRY_FOR: Duration = Duration::from_secs(30);

/// How this machine proves who it is to OpenBao.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BaoAuth {
    /// A token (`BAO_TOKEN`).
    Token(BaoToken),
    /// A file holding a token, read at each open.
    TokenFile(PathBuf),
    /// An AppRole login: the role id, and a file holding the secret id.
    AppRole {
        /// The role id (not a secret by itself).
        role_id: String,
        /// The file holding the secret id.
        secret_id_file: PathBuf,
        /// The auth mount (default `approle`).
        mount: String,
    },
}

/// An OpenBao token: never shown by `Debug`.
#[derive(Clone)]
pub struct BaoToken(SecretString);

impl BaoToken {
    /// Wraps a token.
    pub fn new(token: String) -> Self {
        Self(SecretString::from(token))
    }
}

impl std::fmt::Debug for BaoToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BaoToken(..)")
    }
}

impl PartialEq for BaoToken {
    fn eq(&self, other: &Self) -> bool {
        self.0.expose_secret() == other.0.expose_secret()
    }
}

impl Eq for BaoToken {}

/// Where the vault lives in OpenBao and how to get in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenBaoOptions {
    /// The server's address, `https://bao.example:8200` (`http://` only for 127.0.0.1 and
    /// `localhost`), or a cluster's nodes, comma-separated.
    pub addr: String,
    /// The KV v2 mount (default `secret`).
    pub mount: String,
    /// The folder under the mount that holds every profile's entries (default
    /// `token-wallet`).
    pub prefix: String,
    /// How to log in.
    pub auth: BaoAuth,
    /// A PEM file of CA certificates to verify the server with, instead of the platform's.
    pub ca_file: Option<PathBuf>,
}

/// The backend: one HTTP agent, the token, and the version last seen of each entry.
pub(crate) struct OpenBaoBackend {
    agent: ureq::Agent,
    /// The cluster's nodes (one or more addresses); calls go to `current`, and to the next
    /// one when it does not answer.
    bases: Vec<url::Url>,
    current: AtomicUsize,
    /// How long a call goes on trying nodes ([`RETRY_FOR`], within the call's timeout).
    retry_for: Duration,
    opts: OpenBaoOptions,
    token: Mutex<SecretString>,
    /// Entry path -> the version this handle last read or wrote (0: known absent).
    versions: Mutex<HashMap<String, u64>>,
}

/// One answer: the status and the JSON body (`Null` when empty).
struct Answer {
    status: u16,
    body: serde_json::Value,
}

impl Answer {
    /// OpenBao's own words for a refusal (`errors`), joined; never stored bytes.
    fn errors(&self) -> String {
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

fn unavailable(s: impl Into<String>) -> BackendError {
    BackendError::Unavailable(s.into())
}

impl OpenBaoBackend {
    /// Connects: checks the address, builds the TLS settings, and logs in.
    pub(crate) fn new(opts: OpenBaoOptions, timeout: Duration) -> Result<Self, BackendError> {
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
            versions: Mutex::default(),
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
                let a = self.send("POST", &["auth", mount, "login"], Some(body), false)?;
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
        body: Option<serde_json::Value>,
        auth: bool,
    ) -> Result<Answer, BackendError> {
        let bytes = body
            .as_ref()
            .map(|b| b.to_string().into_bytes())
            .unwrap_or_default();
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
                .body(bytes.clone())
                .map_err(|e| BackendError::Other(format!("bad request: {e}")))?;
            match self.agent.run(req) {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let raw = resp
                        .into_body()
                        .with_config()
                        .limit(MAX_BODY)
                        .read_to_vec()
                        .map_err(|e| BackendError::Other(format!("reading the answer: {e}")))?;
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
    fn call(
        &self,
        method: &str,
        segments: &[&str],
        body: Option<serde_json::Value>,
    ) -> Result<Answer, BackendError> {
        let a = self.send(method, segments, body.clone(), true)?;
        if a.status == 403 && matches!(self.opts.auth, BaoAuth::AppRole { .. }) {
            self.login()?;
            return self.send(method, segments, body, true);
        }
        Ok(a)
    }

    fn path(&self, service: &str, name: &str) -> String {
        format!("{}/{service}/{name}", self.opts.prefix)
    }

    fn refused(&self, what: &str, path: &str, a: &Answer) -> BackendError {
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

    /// The version `path` has now (0: none), for a write to an entry never read.
    fn current_version(&self, path: &str) -> Result<u64, BackendError> {
        let a = self.call("GET", &[&self.opts.mount, "metadata", path], None)?;
        match a.status {
            200 => Ok(a.body["data"]["current_version"].as_u64().unwrap_or(0)),
            404 => Ok(0),
            _ => Err(self.refused("read", path, &a)),
        }
    }
}

impl OpenBaoBackend {
    /// Reads an entry; remembers its version for the next write when `record`.
    fn read(
        &self,
        service: &str,
        name: &str,
        record: bool,
    ) -> Result<Option<Vec<u8>>, BackendError> {
        let path = self.path(service, name);
        let a = self.call("GET", &[&self.opts.mount, "data", &path], None)?;
        match a.status {
            404 => {
                if record {
                    crate::guard(&self.versions).insert(path, 0);
                }
                Ok(None)
            }
            200 => {
                if record {
                    let version = a.body["data"]["metadata"]["version"].as_u64().unwrap_or(0);
                    crate::guard(&self.versions).insert(path.clone(), version);
                }
                match a.body["data"]["data"]["value"].as_str() {
                    // A version deleted but not destroyed: no value.
                    None => Ok(None),
                    Some(b64) => base64::engine::general_purpose::STANDARD
                        .decode(b64)
                        .map(Some)
                        .map_err(|_| BackendError::Other(format!("entry {path} is not base64"))),
                }
            }
            _ => Err(self.refused("read", &path, &a)),
        }
    }
}

impl Backend for OpenBaoBackend {
    fn get(&self, service: &str, name: &str) -> Result<Option<Vec<u8>>, BackendError> {
        self.read(service, name, true)
    }

    fn peek(&self, service: &str, name: &str) -> Result<Option<Vec<u8>>, BackendError> {
        self.read(service, name, false)
    }

    fn set(&self, service: &str, name: &str, value: &[u8]) -> Result<(), BackendError> {
        let path = self.path(service, name);
        let known = crate::guard(&self.versions).get(&path).copied();
        let cas = match known {
            Some(v) => v,
            None => self.current_version(&path)?,
        };
        let body = serde_json::json!({
            "options": { "cas": cas },
            "data": { "value": base64::engine::general_purpose::STANDARD.encode(value) },
        });
        let a = self.call("POST", &[&self.opts.mount, "data", &path], Some(body))?;
        match a.status {
            200 | 204 => {
                let v = a.body["data"]["version"].as_u64().unwrap_or(cas + 1);
                crate::guard(&self.versions).insert(path, v);
                Ok(())
            }
            400 if a.errors().contains("check-and-set") => {
                crate::guard(&self.versions).remove(&path);
                Err(BackendError::Conflict(format!(
                    "{path} changed since it was read (version {cas} expected)"
                )))
            }
            _ => Err(self.refused("write", &path, &a)),
        }
    }

    fn delete(&self, service: &str, name: &str) -> Result<(), BackendError> {
        let path = self.path(service, name);
        // Every version goes: an old ciphertext kept in OpenBao's history is one more copy.
        let a = self.call("DELETE", &[&self.opts.mount, "metadata", &path], None)?;
        match a.status {
            200 | 204 | 404 => {
                crate::guard(&self.versions).insert(path, 0);
                Ok(())
            }
            _ => Err(self.refused("delete", &path, &a)),
        }
    }

    fn list(&self, service: &str) -> Result<Option<Vec<String>>, BackendError> {
        let folder = format!("{}/{service}/", self.opts.prefix);
        let a = self.call("GET", &[&self.opts.mount, "metadata", &folder], None)?;
        match a.status {
            404 => Ok(Some(Vec::new())),
            200 => Ok(Some(
                a.body["data"]["keys"]
                    .as_array()
                    .map(|k| {
                        k.iter()
                            .filter_map(|k| k.as_str())
                            .filter(|k| !k.ends_with('/'))
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
            )),
            _ => Err(self.refused("list", &folder, &a)),
        }
    }
}
