//! A local attacker's attempts, as that attacker runs them: a second process of the
//! victim's own user (`tw-victim`) and another user (`tw-attacker`), both created by
//! `scripts/setup`. Each test first shows the attack works on an ordinary process (so the
//! setup could observe it), then that it gets nothing from Token Wallet.
//! Needs root (CI runs as root) to act as those users.

#![cfg(unix)]
mod common;

use common::oauth::*;
use common::*;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use token_wallet_core::connection;

const VICTIM: &str = "tw-victim";
const ATTACKER: &str = "tw-attacker";

fn uid_of(user: &str) -> u32 {
    let o = Command::new("id").args(["-u", user]).output().unwrap();
    assert!(
        o.status.success(),
        "no user `{user}`: run scripts/setup as root (it creates the attack tests' users)"
    );
    String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
}

fn gid_of(user: &str) -> u32 {
    let o = Command::new("id").args(["-g", user]).output().unwrap();
    String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
}

/// `cmd` run as `user` (setpriv keeps the environment given here).
fn as_user(user: &str, program: &Path) -> Command {
    let mut c = Command::new("setpriv");
    c.arg(format!("--reuid={}", uid_of(user)))
        .arg(format!("--regid={}", gid_of(user)))
        .arg("--clear-groups")
        .arg("--")
        .arg(program);
    c
}

fn chown(p: &Path, user: &str) {
    std::os::unix::fs::chown(p, Some(uid_of(user)), Some(gid_of(user))).unwrap();
}

const AS_OTHERS: &str = "the attack tests act as other users";

/// A directory every user can enter, holding a copy of the CLI any user can run.
struct Bin {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Bin {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        chmod(dir.path(), 0o755);
        let path = dir.path().join("token-wallet");
        std::fs::copy(bin(), &path).unwrap();
        chmod(&path, 0o755);
        Self { _dir: dir, path }
    }
}

/// A directory owned by `user` (mode `mode`) inside a root-owned temporary one.
fn user_dir(user: &str, mode: u32) -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    chmod(t.path(), 0o755);
    let d = t.path().join(user);
    std::fs::create_dir(&d).unwrap();
    chown(&d, user);
    chmod(&d, mode);
    (t, d)
}

/// The victim's CLI (`bin`) on `env`'s profile with the file store, run under `umask 000`.
fn file_store_under_umask_000(bin: &Bin, env: &Env, args: &[&str]) -> std::process::Output {
    let mut c = Command::new("sh");
    c.args(["-c", "umask 000; exec \"$@\"", "sh"])
        .arg(&bin.path)
        .args(["--store", "file"])
        .args(args)
        .env("TOKEN_WALLET_HOME", env.home.path())
        .env("TOKEN_WALLET_PROFILE", &env.profile);
    run(&mut c)
}

fn run(c: &mut Command) -> std::process::Output {
    run_recorded(c, "")
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Kills a child on drop (a failed assertion must not leave it running).
struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

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

/// The victim's world (as root, for tests that act as other users): the CLI binary where
/// other users can run it, a data directory and a passphrase file.
fn victim(tag: &str) -> (Bin, Env, std::path::PathBuf) {
    require_root(AS_OTHERS);
    let env = Env::new(tag);
    let pass = env.pass_file("pass", "victim passphrase");
    (Bin::new(), env, pass)
}

/// [`victim`], with a vault made by the victim's CLI with the file store under `umask 000`.
fn victim_with_vault(tag: &str) -> (Bin, Env, std::path::PathBuf) {
    let (bin, env, pass) = victim(tag);
    let mut init = vec!["init", "--passphrase-file", path_str(&pass)];
    init.extend_from_slice(WEAK_INIT);
    let o = file_store_under_umask_000(&bin, &env, &init);
    assert!(o.status.success(), "{}", stderr(&o));
    (bin, env, pass)
}

/// A file of the attacker's (in a directory of theirs others can enter), for links to
/// point at.
fn attackers_file() -> (tempfile::TempDir, PathBuf) {
    let (t, a) = user_dir(ATTACKER, 0o755);
    let target = a.join("target");
    std::fs::write(&target, "attacker's file").unwrap();
    chown(&target, ATTACKER);
    (t, target)
}

#[test]
fn another_user_can_neither_open_nor_lock_the_vaults_files_even_under_umask_000() {
    // Created under umask 000, with the file store.
    let (bin, env, pass) = victim_with_vault("files");
    let dir = env.data_dir();
    let mode = |p: &Path| std::fs::symlink_metadata(p).unwrap().mode() & 0o7777;
    assert_eq!(mode(&dir), 0o700, "the data directory");
    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(files.iter().any(|f| f.ends_with("vault.lock")), "{files:?}");
    assert!(
        files.iter().any(|f| f.ends_with("keystore.json")),
        "{files:?}"
    );
    for f in &files {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }
    // Even with the directory opened up, the attacker cannot open a lock file to flock it.
    chmod(env.home.path(), 0o755);
    chmod(&dir, 0o755);
    for f in &files {
        let o = run(as_user(ATTACKER, Path::new("/usr/bin/perl"))
            .args([
                "-e",
                r#"use Fcntl ':flock'; open(my $f, "<", $ARGV[0]) or die "open: $!\n"; flock($f, LOCK_EX|LOCK_NB) or die "flock: $!\n"; print "locked\n";"#,
            ])
            .arg(f));
        assert!(!stdout(&o).contains("locked"), "{}", f.display());
        assert_contains(&stderr(&o), "Permission denied");
    }
    // The victim's next run closes the directory again.
    let o = file_store_under_umask_000(
        &bin,
        &env,
        &["status", "--unlock", "--passphrase-file", path_str(&pass)],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(mode(&dir), 0o700, "the data directory is closed again");
}

#[test]
fn a_symlink_planted_in_an_open_data_directory_is_never_written_through() {
    let (bin, env, pass) = victim_with_vault("symlink");
    let tw = |args: &[&str]| file_store_under_umask_000(&bin, &env, args);
    // An older version left the directory 0777; the attacker plants the old fixed temp
    // name and the store itself as symlinks to a file of theirs.
    let dir = env.data_dir();
    chmod(env.home.path(), 0o755);
    chmod(&dir, 0o777);
    let (_t, target) = attackers_file();
    for name in ["keystore.json.tmp", "settings.json.tmp"] {
        let o = run(as_user(ATTACKER, Path::new("/bin/ln"))
            .arg("-s")
            .arg(&target)
            .arg(dir.join(name)));
        assert!(o.status.success(), "{}", stderr(&o));
    }
    // The victim writes (a passphrase change rewrites the store).
    let new = env.pass_file("new", "victim passphrase 2");
    let o = tw(&[
        "passwd",
        "--passphrase-file",
        path_str(&pass),
        "--new-passphrase-file",
        path_str(&new),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "attacker's file");
    let store = std::fs::symlink_metadata(dir.join("keystore.json")).unwrap();
    assert!(store.file_type().is_file(), "the store is a regular file");
    assert_eq!(store.uid(), 0);
    assert_eq!(store.mode() & 0o7777, 0o600);
    assert_eq!(
        std::fs::symlink_metadata(&dir).unwrap().mode() & 0o7777,
        0o700
    );
    let o = tw(&["status", "--unlock", "--passphrase-file", path_str(&new)]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// A world-readable copy of the sign-in attacker (`attacks/sign-in-attacker.mjs`) and the
/// browser helper it signs in with, for the attacker's user to run.
fn attacker_scripts() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    chmod(dir.path(), 0o755);
    let attacker = dir.path().join("sign-in-attacker.mjs");
    std::fs::copy(
        repo().join("crates/cli/tests/attacks/sign-in-attacker.mjs"),
        &attacker,
    )
    .unwrap();
    let helper = dir.path().join("browser.mjs");
    std::fs::copy(repo().join("tests/oauth-server/browser.mjs"), &helper).unwrap();
    for f in [&attacker, &helper] {
        chmod(f, 0o644);
    }
    (dir, attacker, helper)
}

/// The attacker's log lines (JSON), read as text.
fn attack_log(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

/// The account-injection attack of the second review: another user polls every process's
/// argv, finds the address the victim's browser was given, requests it first, signs in
/// with their own account and delivers the code. The browser now gets only a private page
/// (`file://` in a 0700 directory) holding the one-time start address: the attacker sees
/// its name and cannot open it, so the victim's connection holds the victim's account.
/// The victim's browser waits a second before it starts, to give the attacker a head start.
#[test]
fn another_user_reading_the_browsers_argv_cannot_sign_the_victim_into_their_own_account() {
    require_root(AS_OTHERS);
    let w = World::new("attack-sign-in");
    let _port = PINNED_PORT.lock().unwrap_or_else(|p| p.into_inner());
    let (_scripts, attacker, helper) = attacker_scripts();
    let (_t, logs) = user_dir(ATTACKER, 0o700);
    let log = logs.join("inject.log");
    let _attack = Kill(
        as_user(ATTACKER, Path::new("/usr/bin/node"))
            .arg(&attacker)
            .args(["inject", path_str(&helper), path_str(&log), "40"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(500));
    let slow = w.env.home.path().join("slow-browser");
    std::fs::write(
        &slow,
        format!(
            "#!/bin/sh\nsleep 1\nexec '{}' \"$1\"\n",
            browser().display()
        ),
    )
    .unwrap();
    chmod(&slow, 0o755);
    let o = w.connect(
        "victim",
        "local-pleo",
        &[],
        &[("BROWSER", path_str(&slow))],
        "",
    );
    let log_text = attack_log(&log);
    assert!(o.status.success(), "{}\nattacker: {log_text}", stderr(&o));
    // The attacker was fast enough to see the browser's argument, and could not read it.
    assert!(
        log_text.contains(r#""seen":"file","read":"EACCES""#),
        "the attacker saw the page's name and was refused: {log_text}"
    );
    assert!(!log_text.contains(r#""read":"ok""#), "{log_text}");
    assert!(!log_text.contains("requested"), "{log_text}");
    assert!(!log_text.contains("signedInAsMallory"), "{log_text}");
    // The connection holds the victim's own company, and the CLI said so.
    let subject = connection::load(&mut w.unlocked(), &"victim".parse().unwrap())
        .unwrap()
        .info
        .check
        .get("subjectURN")
        .cloned();
    assert_eq!(subject.as_deref(), Some(VICTIM_COMPANY));
    assert_contains(&stdout(&o), VICTIM_COMPANY);
    w.env.wipe();
}

/// The test server's company for the default account (the victim's).
const VICTIM_COMPANY: &str = "urn:pleo:company:3f6c1e2a-8d4b-4f7a-9c21-5b0e7d9a4c13";

/// Another user floods the sign-in listener's (pinned, so known) port with 64 slow
/// connections, reopening each as it is cut: the browser's request is still answered and
/// the sign-in completes.
#[test]
fn another_users_flood_of_slow_connections_does_not_crowd_out_the_browser() {
    require_root(AS_OTHERS);
    let w = World::new("attack-flood");
    let _port = PINNED_PORT.lock().unwrap_or_else(|p| p.into_inner());
    let port = 8976; // tw-pinned's registered redirect
    let (_scripts, attacker, _helper) = attacker_scripts();
    let (_t, logs) = user_dir(ATTACKER, 0o700);
    let log = logs.join("flood.log");
    let flood = Kill(
        as_user(ATTACKER, Path::new("/usr/bin/node"))
            .arg(&attacker)
            .args(["flood", &port.to_string(), path_str(&log), "25"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let o = w.connect("flooded", "local-pleo", &[], &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    let (access, _) = w.tokens("flooded");
    assert!(w.server.active(&access));
    drop(flood);
    // The flood was real: connections were cut and reopened while the sign-in ran.
    let log_text = attack_log(&log);
    let opened: u64 = log_text
        .split(r#""opened":"#)
        .filter_map(|s| s.split('}').next()?.parse().ok())
        .max()
        .unwrap_or(0);
    assert!(
        opened > 64,
        "the flood opened {opened} connections: {log_text}"
    );
    w.env.wipe();
}

/// An older build left the data directory open; another user plants a symlink at
/// `audit.jsonl`. The old behaviour: a warning, then the command did its work unaudited
/// (and so did every later one). Now the command does nothing, nothing is written through
/// the link, the link is moved aside, and the next command audits to a new log.
#[test]
fn a_symlink_planted_at_the_audit_log_stops_the_command_and_is_never_written_through() {
    let (bin, env, pass) = victim_with_vault("auditlink");
    let tw = |args: &[&str]| file_store_under_umask_000(&bin, &env, args);
    let dir = env.data_dir();
    chmod(env.home.path(), 0o755);
    chmod(&dir, 0o777);
    let (_t, target) = attackers_file();
    chmod(&target, 0o666);
    let plant = || {
        let o = run(as_user(ATTACKER, Path::new("/bin/sh")).args([
            "-c",
            "rm -f \"$1\" && ln -s \"$2\" \"$1\"",
            "sh",
            path_str(&dir.join("audit.jsonl")),
            path_str(&target),
        ]));
        assert!(o.status.success(), "{}", stderr(&o));
    };
    plant();
    // Audited work (a passphrase change): refused, with what happened and what to do.
    let new = env.pass_file("new", "victim passphrase 2");
    let passwd = [
        "passwd",
        "--passphrase-file",
        path_str(&pass),
        "--new-passphrase-file",
        path_str(&new),
    ];
    let o = tw(&passwd);
    assert!(!o.status.success(), "{}", stdout(&o));
    let err = stderr(&o);
    assert_contains(&err, "was a symbolic link");
    assert_contains(&err, "moved aside");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "attacker's file");
    let log = dir.join("audit.jsonl");
    assert!(
        std::fs::symlink_metadata(&log).is_err(),
        "the link is gone from the log's name"
    );
    let aside: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("audit.jsonl.symlink-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert!(std::fs::symlink_metadata(&aside[0])
        .unwrap()
        .file_type()
        .is_symlink());
    // The passphrase did not change: the old one still unlocks (and the directory is
    // closed again).
    assert_eq!(
        std::fs::symlink_metadata(&dir).unwrap().mode() & 0o7777,
        0o700
    );
    let o = tw(&["status", "--unlock", "--passphrase-file", path_str(&pass)]);
    assert!(o.status.success(), "{}", stderr(&o));
    // That command audited to a new, private log, and the next work is audited too.
    let o = tw(&passwd);
    assert!(o.status.success(), "{}", stderr(&o));
    let m = std::fs::symlink_metadata(&log).unwrap();
    assert!(m.file_type().is_file());
    assert_eq!(m.mode() & 0o7777, 0o600);
    let text = std::fs::read_to_string(&log).unwrap();
    assert_contains(&text, "\"passphrase_changed\"");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "attacker's file");
}

/// Files an older build (or `umask 000`) left readable by others, and a directory it left
/// open: the next command closes each again (0600, 0700), so another user can no longer
/// open, read or flock them.
#[test]
fn files_an_older_build_left_open_are_closed_again_and_another_user_cannot_open_them() {
    let (bin, env, pass) = victim_with_vault("modes");
    let tw = |args: &[&str]| file_store_under_umask_000(&bin, &env, args);
    let dir = env.data_dir();
    let mode = |p: &Path| std::fs::symlink_metadata(p).unwrap().mode() & 0o7777;
    let files: Vec<PathBuf> = ["vault.lock", "keystore.json", "audit.jsonl", "audit.lock"]
        .iter()
        .map(|f| dir.join(f))
        .collect();
    chmod(env.home.path(), 0o755);
    chmod(&dir, 0o755);
    for f in &files {
        chmod(f, 0o666);
    }
    // The attack works on the opened-up files (the control).
    let read_as_attacker = |f: &Path| {
        run(as_user(ATTACKER, Path::new("/usr/bin/perl"))
            .args([
                "-e",
                r#"use Fcntl ':flock'; open(my $f, "<", $ARGV[0]) or die "open: $!\n"; flock($f, LOCK_EX|LOCK_NB) or die "flock: $!\n"; print "locked\n";"#,
            ])
            .arg(f))
    };
    assert_contains(&stdout(&read_as_attacker(&files[0])), "locked");
    let o = tw(&["status", "--unlock", "--passphrase-file", path_str(&pass)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(mode(&dir), 0o700, "the data directory");
    for f in &files {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }
    // Opened up again only at the directory: still no file another user may open.
    chmod(&dir, 0o755);
    for f in &files {
        let o = read_as_attacker(f);
        assert!(!stdout(&o).contains("locked"), "{}", f.display());
        assert_contains(&stderr(&o), "Permission denied");
    }
}
