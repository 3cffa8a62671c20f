//! Requests: what a client may ask, parsed at once (each operation takes only its own
//! fields) and encoded.

use super::{line, ClassifyMsg, VERSION};
use crate::agent::AgentError;
use crate::connection::{ConnectionName, CredentialKind};
use crate::oauth::Provider;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use zeroize::Zeroizing;

/// A request, parsed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Request {
    /// An access token with at least `min_ttl` left.
    Token {
        /// Connection name.
        name: ConnectionName,
        /// Least remaining lifetime.
        min_ttl: Duration,
    },
    /// Refresh a connection now (rotate its tokens); answered with its facts after.
    Refresh {
        /// Connection name.
        name: ConnectionName,
    },
    /// Check a connection with its provider now; answered with how it went and its facts.
    Check {
        /// Connection name.
        name: ConnectionName,
    },
    /// Revoke and delete a connection (`force`: forget it if it cannot be revoked).
    Disconnect {
        /// Connection name.
        name: ConnectionName,
        /// Forget it without revoking if need be.
        force: bool,
    },
    /// Disconnect the connections whose refresh token is dead or that were not used for
    /// `inactive_days` (`dry_run`: only say which).
    Prune {
        /// Days unused.
        inactive_days: u64,
        /// Only list them.
        dry_run: bool,
    },
    /// Store a Pleo API key (verified first, unless `verify` is false).
    AddKey {
        /// Its name.
        name: ConnectionName,
        /// The provider, resolved by the client from its settings.
        provider: Box<Provider>,
        /// The key (zeroized on drop).
        secret: SecretString,
        /// Its expiry date (Unix seconds).
        expires_at: Option<u64>,
        /// Ask the provider first.
        verify: bool,
    },
    /// Store another tool's token.
    AddToken {
        /// Its name.
        name: ConnectionName,
        /// How it is presented (a static kind).
        kind: CredentialKind,
        /// Where it comes from.
        label: String,
        /// The token (zeroized on drop).
        secret: SecretString,
        /// Its expiry date (Unix seconds).
        expires_at: Option<u64>,
    },
    /// Replace an API key or static token with a new one.
    RotateSecret {
        /// Its name.
        name: ConnectionName,
        /// The new one (zeroized on drop).
        secret: SecretString,
        /// The new one's expiry date (Unix seconds).
        expires_at: Option<u64>,
        /// Ask the provider first.
        verify: bool,
    },
    /// Sign in and store the tokens as a new connection. Answered first with a
    /// [`Reply::SignIn`] frame (the link for the client to open), then with the connection.
    Connect {
        /// Its name.
        name: ConnectionName,
        /// The provider, resolved by the client from its settings.
        provider: Box<Provider>,
        /// The client id, if not the provider's.
        client_id: Option<String>,
        /// Scopes, if not the provider's.
        scopes: Vec<String>,
        /// A confidential client's secret (zeroized on drop).
        client_secret: Option<SecretString>,
        /// How long to wait for the sign-in.
        timeout: Duration,
    },
    /// Sign in again for an existing connection (the same account only); answered like
    /// [`Request::Connect`].
    Reauthorise {
        /// Its name.
        name: ConnectionName,
        /// How long to wait for the sign-in.
        timeout: Duration,
    },
    /// The audit log, verified, each connection by its name; lines from `since` (Unix
    /// seconds) on.
    Audit {
        /// The oldest line wanted.
        since: Option<u64>,
    },
    /// The connections' public facts.
    List,
    /// The agent's state.
    Status,
    /// Forget the keys now.
    Lock,
    /// Unlock with a passphrase; an empty one asks a vault that unlocks by OpenBao
    /// identity (a Transit key) to unlock with the agent's identity.
    Unlock {
        /// The passphrase (zeroized on drop).
        passphrase: SecretString,
    },
    /// Lock and exit.
    Stop,
    /// Audit requests a local proxy forwarded with `name`'s token (a batch).
    Proxied {
        /// Connection name.
        name: ConnectionName,
        /// The requests, counted by method, path, status and client.
        requests: Vec<crate::ops::ProxiedRequests>,
    },
}

/// The most lines one `proxied` request may carry (a proxy sends a batch per flush; a
/// frame is at most 64 KiB anyway).
pub const MAX_PROXIED_BATCH: usize = 64;

/// The request line as sent; turned into a [`Request`] at once.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    v: Option<u64>,
    op: Option<String>,
    name: Option<String>,
    min_ttl_secs: Option<u64>,
    passphrase: Option<SecretString>,
    force: Option<bool>,
    inactive_days: Option<u64>,
    dry_run: Option<bool>,
    provider: Option<Box<Provider>>,
    secret: Option<SecretString>,
    expires_at: Option<u64>,
    verify: Option<bool>,
    kind: Option<CredentialKind>,
    label: Option<String>,
    since: Option<u64>,
    client_id: Option<String>,
    scopes: Option<Vec<String>>,
    timeout_secs: Option<u64>,
    requests: Option<Vec<crate::ops::ProxiedRequests>>,
}

impl Wire {
    /// The fields given, by name (beside `v` and `op`).
    fn given(&self) -> impl Iterator<Item = &'static str> {
        [
            ("name", self.name.is_some()),
            ("min_ttl_secs", self.min_ttl_secs.is_some()),
            ("passphrase", self.passphrase.is_some()),
            ("force", self.force.is_some()),
            ("inactive_days", self.inactive_days.is_some()),
            ("dry_run", self.dry_run.is_some()),
            ("provider", self.provider.is_some()),
            ("secret", self.secret.is_some()),
            ("expires_at", self.expires_at.is_some()),
            ("verify", self.verify.is_some()),
            ("kind", self.kind.is_some()),
            ("label", self.label.is_some()),
            ("since", self.since.is_some()),
            ("client_id", self.client_id.is_some()),
            ("scopes", self.scopes.is_some()),
            ("timeout_secs", self.timeout_secs.is_some()),
            ("requests", self.requests.is_some()),
        ]
        .into_iter()
        .filter_map(|(f, given)| given.then_some(f))
    }
}

/// `field` of `op`, which it needs.
fn needed<T>(op: &str, field: &str, v: Option<T>) -> Result<T, AgentError> {
    v.ok_or_else(|| AgentError::BadRequest(format!("`{op}` needs `{field}`")))
}

impl Request {
    /// Parses one frame (without its newline).
    pub fn parse(frame: &[u8]) -> Result<Self, AgentError> {
        let w: Wire = serde_json::from_slice(frame).map_err(|e| {
            // serde_json's message names the position and what was expected; it quotes
            // field names, never values.
            AgentError::BadRequest(format!("not a request object: {}", e.classify_msg()))
        })?;
        match w.v {
            Some(v) if v == u64::from(VERSION) => {}
            Some(v) => return Err(AgentError::UnsupportedVersion(v, VERSION)),
            None => {
                return Err(AgentError::BadRequest(
                    "missing protocol version `v`".into(),
                ))
            }
        }
        let op =
            w.op.clone()
                .ok_or_else(|| AgentError::BadRequest("missing `op`".into()))?;
        let op = op.as_str();
        // Each operation's fields; any other is refused.
        let allowed: &[&str] = match op {
            "token" => &["name", "min_ttl_secs"],
            "refresh" | "check" => &["name"],
            "disconnect" => &["name", "force"],
            "prune" => &["inactive_days", "dry_run"],
            "add_key" => &["name", "provider", "secret", "expires_at", "verify"],
            "add_token" => &["name", "kind", "label", "secret", "expires_at"],
            "rotate_secret" => &["name", "secret", "expires_at", "verify"],
            "audit" => &["since"],
            "connect" => &[
                "name",
                "provider",
                "client_id",
                "scopes",
                "secret",
                "timeout_secs",
            ],
            "reauthorise" => &["name", "timeout_secs"],
            "unlock" => &["passphrase"],
            "proxied" => &["name", "requests"],
            "list" | "status" | "lock" | "stop" => &[],
            _ => {
                return Err(AgentError::BadRequest(format!(
                    "unknown op `{}`",
                    op.chars().take(32).collect::<String>()
                )))
            }
        };
        if let Some(f) = w.given().find(|f| !allowed.contains(f)) {
            return Err(AgentError::BadRequest(format!(
                "unexpected field `{f}` for `{op}`"
            )));
        }
        let name = || -> Result<ConnectionName, AgentError> {
            ConnectionName::new(&needed(op, "name", w.name.clone())?)
                .map_err(|_| AgentError::BadRequest("invalid connection name".into()))
        };
        Ok(match op {
            "token" => {
                let secs = w.min_ttl_secs.unwrap_or(0);
                if secs > 366 * 86_400 {
                    return Err(AgentError::BadRequest(
                        "`min_ttl_secs` is more than a year".into(),
                    ));
                }
                Self::Token {
                    name: name()?,
                    min_ttl: Duration::from_secs(secs),
                }
            }
            "refresh" => Self::Refresh { name: name()? },
            "check" => Self::Check { name: name()? },
            "disconnect" => Self::Disconnect {
                name: name()?,
                force: w.force.unwrap_or(false),
            },
            "prune" => Self::Prune {
                inactive_days: needed(op, "inactive_days", w.inactive_days)?,
                dry_run: w.dry_run.unwrap_or(false),
            },
            "add_key" => Self::AddKey {
                name: name()?,
                provider: needed(op, "provider", w.provider)?,
                secret: needed(op, "secret", w.secret)?,
                expires_at: w.expires_at,
                verify: w.verify.unwrap_or(true),
            },
            "add_token" => Self::AddToken {
                name: name()?,
                kind: needed(op, "kind", w.kind)?,
                label: needed(op, "label", w.label)?,
                secret: needed(op, "secret", w.secret)?,
                expires_at: w.expires_at,
            },
            "rotate_secret" => Self::RotateSecret {
                name: name()?,
                secret: needed(op, "secret", w.secret)?,
                expires_at: w.expires_at,
                verify: w.verify.unwrap_or(true),
            },
            "audit" => Self::Audit { since: w.since },
            "connect" => Self::Connect {
                name: name()?,
                provider: needed(op, "provider", w.provider)?,
                client_id: w.client_id,
                scopes: w.scopes.unwrap_or_default(),
                client_secret: w.secret,
                timeout: sign_in_timeout(w.timeout_secs)?,
            },
            "reauthorise" => Self::Reauthorise {
                name: name()?,
                timeout: sign_in_timeout(w.timeout_secs)?,
            },
            "unlock" => Self::Unlock {
                passphrase: needed(op, "passphrase", w.passphrase)?,
            },
            "list" => Self::List,
            "status" => Self::Status,
            "lock" => Self::Lock,
            "proxied" => {
                let requests = needed(op, "requests", w.requests.clone())?;
                if requests.len() > MAX_PROXIED_BATCH {
                    return Err(AgentError::BadRequest(format!(
                        "more than {MAX_PROXIED_BATCH} lines in one `proxied` batch"
                    )));
                }
                Self::Proxied {
                    name: name()?,
                    requests,
                }
            }
            _ => Self::Stop,
        })
    }

    /// The request's frame (with its newline).
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let v = VERSION;
        let json = match self {
            Self::Token { name, min_ttl } => serde_json::json!({
                "v": v, "op": "token", "name": name, "min_ttl_secs": min_ttl.as_secs()
            }),
            Self::Refresh { name } => serde_json::json!({"v": v, "op": "refresh", "name": name}),
            Self::Check { name } => serde_json::json!({"v": v, "op": "check", "name": name}),
            Self::Disconnect { name, force } => {
                serde_json::json!({"v": v, "op": "disconnect", "name": name, "force": force})
            }
            Self::Prune {
                inactive_days,
                dry_run,
            } => serde_json::json!({
                "v": v, "op": "prune", "inactive_days": inactive_days, "dry_run": dry_run
            }),
            Self::Audit { since } => serde_json::json!({"v": v, "op": "audit", "since": since}),
            Self::Reauthorise { name, timeout } => serde_json::json!({
                "v": v, "op": "reauthorise", "name": name, "timeout_secs": timeout.as_secs()
            }),
            Self::Connect {
                name,
                provider,
                client_id,
                scopes,
                client_secret,
                timeout,
            } => {
                return line(&Secretive {
                    v,
                    op: "connect",
                    name: Some(name),
                    provider: Some(provider),
                    client_id: client_id.as_deref(),
                    scopes: Some(scopes),
                    secret: client_secret.as_ref().map(|s| s.expose_secret()),
                    timeout_secs: Some(timeout.as_secs()),
                    ..Secretive::default()
                })
            }
            Self::List => serde_json::json!({"v": v, "op": "list"}),
            Self::Status => serde_json::json!({"v": v, "op": "status"}),
            Self::Lock => serde_json::json!({"v": v, "op": "lock"}),
            Self::Stop => serde_json::json!({"v": v, "op": "stop"}),
            Self::Proxied { name, requests } => {
                serde_json::json!({"v": v, "op": "proxied", "name": name, "requests": requests})
            }
            // The secret-bearing ones are written straight into the zeroized buffer, never
            // through a `serde_json::Value` (its strings are not zeroized).
            Self::Unlock { passphrase } => {
                return line(&Secretive {
                    v,
                    op: "unlock",
                    passphrase: Some(passphrase.expose_secret()),
                    ..Secretive::default()
                })
            }
            Self::AddKey {
                name,
                provider,
                secret,
                expires_at,
                verify,
            } => {
                return line(&Secretive {
                    v,
                    op: "add_key",
                    name: Some(name),
                    provider: Some(provider),
                    secret: Some(secret.expose_secret()),
                    expires_at: *expires_at,
                    verify: Some(*verify),
                    ..Secretive::default()
                })
            }
            Self::AddToken {
                name,
                kind,
                label,
                secret,
                expires_at,
            } => {
                return line(&Secretive {
                    v,
                    op: "add_token",
                    name: Some(name),
                    kind: Some(*kind),
                    label: Some(label),
                    secret: Some(secret.expose_secret()),
                    expires_at: *expires_at,
                    ..Secretive::default()
                })
            }
            Self::RotateSecret {
                name,
                secret,
                expires_at,
                verify,
            } => {
                return line(&Secretive {
                    v,
                    op: "rotate_secret",
                    name: Some(name),
                    secret: Some(secret.expose_secret()),
                    expires_at: *expires_at,
                    verify: Some(*verify),
                    ..Secretive::default()
                })
            }
        };
        line(&json)
    }
}

/// A request that carries a secret, as written.
#[derive(Serialize, Default)]
struct Secretive<'a> {
    v: u32,
    op: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a ConnectionName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    provider: Option<&'a Provider>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<CredentialKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    passphrase: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verify: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scopes: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout_secs: Option<u64>,
}

/// The longest a sign-in through the agent may wait (an hour).
pub const MAX_SIGN_IN_SECS: u64 = 3600;

/// A sign-in's `timeout_secs` (default 300 s, at most [`MAX_SIGN_IN_SECS`]).
fn sign_in_timeout(secs: Option<u64>) -> Result<Duration, AgentError> {
    match secs.unwrap_or(300) {
        0 => Err(AgentError::BadRequest("`timeout_secs` is zero".into())),
        s if s > MAX_SIGN_IN_SECS => Err(AgentError::BadRequest(
            "`timeout_secs` is more than an hour".into(),
        )),
        s => Ok(Duration::from_secs(s)),
    }
}

impl Request {
    /// Whether it is a sign-in (answered with [`Reply::SignIn`] frames before its reply),
    /// and how long it may wait.
    pub fn sign_in_timeout(&self) -> Option<Duration> {
        match self {
            Self::Connect { timeout, .. } | Self::Reauthorise { timeout, .. } => Some(*timeout),
            _ => None,
        }
    }
}
