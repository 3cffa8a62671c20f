//! A pasted sign-in address handed to the loopback listener that waits for it, as a
//! browser on this machine would hand it: for a sign-in run by another process of this
//! user (the agent), whose listener the process the address was pasted into cannot reach
//! otherwise. Only a loopback `http` address is ever requested.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// How long to wait for the listener.
const WAIT: Duration = Duration::from_secs(5);

/// Requests `address` (what the browser ended on: `http://127.0.0.1:PORT/PATH?code=…&state=…`)
/// from the listener on this machine. `Ok` when the listener took it; it judges the
/// `state` and code itself, as for a browser. Errors say what was wrong, never the address.
pub fn deliver(address: &str) -> Result<(), String> {
    let wrong = || {
        "that is not the local sign-in address the browser ended on (http://127.0.0.1:PORT/…)"
            .to_string()
    };
    let url = url::Url::parse(address.trim()).map_err(|_| wrong())?;
    if url.scheme() != "http" {
        return Err(wrong());
    }
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) if ip.is_loopback() => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) if ip.is_loopback() => IpAddr::V6(ip),
        Some(url::Host::Domain("localhost")) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        _ => return Err(wrong()),
    };
    let port = url.port().ok_or_else(wrong)?;
    let host = url.host_str().ok_or_else(wrong)?;
    let target = &url[url::Position::BeforePath..url::Position::AfterQuery];
    let gone = |e: std::io::Error| format!("the sign-in is no longer waiting ({e})");
    let mut s = TcpStream::connect_timeout(&SocketAddr::new(ip, port), WAIT).map_err(gone)?;
    s.set_read_timeout(Some(WAIT)).map_err(gone)?;
    s.set_write_timeout(Some(WAIT)).map_err(gone)?;
    // One write: the listener reads the head as it comes.
    let request =
        format!("GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n");
    s.write_all(request.as_bytes()).map_err(gone)?;
    let mut head = [0u8; 16];
    let n = s.read(&mut head).map_err(gone)?;
    match std::str::from_utf8(&head[..n])
        .ok()
        .and_then(|h| h.get(9..12))
    {
        Some("200") => Ok(()),
        Some(code) => Err(format!("the sign-in refused it (HTTP {code})")),
        None => Err("the sign-in gave no answer".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_only_a_loopback_http_address_is_requested() {
        for a in [
            "https://127.0.0.1:8080/cb?code=x&state=y",
            "http://example.com:8080/cb?code=x",
            "http://10.0.0.1:8080/cb",
            "http://127.0.0.1/cb",
            "not a url",
        ] {
            assert!(
                deliver(a)
                    .unwrap_err()
                    .contains("not the local sign-in address"),
                "{a}"
            );
        }
    }

    #[test]
    fn an_address_reaches_a_listener_and_its_answer_is_read() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let t = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            // The whole head, however it arrives.
            let mut head = Vec::new();
            let mut buf = [0u8; 512];
            while !head.ends_with(b"\r\n\r\n") {
                let n = s.read(&mut buf).unwrap();
                assert!(n > 0, "the request ended early");
                head.extend_from_slice(&buf[..n]);
            }
            s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").unwrap();
            String::from_utf8_lossy(&head).into_owned()
        });
        let e = deliver(&format!("http://127.0.0.1:{port}/cb?code=c&state=s")).unwrap_err();
        assert!(e.contains("HTTP 400"), "{e}");
        let req = t.join().unwrap();
        assert!(
            req.starts_with("GET /cb?code=c&state=s HTTP/1.1\r\n"),
            "{req}"
        );
        assert!(
            req.contains(&format!("Host: 127.0.0.1:{port}\r\n")),
            "{req}"
        );
    }
}
