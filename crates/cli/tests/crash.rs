//! Crash safety on the real Secret Service: a child `token-wallet rotate-key` or `passwd`
//! is killed with SIGKILL at every keystore step (fault points) and at random times; after
//! each kill the vault unlocks with exactly one of the old and new passphrases, every
//! record reads back, and no entry of another generation is left. The same for
//! `rotate-key` on a team vault on a real OpenBao, unlocked by identity (a Transit key).

#![cfg(unix)]
mod common;

use common::*;
use secrecy::ExposeSecret;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use token_wallet_core::{Passphrase, VaultError};

const PASSES: [&str; 2] = ["crash passphrase one", "crash passphrase two"];

fn expected() -> Vec<(String, Vec<u8>)> {
    vec![
        ("alpha".into(), b"CRASH-SECRET-alpha-7d1e".to_vec()),
        ("beta".into(), b"CRASH-SECRET-beta-99ab".to_vec()),
        (
            "large".into(),
            format!("CRASH-SECRET-large-{}", "x".repeat(6000)).into_bytes(),
        ),
    ]
}

fn pw(s: &str) -> Passphrase {
    Passphrase::new(s.into()).unwrap()
}

/// Checks the vault after a kill; returns which passphrase opens it.
fn verify(env: &Env, what: &str) -> usize {
    let v = env.vault();
    let opens: Vec<usize> = (0..2)
        .filter(|&i| match v.unlock(&pw(PASSES[i])) {
            Ok(_) => true,
            Err(VaultError::WrongPassphrase) => false,
            Err(e) => panic!("{what}: unlock failed with {e}"),
        })
        .collect();
    assert_eq!(
        opens.len(),
        1,
        "{what}: exactly one passphrase must open the vault"
    );
    let cur = opens[0];
    whole(&v, v.unlock(&pw(PASSES[cur])).unwrap(), what);
    cur
}

/// Every record of `u` (vault `v`, unlocked) reads back, and no entry of another
/// generation is left.
fn whole(v: &token_wallet_core::Vault, mut u: token_wallet_core::UnlockedVault, what: &str) {
    for (name, value) in expected() {
        let got = u
            .get(&name)
            .unwrap_or_else(|e| panic!("{what}: record {name}: {e}"));
        assert_eq!(
            got.expose_secret(),
            value.as_slice(),
            "{what}: record {name}"
        );
    }
    let g = u.info().generation;
    for n in v.keystore().list_raw().unwrap().unwrap() {
        let base = n.split('~').next().unwrap();
        assert!(
            base == "header"
                || base == format!("idx.{g}")
                || base.starts_with(&format!("rec.{g}.")),
            "{what}: leftover entry {n} (generation {g})"
        );
    }
}

enum Ended {
    Paused,
    Finished,
}

/// An OpenBao address: the child keeps its vault there, as root (a team vault).
type OnBao<'a> = Option<&'a str>;

fn spawn(env: &Env, op: &str, cur: usize, pause_at: Option<u64>, bao: OnBao<'_>) -> Child {
    let cur_file = env.pass_file("cur", PASSES[cur]);
    let new_file = env.pass_file("new", PASSES[1 - cur]);
    let mut c = env.cmd();
    if let Some(addr) = bao {
        c.env("TOKEN_WALLET_STORE", "openbao")
            .env("BAO_ADDR", addr)
            .env("BAO_TOKEN", "root");
    }
    match op {
        "rotate-key" => c.args(["rotate-key", "--passphrase-file", path_str(&cur_file)]),
        "passwd" => c.args([
            "passwd",
            "--passphrase-file",
            path_str(&cur_file),
            "--new-passphrase-file",
            path_str(&new_file),
        ]),
        _ => unreachable!(),
    };
    if let Some(n) = pause_at {
        c.env("TOKEN_WALLET_FAULT_PAUSE_AT", n.to_string());
    }
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Runs `op` paused at fault point `n`, then kills it with SIGKILL.
fn run_to_fault(env: &Env, op: &str, cur: usize, n: u64, bao: OnBao<'_>) -> Ended {
    let mut child = spawn(env, op, cur, Some(n), bao);
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if line.contains("fault point") {
                let _ = tx.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let ended = loop {
        if rx.try_recv().is_ok() {
            child.kill().unwrap(); // SIGKILL on Unix
            break Ended::Paused;
        }
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{op} failed without a fault");
            break Ended::Finished;
        }
        assert!(
            Instant::now() < deadline,
            "{op} neither paused nor finished"
        );
        std::thread::sleep(Duration::from_millis(2));
    };
    let out = deadline::wait_with_output(child, deadline::CLI, "the CLI");
    record(&String::from_utf8_lossy(&out.stdout));
    record(&reader.join().unwrap());
    ended
}

/// Runs `op` and kills it with SIGKILL after `delay`.
fn run_and_kill_after(env: &Env, op: &str, cur: usize, delay: Duration, bao: OnBao<'_>) {
    let mut child = spawn(env, op, cur, None, bao);
    std::thread::sleep(delay);
    let _ = child.kill();
    let out = deadline::wait_with_output(child, deadline::CLI, "the CLI");
    record(&String::from_utf8_lossy(&out.stdout));
    record(&String::from_utf8_lossy(&out.stderr));
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn sigkill_at_every_step_of_rotate_key_and_passwd() {
    let env = Env::new("crash");
    let v = env.vault();
    let mut u = v.create(&pw(PASSES[0]), &weak_create()).unwrap();
    for (name, value) in expected() {
        u.put(&name, &value).unwrap();
    }
    drop(u);
    let mut cur = 0;
    let mut trials = 0;
    let mut fault_points = std::collections::BTreeMap::new();

    // Every fault point of each operation, in order, until it runs to the end.
    for op in ["rotate-key", "passwd"] {
        let mut n = 1;
        loop {
            match run_to_fault(&env, op, cur, n, None) {
                Ended::Paused => {
                    trials += 1;
                    cur = verify(&env, &format!("{op} killed at fault point {n}"));
                    n += 1;
                }
                Ended::Finished => {
                    cur = verify(&env, &format!("{op} run to the end"));
                    break;
                }
            }
        }
        fault_points.insert(op, n - 1);
    }

    // Random kill times, across the whole duration of each operation.
    let mut durations = std::collections::BTreeMap::new();
    for op in ["rotate-key", "passwd"] {
        let t = Instant::now();
        let out =
            deadline::wait_with_output(spawn(&env, op, cur, None, None), deadline::CLI, "the CLI");
        assert!(out.status.success());
        durations.insert(op, t.elapsed());
        cur = verify(&env, op);
    }
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut rng = Rng(seed);
    let random_trials = 100usize.saturating_sub(trials).max(60);
    for i in 0..random_trials {
        let op = if i % 3 == 2 { "passwd" } else { "rotate-key" };
        let span = durations[op].as_micros() as u64 * 12 / 10 + 1;
        let delay = Duration::from_micros(rng.next() % span);
        run_and_kill_after(&env, op, cur, delay, None);
        trials += 1;
        cur = verify(&env, &format!("{op} killed after {delay:?} (seed {seed})"));
    }
    println!(
        "crash trials: {trials} (fault points: {fault_points:?}; random kills: {random_trials}, seed {seed}; full runs took {durations:?})"
    );
    assert!(trials >= 100);

    // Nothing secret in anything the children printed (they logged at trace level).
    let transcript = TRANSCRIPT.lock().unwrap().clone();
    assert!(
        transcript.contains("keystore write"),
        "trace logging was on"
    );
    for secret in PASSES {
        assert!(
            !transcript.contains(secret),
            "a passphrase leaked into output"
        );
    }
    for (_, value) in expected() {
        assert!(!transcript.contains(&*String::from_utf8_lossy(&value[..20])));
    }
    env.wipe();
}

/// Checks a team vault after a kill: it unlocks by identity (finishing or rolling back the
/// rotation), every record reads back, no entry of another generation is left.
fn verify_team(v: &token_wallet_core::Vault, what: &str) {
    let u = v
        .unlock_by_identity()
        .unwrap_or_else(|e| panic!("{what}: unlock failed with {e}"));
    whole(v, u, what);
}

#[test]
fn sigkill_at_every_step_of_rotate_key_on_a_team_vault() {
    let bao = token_wallet_test_support::bao::Bao::start();
    bao.transit_key("token-wallet");
    let env = Env::new("crash-bao");
    let mut o = bao_options(&bao.addr, "root");
    o.chunk_cap = CAP;
    let profile = token_wallet_core::Profile::new(&env.profile).unwrap();
    let v = token_wallet_core::open_vault(&profile, &o, &env.data_dir()).unwrap();
    let t = token_wallet_core::vault::TransitRef::parse("transit:token-wallet").unwrap();
    let mut u = v.create_with_transit(&t, None).unwrap();
    for (name, value) in expected() {
        u.put(&name, &value).unwrap();
    }
    drop(u);
    let on = Some(bao.addr.as_str());
    let mut n = 1;
    loop {
        match run_to_fault(&env, "rotate-key", 0, n, on) {
            Ended::Paused => {
                verify_team(&v, &format!("rotate-key killed at fault point {n}"));
                n += 1;
            }
            Ended::Finished => {
                verify_team(&v, "rotate-key run to the end");
                break;
            }
        }
    }
    let t = Instant::now();
    let out = deadline::wait_with_output(
        spawn(&env, "rotate-key", 0, None, on),
        deadline::CLI,
        "the CLI",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let full = t.elapsed();
    let mut rng = Rng(std::process::id() as u64 | 1);
    for _ in 0..30 {
        let delay = Duration::from_micros(rng.next() % (full.as_micros() as u64 * 12 / 10 + 1));
        run_and_kill_after(&env, "rotate-key", 0, delay, on);
        verify_team(&v, &format!("rotate-key killed after {delay:?}"));
    }
    println!(
        "team vault: {} fault points, 30 random kills; a full rotate-key took {full:?}",
        n - 1
    );
    assert!(n > 5, "the rotation has its fault points on OpenBao too");
}
