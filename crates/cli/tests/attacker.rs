//! A local attacker's attempts, as that attacker runs them: a second process of the
//! victim's own user (`tw-victim`) and another user (`tw-attacker`), both created by
//! `scripts/setup`. Each test first shows the attack works on an ordinary process (so the
//! setup could observe it), then that it gets nothing from Token Wallet. Here: the agent's
//! memory and a fake agent; the vault's files are attacked in `attacker_files.rs`, the
//! sign-in in `attacker_sign_in.rs`.
//! Needs root (CI runs as root) to act as those users.

#![cfg(unix)]
mod common;

use common::attacker::*;
use common::*;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// What a same-user attacker tries on process `pid`: open its memory, raise its core
/// limit, crash it. Returns (memory opened?, prlimit worked?, core files in `cwd` after).
fn same_user_attack(pid: u32, cwd: &Path) -> (bool, bool, usize) {
    let mem = run(as_user(VICTIM, Path::new("/usr/bin/perl")).args([
        "-e",
        r#"open(my $f, "<", "/proc/$ARGV[0]/mem") or die "open: $!\n"; print "opened\n";"#,
        &pid.to_string(),
    ]));
    let opened = stdout(&mem).contains("opened");
    let lim = run(as_user(VICTIM, Path::new("/usr/bin/prlimit")).args([
        "--pid",
        &pid.to_string(),
        "--core=unlimited",
    ]));
    let raised = lim.status.success();
    for _ in 0..2 {
        let _ = run(as_user(VICTIM, Path::new("/bin/kill")).args(["-SEGV", &pid.to_string()]));
        std::thread::sleep(Duration::from_millis(300));
    }
    wait_for("the crashed process to be gone", || {
        !Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| s.contains(") Z"))
                .unwrap_or(true)
    });
    std::thread::sleep(Duration::from_millis(500));
    let cores = std::fs::read_dir(cwd)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("core")
        })
        .count();
    (opened, raised, cores)
}

#[test]
fn a_second_process_of_the_same_user_cannot_read_the_agents_memory_or_force_a_core_dump() {
    require_root(AS_OTHERS);
    let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap();
    assert!(
        !pattern.starts_with('|'),
        "this test looks for core files in the crashing process's directory; core_pattern is {pattern:?}"
    );
    let bin = Bin::new();
    let (_t, v) = user_dir(VICTIM, 0o700);
    let run_dir = v.join("run");
    let home = v.join("home");
    let crash_a = v.join("crash-a");
    let crash_b = v.join("crash-b");
    for d in [&run_dir, &home, &crash_a, &crash_b] {
        std::fs::create_dir(d).unwrap();
        chown(d, VICTIM);
        chmod(d, 0o700);
    }
    let pass = v.join("pass");
    std::fs::write(&pass, "victim passphrase\n").unwrap();
    chown(&pass, VICTIM);
    chmod(&pass, 0o600);
    let tw = |c: &mut Command| {
        c.env("XDG_RUNTIME_DIR", &run_dir)
            .env("TOKEN_WALLET_HOME", &home)
            .env("TOKEN_WALLET_STORE", "file")
            .env("TOKEN_WALLET_PROFILE", "victim")
            .env_remove("TOKEN_WALLET_LOG");
    };

    // The control: an ordinary process of the victim's is open to all three steps.
    let mut sleep = as_user(VICTIM, Path::new("/bin/sleep"));
    sleep.arg("60").current_dir(&crash_a);
    let sleep = Kill(sleep.spawn().unwrap());
    let (opened, raised, cores) = same_user_attack(sleep.0.id(), &crash_a);
    assert!(
        opened && raised && cores >= 1,
        "the attack does not work even on `sleep` here (memory {opened}, prlimit {raised}, cores {cores}), so this test would prove nothing"
    );

    // The agent, holding the unlocked vault.
    let mut init = as_user(VICTIM, &bin.path);
    tw(&mut init);
    init.args(["init", "--passphrase-file", path_str(&pass)])
        .args(WEAK_INIT);
    let o = run(&mut init);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut agent = as_user(VICTIM, &bin.path);
    tw(&mut agent);
    agent
        .args(["agent", "--passphrase-file", path_str(&pass)])
        .current_dir(&crash_b)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let agent = Kill(agent.spawn().unwrap());
    wait_for("the victim's agent", || {
        let mut st = as_user(VICTIM, &bin.path);
        tw(&mut st);
        st.args(["agent", "status"]);
        stdout(&run(&mut st)).contains("unlocked")
    });
    let (opened, raised, cores) = same_user_attack(agent.0.id(), &crash_b);
    assert!(
        !opened,
        "the victim's second process opened the agent's memory"
    );
    assert!(
        !raised,
        "the victim's second process raised the agent's core limit"
    );
    assert_eq!(cores, 0, "the agent left a core dump");
}

#[test]
fn a_fake_agent_of_another_user_gets_nothing() {
    require_root(AS_OTHERS);
    // The attacker's server: records every byte it receives, answers with its own token.
    let (_t, a) = user_dir(ATTACKER, 0o755);
    let sock = a.join("agent.sock");
    let got = a.join("got");
    let server = r#"
        use IO::Socket::UNIX;
        my ($path, $log) = @ARGV;
        my $l = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Local => $path, Listen => 5) or die "listen: $!";
        chmod 0777, $path;
        open(my $g, ">>", $log) or die; select($g); $| = 1; select(STDOUT);
        while (my $c = $l->accept()) {
            while (my $line = <$c>) {
                print $g $line;
                print $c "{\"v\":1,\"ok\":true,\"access_token\":\"attacker-token-0000\",\"token_type\":\"Bearer\",\"expires_at\":9999999999}\n";
            }
        }
    "#;
    let mut s = as_user(ATTACKER, Path::new("/usr/bin/perl"));
    s.args(["-e", server])
        .arg(&sock)
        .arg(&got)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _server = Kill(s.spawn().unwrap());
    wait_for("the fake agent", || sock.exists());

    let env = Env::new("fake-agent");
    let pass = env.pass_file("pass", "victim passphrase");
    let ask = |sock: &Path, args: &[&str]| {
        let mut c = env.cmd();
        c.arg("--agent-socket").arg(sock).args(args);
        run(&mut c)
    };
    for args in [
        &["agent", "unlock", "--passphrase-file", path_str(&pass)][..],
        &["token", "a"][..],
        &["list"][..],
    ] {
        let o = ask(&sock, args);
        assert_ne!(o.status.code(), Some(0), "{args:?}");
        assert_contains(&stderr(&o), "refusing the agent socket");
        assert!(!stdout(&o).contains("attacker-token"), "{args:?}");
    }

    // The same listening socket moved into a directory of the victim's and given to the
    // victim (as if the file looked right): the kernel still says who listens on it.
    let (_r, mine) = user_dir("root", 0o700);
    let moved = mine.join("agent.sock");
    std::fs::rename(&sock, &moved).unwrap();
    std::os::unix::fs::chown(&moved, Some(0), Some(0)).unwrap();
    assert_eq!(std::fs::symlink_metadata(&moved).unwrap().uid(), 0);
    for args in [
        &["agent", "unlock", "--passphrase-file", path_str(&pass)][..],
        &["token", "a"][..],
    ] {
        let o = ask(&moved, args);
        assert_ne!(o.status.code(), Some(0), "{args:?}");
        assert!(
            stderr(&o).contains(&format!("runs as uid {}", uid_of(ATTACKER))),
            "{}",
            stderr(&o)
        );
        assert!(!stdout(&o).contains("attacker-token"));
    }
    let received = std::fs::read(&got).unwrap_or_default();
    assert!(
        received.is_empty(),
        "the fake agent received {} bytes",
        received.len()
    );
}
