//! The agent for the end-to-end tests (Unix): a real `token-wallet agent` process
//! ([`AgentProc`]), one raw request to its socket ([`ask`]) and the audit log's text.

use super::oauth::World;
use super::{deadline, path_str, stderr};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

pub struct AgentProc {
    child: Child,
    log: PathBuf,
}

impl AgentProc {
    pub fn start(w: &World, extra: &[&str]) -> Self {
        let log = w.env.home.path().join("agent.stderr");
        let mut c = w.env.cmd();
        c.args(["agent", "--passphrase-file", path_str(&w.pass_file)])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        let mut child = c.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if w.cli(&["agent", "status"], &[], "").status.success() {
                break;
            }
            assert!(
                child.try_wait().unwrap().is_none(),
                "the agent exited: {}",
                std::fs::read_to_string(&log).unwrap()
            );
            assert!(Instant::now() < deadline, "the agent did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, log }
    }

    pub fn socket(w: &World) -> PathBuf {
        let o = w.cli(&["agent", "status", "--json"], &[], "");
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        PathBuf::from(v["socket"].as_str().unwrap())
    }

    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Stops it through the socket; returns everything it logged.
    pub fn stop(mut self, w: &World) -> String {
        let o = w.cli(&["agent", "stop"], &[], "");
        assert!(o.status.success(), "{}", stderr(&o));
        let st = deadline::wait(
            &mut self.child,
            deadline::CLI,
            "the agent (after `agent stop`)",
        );
        assert!(st.success(), "agent exit: {st}");
        std::fs::read_to_string(&self.log).unwrap()
    }
}

impl Drop for AgentProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = deadline::wait(&mut self.child, deadline::CLI, "the killed agent");
    }
}

pub fn audit_log(w: &World) -> String {
    std::fs::read_to_string(w.env.data_dir().join("audit.jsonl")).unwrap()
}

/// One request on a new connection; the reply line.
pub fn ask(sock: &std::path::Path, frame: &[u8]) -> serde_json::Value {
    let mut s = UnixStream::connect(sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(frame).unwrap();
    let mut line = String::new();
    BufReader::new(&s).read_line(&mut line).unwrap();
    serde_json::from_str(&line).unwrap_or_else(|_| panic!("reply: {line:?}"))
}
