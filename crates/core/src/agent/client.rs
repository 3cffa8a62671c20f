//! The client side of the agent socket (the CLI's; any local tool may speak the protocol).

use super::protocol::{write_frame, AgentStatus, Frame, FrameReader, Issued, Reply, Request};
use super::{secure_dir, AgentError};
use crate::connection::ConnectionInfo;
use crate::Passphrase;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// A connection to a running agent.
pub struct Client {
    stream: UnixStream,
    /// How long to wait for a reply (a token request may include a refresh with retries).
    pub timeout: Duration,
}

impl Client {
    /// Connects to the agent at `path`. With `check_dir`, the socket's directory must be
    /// this user's and private (so no other user can pose as the agent); a path the user
    /// names explicitly is taken as given.
    pub fn connect(path: &Path, check_dir: bool) -> Result<Self, AgentError> {
        let not_running = || AgentError::NotRunning(path.display().to_string());
        if check_dir {
            let dir = path.parent().ok_or_else(not_running)?;
            if !dir.exists() {
                return Err(not_running());
            }
            secure_dir(dir, false)?;
        }
        match UnixStream::connect(path) {
            Ok(stream) => Ok(Self {
                stream,
                timeout: Duration::from_secs(180),
            }),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                ) =>
            {
                Err(not_running())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Sends `req` and reads the reply; an error reply becomes `Err`.
    pub fn request(&mut self, req: &Request) -> Result<Reply, AgentError> {
        self.stream.set_write_timeout(Some(self.timeout))?;
        write_frame(&self.stream, &req.encode())?;
        let mut frames = FrameReader::new(&self.stream);
        match frames.next(self.timeout)? {
            Frame::Line(l) => match Reply::parse(&l, req)? {
                Reply::Error(e) => Err(e),
                r => Ok(r),
            },
            Frame::Closed => Err(AgentError::Io("the agent closed the connection".into())),
        }
    }

    /// An access token for `name` with at least `min_ttl` left.
    pub fn token(&mut self, name: &str, min_ttl: Duration) -> Result<Issued, AgentError> {
        match self.request(&Request::Token {
            name: name.into(),
            min_ttl,
        })? {
            Reply::Token(t) => Ok(*t),
            _ => Err(AgentError::Other("unexpected reply".into())),
        }
    }

    /// The connections.
    pub fn list(&mut self) -> Result<Vec<ConnectionInfo>, AgentError> {
        match self.request(&Request::List)? {
            Reply::List(l) => Ok(l),
            _ => Err(AgentError::Other("unexpected reply".into())),
        }
    }

    /// The agent's state.
    pub fn status(&mut self) -> Result<AgentStatus, AgentError> {
        match self.request(&Request::Status)? {
            Reply::Status(s) => Ok(s),
            _ => Err(AgentError::Other("unexpected reply".into())),
        }
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

    /// Locks the agent and makes it exit.
    pub fn stop(&mut self) -> Result<(), AgentError> {
        self.request(&Request::Stop).map(|_| ())
    }
}
