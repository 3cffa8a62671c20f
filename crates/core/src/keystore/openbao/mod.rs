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

mod client;
mod transit;

pub use transit::{TransitError, TransitKey};

use super::backend::{Backend, BackendError};
use base64::Engine;
use client::{json_bytes, Client};
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The store's name in messages.
pub(crate) const STORE_NAME: &str = "openbao";
/// What to check when OpenBao will not let us in.
pub(crate) const HINT: &str = "Check the OpenBao address (TOKEN_WALLET_BAO_ADDR or BAO_ADDR), that it is unsealed, and that this identity may use the mount";

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

/// The KV store: the connection, and the version last seen of each entry.
pub(crate) struct OpenBaoBackend {
    client: Arc<Client>,
    /// Entry path -> the version this handle last read or wrote (0: known absent).
    versions: Mutex<HashMap<String, u64>>,
}

impl OpenBaoBackend {
    /// Connects: checks the address, builds the TLS settings, and logs in.
    pub(crate) fn new(opts: OpenBaoOptions, timeout: Duration) -> Result<Self, BackendError> {
        Ok(Self {
            client: Arc::new(Client::new(opts, timeout)?),
            versions: Mutex::default(),
        })
    }

    /// A Transit key reached through the same connection and login.
    pub(crate) fn transit(&self, mount: &str, key: &str) -> TransitKey {
        TransitKey::new(self.client.clone(), mount, key)
    }

    fn path(&self, service: &str, name: &str) -> String {
        format!("{}/{service}/{name}", self.client.opts.prefix)
    }

    /// The version `path` has now (0: none), for a write to an entry never read.
    fn current_version(&self, path: &str) -> Result<u64, BackendError> {
        let a = self
            .client
            .call("GET", &[&self.client.opts.mount, "metadata", path], None)?;
        match a.status {
            200 => Ok(a.body["data"]["current_version"].as_u64().unwrap_or(0)),
            404 => Ok(0),
            _ => Err(self.client.refused("read", path, &a)),
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
        let a = self
            .client
            .call("GET", &[&self.client.opts.mount, "data", &path], None)?;
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
            _ => Err(self.client.refused("read", &path, &a)),
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
        let a = self.client.call(
            "POST",
            &[&self.client.opts.mount, "data", &path],
            Some(&json_bytes(&body)),
        )?;
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
            _ => Err(self.client.refused("write", &path, &a)),
        }
    }

    fn delete(&self, service: &str, name: &str) -> Result<(), BackendError> {
        let path = self.path(service, name);
        // Every version goes: an old ciphertext kept in OpenBao's history is one more copy.
        let a = self.client.call(
            "DELETE",
            &[&self.client.opts.mount, "metadata", &path],
            None,
        )?;
        match a.status {
            200 | 204 | 404 => {
                crate::guard(&self.versions).insert(path, 0);
                Ok(())
            }
            _ => Err(self.client.refused("delete", &path, &a)),
        }
    }

    fn list(&self, service: &str) -> Result<Option<Vec<String>>, BackendError> {
        let folder = format!("{}/{service}/", self.client.opts.prefix);
        let a = self
            .client
            .call("GET", &[&self.client.opts.mount, "metadata", &folder], None)?;
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
            _ => Err(self.client.refused("list", &folder, &a)),
        }
    }
}
