//! The client side of the agent's socket or named pipe: the CLI's (any local tool may speak the protocol).

use super::protocol::{write_frame, AgentStatus, Frame, FrameReader, Issued, Reply, Request};
use super::transport::{self, Stream};
use super::AgentError;
use crate::connection::ConnectionInfo;
use crate::connection::ConnectionName;
use crate::Passphrase;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A client idle this long connects again before its next request: the agent hangs up on
/// a client that sends nothing within its frame deadline (10 s by default, 1 s at the
/// least), so a long-lived client (`token-wallet proxy`) would otherwise find the
/// connection gone. Connecting (with its checks) costs well under a millisecond.
const IDLE_RECONNECT: Duration = Duration::from_millis(500);

/// A connection to a running agent.
pub struct Client {
    stream: Stream,
    /// How long to wait for a reply (a token request may include a refresh with retries).
    pub timeout: Duration,
    path: PathBuf,
    default_dir: bool,
    last_used: Instant,
}

impl Client {
    /// Connects to the agent at `path`, and makes sure it is this user's own agent before
    /// anything is sent, on every connection, whoever chose the path (see
    /// [`transport::connect`]: the socket's directory and owner on Unix, and on every
    /// platform the user the serving process runs as). `default_dir`: `path` is the
    /// profile's own socket path, whose directory must be private. A refused agent gets
    /// nothing: no passphrase, no request.
    pub fn connect(path: &Path, default_dir: bool) -> Result<Self, AgentError> {
        Ok(Self {
            stream: transport::connect(path, default_dir)?,
            timeout: Duration::from_secs(180),
            path: path.to_path_buf(),
            default_dir,
            last_used: Instant::now(),
        })
    }

    /// Sends `req` and reads the reply; an error reply becomes `Err`.
    pub fn request(&mut self, req: &Request) -> Result<Reply, AgentError> {
        self.exchange(req, self.timeout, &mut |_, _| {})
    }

    /// A sign-in (`req`: [`Request::Connect`] or [`Request::Reauthorise`]) run by the
    /// agent: `open` is given each link it sends (the private start page, the provider's
    /// URL) while the person signs in; then the reply ([`Reply::Added`] or
    /// [`Reply::Reauthorised`]).
    pub fn sign_in(
        &mut self,
        req: &Request,
        open: &mut dyn FnMut(&str, &str),
    ) -> Result<Reply, AgentError> {
        let wait = req
            .sign_in_timeout()
            .ok_or_else(|| AgentError::BadRequest("not a sign-in".into()))?
            + Duration::from_secs(60);
        self.exchange(req, wait, open)
    }

    /// Sends `req` and reads its reply within `wait`; the sign-in frames that may come
    /// first (only for a sign-in) go to `open`. An error reply becomes `Err`.
    fn exchange(
        &mut self,
        req: &Request,
        wait: Duration,
        open: &mut dyn FnMut(&str, &str),
    ) -> Result<Reply, AgentError> {
        if self.last_used.elapsed() >= IDLE_RECONNECT {
            // With the same checks as the first time.
            self.stream = transport::connect(&self.path, self.default_dir)?;
        }
        self.last_used = Instant::now();
        let r = self.send_and_read(req, wait, open);
        self.last_used = Instant::now();
        r
    }

    fn send_and_read(
        &mut self,
        req: &Request,
        wait: Duration,
        open: &mut dyn FnMut(&str, &str),
    ) -> Result<Reply, AgentError> {
        self.stream.set_write_timeout(Some(self.timeout))?;
        write_frame(&self.stream, &req.encode())?;
        let mut frames = FrameReader::replies(&self.stream);
        let end = std::time::Instant::now() + wait;
        loop {
            let left = end.saturating_duration_since(std::time::Instant::now());
            match frames.next(left)? {
                Frame::Line(l) => match Reply::parse(&l, req)? {
                    Reply::SignIn { start, direct } => open(&start, &direct),
                    Reply::Error(e) => return Err(e),
                    r => return Ok(r),
                },
                Frame::Closed => {
                    return Err(AgentError::Io("the agent closed the connection".into()))
                }
            }
        }
    }

    /// An access token for `name` with at least `min_ttl` left.
    pub fn token(
        &mut self,
        name: &ConnectionName,
        min_ttl: Duration,
    ) -> Result<Issued, AgentError> {
        match self.request(&Request::Token {
            name: name.clone(),
            min_ttl,
        })? {
            Reply::Token(t) => Ok(*t),
            _ => Err(unexpected()),
        }
    }

    /// Refreshes `name` now; its facts after.
    pub fn refresh(&mut self, name: &ConnectionName) -> Result<ConnectionInfo, AgentError> {
        match self.request(&Request::Refresh { name: name.clone() })? {
            Reply::Refreshed(c) => Ok(*c),
            _ => Err(unexpected()),
        }
    }

    /// Checks `name` with its provider now: how it went, and its facts as saved.
    pub fn check(
        &mut self,
        name: &ConnectionName,
    ) -> Result<(crate::ops::CheckOutcome, ConnectionInfo), AgentError> {
        match self.request(&Request::Check { name: name.clone() })? {
            Reply::Checked(o, c) => Ok((*o, *c)),
            _ => Err(unexpected()),
        }
    }

    /// Revokes and deletes `name` (`force`: forgets it if it cannot be revoked).
    pub fn disconnect(
        &mut self,
        name: &ConnectionName,
        force: bool,
    ) -> Result<crate::ops::Disconnected, AgentError> {
        match self.request(&Request::Disconnect {
            name: name.clone(),
            force,
        })? {
            Reply::Disconnected(d) => Ok(d),
            _ => Err(unexpected()),
        }
    }

    /// Prunes (see [`crate::ops::Session::prune`]).
    pub fn prune(
        &mut self,
        inactive_days: u64,
        dry_run: bool,
    ) -> Result<Vec<crate::ops::Pruned>, AgentError> {
        match self.request(&Request::Prune {
            inactive_days,
            dry_run,
        })? {
            Reply::Pruned(p) => Ok(p),
            _ => Err(unexpected()),
        }
    }

    /// Stores a key or token (`req`: [`Request::AddKey`] or [`Request::AddToken`]); its
    /// facts.
    pub fn add(&mut self, req: &Request) -> Result<ConnectionInfo, AgentError> {
        match self.request(req)? {
            Reply::Added(c) => Ok(*c),
            _ => Err(unexpected()),
        }
    }

    /// Replaces a key or token (see [`crate::ops::Session::rotate_secret`]).
    pub fn rotate_secret(
        &mut self,
        name: &ConnectionName,
        secret: &crate::ops::Pasted,
        expires_at: Option<u64>,
        verify: bool,
    ) -> Result<crate::ops::Rotated, AgentError> {
        match self.request(&Request::RotateSecret {
            name: name.clone(),
            secret: secret.secret().clone(),
            expires_at,
            verify,
        })? {
            Reply::Rotated(r) => Ok(*r),
            _ => Err(unexpected()),
        }
    }

    /// The audit log, verified, each connection by its name; lines from `since` on.
    pub fn audit(
        &mut self,
        since: Option<u64>,
    ) -> Result<(Vec<crate::audit::Line>, crate::audit::Verdict), AgentError> {
        match self.request(&Request::Audit { since })? {
            Reply::Audit(l, v) => Ok((l, v)),
            _ => Err(unexpected()),
        }
    }

    /// The connections.
    pub fn list(&mut self) -> Result<Vec<ConnectionInfo>, AgentError> {
        match self.request(&Request::List)? {
            Reply::List(l) => Ok(l),
            _ => Err(unexpected()),
        }
    }

    /// The agent's state.
    pub fn status(&mut self) -> Result<AgentStatus, AgentError> {
        match self.request(&Request::Status)? {
            Reply::Status(s) => Ok(s),
            _ => Err(unexpected()),
        }
    }

    /// Audits requests a local proxy forwarded with `name`'s token.
    pub fn proxied(
        &mut self,
        name: &ConnectionName,
        requests: Vec<crate::ops::ProxiedRequests>,
    ) -> Result<(), AgentError> {
        self.request(&Request::Proxied {
            name: name.clone(),
            requests,
        })
        .map(|_| ())
    }

    /// Locks the agent.
    pub fn lock(&mut self) -> Result<(), AgentError> {
        self.request(&Request::Lock).map(|_| ())
    }

    /// Unlocks the agent.
    pub fn unlock(&mut self, p: &Passphrase) -> Result<(), AgentError> {
        self.request(&Request::Unlock {
            passphrase: p.secret().clone(),
        })
        .map(|_| ())
    }

    /// Unlocks the agent's vault by its OpenBao identity (a vault a Transit key unlocks).
    pub fn unlock_by_identity(&mut self) -> Result<(), AgentError> {
        self.request(&Request::Unlock {
            passphrase: secrecy::SecretString::from(String::new()),
        })
        .map(|_| ())
    }

    /// Locks the agent and makes it exit.
    pub fn stop(&mut self) -> Result<(), AgentError> {
        self.request(&Request::Stop).map(|_| ())
    }
}

fn unexpected() -> AgentError {
    AgentError::Other("unexpected reply".into())
}
