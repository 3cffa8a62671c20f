//! The Unix side: a socket in a private directory, the peer's uid from the kernel.

use super::super::peer;
use super::super::protocol::Timed;
use super::super::AgentError;
use crate::profile::Profile;
use sha2::{Digest, Sha256};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One connection.
pub type Stream = UnixStream;

impl Timed for &UnixStream {
    fn set_timeout(&self, d: Option<Duration>) -> std::io::Result<()> {
        self.set_read_timeout(d)
    }
}

/// The longest Unix socket path (`sun_path` is 108 bytes on Linux, 104 on macOS).
const MAX_SOCKET_PATH: usize = 100;

/// The directory that holds this user's agent sockets.
pub fn socket_dir() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from) {
        Some(d) if d.is_absolute() => d.join("token-wallet"),
        _ => std::env::temp_dir().join(format!("token-wallet-{}", peer::my_uid())),
    }
}

/// The agent socket of `profile` whose data directory is `data_dir`:
/// `$XDG_RUNTIME_DIR/token-wallet/<profile>-<hash of data dir>.sock` (else
/// `<tmp>/token-wallet-<uid>/…`).
pub fn socket_path(profile: &Profile, data_dir: &Path) -> Result<PathBuf, AgentError> {
    let h = Sha256::digest(data_dir.as_os_str().as_encoded_bytes());
    let p = socket_dir().join(format!("{}-{}.sock", profile.name(), hex::encode(&h[..4])));
    if p.as_os_str().len() > MAX_SOCKET_PATH {
        return Err(AgentError::UnsafeDir(
            p.display().to_string(),
            format!("the socket path is longer than {MAX_SOCKET_PATH} bytes; set a shorter XDG_RUNTIME_DIR"),
        ));
    }
    Ok(p)
}

/// Checks (and with `create`, makes) the socket's directory: a real directory owned by
/// this user with no access for group or others.
pub fn secure_dir(dir: &Path, create: bool) -> Result<(), AgentError> {
    use std::os::unix::fs::DirBuilderExt;
    let unsafe_dir = |why: String| AgentError::UnsafeDir(dir.display().to_string(), why);
    if create {
        match std::fs::DirBuilder::new().mode(0o700).create(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(unsafe_dir(e.to_string())),
        }
    }
    let m = std::fs::symlink_metadata(dir).map_err(|e| unsafe_dir(e.to_string()))?;
    let mode = crate::files::owned_dir(&m).map_err(unsafe_dir)?;
    if mode & 0o077 != 0 {
        return Err(unsafe_dir(format!(
            "mode {mode:o} lets others in; it must be 0700"
        )));
    }
    Ok(())
}

/// A listening socket.
pub struct Listener(UnixListener);

impl Listener {
    /// Listens at `path`, in a private directory (made if missing), the socket 0600. A
    /// socket left by an agent that died is replaced; a live one is an error.
    pub fn bind(path: &Path) -> Result<Self, AgentError> {
        use std::os::unix::fs::PermissionsExt;
        let dir = path.parent().ok_or_else(|| {
            AgentError::UnsafeDir(path.display().to_string(), "no parent directory".into())
        })?;
        secure_dir(dir, true)?;
        if std::fs::symlink_metadata(path).is_ok() {
            if UnixStream::connect(path).is_ok() {
                return Err(AgentError::AlreadyRunning(path.display().to_string()));
            }
            std::fs::remove_file(path)?;
        }
        let listener = UnixListener::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        Ok(Self(listener))
    }

    /// The next client.
    pub fn accept(&self) -> std::io::Result<Stream> {
        self.0.accept().map(|(s, _)| s)
    }
}

/// Wakes a blocked [`Listener::accept`] at `path`.
pub fn wake(path: &Path) {
    let _ = UnixStream::connect(path);
}

/// Removes what [`Listener::bind`] left behind.
pub fn remove(path: &Path) {
    let _ = std::fs::remove_file(path);
}

/// Who the client of `s` is.
pub(super) fn client_user(s: &Stream) -> std::io::Result<(peer::User, Option<u32>)> {
    peer::of(s)
}

/// Who the server of `s` is.
pub(super) fn server_user(s: &Stream) -> std::io::Result<(peer::User, Option<u32>)> {
    peer::of(s)
}

/// Connects to the agent at `path`, and makes sure it is this user's own agent before
/// anything is sent, whoever chose the path:
///
/// - with `default_dir` (the profile's own socket path), the socket's directory must be
///   this user's and private (0700), as the agent creates it; for a path the user names,
///   the directory must be this user's and writable by no one else (so the socket cannot
///   be swapped);
/// - the socket itself must be a socket owned by this user;
/// - the process listening on it must run as this user (the kernel's peer credentials),
///   so a socket another user listens on is refused even where the file looks right.
pub fn connect(path: &Path, default_dir: bool) -> Result<Stream, AgentError> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
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
    let me = peer::my_uid();
    match std::fs::symlink_metadata(path) {
        Ok(m) if !m.file_type().is_socket() => return Err(not_ours("it is not a socket".into())),
        Ok(m) if m.uid() != me => {
            return Err(not_ours(format!(
                "the socket belongs to uid {}, not to this user (uid {me}); it is not your agent",
                m.uid()
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
    super::check_server(path, &stream)?;
    Ok(stream)
}
