//! Memory hygiene, checked as root would check it: read a running Token Wallet process's
//! whole memory through `/proc/PID/mem` (every thread's stack, live or cached, included)
//! and search it for the actual secrets, raw, in hex and in base64 (standard and URL-safe,
//! at the three alignments): the passphrase, the key-encryption key, the data key, the
//! audit key, and the refresh and access tokens. After `lock` the agent must hold none of
//! them (started in the foreground or with `--detach`); neither may `exec` while its
//! child runs, and `exec --mask`, which stays beside the child, holds only the access
//! token. (Root reads any process; the point is that nothing is left to read, in memory,
//! swap or a crash dump taken later.)
//!
//! `TOKEN_WALLET_TEST_BIN=/path/to/token-wallet` runs them against another build (the
//! release binary: optimisation moves the copies); `scripts/test` does both.

#![cfg(unix)]
mod common;

use common::oauth::*;
use common::*;
use secrecy::ExposeSecret;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Every readable mapping of `pid`: its name (`[heap]`, `[stack]`, a file, or `anon`) and
/// its bytes.
fn memory_of(pid: u32) -> Vec<(String, Vec<u8>)> {
    use std::io::{Read, Seek, SeekFrom};
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let mut mem = std::fs::File::open(format!("/proc/{pid}/mem")).unwrap();
    let mut all = Vec::new();
    for line in maps.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 5 || !f[1].starts_with('r') {
            continue;
        }
        let name = f.get(5).copied().unwrap_or("anon").to_string();
        if name == "[vvar]" || name == "[vsyscall]" || name == "[vvar_vclock]" {
            continue;
        }
        let (a, b) = f[0].split_once('-').unwrap();
        let (a, b) = (
            u64::from_str_radix(a, 16).unwrap(),
            u64::from_str_radix(b, 16).unwrap(),
        );
        let mut buf = vec![0u8; (b - a) as usize];
        if mem.seek(SeekFrom::Start(a)).is_ok() && mem.read_exact(&mut buf).is_ok() {
            all.push((name, buf));
        }
    }
    let total: usize = all.iter().map(|(_, b)| b.len()).sum();
    assert!(total > 1 << 20, "read only {total} bytes of memory");
    all
}

/// Which of the named secrets occur in `pid`'s memory, raw or encoded, with where
/// (`DEK x3 ([heap] x1, anon x2)`, `passphrase (base64) x1 ([stack] x1)`).
fn found_in(pid: u32, secrets: &[(&str, Vec<u8>)]) -> Vec<String> {
    scan(&memory_of(pid), secrets)
}

/// [`found_in`] over memory already read.
fn scan(mem: &[(String, Vec<u8>)], secrets: &[(&str, Vec<u8>)]) -> Vec<String> {
    let mut found = Vec::new();
    for (n, s) in secrets {
        assert!(s.len() >= 16);
        let mut forms = vec![(String::new(), s.clone())];
        for (how, text) in encodings(s) {
            forms.push((format!(" ({how})"), text.clone().into_bytes()));
            if how == "hex" {
                forms.push((" (HEX)".into(), text.to_uppercase().into_bytes()));
            }
        }
        for (how, needle) in &forms {
            let mut places: std::collections::BTreeMap<&str, usize> = Default::default();
            let finder = memchr::memmem::Finder::new(needle);
            for (region, bytes) in mem {
                let c = finder.find_iter(bytes).count();
                if c > 0 {
                    *places.entry(region.as_str()).or_default() += c;
                }
            }
            if !places.is_empty() {
                let total: usize = places.values().sum();
                let at: Vec<String> = places.iter().map(|(r, c)| format!("{r} x{c}")).collect();
                found.push(format!("{n}{how} x{total} ({})", at.join(", ")));
            }
        }
    }
    found
}

/// The CLI under test: `TOKEN_WALLET_TEST_BIN`, else this build's.
fn cli_bin() -> std::path::PathBuf {
    std::env::var_os("TOKEN_WALLET_TEST_BIN")
        .map(Into::into)
        .unwrap_or_else(bin)
}

/// `w`'s CLI command, with the binary under test.
fn cmd(w: &World) -> std::process::Command {
    let mut c = w.env.cmd();
    let mut with = std::process::Command::new(cli_bin());
    with.envs(c.get_envs().filter_map(|(k, v)| Some((k, v?))));
    with.args(["--providers", path_str(&w.providers)]);
    c = with;
    c
}

/// The vault's keys and the audit key, as the test (not the CLI) reads them.
fn keys(w: &World) -> Vec<(&'static str, Vec<u8>)> {
    let mut v = w.unlocked();
    let (kek, dek) = v.expose_keys_for_tests();
    let audit = v.get("audit.key").unwrap().expose_secret().to_vec();
    vec![("KEK", kek), ("DEK", dek), ("audit key", audit)]
}

fn secrets(w: &World, name: &str) -> Vec<(&'static str, Vec<u8>)> {
    let (access, refresh) = w.tokens(name);
    let mut s = keys(w);
    s.push(("passphrase", PASS.as_bytes().to_vec()));
    s.push(("access token", access.into_bytes()));
    s.push(("refresh token", refresh.unwrap().into_bytes()));
    s
}

struct Agent(Child);
impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const READS_MEMORY: &str = "reading another process's memory";

#[test]
fn after_refresh_and_lock_the_agent_holds_no_secret() {
    require_root(READS_MEMORY);
    assert!(PASS.len() >= 16);
    let w = World::connected("memory", 60, "a", "local");
    let mut c = cmd(&w);
    c.args(["agent", "--passphrase-file", path_str(&w.pass_file)])
        .env_remove("TOKEN_WALLET_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let agent = Agent(c.spawn().unwrap());
    let pid = agent.0.id();
    let end = Instant::now() + Duration::from_secs(30);
    while !w.cli(&["agent", "status"], &[], "").status.success() {
        assert!(Instant::now() < end, "the agent did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Export, refresh through the agent (a new refresh token is written), export again.
    assert!(w.cli(&["token", "a"], &[], "").status.success());
    let o = w.cli(&["refresh", "a"], &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(w.cli(&["list"], &[], "").status.success());
    let live = secrets(&w, "a");
    // While unlocked the keys are there (the scan sees what it should).
    let before = found_in(pid, &live);
    assert!(
        before.iter().any(|f| f.starts_with("DEK")),
        "the scan cannot find the data key even while unlocked: {before:?}"
    );
    let o = w.cli(&["lock"], &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    let after = found_in(pid, &live);
    assert!(
        after.is_empty(),
        "after lock the agent still holds: {after:?}"
    );
    w.env.wipe();
}

/// Runs `exec a [flags] --no-agent -- sleep 30` and, once its command runs (the process
/// became `sleep`, or has it as a child), reads its whole memory; then ends it.
fn memory_of_exec(w: &World, flags: &[&str]) -> Vec<(String, Vec<u8>)> {
    let mut c = cmd(w);
    c.args(["exec", "a"])
        .args(flags)
        .args(["--no-agent", "--passphrase-file", path_str(&w.pass_file)])
        .args(["--", "sleep", "30"])
        .env_remove("TOKEN_WALLET_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    let _watchdog = deadline::Watchdog::new(&child, deadline::CLI, "exec -- sleep 30");
    let pid = child.id();
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        let kids =
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        if comm.trim() == "sleep" || !kids.trim().is_empty() {
            break;
        }
        assert!(Instant::now() < end, "exec did not start its command");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let mem = memory_of(pid);
    let _ = child.kill();
    let _ = child.wait();
    mem
}

/// What `exec` must not hold while its command runs: the keys, the passphrase and the
/// refresh token.
fn not_for_exec(w: &World) -> Vec<(&'static str, Vec<u8>)> {
    let mut s = keys(w);
    s.push(("passphrase", PASS.as_bytes().to_vec()));
    s.push(("refresh token", w.tokens("a").1.unwrap().into_bytes()));
    s
}

#[test]
fn exec_without_an_agent_holds_no_key_while_its_child_runs() {
    require_root(READS_MEMORY);
    let w = World::connected("memory-exec", 60, "a", "local");
    let found = scan(&memory_of_exec(&w, &[]), &not_for_exec(&w));
    assert!(
        found.is_empty(),
        "while the child runs, exec holds: {found:?}"
    );
    w.env.wipe();
}

/// `exec --mask` stays beside its child to filter its output: while the child runs it
/// holds the access token it masks, and nothing else (no key, no passphrase, no refresh
/// token).
#[test]
fn exec_mask_holds_only_the_access_token_while_its_child_runs() {
    require_root(READS_MEMORY);
    let w = World::connected("memory-mask", 60, "a", "local");
    let mem = memory_of_exec(&w, &["--mask"]);
    let found = scan(&mem, &not_for_exec(&w));
    let access = scan(&mem, &[("access token", w.tokens("a").0.into_bytes())]);
    assert!(
        found.is_empty(),
        "while the child runs, exec --mask holds: {found:?}"
    );
    assert!(
        !access.is_empty(),
        "the scan cannot find the access token exec --mask must hold"
    );
    w.env.wipe();
}

/// An agent started with `--detach --passphrase-file` is given the passphrase on its
/// standard input: after `lock` it is not in the agent's memory (standard input is read
/// without a buffer that outlives the line).
#[test]
fn a_detached_agent_holds_no_secret_after_lock() {
    require_root(READS_MEMORY);
    let w = World::connected("memory-detach", 60, "a", "local");
    let mut c = cmd(&w);
    c.args([
        "agent",
        "--detach",
        "--passphrase-file",
        path_str(&w.pass_file),
    ])
    .env_remove("TOKEN_WALLET_LOG");
    let o = run_recorded(&mut c, "");
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stderr(&o);
    let pid: u32 = text
        .split("(pid ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no pid in: {text}"));
    assert!(w.cli(&["token", "a"], &[], "").status.success());
    let live = secrets(&w, "a");
    let before = found_in(pid, &live);
    assert!(
        before.iter().any(|f| f.starts_with("DEK")),
        "the scan cannot find the data key even while unlocked: {before:?}"
    );
    let o = w.cli(&["lock"], &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    let after = found_in(pid, &live);
    let _ = w.cli(&["agent", "stop"], &[], "");
    let _ = std::process::Command::new("kill")
        .arg(pid.to_string())
        .status();
    assert!(
        after.is_empty(),
        "after lock the detached agent still holds: {after:?}"
    );
    w.env.wipe();
}
