//! The agent's socket end to end: its modes and its refusal of another user, and hostile
//! clients that get clear errors while the agent stays up.

#![cfg(unix)]
mod common;

use common::agent::*;
use common::oauth::*;
use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

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
