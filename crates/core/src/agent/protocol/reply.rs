//! Replies: what the agent answers, encoded and parsed.

use super::{line, ClassifyMsg, Request, VERSION};
use crate::agent::AgentError;
use crate::audit::{Line, PruneReason, Verdict};
use crate::connection::{ConnectionInfo, ConnectionName, CredentialKind};
use crate::ops::{Disconnected, Pruned, Replaced, ReplacedGrant, Rotated};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// An access token handed out, with its connection's public facts.
pub struct Issued {
    /// The token.
    pub token: SecretString,
    /// When it expires (Unix seconds), if known.
    pub expires_at: Option<u64>,
    /// Whether this request refreshed it.
    pub refreshed: bool,
    /// The connection.
    pub info: ConnectionInfo,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Issued(<redacted>, {:?})", self.expires_at)
    }
}

/// What `status` reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentStatus {
    /// Whether a vault is unlocked.
    pub unlocked: bool,
    /// The agent's process id.
    pub pid: u32,
    /// The profile it serves.
    pub profile: String,
    /// The vault id, when unlocked.
    pub vault_id: Option<String>,
    /// Connections, when unlocked.
    pub connections: Option<usize>,
    /// Auto-lock after this many idle seconds (`None`: never).
    pub idle_timeout_secs: Option<u64>,
    /// Seconds until the auto-lock, when unlocked.
    pub locks_in_secs: Option<u64>,
    /// Clients connected now (this one included).
    pub clients: usize,
    /// The protocol version.
    pub protocol: u32,
    /// How many times it has locked since it started, however (0 from an agent older
    /// than this member): a client that asks now and then sees a lock followed by an
    /// unlock between two asks.
    #[serde(default)]
    pub times_locked: u64,
}

/// A reply, before encoding.
pub enum Reply {
    /// A token.
    Token(Box<Issued>),
    /// Connections.
    List(Vec<ConnectionInfo>),
    /// A connection, refreshed.
    Refreshed(Box<ConnectionInfo>),
    /// A connection, checked: how it went and its facts as saved.
    Checked(Box<crate::ops::CheckOutcome>, Box<ConnectionInfo>),
    /// A disconnect, and how it ended.
    Disconnected(crate::ops::Disconnected),
    /// What a prune found, and did.
    Pruned(Vec<Pruned>),
    /// A key or token added: its facts.
    Added(Box<ConnectionInfo>),
    /// A key or token replaced: its facts, and the old one's.
    Rotated(Box<Rotated>),
    /// The audit log's lines (each connection by its name) and what verifying it found.
    Audit(Vec<Line>, Verdict),
    /// Before a sign-in's reply: where the person signs in (see
    /// [`crate::oauth::SignInLink`]); the client opens `start` in a browser on this
    /// machine, or shows `direct`. Possibly more than once.
    SignIn {
        /// The private one-time start page.
        start: String,
        /// The provider's authorisation URL.
        direct: String,
    },
    /// A connection signed in again, and what became of the grant it replaced.
    Reauthorised(Box<ConnectionInfo>, ReplacedGrant),
    /// Status.
    Status(AgentStatus),
    /// Done (lock, unlock, stop).
    Done,
    /// An error.
    Error(AgentError),
}

impl Reply {
    /// The reply's frame (with its newline).
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        #[derive(Serialize)]
        struct Tok<'a> {
            v: u32,
            ok: bool,
            access_token: &'a str,
            expires_at: Option<u64>,
            refreshed: bool,
            connection: &'a ConnectionInfo,
        }
        let v = VERSION;
        match self {
            Self::Token(t) => line(&Tok {
                v,
                ok: true,
                access_token: t.token.expose_secret(),
                expires_at: t.expires_at,
                refreshed: t.refreshed,
                connection: &t.info,
            }),
            Self::List(c) => line(&serde_json::json!({"v": v, "ok": true, "connections": c})),
            Self::Refreshed(c) => line(&serde_json::json!({"v": v, "ok": true, "connection": c})),
            Self::Checked(o, c) => line(
                &serde_json::json!({"v": v, "ok": true, "outcome": o.to_string(), "connection": c}),
            ),
            Self::Disconnected(d) => {
                let mut j = serde_json::to_value(Outcome::of(&Ok(d))).unwrap_or_default();
                j["v"] = v.into();
                j["ok"] = true.into();
                line(&j)
            }
            Self::Pruned(p) => {
                let p: Vec<_> = p
                    .iter()
                    .map(|p| {
                        serde_json::json!({
                            "name": p.name,
                            "reason": p.reason,
                            "outcome": p.outcome.as_ref().map(|o| Outcome::of(&o.as_ref())),
                        })
                    })
                    .collect();
                line(&serde_json::json!({"v": v, "ok": true, "pruned": p}))
            }
            Self::Added(c) => line(&serde_json::json!({"v": v, "ok": true, "connection": c})),
            Self::Rotated(r) => {
                line(&serde_json::json!({"v": v, "ok": true, "connection": r.info, "old": r.old}))
            }
            Self::SignIn { start, direct } => line(
                &serde_json::json!({"v": v, "ok": true, "sign_in": {"start": start, "direct": direct}}),
            ),
            Self::Reauthorised(c, r) => {
                let (replaced, why) = match r {
                    ReplacedGrant::Revoked => ("revoked", None),
                    ReplacedGrant::LeftLive(why) => ("left_live", Some(why)),
                    ReplacedGrant::RevokeFailed(e) => ("revoke_failed", Some(e)),
                };
                line(&serde_json::json!(
                    {"v": v, "ok": true, "connection": c, "replaced": replaced, "why": why}
                ))
            }
            Self::Audit(lines, verdict) => {
                line(&serde_json::json!({"v": v, "ok": true, "lines": lines, "verdict": verdict}))
            }
            Self::Status(s) => line(&serde_json::json!({"v": v, "ok": true, "status": s})),
            Self::Done => line(&serde_json::json!({"v": v, "ok": true})),
            Self::Error(e) => line(&serde_json::json!({
                "v": v, "ok": false, "error": e.kind(), "message": e.to_string()
            })),
        }
    }

    /// Parses a reply frame (without its newline) to the request `op` it answers.
    pub fn parse(frame: &[u8], op: &Request) -> Result<Self, AgentError> {
        #[derive(Deserialize)]
        struct W {
            v: u64,
            ok: bool,
            error: Option<String>,
            message: Option<String>,
            access_token: Option<SecretString>,
            expires_at: Option<u64>,
            refreshed: Option<bool>,
            connection: Option<ConnectionInfo>,
            connections: Option<Vec<ConnectionInfo>>,
            status: Option<AgentStatus>,
            outcome: Option<String>,
            why: Option<String>,
            kind: Option<crate::connection::CredentialKind>,
            pruned: Option<Vec<PrunedWire>>,
            old: Option<Replaced>,
            lines: Option<Vec<Line>>,
            verdict: Option<VerdictWire>,
            sign_in: Option<SignInWire>,
            replaced: Option<String>,
        }
        let w: W = serde_json::from_slice(frame).map_err(|e| {
            AgentError::Other(format!("bad reply from the agent: {}", e.classify_msg()))
        })?;
        if w.v != u64::from(VERSION) {
            return Err(AgentError::UnsupportedVersion(w.v, VERSION));
        }
        let missing = || AgentError::Other("incomplete reply from the agent".into());
        if !w.ok {
            return Ok(Self::Error(AgentError::from_wire(
                w.error.as_deref().unwrap_or("other"),
                w.message.unwrap_or_else(|| "the agent failed".into()),
            )));
        }
        if let (Some(l), Some(_)) = (w.sign_in, op.sign_in_timeout()) {
            return Ok(Self::SignIn {
                start: l.start,
                direct: l.direct,
            });
        }
        Ok(match op {
            Request::Connect { .. } => Self::Added(Box::new(w.connection.ok_or_else(missing)?)),
            Request::Reauthorise { .. } => {
                let why = w.why.unwrap_or_default();
                let replaced = match w.replaced.as_deref().ok_or_else(missing)? {
                    "revoked" => ReplacedGrant::Revoked,
                    "revoke_failed" => ReplacedGrant::RevokeFailed(why),
                    _ => ReplacedGrant::LeftLive(why),
                };
                Self::Reauthorised(Box::new(w.connection.ok_or_else(missing)?), replaced)
            }
            Request::Token { .. } => Self::Token(Box::new(Issued {
                token: w.access_token.ok_or_else(missing)?,
                expires_at: w.expires_at,
                refreshed: w.refreshed.unwrap_or(false),
                info: w.connection.ok_or_else(missing)?,
            })),
            Request::Refresh { .. } => Self::Refreshed(Box::new(w.connection.ok_or_else(missing)?)),
            Request::Check { .. } => Self::Checked(
                Box::new(crate::ops::CheckOutcome::from(
                    w.outcome.ok_or_else(missing)?,
                )),
                Box::new(w.connection.ok_or_else(missing)?),
            ),
            Request::Disconnect { .. } => {
                let o = Outcome {
                    outcome: w.outcome.ok_or_else(missing)?,
                    why: w.why,
                    kind: w.kind,
                };
                Self::Disconnected(o.parse()?.map_err(|e| AgentError::Other(e.to_string()))?)
            }
            Request::Prune { .. } => Self::Pruned(
                w.pruned
                    .ok_or_else(missing)?
                    .into_iter()
                    .map(|p| {
                        Ok(Pruned {
                            name: p.name,
                            reason: p.reason,
                            outcome: p.outcome.map(Outcome::parse).transpose()?,
                        })
                    })
                    .collect::<Result<_, AgentError>>()?,
            ),
            Request::AddKey { .. } | Request::AddToken { .. } => {
                Self::Added(Box::new(w.connection.ok_or_else(missing)?))
            }
            Request::RotateSecret { .. } => Self::Rotated(Box::new(Rotated {
                info: w.connection.ok_or_else(missing)?,
                old: w.old.ok_or_else(missing)?,
            })),
            Request::Audit { .. } => {
                let v = w.verdict.ok_or_else(missing)?;
                Self::Audit(
                    w.lines.ok_or_else(missing)?,
                    Verdict {
                        lines: v.lines,
                        authenticated: v.authenticated,
                        broken: v.broken,
                    },
                )
            }
            Request::List => Self::List(w.connections.ok_or_else(missing)?),
            Request::Status => Self::Status(w.status.ok_or_else(missing)?),
            Request::Lock | Request::Unlock { .. } | Request::Stop | Request::Proxied { .. } => {
                Self::Done
            }
        })
    }
}

/// How a disconnect ended, as sent: `outcome` a word, `why` for `pending` and `refused`,
/// `kind` for `key_forgotten`.
#[derive(Serialize, Deserialize)]
struct Outcome {
    outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    why: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kind: Option<CredentialKind>,
}

impl Outcome {
    /// `d` as sent; a refusal (`Err`, the connection kept) is `refused` with its message.
    fn of(d: &Result<&Disconnected, &String>) -> Self {
        let (outcome, why, kind) = match d {
            Ok(Disconnected::Revoked) => ("revoked", None, None),
            Ok(Disconnected::NoRevocation) => ("no_revocation", None, None),
            Ok(Disconnected::Forgotten) => ("forgotten", None, None),
            Ok(Disconnected::Pending(why)) => ("pending", Some(why.clone()), None),
            Ok(Disconnected::KeyForgotten(kind)) => ("key_forgotten", None, Some(*kind)),
            Err(e) => ("refused", Some(e.to_string()), None),
        };
        Self {
            outcome: outcome.into(),
            why,
            kind,
        }
    }

    /// The outcome sent; an unknown word is an error.
    fn parse(self) -> Result<Result<Disconnected, String>, AgentError> {
        use Disconnected as D;
        Ok(Ok(match self.outcome.as_str() {
            "revoked" => D::Revoked,
            "no_revocation" => D::NoRevocation,
            "forgotten" => D::Forgotten,
            "pending" => D::Pending(self.why.unwrap_or_default()),
            "key_forgotten" => D::KeyForgotten(self.kind.unwrap_or_default()),
            "refused" => return Ok(Err(self.why.unwrap_or_default())),
            other => {
                return Err(AgentError::Other(format!(
                    "unknown disconnect outcome from the agent: {}",
                    other.chars().take(32).collect::<String>()
                )))
            }
        }))
    }
}

/// A connection a prune found, as sent.
#[derive(Deserialize)]
struct PrunedWire {
    name: ConnectionName,
    reason: PruneReason,
    outcome: Option<Outcome>,
}

/// What verifying the audit log found, as sent.
#[derive(Deserialize)]
struct VerdictWire {
    lines: u64,
    authenticated: u64,
    broken: Option<(u64, String)>,
}

/// Where to sign in, as sent.
#[derive(Deserialize)]
struct SignInWire {
    start: String,
    direct: String,
}
