//! Acting as other users in the attack tests (Unix, as root): the victim `tw-victim` and
//! the attacker `tw-attacker` made by `scripts/setup`, commands run as them, their
//! directories, and the victim's CLI and vault.

use super::{bin, chmod, path_str, require_root, run_recorded, stderr, Env, WEAK_INIT};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub const VICTIM: &str = "tw-victim";
pub const ATTACKER: &str = "tw-attacker";

pub fn uid_of(user: &str) -> u32 {
    let o = Command::new("id").args(["-u", user]).output().unwrap();
    assert!(
        o.status.success(),
        "no user `{user}`: run scripts/setup as root (it creates the attack tests' users)"
    );
    String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
}

pub fn gid_of(user: &str) -> u32 {
    let o = Command::new("id").args(["-g", user]).output().unwrap();
    String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
}

/// `cmd` run as `user` (setpriv keeps the environment given here).
pub fn as_user(user: &str, program: &Path) -> Command {
    let mut c = Command::new("setpriv");
    c.arg(format!("--reuid={}", uid_of(user)))
        .arg(format!("--regid={}", gid_of(user)))
        .arg("--clear-groups")
        .arg("--")
        .arg(program);
    c
}

pub fn chown(p: &Path, user: &str) {
    std::os::unix::fs::chown(p, Some(uid_of(user)), Some(gid_of(user))).unwrap();
}

pub const AS_OTHERS: &str = "the attack tests act as other users";

/// A directory every user can enter, holding a copy of the CLI any user can run.
pub struct Bin {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl Bin {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        chmod(dir.path(), 0o755);
        let path = dir.path().join("token-wallet");
        std::fs::copy(bin(), &path).unwrap();
        chmod(&path, 0o755);
        Self { _dir: dir, path }
    }
}

/// A directory owned by `user` (mode `mode`) inside a root-owned temporary one.
pub fn user_dir(user: &str, mode: u32) -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    chmod(t.path(), 0o755);
    let d = t.path().join(user);
    std::fs::create_dir(&d).unwrap();
    chown(&d, user);
    chmod(&d, mode);
    (t, d)
}

/// The victim's CLI (`bin`) on `env`'s profile with the file store, run under `umask 000`.
pub fn file_store_under_umask_000(bin: &Bin, env: &Env, args: &[&str]) -> std::process::Output {
    let mut c = Command::new("sh");
    c.args(["-c", "umask 000; exec \"$@\"", "sh"])
        .arg(&bin.path)
        .args(["--store", "file"])
        .args(args)
        .env("TOKEN_WALLET_HOME", env.home.path())
        .env("TOKEN_WALLET_PROFILE", &env.profile);
    run(&mut c)
}

pub fn run(c: &mut Command) -> std::process::Output {
    run_recorded(c, "")
}

pub fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Kills a child on drop (a failed assertion must not leave it running).
pub struct Kill(pub Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The victim's world (as root, for tests that act as other users): the CLI binary where
/// other users can run it, a data directory and a passphrase file.
pub fn victim(tag: &str) -> (Bin, Env, std::path::PathBuf) {
    require_root(AS_OTHERS);
    let env = Env::new(tag);
    let pass = env.pass_file("pass", "victim passphrase");
    (Bin::new(), env, pass)
}

/// [`victim`], with a vault made by the victim's CLI with the file store under `umask 000`.
pub fn victim_with_vault(tag: &str) -> (Bin, Env, std::path::PathBuf) {
    let (bin, env, pass) = victim(tag);
    let mut init = vec!["init", "--passphrase-file", path_str(&pass)];
    init.extend_from_slice(WEAK_INIT);
    let o = file_store_under_umask_000(&bin, &env, &init);
    assert!(o.status.success(), "{}", stderr(&o));
    (bin, env, pass)
}

/// A file of the attacker's (in a directory of theirs others can enter), for links to
/// point at.
pub fn attackers_file() -> (tempfile::TempDir, PathBuf) {
    let (t, a) = user_dir(ATTACKER, 0o755);
    let target = a.join("target");
    std::fs::write(&target, "attacker's file").unwrap();
    chown(&target, ATTACKER);
    (t, target)
}
