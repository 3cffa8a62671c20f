//! Who is on the other end of the agent's transport, as the OS tells it (never what the
//! client claims), and what the OS says about that process. One side per platform:
//!
//! - **Linux**: `SO_PEERCRED` (uid and pid); executable and parent from `/proc`.
//! - **macOS**: `getpeereid` (uid) and `LOCAL_PEERPID` (pid); executable and parent are
//!   not read.
//! - **Windows**: the pipe's client or server process id, then that process's access
//!   token's user SID (in `token-wallet-harden`, the project's FFI crate); the executable
//!   from `QueryFullProcessImageNameW`; the parent is not read.

/// Who a process runs as: a uid on Unix, a user SID on Windows.
pub type User = String;

/// The peer of a connection, once it has been found to run as this user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    /// Its process id.
    pub pid: Option<u32>,
}

/// This process's effective user id.
#[cfg(unix)]
pub fn my_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Who this process runs as, as [`user_of`] tells it of a peer.
#[cfg(unix)]
pub fn me() -> std::io::Result<User> {
    Ok(format!("uid {}", my_uid()))
}

/// Who this process runs as, as [`user_of`] tells it of a peer.
#[cfg(windows)]
pub fn me() -> std::io::Result<User> {
    token_wallet_harden::win32::my_user_sid()
}

/// Who runs process `pid` (the other end of a named pipe).
#[cfg(windows)]
pub fn user_of(pid: u32) -> std::io::Result<User> {
    token_wallet_harden::win32::process_user_sid(pid)
}

/// The user and process id of the other end of `s`.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn of(s: &std::os::unix::net::UnixStream) -> std::io::Result<(User, Option<u32>)> {
    let c = rustix::net::sockopt::socket_peercred(s)?;
    Ok((
        format!("uid {}", c.uid.as_raw()),
        u32::try_from(c.pid.as_raw_nonzero().get()).ok(),
    ))
}

/// The user and process id of the other end of `s`.
#[cfg(any(target_os = "macos", target_os = "ios"))]
pub fn of(s: &std::os::unix::net::UnixStream) -> std::io::Result<(User, Option<u32>)> {
    use nix::sys::socket::{getsockopt, sockopt::LocalPeerPid};
    let (uid, _) = nix::unistd::getpeereid(s)?;
    let pid = getsockopt(s, LocalPeerPid)
        .ok()
        .and_then(|p| u32::try_from(p).ok());
    Ok((format!("uid {}", uid.as_raw()), pid))
}

/// The peer of `s`: not read on this platform, so every peer is refused.
#[cfg(all(
    unix,
    not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios"
    ))
))]
pub fn of(_s: &std::os::unix::net::UnixStream) -> std::io::Result<(User, Option<u32>)> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "peer credentials are not read on this platform",
    ))
}

/// The executable of `pid`, where the OS tells it.
#[cfg(windows)]
pub fn exe(pid: u32) -> Option<String> {
    token_wallet_harden::win32::process_image(pid)
}

/// The executable of `pid`, where the OS tells it.
#[cfg(not(windows))]
pub fn exe(pid: u32) -> Option<String> {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .map(|p| p.display().to_string())
}

/// The parent of `pid`, where the OS tells it.
pub fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid ...`; comm may hold spaces and parentheses: split after the
    // last `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    #[test]
    fn a_socket_pair_sees_this_process() {
        let (a, _b) = UnixStream::pair().unwrap();
        let (user, pid) = of(&a).unwrap();
        assert_eq!(user, me().unwrap());
        assert_eq!(pid, Some(std::process::id()));
        assert!(exe(std::process::id()).is_some());
        assert_eq!(
            parent(std::process::id()),
            Some(std::os::unix::process::parent_id())
        );
    }
}
