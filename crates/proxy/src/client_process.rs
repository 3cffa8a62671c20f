//! Which process is on the other end of a loopback TCP connection, where the OS tells it
//! (Linux: the socket's inode in `/proc/net/tcp{,6}`, then the process holding it among
//! this user's; elsewhere, and for other users' processes, unknown).

use std::net::SocketAddr;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, OnceLock};

/// Where a connection's client process is put once found (`None`: unknown).
pub(crate) type Slot = Arc<OnceLock<Option<Process>>>;

/// One thread that looks clients up in turn: a burst of new connections costs one core's
/// share at most, and when it is behind, further clients stay unknown rather than wait.
pub(crate) struct Lookups(SyncSender<(SocketAddr, SocketAddr, Slot)>);

impl Lookups {
    /// Starts the thread.
    pub fn start() -> Self {
        let (tx, rx) = sync_channel::<(SocketAddr, SocketAddr, Slot)>(64);
        std::thread::Builder::new()
            .name("proxy-clients".into())
            .spawn(move || {
                for (client, server, slot) in rx {
                    let _ = slot.set(of_tcp(client, server));
                }
            })
            .ok();
        Self(tx)
    }

    /// Finds the process of `client` (connected to `server`) into `slot`, or leaves it
    /// unknown when the thread is behind.
    pub fn ask(&self, client: SocketAddr, server: SocketAddr, slot: Slot) {
        use std::sync::mpsc::TrySendError::{Disconnected, Full};
        if let Err(Full((_, _, slot)) | Disconnected((_, _, slot))) =
            self.0.try_send((client, server, slot))
        {
            let _ = slot.set(None);
        }
    }
}

/// A client process: its pid and executable (where the OS tells it).
pub(crate) type Process = (u32, Option<String>);

/// The pid and executable of the process whose socket is `client` connected to `server`.
#[cfg(target_os = "linux")]
pub(crate) fn of_tcp(client: SocketAddr, server: SocketAddr) -> Option<Process> {
    let inode = ["/proc/net/tcp", "/proc/net/tcp6"].iter().find_map(|t| {
        let text = std::fs::read_to_string(t).ok()?;
        text.lines().skip(1).find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let port = |s: &str| u16::from_str_radix(s.rsplit(':').next()?, 16).ok();
            (f.len() > 9 && port(f[1]) == Some(client.port()) && port(f[2]) == Some(server.port()))
                .then(|| f[9].to_string())
        })
    })?;
    let want = format!("socket:[{inode}]");
    for p in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if std::fs::read_link(fd.path()).is_ok_and(|l| l.as_os_str() == want.as_str()) {
                return Some((pid, token_wallet_core::agent::peer::exe(pid)));
            }
        }
    }
    None
}

/// Not read on this platform.
#[cfg(not(target_os = "linux"))]
pub(crate) fn of_tcp(_client: SocketAddr, _server: SocketAddr) -> Option<Process> {
    None
}
