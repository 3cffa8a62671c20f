//! A real `token-wallet proxy` process for the tests ([`ProxyProc`]), and raw HTTP/1.1 to
//! it (hostile requests need bytes no client library would send).

use super::oauth::World;
use super::{deadline, path_str};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::Duration;

pub struct ProxyProc {
    child: Option<Child>,
    pub url: String,
    pub addr: std::net::SocketAddr,
    pub capability: String,
    pub socket: Option<PathBuf>,
    log: PathBuf,
}

impl ProxyProc {
    /// Its log so far.
    pub fn log_now(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `token-wallet proxy NAME --json` with `extra` (a passphrase file when `with_pass`),
    /// once it says where it listens.
    pub fn start(w: &World, name: &str, extra: &[&str], with_pass: bool) -> Self {
        let log = w.env.home.path().join(format!("proxy-{name}.stderr"));
        let mut c = w.env.cmd();
        c.args([
            "--providers",
            path_str(&w.providers),
            "proxy",
            name,
            "--json",
        ])
        .args(extra);
        if with_pass {
            c.args(["--passphrase-file", path_str(&w.pass_file)]);
        }
        c.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        let mut child = c.spawn().unwrap();
        let out = child.stdout.take().unwrap();
        let Some(line) = deadline::read_line(out, Duration::from_secs(60)) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the proxy did not start within 60 s: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        let v: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|_| panic!("not the proxy's JSON line: {line}"));
        let url = v["urls"][0].as_str().unwrap().to_string();
        Self {
            child: Some(child),
            addr: url.trim_start_matches("http://").parse().unwrap(),
            url,
            capability: v["capability"].as_str().unwrap().to_string(),
            socket: v["socket"].as_str().map(PathBuf::from),
            log,
        }
    }

    /// A request with the capability; status, headers (lower-case names) and body.
    pub fn get(&self, path: &str) -> Answer {
        self.send(
            "GET",
            path,
            &[("Authorization", &format!("Bearer {}", self.capability))],
            b"",
        )
    }

    /// A well-formed request with `headers`.
    pub fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if !body.is_empty() {
            req.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);
        raw(self.addr, &bytes)
    }

    /// Stops it with SIGTERM (as Ctrl-C would); everything it logged.
    pub fn stop(mut self) -> String {
        let mut child = self.child.take().unwrap();
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let st = deadline::wait(
            &mut child,
            Duration::from_secs(30),
            "the proxy (after SIGTERM)",
        );
        let log = std::fs::read_to_string(&self.log).unwrap();
        assert!(st.success(), "proxy exit {st}: {log}");
        log
    }
}

impl Drop for ProxyProc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = deadline::wait(&mut c, Duration::from_secs(30), "the killed proxy");
        }
    }
}

/// An answer, parsed just enough.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub raw: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON ({}): {}", self.status, self.text()))
    }
}

/// Sends `bytes` on a new connection and reads the answer until the server closes it (or
/// 30 s pass); status 0 when there was no answer.
pub fn raw(addr: std::net::SocketAddr, bytes: &[u8]) -> Answer {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(bytes).unwrap();
    read_answer(&mut s)
}

pub fn read_answer(s: &mut impl Read) -> Answer {
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    parse(all)
}

fn parse(all: Vec<u8>) -> Answer {
    let end = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
        .unwrap_or(all.len());
    let head = String::from_utf8_lossy(&all[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = all[end..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Answer {
        status,
        headers,
        body,
        raw: all,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(i) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let n = usize::from_str_radix(String::from_utf8_lossy(&b[..i]).trim(), 16).unwrap_or(0);
        if n == 0 || b.len() < i + 2 + n {
            return out;
        }
        out.extend_from_slice(&b[i + 2..i + 2 + n]);
        b = &b[(i + 4 + n).min(b.len())..];
    }
}
