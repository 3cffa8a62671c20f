//! Who is on the other end of a loopback connection: on Linux the kernel's socket table
//! (`/proc/net/tcp`, `/proc/net/tcp6`) names the owner of the peer's socket; elsewhere
//! nobody is told apart.

use std::net::SocketAddr;

/// The peer `peer` of a connection to our `port` belongs to another user (known only on
/// Linux; `false` when it cannot be told).
pub(super) fn foreign(peer: SocketAddr, port: u16) -> bool {
    #[cfg(target_os = "linux")]
    {
        let me = rustix::process::geteuid().as_raw();
        owner(peer.port(), port).is_some_and(|uid| uid != me)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (peer, port);
        false
    }
}

/// The uid owning the socket whose local port is `peer_port` and remote port `our_port`.
#[cfg(target_os = "linux")]
fn owner(peer_port: u16, our_port: u16) -> Option<u32> {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .find_map(|table| {
            let text = std::fs::read_to_string(table).ok()?;
            owner_in(&text, peer_port, our_port)
        })
}

/// [`owner`] in one table's text. Columns: `sl local rem st queues timer retrnsmt uid …`,
/// addresses as `HEXADDR:HEXPORT`.
#[cfg(any(target_os = "linux", test))]
fn owner_in(table: &str, peer_port: u16, our_port: u16) -> Option<u32> {
    let port = |a: &str| u16::from_str_radix(a.rsplit_once(':')?.1, 16).ok();
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (local, remote, uid) = (f.get(1)?, f.get(2)?, f.get(7)?);
        (port(local)? == peer_port && port(remote)? == our_port)
            .then(|| uid.parse().ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peer_sockets_owner_is_read_from_the_table() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n\
   1: 0100007F:D2F0 0100007F:1F90 01 00000000:00000000 00:00000000 00000000   998        0 2 1 0 20 4 30 10 -1\n\
   2: 0100007F:1F90 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 20 4 30 10 -1\n";
        assert_eq!(owner_in(table, 0xD2F0, 0x1F90), Some(998));
        assert_eq!(owner_in(table, 0xD2F1, 0x1F90), None);
        assert_eq!(owner_in("", 1, 2), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_connection_of_our_own_is_not_foreign() {
        let l = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = l.local_addr().unwrap().port();
        let _c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (_s, peer) = l.accept().unwrap();
        let me = rustix::process::geteuid().as_raw();
        assert_eq!(owner(peer.port(), port), Some(me));
        assert!(!foreign(peer, port));
    }
}
