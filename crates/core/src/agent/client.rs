//! The client side of the agent socket (the CLI's; any local tool may speak the protocol).

#[cfg(unix)]
use super::peer::my_uid;
#[cfg(unix)]
use super::protocol::{write_frame, Frame, FrameReader};
use super::protocol::{AgentStatus, Issued, Reply, Request};
use super::AgentError;
use crate::connection::ConnectionInfo;
use crate::connection::ConnectionName;
use crate::Passphrase;
use std::path::Path;
use std::time::Duration;

#[cfg(unix)]
type Stream = std::os::unix::net::UnixStream;
/// No agent transport is built for this platform yet, so no client can exist here.
#[cfg(not(unix))]
type Stream = std::convert::Infallible;

/// A connection to a running agent.
pub struct Client {
    stream: Stream,
    /// How long to wait for a reply (a token request may include a refresh with retries).
    pub timeout: Duration,
}

impl Client {
    /// Connects to the agent at `path`, and makes sure it is this user's own agent before
    /// anything is sent, on every connection, whoever chose the path:
    ///
    /// - with `default_dir` (the profile's own socket path), the socket's directory must be
    ///   this user's and private (0700), as the agent creates it; for a path the user names,
    ///   the directory must be this user's and writable by no one else (so the socket cannot
    ///   be swapped);
    /// - the socket itself must be a socket owned by this user;
    /// - the process listening on it must run as this user (the kernel's `SO_PEERCRED`),
    ///   so a socket another user listens on is refused even where the file looks right.
    ///
    /// A refused agent gets nothing: no passphrase, no request.
    #[cfg(unix)]
    pub fn connect(path: &Path, default_dir: bool) -> Result<Self, AgentError> {
        use super::secure_dir;
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        use std::os::unix::net::UnixStream;
        let not_running = || AgentError::NotRunning(path.display().to_string());
        let not_ours = |why: String| AgentError::NotYourAgent(path.display().to_string(), why);
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let m = match std::fs::metadata(dir) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_running()),
            Err(e) => {
                return Err(AgentError::UnsafeDir(
                    dir.display().to_string(),
                    e.to_string(),
                ))
            }
        };
        if default_dir {
            secure_dir(dir, false)?;
        } else {
            let unsafe_dir = |why: String| AgentError::UnsafeDir(dir.display().to_string(), why);
            let mode = crate::files::owned_dir(&m).map_err(unsafe_dir)?;
            if mode & 0o022 != 0 {
                return Err(unsafe_dir(format!(
                    "mode {mode:o} lets others write in it; the socket's directory must be writable by no one else"
                )));
            }
        }
        match std::fs::symlink_metadata(path) {
            Ok(m) if !m.file_type().is_socket() => {
                return Err(not_ours("it is not a socket".into()))
            }
            Ok(m) if m.uid() != my_uid() => {
                return Err(not_ours(format!(
                    "the socket belongs to uid {}, not to this user ({}); it is not your agent",
                    m.uid(),
                    my_uid()
                )))
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_running()),
            Err(e) => return Err(e.into()),
        }
        let stream = match UnixStream::connect(path) {
            Ok(s) => s,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                ) =>
            {
                return Err(not_running())
            }
            Err(e) => return Err(e.into()),
        };
        let server = super::peer::of(&stream)?;
        if server.uid != my_uid() {
            return Err(not_ours(format!(
                "the process listening on it runs as uid {}, not as this user ({}); it is not your agent",
                server.uid,
                my_uid()
            )));
        }
        Ok(Self {
            stream,
            timeout: Duration::from_secs(180),
        })
    }

    /// No agent runs on this platform yet (its named pipe is not built): every command
    /// works on the vault itself.
    #[cfg(not(unix))]
    pub fn connect(path: &Path, _default_dir: bool) -> Result<Self, AgentError> {
        Err(AgentError::NotRunning(path.display().to_string()))
    }

    /// Sends `req` and reads the reply; an error reply becomes `Err`.
    #[cfg(not(unix))]
    pub fn request(&mut self, _req: &Request) -> Result<Reply, AgentError> {
        match self.stream {}
    }

    /// Sends `req` and reads the reply; an error reply becomes `Err`.
    #[cfg(unix)]
    pub fn request(&mut self, req: &Request) -> Result<Reply, AgentError> {
        self.stream.set_write_timeout(Some(self.timeout))?;
        write_frame(&self.stream, &req.encode())?;
        let mut frames = FrameReader::replies(&self.stream);
        match frames.next(self.timeout)? {
            Frame::Line(l) => match Reply::parse(&l, req)? {
                Reply::Error(e) => Err(e),
                r => Ok(r),
            },
            Frame::Closed => Err(AgentError::Io("the agent closed the connection".into())),
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
            _ => Err(AgentError::Other("unexpected reply".into())),
        }
    }

    /// Refreshes `name` now; its facts after.
    pub fn refresh(&mut self, name: &ConnectionName) -> Result<ConnectionInfo, AgentError> {
        match self.request(&Request::Refresh { name: name.clone() })? {
            Reply::Refreshed(c) => Ok(*c),
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
