//! The Windows side: a named pipe whose DACL admits only this user.
//!
//! Reads wait with a deadline by polling how many bytes are waiting (`PeekNamedPipe`),
//! because a synchronous pipe read cannot time out; writes block (a reply fits in the
//! pipe's buffer unless a client asks for a very long `list` and stops reading, which
//! only holds one of the agent's client slots).

use super::super::peer::{self, User};
use super::super::protocol::Timed;
use super::super::AgentError;
use crate::profile::Profile;
use interprocess::os::windows::named_pipe::{pipe_mode, DuplexPipeStream, PipeListener};
use interprocess::os::windows::named_pipe::{PipeListenerOptions, PipeMode};
use interprocess::os::windows::security_descriptor::SecurityDescriptor;
use sha2::{Digest, Sha256};
use std::cell::Cell;
use std::io::{Read, Write};
use std::os::windows::io::AsHandle;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use token_wallet_harden::win32 as win;

/// `ERROR_FILE_NOT_FOUND`: no pipe of that name.
const NOT_FOUND: i32 = 2;
/// `ERROR_ACCESS_DENIED`: the name is taken by a pipe we may not use.
const ACCESS_DENIED: i32 = 5;
/// `ERROR_PIPE_BUSY`: every instance is taken; another is on its way.
const PIPE_BUSY: i32 = 231;

/// The pipe's buffers: a request (at most 64 KiB) and most replies fit whole.
const BUFFER: u32 = 64 * 1024;

/// Where the agent of `profile` whose data directory is `data_dir` listens:
/// `\\.\pipe\token-wallet-<profile>-<hash of data dir>`.
pub fn socket_path(profile: &Profile, data_dir: &Path) -> Result<PathBuf, AgentError> {
    let h = Sha256::digest(data_dir.as_os_str().as_encoded_bytes());
    Ok(PathBuf::from(format!(
        r"\\.\pipe\token-wallet-{}-{}",
        profile.name(),
        hex::encode(&h[..4])
    )))
}

/// One connection.
pub struct Stream {
    pipe: DuplexPipeStream<pipe_mode::Bytes>,
    read_timeout: Cell<Option<Duration>>,
}

impl Stream {
    fn new(pipe: DuplexPipeStream<pipe_mode::Bytes>) -> Self {
        Self {
            pipe,
            read_timeout: Cell::new(None),
        }
    }

    /// Writes block on a pipe (see the module's note): kept for the same calls as on Unix.
    pub fn set_write_timeout(&self, _d: Option<Duration>) -> std::io::Result<()> {
        Ok(())
    }
}

impl Timed for &Stream {
    fn set_timeout(&self, d: Option<Duration>) -> std::io::Result<()> {
        self.read_timeout.set(d);
        Ok(())
    }
}

impl Read for &Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let deadline = self.read_timeout.get().map(|d| Instant::now() + d);
        let mut pause = Duration::from_micros(200);
        loop {
            match win::pipe_bytes_available(self.pipe.as_handle()) {
                // Data is waiting, or the other end has gone (the read then tells which).
                Ok(n) if n > 0 => return (&self.pipe).read(buf),
                Err(_) => return (&self.pipe).read(buf),
                Ok(_) => {}
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(std::io::ErrorKind::TimedOut.into());
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(5));
        }
    }
}

impl Write for &Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        (&self.pipe).write(buf)
    }

    /// Nothing to do: the bytes are in the pipe. Waiting until the client has read them
    /// (`FlushFileBuffers`) would let a client that never reads hold the agent; a stream
    /// dropped with unread bytes hands them to `interprocess`'s flusher before it closes.
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The pipe's security descriptor: a protected DACL that gives this user (by SID) every
/// right and no one else any.
fn descriptor() -> Result<SecurityDescriptor, AgentError> {
    let me = peer::me()?;
    let sddl = widestring::U16CString::from_str(format!("D:P(A;;GA;;;{me})"))
        .map_err(|e| AgentError::Other(e.to_string()))?;
    Ok(SecurityDescriptor::deserialize(&sddl)?)
}

/// A listening pipe.
pub struct Listener(PipeListener<pipe_mode::Bytes, pipe_mode::Bytes>);

impl Listener {
    /// Creates the pipe `path` as the first instance of its name. If a pipe of that name
    /// exists, this fails rather than join it: an agent of ours is "already running";
    /// anything else holds the name (a squatter, or a pipe of another user) and is
    /// refused. Asked first by connecting (Wine does not enforce
    /// `FILE_FLAG_FIRST_PIPE_INSTANCE`), then by that flag (which closes the race).
    pub fn bind(path: &Path) -> Result<Self, AgentError> {
        let taken = |why: String| AgentError::NotYourAgent(path.display().to_string(), why);
        match connect(path, true) {
            Ok(_) => return Err(AgentError::AlreadyRunning(path.display().to_string())),
            Err(AgentError::NotRunning(_)) => {}
            Err(e @ AgentError::NotYourAgent(..)) => return Err(e),
            Err(e) => {
                return Err(taken(format!(
                    "a pipe of this name does not answer as an agent ({e})"
                )))
            }
        }
        let opts = PipeListenerOptions::new()
            .path(path)
            .mode(PipeMode::Bytes)
            .input_buffer_size_hint(BUFFER)
            .output_buffer_size_hint(BUFFER)
            .security_descriptor(Some(descriptor()?));
        match opts.create_duplex::<pipe_mode::Bytes>() {
            Ok(l) => Ok(Self(l)),
            Err(e) if matches!(e.raw_os_error(), Some(ACCESS_DENIED | PIPE_BUSY)) => {
                Err(taken("another process took this pipe name first".into()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The next client.
    pub fn accept(&self) -> std::io::Result<Stream> {
        self.0.accept().map(Stream::new)
    }
}

/// Wakes a blocked [`Listener::accept`] at `path`.
pub fn wake(path: &Path) {
    let _ = win::open_pipe_client(path);
}

/// Nothing to remove: a pipe goes with its last handle.
pub fn remove(_path: &Path) {}

/// Who the client of `s` is: the token it connected with (impersonated at identification
/// level just long enough to read its user), and its process id.
pub(super) fn client_user(s: &Stream) -> std::io::Result<(User, Option<u32>)> {
    let user = {
        let _as_client = s.pipe.impersonate_client()?;
        win::impersonated_user_sid()?
    };
    Ok((user, s.pipe.client_process_id().ok()))
}

/// Who the server of `s` is: the user its process runs as.
pub(super) fn server_user(s: &Stream) -> std::io::Result<(User, Option<u32>)> {
    let pid = s.pipe.server_process_id()?;
    let user = peer::user_of(pid).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("reading the user of the agent's process {pid}: {e}"),
        )
    })?;
    Ok((user, Some(pid)))
}

/// Connects to the agent at `path` (at identification level: it can never act as us) and
/// makes sure the process serving it runs as this user before anything is sent.
pub fn connect(path: &Path, _default_dir: bool) -> Result<Stream, AgentError> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let handle = loop {
        match win::open_pipe_client(path) {
            Ok(h) => break h,
            Err(e) if e.raw_os_error() == Some(NOT_FOUND) => {
                return Err(AgentError::NotRunning(path.display().to_string()))
            }
            Err(e) if e.raw_os_error() == Some(PIPE_BUSY) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => {
                return Err(AgentError::Io(format!(
                    "opening the pipe {}: {e}",
                    path.display()
                )))
            }
        }
    };
    let pipe = DuplexPipeStream::<pipe_mode::Bytes>::try_from(handle)
        .map_err(|e| AgentError::Io(e.to_string()))?;
    let s = Stream::new(pipe);
    super::check_server(path, &s)?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::super::{client_of, Refusal};
    use super::*;
    use crate::agent::protocol::{Frame, FrameReader};

    fn pipe_name(what: &str) -> PathBuf {
        PathBuf::from(format!(
            r"\\.\pipe\token-wallet-test-{what}-{}",
            std::process::id()
        ))
    }

    /// A listener at a fresh name, and a server-side stream connected to a client.
    fn pair(what: &str) -> (PathBuf, Listener, Stream, Stream) {
        let path = pipe_name(what);
        let listener = Listener::bind(&path).unwrap();
        let p = path.clone();
        let client = std::thread::spawn(move || connect(&p, true).unwrap());
        let server = listener.accept().unwrap();
        (path, listener, server, client.join().unwrap())
    }

    #[test]
    fn both_ends_see_this_user_and_the_pipe_admits_no_one_else() {
        let (_path, _l, server, client) = pair("users");
        match client_of(&server) {
            Ok(p) => assert_eq!(p.pid, Some(std::process::id())),
            Err(Refusal::OtherUser(them, me)) => panic!("{them} is not {me}"),
            Err(Refusal::Unknown(e)) => panic!("{e}"),
        }
        let me = peer::me().unwrap();
        assert!(me.starts_with("S-1-"), "{me}");
        let dacl = win::dacl_sddl(server.pipe.as_handle()).unwrap();
        // Protected (no inherited entries), one entry, and it is this user's.
        assert!(dacl.starts_with("D:P("), "{dacl}");
        assert_eq!(dacl.matches("(A;").count(), 1, "{dacl}");
        assert!(dacl.ends_with(&format!(";;;{me})")), "{dacl}");
        assert!(!dacl.contains(";WD)") && !dacl.contains(";AN)"), "{dacl}");
        drop(client);
    }

    #[test]
    fn a_second_listener_on_the_name_is_refused() {
        let (path, _l, _server, _client) = pair("second");
        match Listener::bind(&path) {
            Err(AgentError::AlreadyRunning(_)) => {}
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("a second listener joined the pipe"),
        }
    }

    #[test]
    fn no_pipe_is_no_agent() {
        match connect(&pipe_name("nobody"), true) {
            Err(AgentError::NotRunning(_)) => {}
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("connected to nothing"),
        }
    }

    #[test]
    fn frames_cross_and_a_request_that_never_ends_times_out() {
        let (_path, _l, server, client) = pair("frames");
        (&client).write_all(b"hello\nhal").unwrap();
        let mut frames = FrameReader::new(&server);
        match frames.next(Duration::from_secs(5)).unwrap() {
            Frame::Line(l) => assert_eq!(&l[..], b"hello"),
            Frame::Closed => panic!("closed"),
        }
        let started = Instant::now();
        match frames.next(Duration::from_millis(300)) {
            Err(AgentError::Timeout) => {}
            other => panic!("{other:?}"),
        }
        assert!(started.elapsed() >= Duration::from_millis(300));
        drop(client);
        match FrameReader::new(&server).next(Duration::from_secs(5)) {
            Ok(Frame::Closed) | Err(_) => {}
            Ok(Frame::Line(_)) => panic!("a frame from a closed client"),
        }
    }
}
