//! TEST ONLY: every child process a test starts gets a deadline. A child that misses it is
//! killed and the test fails with a message naming what hung, so a hung server, CLI or app
//! costs one failed test, never the whole CI run.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// How long a CLI call may take by default (an unlock with test KDF parameters and a
/// refresh with retries take seconds; this is far beyond that).
pub const CLI: Duration = Duration::from_secs(120);

/// Waits for `child` until `limit`; past it, kills it and panics with `what`.
pub fn wait(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    let end = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(st)) => return st,
            Ok(None) if Instant::now() < end => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "deadline: {what} (pid {}) did not finish within {} s; killed",
                    child.id(),
                    limit.as_secs()
                );
            }
            Err(e) => panic!("deadline: waiting for {what}: {e}"),
        }
    }
}

/// `Child::wait_with_output` with a deadline: stdout and stderr (if piped) are read on
/// their own threads while the child runs.
pub fn wait_with_output(mut child: Child, limit: Duration, what: &str) -> Output {
    fn drain<R: Read + Send + 'static>(r: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    }
    drop(child.stdin.take());
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let status = wait(&mut child, limit, what);
    Output {
        status,
        // A reader ends when the child (and anything holding its pipes) is gone; a
        // grandchild that keeps a pipe open would hold it, so give up on it after a while.
        stdout: join_within(out, Duration::from_secs(10)),
        stderr: join_within(err, Duration::from_secs(10)),
    }
}

fn join_within(h: std::thread::JoinHandle<Vec<u8>>, limit: Duration) -> Vec<u8> {
    let end = Instant::now() + limit;
    while !h.is_finished() {
        if Instant::now() >= end {
            return b"<output still held open by a descendant>".to_vec();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    h.join().unwrap_or_default()
}

/// Runs `cmd` with `stdin` as input, waiting at most `limit`.
pub fn output(cmd: &mut Command, stdin: &[u8], limit: Duration, what: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("deadline: cannot start {what}: {e}"));
    let input = stdin.to_vec();
    let mut pipe = child.stdin.take();
    // Written on a thread: a child that never reads must not block us past the deadline.
    std::thread::spawn(move || {
        if let Some(p) = pipe.as_mut() {
            let _ = p.write_all(&input);
        }
    });
    wait_with_output(child, limit, what)
}

/// Reads one line from `r` within `limit`; `None` if none came (or the stream ended).
/// The reader thread is left behind when the deadline passes; it ends with the stream.
pub fn read_line<R: Read + Send + 'static>(r: R, limit: Duration) -> Option<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let ok = std::io::BufRead::read_line(&mut std::io::BufReader::new(r), &mut line)
            .is_ok_and(|n| n > 0);
        let _ = tx.send(ok.then_some(line));
    });
    rx.recv_timeout(limit).ok().flatten()
}

/// Kills the process `pid` with SIGKILL if the watchdog is still alive after `limit`, so a
/// loop reading a child's output ends (the pipe closes) instead of hanging. Dropping the
/// watchdog disarms it.
pub struct Watchdog(Option<std::sync::mpsc::Sender<()>>);

impl Watchdog {
    /// Arms a watchdog for `child`.
    pub fn new(child: &Child, limit: Duration, what: &str) -> Self {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let pid = child.id().to_string();
        let what = what.to_string();
        std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                eprintln!(
                    "deadline: {what} (pid {pid}) still running after {} s; killing it",
                    limit.as_secs()
                );
                let _ = Command::new("kill").args(["-KILL", &pid]).status();
            }
        });
        Self(Some(tx))
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.0.take());
    }
}
