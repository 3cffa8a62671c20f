//! Who is on the other end of the socket, as the kernel tells it (Linux `SO_PEERCRED`),
//! and what `/proc` says about that process. Never what the client claims.

#[cfg(unix)]
use std::os::unix::net::UnixStream;

/// The peer of a connection.
#[cfg(unix)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    /// Its effective user id.
    pub uid: u32,
    /// Its process id.
    pub pid: Option<u32>,
}

/// This process's effective user id.
#[cfg(unix)]
pub fn my_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// The peer of `s`.
#[cfg(target_os = "linux")]
pub fn of(s: &UnixStream) -> std::io::Result<Peer> {
    let c = rustix::net::sockopt::socket_peercred(s)?;
    Ok(Peer {
        uid: c.uid.as_raw(),
        pid: u32::try_from(c.pid.as_raw_nonzero().get()).ok(),
    })
}

/// The peer of `s`: not available on this platform, so every peer is refused.
#[cfg(all(unix, not(target_os = "linux")))]
pub fn of(_s: &UnixStream) -> std::io::Result<Peer> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "peer credentials are only read on Linux so far",
    ))
}

/// The executable of `pid`, where the OS tells it.
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

    #[test]
    fn a_socket_pair_sees_this_process() {
        let (a, _b) = UnixStream::pair().unwrap();
        let p = of(&a).unwrap();
        assert_eq!(p.uid, my_uid());
        assert_eq!(p.pid, Some(std::process::id()));
        assert!(exe(std::process::id()).is_some());
        assert_eq!(
            parent(std::process::id()),
            Some(std::os::unix::process::parent_id())
        );
    }
}
