//! The agent's wire protocol, version 1: one JSON object per line; a request at most
//! [`MAX_FRAME`] bytes, a reply at most [`MAX_REPLY`] (a `list` of a thousand connections
//! is about 800 KB).
//!
//! ```text
//! -> {"v":1,"op":"token","name":"acme","min_ttl_secs":300}
//! <- {"v":1,"ok":true,"access_token":"…","expires_at":1790000000,"refreshed":false,"connection":{…}}
//! -> {"v":1,"op":"refresh","name":"acme"}  <- {"v":1,"ok":true,"connection":{…}}
//! -> {"v":1,"op":"check","name":"acme"}    <- {"v":1,"ok":true,"outcome":"ok","connection":{…}}
//! -> {"v":1,"op":"disconnect","name":"acme","force":false}
//! <- {"v":1,"ok":true,"outcome":"revoked"}  (no_revocation | forgotten | key_forgotten + "kind" | pending + "why")
//! -> {"v":1,"op":"status"}                 list | status | lock | unlock (+ "passphrase") | stop
//! <- {"v":1,"ok":false,"error":"locked","message":"the agent is locked; …"}
//! ```
//!
//! Requests are parsed into [`Request`] (parse, don't validate): an unknown version,
//! operation or field is refused with a clear error. Frame buffers are zeroized (an
//! `unlock` frame holds a passphrase, a `token` reply an access token).

use super::AgentError;
use crate::connection::ConnectionInfo;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// The protocol version this build speaks.
pub const VERSION: u32 = 1;

/// The longest request line the agent reads, newline included (what any local process
/// may send it).
pub const MAX_FRAME: usize = 64 * 1024;

/// The longest reply line a client reads, newline included (what the agent, checked to be
/// this user's, sends back).
pub const MAX_REPLY: usize = 16 * 1024 * 1024;

/// A request, parsed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Request {
    /// An access token with at least `min_ttl` left.
    Token {
        /// Connection name.
        name: crate::connection::ConnectionName,
        /// Least remaining lifetime.
        min_ttl: Duration,
    },
    /// Refresh a connection now (rotate its tokens); answered with its facts after.
    Refresh {
        /// Connection name.
        name: crate::connection::ConnectionName,
    },
    /// Check a connection with its provider now; answered with how it went and its facts.
    Check {
        /// Connection name.
        name: crate::connection::ConnectionName,
    },
    /// Revoke and delete a connection (`force`: forget it if it cannot be revoked).
    Disconnect {
        /// Connection name.
        name: crate::connection::ConnectionName,
        /// Forget it without revoking if need be.
        force: bool,
    },
    /// The connections' public facts.
    List,
    /// The agent's state.
    Status,
    /// Forget the keys now.
    Lock,
    /// Unlock with a passphrase.
    Unlock {
        /// The passphrase (zeroized on drop).
        passphrase: SecretString,
    },
    /// Lock and exit.
    Stop,
}

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
            w.op.ok_or_else(|| AgentError::BadRequest("missing `op`".into()))?;
        let only = |ok: bool| {
            if ok {
                Ok(())
            } else {
                Err(AgentError::BadRequest(format!(
                    "unexpected field for `{op}`"
                )))
            }
        };
        let plain = w.name.is_none()
            && w.min_ttl_secs.is_none()
            && w.passphrase.is_none()
            && w.force.is_none();
        let named = |name: Option<&str>| -> Result<crate::connection::ConnectionName, AgentError> {
            let name =
                name.ok_or_else(|| AgentError::BadRequest(format!("`{op}` needs `name`")))?;
            crate::connection::ConnectionName::new(name)
                .map_err(|_| AgentError::BadRequest("invalid connection name".into()))
        };
        match op.as_str() {
            "token" => {
                only(w.passphrase.is_none() && w.force.is_none())?;
                let name = w
                    .name
                    .ok_or_else(|| AgentError::BadRequest("`token` needs `name`".into()))?;
                let name = crate::connection::ConnectionName::new(&name)
                    .map_err(|_| AgentError::BadRequest("invalid connection name".into()))?;
                let secs = w.min_ttl_secs.unwrap_or(0);
                if secs > 366 * 86_400 {
                    return Err(AgentError::BadRequest(
                        "`min_ttl_secs` is more than a year".into(),
                    ));
                }
                Ok(Self::Token {
                    name,
                    min_ttl: Duration::from_secs(secs),
                })
            }
            "check" => {
                only(w.passphrase.is_none() && w.min_ttl_secs.is_none() && w.force.is_none())?;
                Ok(Self::Check {
                    name: named(w.name.as_deref())?,
                })
            }
            "disconnect" => {
                only(w.passphrase.is_none() && w.min_ttl_secs.is_none())?;
                Ok(Self::Disconnect {
                    name: named(w.name.as_deref())?,
                    force: w.force.unwrap_or(false),
                })
            }
            "refresh" => {
                only(w.passphrase.is_none() && w.min_ttl_secs.is_none() && w.force.is_none())?;
                let name = w
                    .name
                    .ok_or_else(|| AgentError::BadRequest("`refresh` needs `name`".into()))?;
                let name = crate::connection::ConnectionName::new(&name)
                    .map_err(|_| AgentError::BadRequest("invalid connection name".into()))?;
                Ok(Self::Refresh { name })
            }
            "unlock" => {
                only(w.name.is_none() && w.min_ttl_secs.is_none() && w.force.is_none())?;
                let passphrase = w
                    .passphrase
                    .ok_or_else(|| AgentError::BadRequest("`unlock` needs `passphrase`".into()))?;
                Ok(Self::Unlock { passphrase })
            }
            "list" => only(plain).map(|_| Self::List),
            "status" => only(plain).map(|_| Self::Status),
            "lock" => only(plain).map(|_| Self::Lock),
            "stop" => only(plain).map(|_| Self::Stop),
            _ => Err(AgentError::BadRequest(format!(
                "unknown op `{}`",
                op.chars().take(32).collect::<String>()
            ))),
        }
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
            Self::List => serde_json::json!({"v": v, "op": "list"}),
            Self::Status => serde_json::json!({"v": v, "op": "status"}),
            Self::Lock => serde_json::json!({"v": v, "op": "lock"}),
            Self::Stop => serde_json::json!({"v": v, "op": "stop"}),
            Self::Unlock { passphrase } => {
                #[derive(Serialize)]
                struct U<'a> {
                    v: u32,
                    op: &'a str,
                    passphrase: &'a str,
                }
                return line(&U {
                    v,
                    op: "unlock",
                    passphrase: passphrase.expose_secret(),
                });
            }
        };
        line(&json)
    }
}

trait ClassifyMsg {
    fn classify_msg(&self) -> String;
}

impl ClassifyMsg for serde_json::Error {
    /// serde_json's messages name fields and positions, never values, except for
    /// `invalid type: string "…"`, which this drops.
    fn classify_msg(&self) -> String {
        match self.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                format!(
                    "invalid JSON at line {} column {}",
                    self.line(),
                    self.column()
                )
            }
            serde_json::error::Category::Data => {
                let m = self.to_string();
                if m.starts_with("unknown field") || m.starts_with("missing field") {
                    m.split(", expected").next().unwrap_or(&m).to_string()
                } else {
                    "a field has the wrong type".to_string()
                }
            }
            serde_json::error::Category::Io => "read error".to_string(),
        }
    }
}

/// `value` as one JSON line in a zeroized buffer.
fn line(value: &impl Serialize) -> Zeroizing<Vec<u8>> {
    let mut buf = Zeroizing::new(Vec::with_capacity(256));
    // Invariant: these values are strings, numbers and plain structs; writing to a Vec
    // cannot fail.
    serde_json::to_writer(&mut *buf, value).expect("reply serialises");
    buf.push(b'\n');
    buf
}

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
                use crate::ops::Disconnected as D;
                line(&match d {
                    D::Revoked => serde_json::json!({"v": v, "ok": true, "outcome": "revoked"}),
                    D::NoRevocation => {
                        serde_json::json!({"v": v, "ok": true, "outcome": "no_revocation"})
                    }
                    D::Forgotten => serde_json::json!({"v": v, "ok": true, "outcome": "forgotten"}),
                    D::Pending(why) => {
                        serde_json::json!({"v": v, "ok": true, "outcome": "pending", "why": why})
                    }
                    D::KeyForgotten(kind) => serde_json::json!(
                        {"v": v, "ok": true, "outcome": "key_forgotten", "kind": kind}
                    ),
                })
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
        Ok(match op {
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
                use crate::ops::Disconnected as D;
                Self::Disconnected(match w.outcome.as_deref().ok_or_else(missing)? {
                    "revoked" => D::Revoked,
                    "no_revocation" => D::NoRevocation,
                    "forgotten" => D::Forgotten,
                    "pending" => D::Pending(w.why.unwrap_or_default()),
                    "key_forgotten" => D::KeyForgotten(w.kind.unwrap_or_default()),
                    other => {
                        return Err(AgentError::Other(format!(
                            "unknown disconnect outcome from the agent: {}",
                            other.chars().take(32).collect::<String>()
                        )))
                    }
                })
            }
            Request::List => Self::List(w.connections.ok_or_else(missing)?),
            Request::Status => Self::Status(w.status.ok_or_else(missing)?),
            Request::Lock | Request::Unlock { .. } | Request::Stop => Self::Done,
        })
    }
}

/// Reads frames from a stream, each within a deadline; keeps bytes that follow a
/// frame for the next one. The buffer is zeroized.
pub struct FrameReader<R> {
    inner: R,
    buf: Zeroizing<Vec<u8>>,
    max: usize,
    /// How much of `buf` is known to hold no newline (each byte is looked at once).
    scanned: usize,
}

/// What reading a frame gave.
pub enum Frame {
    /// A whole line (without its newline).
    Line(Zeroizing<Vec<u8>>),
    /// The peer closed the stream between frames.
    Closed,
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Line(l) => write!(f, "Line(<{} bytes>)", l.len()),
            Self::Closed => f.write_str("Closed"),
        }
    }
}

/// Something that can wait for input with a timeout (a socket).
pub trait Timed {
    /// Waits at most `d` for the next read (`None`: forever).
    fn set_timeout(&self, d: Option<Duration>) -> std::io::Result<()>;
}

impl<R: Read + Timed> FrameReader<R> {
    /// Reads requests from `inner` (frames of at most [`MAX_FRAME`] bytes).
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            buf: Zeroizing::new(Vec::new()),
            max: MAX_FRAME,
            scanned: 0,
        }
    }

    /// Reads replies from `inner` (frames of at most [`MAX_REPLY`] bytes).
    pub fn replies(inner: R) -> Self {
        Self {
            max: MAX_REPLY,
            ..Self::new(inner)
        }
    }

    /// The next frame, which must arrive whole within `timeout`.
    pub fn next(&mut self, timeout: Duration) -> Result<Frame, AgentError> {
        let deadline = Instant::now() + timeout;
        let mut chunk = Zeroizing::new([0u8; 4096]);
        loop {
            let newline = self.buf[self.scanned..]
                .iter()
                .position(|&b| b == b'\n')
                .map(|i| self.scanned + i);
            self.scanned = self.buf.len();
            if let Some(i) = newline {
                self.scanned = 0;
                if i + 1 > self.max {
                    return Err(AgentError::TooLarge(self.max));
                }
                let mut line = Zeroizing::new(self.buf[..i].to_vec());
                self.buf.drain(..=i);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(Frame::Line(line));
            }
            if self.buf.len() >= self.max {
                return Err(AgentError::TooLarge(self.max));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(AgentError::Timeout);
            }
            self.inner.set_timeout(Some(left))?;
            match self.inner.read(&mut chunk[..]) {
                Ok(0) if self.buf.is_empty() => return Ok(Frame::Closed),
                Ok(0) => {
                    return Err(AgentError::BadRequest(
                        "the stream ended inside a frame".into(),
                    ))
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(AgentError::Timeout)
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Writes one frame.
pub fn write_frame(mut w: impl Write, frame: &[u8]) -> Result<(), AgentError> {
    w.write_all(frame)?;
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests;
