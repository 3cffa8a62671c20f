//! The agent end to end: the real `token-wallet agent` process, the real Secret Service
//! and the real OAuth server. Tokens through the agent, lock and idle lock, the socket's
//! modes and its refusal of another user, hostile clients, and the CLI without an agent.

#![cfg(unix)]
mod common;

use common::oauth::*;
use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use token_wallet_core::connection;

struct AgentProc {
    child: Child,
    log: PathBuf,
}

impl AgentProc {
    fn start(w: &World, extra: &[&str]) -> Self {
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

    fn socket(w: &World) -> PathBuf {
        let o = w.cli(&["agent", "status", "--json"], &[], "");
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        PathBuf::from(v["socket"].as_str().unwrap())
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Stops it through the socket; returns everything it logged.
    fn stop(mut self, w: &World) -> String {
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

fn audit_log(w: &World) -> String {
    std::fs::read_to_string(w.env.data_dir().join("audit.jsonl")).unwrap()
}

#[test]
fn tokens_through_the_agent_refresh_exec_env_list_lock_and_unlock() {
    let w = World::connected("agent", 60, "a", "local");
    let (access, refresh) = w.tokens("a");
    let refresh = refresh.unwrap();
    // Refreshes counted here are the requests' own: none in the background.
    let agent = AgentProc::start(&w, &["--refresh-ahead", "0"]);

    // `status` without --unlock: the running agent answers; the vault is not "locked".
    let o = w.cli(&["status"], &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stdout(&o), "the running agent holds the vault unlocked");
    assert_contains(&stdout(&o), "connections: 1");
    assert!(
        !stdout(&o).contains("locked; pass --unlock"),
        "{}",
        stdout(&o)
    );

    // No passphrase anywhere: the agent answers.
    let o = w.cli(&["token", "a"], &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), access);
    assert!(w.server.active(&access));
    let o = w.cli(&["token", "a", "--format", "json"], &[], "");
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["access_token"], access.as_str());
    assert_eq!(j["token_type"], "Bearer");
    assert!(j["expires_at"].as_str().unwrap().ends_with('Z'));
    assert!(j.get("refresh_token").is_none());

    // `refresh` through the agent (no passphrase): exactly one refresh, persisted, and
    // the next token is the new one, live.
    http()
        .post(format!("{}/_test/reset-stats", w.server.issuer))
        .send_empty()
        .unwrap();
    let o = w.cli(&["refresh", "a"], &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stdout(&o), "refreshed `a`");
    let o = w.cli(&["token", "a"], &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    let fresh = stdout(&o).trim().to_string();
    assert_ne!(fresh, access);
    assert!(w.server.active(&fresh));
    assert_eq!(w.server.stats()["refreshes"], 1);
    let (stored, refresh2) = w.tokens("a");
    assert_eq!(stored, fresh);
    // Next time it comes from the agent's memory, without another refresh.
    assert_eq!(stdout(&w.cli(&["token", "a"], &[], "")).trim(), fresh);
    assert_eq!(w.server.stats()["refreshes"], 1);

    let o = w.cli(&["env", "a", "--var", "MY_TOKEN"], &[], "");
    assert_eq!(stdout(&o).trim(), format!("export MY_TOKEN='{fresh}'"));

    let seen = w.env.home.path().join("seen");
    let o = w.cli(
        &[
            "exec",
            "a",
            "--",
            "sh",
            "-c",
            "printf %s \"$ACCESS_TOKEN\" > \"$SEEN\"; exit 7",
        ],
        &[("SEEN", path_str(&seen))],
        "",
    );
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    // exec asks for 5 minutes by default: more than these 60-second tokens have, so it
    // refreshed; the token it passed is the one now stored, and live.
    let fresh = std::fs::read_to_string(&seen).unwrap();
    assert!(w.server.active(&fresh));
    assert_eq!(w.tokens("a").0, fresh);

    let o = w.cli(&["list", "--json"], &[], "");
    let l: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(l[0]["name"], "a");
    assert!(!stdout(&o).contains(&fresh));

    let o = w.cli(&["agent", "status", "--json"], &[], "");
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["unlocked"], true);
    assert_eq!(s["connections"], 1);

    // Exports are audited with the client (token-wallet) and its parent (this test).
    let exports: Vec<serde_json::Value> = audit_log(&w)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["event"] == "export" && l.get("parent_pid").is_some())
        .collect();
    assert!(exports.len() >= 5, "{exports:?}");
    assert!(exports[0]["process"]
        .as_str()
        .unwrap()
        .ends_with("token-wallet"));
    assert_eq!(exports[0]["parent_pid"], std::process::id());

    // Locked: "locked", exit code 3, no token.
    let o = w.cli(&["lock"], &[], "");
    assert!(o.status.success());
    let o = w.cli(&["token", "a"], &[], "");
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("locked"));
    assert!(stdout(&o).is_empty());
    assert_eq!(w.cli(&["agent", "status"], &[], "").status.code(), Some(3));
    // A passphrase given to the command unlocks it alone.
    let o = w.with_pass(&["token", "a"]);
    assert_eq!(stdout(&o).trim(), fresh);
    // A wrong passphrase does not unlock the agent; the right one does.
    let bad = w.env.pass_file("bad", "not-the-passphrase");
    let o = w.cli(
        &["agent", "unlock", "--passphrase-file", path_str(&bad)],
        &[],
        "",
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("wrong passphrase"));
    let o = w.with_pass(&["agent", "unlock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&w.cli(&["token", "a"], &[], "")).trim(), fresh);
    // `show` asks the agent too: no passphrase, nothing on stdin.
    let o = w.cli(&["show", "a"], &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stdout(&o), "name:        a");
    // So does `status --unlock`.
    let o = w.cli(&["status", "--unlock"], &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stdout(&o), "connections: 1");
    assert_contains(&stdout(&o), "the running agent holds the vault unlocked");
    // One unlock for everything: `check` and `disconnect` are served by the agent too
    // (nothing on stdin, no passphrase anywhere), audited there.
    let o = w.cli(&["check", "a"], &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stdout(&o), "`a` is accepted by");
    let o = w.cli(&["disconnect", "a"], &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stdout(&o), "disconnected `a`");
    assert!(!w.server.active(&fresh), "revoked at the provider");
    let o = w.cli(&["list", "--json"], &[], "");
    assert_eq!(stdout(&o).trim(), "[]", "{}", stderr(&o));
    assert_contains(&audit_log(&w), "\"checked\"");
    assert_contains(&audit_log(&w), "\"disconnected\"");

    let log = agent.stop(&w);
    assert!(log.contains("agent listening"), "{log}");
    // Right after `stop`: "not running", in JSON too, never a socket error.
    let o = w.cli(&["agent", "status", "--json"], &[], "");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["running"], false);
    assert_contains(&stderr(&o), "no agent is running");
    // No token in the agent's own (trace-level) log or in the audit log; no refresh
    // token in anything any command printed.
    let all = [access.as_str(), fresh.as_str(), refresh.as_str()];
    assert_absent_in(&log, &all, "the agent's log");
    assert_absent_in(&audit_log(&w), &all, "the audit log");
    assert_secrets_absent(&[refresh.as_str(), refresh2.as_deref().unwrap()]);
    w.env.wipe();
}

#[test]
fn idle_timeout_locks_the_agent() {
    let w = World::connected("agent-idle", 60, "a", "local");
    let (access, _) = w.tokens("a");
    let agent = AgentProc::start(&w, &["--idle-timeout", "2s"]);
    assert_eq!(stdout(&w.cli(&["token", "a"], &[], "")).trim(), access);
    std::thread::sleep(Duration::from_millis(3500));
    let o = w.cli(&["token", "a"], &[], "");
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    let log = agent.stop(&w);
    assert!(log.contains("idle: locking"), "{log}");
    assert_absent_in(&log, &[access.as_str()], "the agent's log");
    assert!(audit_log(&w).contains("\"vault_locked\""));
    w.env.wipe();
}

#[test]
fn without_an_agent_commands_unlock_themselves_and_take_the_refresh_lock() {
    let w = World::connected("agent-none", 60, "a", "local");
    let (access, _) = w.tokens("a");
    let pass = format!("{PASS}\n");
    // No agent: with a passphrase on stdin it works; without one it cannot prompt.
    let o = w.cli(&["token", "a", "--passphrase-stdin"], &[], &pass);
    assert_eq!(stdout(&o).trim(), access, "{}", stderr(&o));
    let o = w.cli(&["env", "a", "--passphrase-stdin"], &[], &pass);
    assert_eq!(stdout(&o).trim(), format!("export ACCESS_TOKEN='{access}'"));
    let o = w.cli(
        &[
            "exec",
            "a",
            "--passphrase-stdin",
            "--",
            "sh",
            "-c",
            "test -n \"$ACCESS_TOKEN\" && exit 9",
        ],
        &[],
        &pass,
    );
    assert_eq!(o.status.code(), Some(9));

    // While another holds the connection's refresh lock, a refresh here waits.
    http()
        .post(format!("{}/_test/reset-stats", w.server.issuer))
        .send_empty()
        .unwrap();
    let key = token_wallet_core::audit::name_key(&mut w.unlocked()).unwrap();
    let held = token_wallet_core::lock::VaultLock::acquire(
        &token_wallet_core::lock::refresh_lock_path(&w.env.data_dir(), &key, "a"),
    )
    .unwrap();
    let mut c = w.env.cmd();
    c.args(["refresh", "a", "--passphrase-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(pass.as_bytes())
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "refresh did not wait for the refresh lock"
    );
    assert_eq!(w.server.stats()["refreshes"], 0);
    drop(held);
    let o = deadline::wait_with_output(child, deadline::CLI, "the CLI");
    record(&String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("refreshed `a`"));
    let fresh = w.tokens("a").0;
    assert_ne!(fresh, access);
    assert!(w.server.active(&fresh));
    assert_eq!(w.server.stats()["refreshes"], 1);
    w.env.wipe();
}

fn mode(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

/// A raw agent client in perl (any user can run it): sends one token request for `a` to
/// the socket in its first argument and prints the reply line (an agent that refuses the
/// peer answers at once and hangs up, so a failed write is not the end).
const RAW_CLIENT: &str = r#"$SIG{PIPE} = 'IGNORE'; my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "connect: $!"; print $s "{\"v\":1,\"op\":\"token\",\"name\":\"a\"}\n"; my $l = <$s>; print $l;"#;

/// The access token stored for `name` (read through core, for "never handed out" checks).
fn access_of(w: &World, name: &str) -> String {
    w.tokens(name).0
}

#[test]
fn the_socket_is_private_and_refuses_other_users() {
    let w = World::connected("agent-uid", 60, "a", "local");
    let mut agent = AgentProc::start(&w, &[]);
    let sock = AgentProc::socket(&w);
    let dir = sock.parent().unwrap().to_path_buf();
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::symlink_metadata(&sock)
        .unwrap()
        .file_type()
        .is_socket());
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&sock), 0o600);

    // A client refuses a socket directory others can enter (someone could pose as the agent).
    chmod(&dir, 0o755);
    let o = w.cli(&["token", "a"], &[], "");
    assert_ne!(o.status.code(), Some(0));
    assert_contains(&stderr(&o), "refusing the agent socket directory");
    chmod(&dir, 0o700);

    assert!(
        euid_is_root(),
        "this test runs a client as `nobody`, which needs root (CI runs as root)"
    );
    // A copy of the CLI that `nobody` can run.
    let bin_dir = tempfile::tempdir().unwrap();
    chmod(bin_dir.path(), 0o755);
    let nb = bin_dir.path().join("token-wallet");
    std::fs::copy(bin(), &nb).unwrap();
    chmod(&nb, 0o755);
    let as_nobody = |sock: &std::path::Path| {
        let mut c = std::process::Command::new("runuser");
        c.args(["-u", "nobody", "--"]).arg(&nb).args([
            "--agent-socket",
            path_str(sock),
            "token",
            "a",
        ]);
        run_recorded(&mut c, "")
    };
    // With the modes as they are, the kernel keeps `nobody` out of the directory.
    let o = as_nobody(&sock);
    assert_ne!(o.status.code(), Some(0));
    assert_contains(&stderr(&o), "ermission denied");
    assert!(stdout(&o).is_empty());
    // Even with a way in (a hard link to the socket in an open directory, the socket
    // 0666): `nobody`'s CLI refuses a socket that is not its own before sending anything,
    // and a raw client (perl) that asks anyway is refused by the agent's peer-uid check.
    let link = bin_dir.path().join("agent.sock");
    std::fs::hard_link(&sock, &link).unwrap();
    chmod(&sock, 0o666);
    let o = as_nobody(&link);
    assert_ne!(o.status.code(), Some(0));
    assert_contains(&stderr(&o), "refusing the agent socket");
    assert!(stdout(&o).is_empty());
    let mut raw = std::process::Command::new("runuser");
    raw.args(["-u", "nobody", "--", "perl", "-MIO::Socket::UNIX", "-e"])
        .arg(RAW_CLIENT)
        .arg(&link);
    let o = run_recorded(&mut raw, "");
    chmod(&sock, 0o600);
    std::fs::remove_file(&link).unwrap();
    assert!(
        stdout(&o).contains("serves only its own user"),
        "{} {}",
        stdout(&o),
        stderr(&o)
    );
    assert!(!stdout(&o).contains(&access_of(&w, "a")));

    assert!(agent.alive());
    assert!(w.cli(&["token", "a"], &[], "").status.success());
    let log = agent.stop(&w);
    assert!(log.contains("refused a client of another user"), "{log}");
    w.env.wipe();
}

/// One request on a new connection; the reply line.
fn ask(sock: &std::path::Path, frame: &[u8]) -> serde_json::Value {
    let mut s = UnixStream::connect(sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(frame).unwrap();
    let mut line = String::new();
    BufReader::new(&s).read_line(&mut line).unwrap();
    serde_json::from_str(&line).unwrap_or_else(|_| panic!("reply: {line:?}"))
}

#[test]
fn hostile_clients_get_clear_errors_and_the_agent_stays_up() {
    let w = World::connected("agent-hostile", 60, "a", "local");
    let (access, refresh) = w.tokens("a");
    let mut agent = AgentProc::start(&w, &["--frame-timeout", "2"]);
    let sock = AgentProc::socket(&w);

    // Malformed, unknown version, unknown op: an error each, and the connection reads on.
    let mut s = UnixStream::connect(&sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    for (frame, kind) in [
        (&b"{nope\n"[..], "bad_request"),
        (b"\x00\xff\xfe garbage\n", "bad_request"),
        (
            b"{\"v\":99,\"op\":\"token\",\"name\":\"a\"}\n",
            "unsupported_version",
        ),
        (b"{\"v\":1,\"op\":\"rm -rf\"}\n", "bad_request"),
        (
            b"{\"v\":1,\"op\":\"token\",\"name\":\"../../etc\"}\n",
            "bad_request",
        ),
        (
            b"{\"v\":1,\"op\":\"token\",\"name\":\"missing\"}\n",
            "not_found",
        ),
    ] {
        s.write_all(frame).unwrap();
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["ok"], false, "{line}");
        assert_eq!(v["error"], kind, "{line}");
        assert!(!v["message"].as_str().unwrap().is_empty());
    }
    s.write_all(b"{\"v\":1,\"op\":\"status\"}\n").unwrap();
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert!(line.contains("\"ok\":true"), "{line}");

    // Oversized: "too large", then the agent hangs up.
    let mut s = UnixStream::connect(&sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let big = vec![b'x'; 200 * 1024];
    let _ = s.write_all(&big); // the agent may hang up before reading it all
    let mut all = String::new();
    let _ = s.read_to_string(&mut all);
    assert!(all.contains("\"error\":\"too_large\""), "{all}");

    // A slow client holding a half-sent request does not hold anyone else up, and is
    // dropped when its time is up.
    let mut slow = UnixStream::connect(&sock).unwrap();
    slow.write_all(b"{\"v\":1,").unwrap();
    let t = Instant::now();
    let v = ask(&sock, b"{\"v\":1,\"op\":\"token\",\"name\":\"a\"}\n");
    assert_eq!(v["access_token"], access.as_str());
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut all = String::new();
    let _ = slow.read_to_string(&mut all);
    assert!(all.contains("\"error\":\"timeout\""), "{all}");

    // 500 concurrent clients: every one gets the token.
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(500));
    let handles: Vec<_> = (0..500)
        .map(|_| {
            let sock = sock.clone();
            let b = barrier.clone();
            std::thread::spawn(move || {
                let mut s = UnixStream::connect(&sock).unwrap();
                b.wait();
                s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
                s.write_all(b"{\"v\":1,\"op\":\"token\",\"name\":\"a\",\"min_ttl_secs\":5}\n")
                    .unwrap();
                let mut line = String::new();
                BufReader::new(&s).read_line(&mut line).unwrap();
                serde_json::from_str::<serde_json::Value>(&line).unwrap()
            })
        })
        .collect();
    let replies: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let ok = replies
        .iter()
        .filter(|v| v["access_token"] == access.as_str())
        .count();
    assert_eq!(ok, 500, "{:?}", replies.iter().find(|v| v["ok"] != true));

    assert!(agent.alive());
    let v = ask(&sock, b"{\"v\":1,\"op\":\"status\"}\n");
    assert_eq!(v["status"]["unlocked"], true);
    let log = agent.stop(&w);
    assert_absent_in(
        &log,
        &[access.as_str(), refresh.as_deref().unwrap()],
        "the agent's log",
    );
    w.env.wipe();
}

#[test]
fn a_long_list_comes_through_the_agent() {
    // A hundred and twenty connections make a `list` reply of about 100 KB, over a
    // request's 64 KiB frame limit (which once refused it as "request too large").
    let w = World::connected("agent-big-list", 600, "a", "local");
    {
        let mut v = w.unlocked();
        let a = connection::load(&mut v, &"a".parse().unwrap()).unwrap();
        for i in 0..119 {
            let mut c = connection::Connection {
                info: a.info.clone(),
                secrets: connection::Secrets {
                    access_token: format!("copy-{i}"),
                    refresh_token: None,
                    client_secret: None,
                },
            };
            c.info.name = format!("copy-{i:03}").parse().unwrap();
            connection::create(&mut v, &c).unwrap();
        }
    }
    let agent = AgentProc::start(&w, &[]);
    let o = w.cli(&["list", "--json"], &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    let listed: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let n = listed.as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(n, 120, "every connection listed through the agent");
    assert!(
        stdout(&o).len() > 64 * 1024,
        "the reply is over a request's limit"
    );
    agent.stop(&w);
    w.env.wipe();
}

/// The stale write that got a Pleo grant revoked: callers at every door (the CLI without
/// an agent, the CLI through the agent, the library's `Session::export` on threads of
/// this process) ask for a token at once, just after it expired, round after round,
/// against a server that revokes the whole grant when a used refresh token comes back.
/// Each round: exactly one refresh grant, no reuse, no revocation, every call answered
/// with the one new token.
#[test]
fn token_at_expiry_from_every_door_refreshes_once_and_never_reuses() {
    use std::sync::{Arc, Barrier, Mutex};
    use token_wallet_core::audit::{Event, Recorder};
    use token_wallet_core::oauth::http::Http;
    use token_wallet_core::ops::{Requester, Session};
    use token_wallet_core::refresh::{Policy, Refresher};

    struct Quiet;
    impl Recorder for Quiet {
        fn record(&self, _: Event) {}
    }

    let rounds = token_wallet_test_support::env_number("TW_STALE_ROUNDS", 4);
    let w = World::connected("stale-write", 8, "r", "local");
    // Nothing refreshed ahead in the background: every round starts at expiry.
    let _agent = AgentProc::start(&w, &["--refresh-ahead", "0"]);
    let vault = Arc::new(Mutex::new(w.unlocked()));
    let refresher = Arc::new(Refresher::new(
        Http::new(),
        Policy::default(),
        w.env.data_dir(),
    ));
    let name: connection::ConnectionName = "r".parse().unwrap();
    for round in 0..rounds {
        // Just after the access token expired: every caller must have a new one.
        let expires = connection::load(&mut w.unlocked(), &name)
            .unwrap()
            .info
            .expires_at
            .unwrap();
        while connection::now() <= expires {
            std::thread::sleep(Duration::from_millis(100));
        }
        http()
            .post(format!("{}/_test/reset-stats", w.server.issuer))
            .send_empty()
            .unwrap();
        let spawn = |no_agent: bool| {
            let mut c = w.token_cmd("r");
            if no_agent {
                c.arg("--no-agent");
            }
            c.spawn().unwrap()
        };
        let start = Arc::new(Barrier::new(7));
        let threads: Vec<_> = (0..6)
            .map(|_| {
                let (vault, refresher, start, name) = (
                    vault.clone(),
                    refresher.clone(),
                    start.clone(),
                    name.clone(),
                );
                std::thread::spawn(move || {
                    start.wait();
                    let s = Session::new(&vault, &refresher, &Quiet);
                    let t = s
                        .export(&name, Duration::ZERO, Requester::default())
                        .map_err(|e| e.to_string())?;
                    Ok::<_, String>(
                        secrecy::ExposeSecret::expose_secret(&t.token.token).to_string(),
                    )
                })
            })
            .collect();
        let procs: Vec<_> = (0..16).map(|i| spawn(i % 3 != 0)).collect();
        start.wait();
        let mut tokens = Vec::new();
        for t in threads {
            match t.join().unwrap() {
                Ok(t) => tokens.push(t),
                Err(e) => panic!("round {round}: Session::export failed: {e}"),
            }
        }
        for p in procs {
            let out = deadline::wait_with_output(p, deadline::CLI, "the CLI");
            record(&String::from_utf8_lossy(&out.stderr));
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            tokens.push(String::from_utf8_lossy(&out.stdout).trim().to_string());
        }
        let stats = w.server.stats();
        assert_eq!(stats["refreshes"], 1, "round {round}: one refresh: {stats}");
        assert_eq!(
            stats["refresh_failures"], 0,
            "round {round}: no reuse: {stats}"
        );
        assert_eq!(stats["revoked_grants"], 0, "round {round}: {stats}");
        tokens.sort();
        tokens.dedup();
        assert_eq!(
            tokens.len(),
            1,
            "round {round}: everyone got the one new token"
        );
        let (access, refresh) = w.tokens("r");
        assert_eq!(
            access, tokens[0],
            "round {round}: the vault holds what was handed out"
        );
        assert!(
            w.server.active(refresh.as_deref().unwrap()),
            "round {round}"
        );
    }

    // A storm across several lifetimes: callers never stop, so refreshes by some land
    // between others' reads and writes (the stale write needs exactly that).
    http()
        .post(format!("{}/_test/reset-stats", w.server.issuer))
        .send_empty()
        .unwrap();
    let storm =
        Duration::from_secs(token_wallet_test_support::env_number("TW_STORM_SECS", 14) as u64);
    let began = Instant::now();
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let w = &w;
    std::thread::scope(|s| {
        for i in 0..6 {
            let (vault, refresher, name, failures) = (
                vault.clone(),
                refresher.clone(),
                name.clone(),
                failures.clone(),
            );
            s.spawn(move || {
                while began.elapsed() < storm {
                    if i % 2 == 0 {
                        let s = Session::new(&vault, &refresher, &Quiet);
                        if let Err(e) = s.export(&name, Duration::ZERO, Requester::default()) {
                            failures
                                .lock()
                                .unwrap()
                                .push(format!("Session::export: {e}"));
                        }
                    } else {
                        let mut c = w.token_cmd("r");
                        if i != 1 {
                            c.arg("--no-agent");
                        }
                        let out = deadline::wait_with_output(
                            c.spawn().unwrap(),
                            deadline::CLI,
                            "the CLI",
                        );
                        if !out.status.success() {
                            failures
                                .lock()
                                .unwrap()
                                .push(String::from_utf8_lossy(&out.stderr).into_owned());
                        }
                    }
                    std::thread::sleep(Duration::from_millis(30));
                }
            });
        }
    });
    let stats = w.server.stats();
    let failures = failures.lock().unwrap();
    assert!(failures.is_empty(), "every call answered: {failures:?}");
    assert_eq!(
        stats["refresh_failures"], 0,
        "no reuse in the storm: {stats}"
    );
    assert_eq!(stats["revoked_grants"], 0, "{stats}");
    // 8-second tokens are refreshed in the second half of their life: at most one refresh
    // per 4 s, plus the one in flight at each end.
    let most = storm.as_secs() / 4 + 2;
    assert!(
        stats["refreshes"].as_u64().unwrap() <= most,
        "at most {most} refreshes in {storm:?}: {stats}"
    );
    let (_, refresh) = w.tokens("r");
    assert!(w.server.active(refresh.as_deref().unwrap()));
    let o = w.cli(&["list", "--json", "--no-agent"], &[], "");
    assert!(
        !stdout(&o).contains("needs_reauthorisation"),
        "{}",
        stdout(&o)
    );
    w.env.wipe();
}

/// Refresh-token churn: a client asks for a year of life (the protocol's and `--min-ttl`'s
/// most) on every request, through the agent's socket, through the CLI and the agent, and
/// through the CLI alone, to force a refresh each time. The ask counts up to half the
/// tokens' lifetime: one refresh (the token was past half its life), then none, however
/// many requests follow.
#[test]
fn a_year_of_min_ttl_on_every_request_forces_no_refresh_per_request() {
    // 10-second tokens, past half their life when the requests start.
    let w = World::connected("agent-churn", 10, "a", "local");
    // Only the requests refresh (none ahead, in the background).
    let agent = AgentProc::start(&w, &["--refresh-ahead", "0"]);
    let sock = AgentProc::socket(&w);
    std::thread::sleep(Duration::from_secs(6));
    http()
        .post(format!("{}/_test/reset-stats", w.server.issuer))
        .send_empty()
        .unwrap();
    let year = 366 * 86_400;
    let frame = format!("{{\"v\":1,\"op\":\"token\",\"name\":\"a\",\"min_ttl_secs\":{year}}}\n");
    for _ in 0..20 {
        let v = ask(&sock, frame.as_bytes());
        assert!(v["access_token"].is_string(), "{v}");
    }
    for _ in 0..3 {
        let o = w.cli(&["token", "a", "--min-ttl", "8784h"], &[], "");
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert_eq!(w.server.stats()["refreshes"], 1, "{}", w.server.stats());
    let o = w.cli(&["token", "a", "--min-ttl", "8785h"], &[], "");
    assert_contains(&stderr(&o), "more than a year");
    drop(agent);
    // Without an agent, each CLI run its own process: still no refresh per request.
    for _ in 0..3 {
        let o = w.with_pass(&["token", "a", "--no-agent", "--min-ttl", "8784h"]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert_eq!(w.server.stats()["refreshes"], 1, "{}", w.server.stats());
    w.env.wipe();
}

/// Keeping connections fresh is the headless agent's job too: with only `token-wallet
/// agent` running and access tokens that live 20 s, a tool asking at second 25 is answered
/// from the agent's cache, with no refresh on its path; the refreshes happened in the
/// background (counted as grants at the test server, with no client asking).
#[test]
fn the_headless_agent_refreshes_ahead_so_a_late_request_waits_for_no_refresh() {
    let w = World::connected("ahead", 20, "a", "local");
    let name: connection::ConnectionName = "a".parse().unwrap();
    let info = connection::load(&mut w.unlocked(), &name).unwrap().info;
    let issued = info.issued_at;
    let (first, _) = w.tokens("a");
    http()
        .post(format!("{}/_test/reset-stats", w.server.issuer))
        .send_empty()
        .unwrap();
    let agent = AgentProc::start(&w, &[]);
    let sock = AgentProc::socket(&w);
    // Second 25 of the first token's life: it expired 5 s ago.
    while connection::now() < issued + 25 {
        std::thread::sleep(Duration::from_millis(200));
    }
    let grants = || w.server.stats()["refreshes"].as_u64().unwrap();
    let frame = b"{\"v\":1,\"op\":\"token\",\"name\":\"a\",\"min_ttl_secs\":0}\n";
    // A background refresh may land between the two counts (one in 20 s, taking a few
    // milliseconds): then the pair is measured again.
    let mut clean = None;
    for _ in 0..3 {
        let before = grants();
        let reply = ask(&sock, frame);
        let after = grants();
        if before == after {
            clean = Some((before, reply));
            break;
        }
    }
    let (background, reply) = clean.expect("three requests each raced a background refresh");
    assert!(
        background >= 1,
        "the agent refreshed in the background before anyone asked: {}",
        w.server.stats()
    );
    assert_eq!(reply["ok"], true, "{reply}");
    assert_eq!(
        reply["refreshed"], false,
        "no refresh on the request's path: {reply}"
    );
    let token = reply["access_token"].as_str().unwrap();
    assert_ne!(token, first, "not the expired first token");
    assert!(w.server.active(token), "a live token");
    assert!(
        reply["expires_at"].as_u64().unwrap() > connection::now(),
        "{reply}"
    );
    assert_eq!(w.server.stats()["refresh_failures"], 0);
    let log = agent.stop(&w);
    assert!(!log.contains(token), "no token in the agent's log");
    // The refreshes are audited as the refresher's, with no export in between.
    assert_contains(&audit_log(&w), "\"refresh_ok\"");
    w.env.wipe();
}
