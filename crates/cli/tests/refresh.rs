//! Centralised refresh against the real OAuth server (rotating refresh tokens; reuse of
//! an old one revokes the whole grant): single-flight across threads and processes,
//! invalid_grant, backoff, and a refresher killed mid-refresh.

mod common;

use common::oauth::*;
use common::*;
use secrecy::ExposeSecret;
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};
use token_wallet_core::oauth::http::Http;
use token_wallet_core::refresh::{Policy, Refresher};
use token_wallet_core::{connection, Passphrase};

fn post(url: &str) {
    http().post(url).send_empty().unwrap();
}

/// Connects `name` with access tokens living `ttl` seconds, then waits until the token is
/// inside its refresh window (half its lifetime for such short tokens).
fn connected(tag: &str, ttl: u64) -> World {
    World::connected(tag, ttl, "r", "local")
}

#[test]
fn one_refresh_for_200_threads_and_20_processes() {
    // 12-second tokens: the refresh window is their second half (6 s), long enough that
    // all 220 callers finish inside one window even on a loaded machine. Expiry is kept
    // in whole seconds, so the window has surely opened 7 s after connecting.
    let w = connected("rf-single", 12);
    std::thread::sleep(Duration::from_millis(7300));
    post(&format!("{}/_test/reset-stats", w.server.issuer));

    let vault = w.unlocked();
    let vault = Arc::new(Mutex::new(vault));
    let refresher = Arc::new(Refresher::new(
        Http::new(),
        Policy::default(),
        w.env.data_dir(),
    ));
    let start = Arc::new(Barrier::new(201));
    let threads: Vec<_> = (0..200)
        .map(|_| {
            let (vault, refresher, start) = (vault.clone(), refresher.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                let t = refresher
                    .access_token(&vault, &"r".parse().unwrap(), Duration::ZERO)
                    .unwrap();
                t.token.expose_secret().to_string()
            })
        })
        .collect();
    let procs: Vec<_> = (0..20).map(|_| w.token_cmd("r").spawn().unwrap()).collect();
    start.wait();
    let mut tokens: Vec<String> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    for p in procs {
        let out = deadline::wait_with_output(p, deadline::CLI, "the CLI");
        record(&String::from_utf8_lossy(&out.stderr));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        tokens.push(String::from_utf8_lossy(&out.stdout).trim().to_string());
    }
    let stats = w.server.stats();
    assert_eq!(
        stats["refreshes"], 1,
        "the server saw exactly one refresh: {stats}"
    );
    assert_eq!(stats["refresh_failures"], 0, "{stats}");
    tokens.sort();
    tokens.dedup();
    assert_eq!(tokens.len(), 1, "every caller got the one new token");
    assert!(w.server.active(&tokens[0]));
    let (access, refresh) = w.tokens("r");
    assert_eq!(access, tokens[0], "the vault holds what was handed out");
    assert!(w.server.active(refresh.as_deref().unwrap()));
    assert_secrets_absent(&[&access, refresh.as_deref().unwrap()]);

    // Again, with 20 processes only, racing each other for the refresh lock.
    std::thread::sleep(Duration::from_millis(7300));
    post(&format!("{}/_test/reset-stats", w.server.issuer));
    let procs: Vec<_> = (0..20).map(|_| w.token_cmd("r").spawn().unwrap()).collect();
    let mut tokens: Vec<String> = procs
        .into_iter()
        .map(|p| {
            let out = deadline::wait_with_output(p, deadline::CLI, "the CLI");
            record(&String::from_utf8_lossy(&out.stderr));
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        })
        .collect();
    assert_eq!(w.server.stats()["refreshes"], 1);
    tokens.sort();
    tokens.dedup();
    assert_eq!(tokens.len(), 1);
    assert_ne!(tokens[0], access, "a new token after the second expiry");
    assert!(w.server.active(&tokens[0]));
    w.env.wipe();
}

#[test]
fn invalid_grant_needs_reauthorisation_after_one_attempt() {
    let w = connected("rf-invalid", 60);
    w.rotate_refresh_token_elsewhere("r");
    post(&format!("{}/_test/reset-stats", w.server.issuer));
    let o = w.with_pass(&["refresh", "r"]);
    assert_eq!(o.status.code(), Some(4), "exit code 4: sign in again");
    assert_contains(&stderr(&o), "needs re-authorisation");
    // No retry storm: further requests do not reach the server.
    for _ in 0..3 {
        let o = w.with_pass(&["token", "r", "--min-ttl", "1h"]);
        assert!(stderr(&o).contains("needs re-authorisation"));
    }
    let stats = w.server.stats();
    assert_eq!(stats["refresh_failures"], 1, "exactly one attempt: {stats}");
    let o = w.with_pass(&["list"]);
    assert_contains(&stdout(&o), "needs re-authorisation");
    w.env.wipe();
}

#[test]
fn transient_503_then_success_after_backoff() {
    let w = connected("rf-backoff", 60);
    let (old_access, _) = w.tokens("r");
    post(&format!(
        "{}/_test/fail-token?count=2&status=503",
        w.server.issuer
    ));
    post(&format!("{}/_test/reset-stats", w.server.issuer));
    let t = Instant::now();
    let o = w.with_pass(&["refresh", "r"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Two backoffs: at least 0.5 s + 1 s.
    assert!(
        t.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );
    let stats = w.server.stats();
    assert_eq!(stats["injected_failures"], 2, "{stats}");
    assert_eq!(stats["refreshes"], 1, "{stats}");
    let (access, _) = w.tokens("r");
    assert_ne!(access, old_access);
    assert!(w.server.active(&access));
    w.env.wipe();
}

#[test]
fn refresher_killed_between_answer_and_write_is_reported_not_silent() {
    use std::io::{BufRead, BufReader};
    let w = connected("rf-kill", 60);
    post(&format!("{}/_test/reset-stats", w.server.issuer));
    // The named fault point: the marker is written, the provider answered, nothing else
    // is written yet.
    let mut c = w.env.cmd();
    c.args(["refresh", "r", "--passphrase-file", path_str(&w.pass_file)])
        .env("TOKEN_WALLET_FAULT_PAUSE_AT", "refresh-answered")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let _watchdog = deadline::Watchdog::new(&child, deadline::CLI, "refresh paused at a fault");
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while err.read_line(&mut line).unwrap() > 0 && !line.contains("fault point") {
        line.clear();
    }
    assert!(
        line.contains("fault point"),
        "the refresher did not reach the fault point"
    );
    child.kill().unwrap(); // SIGKILL while holding the refresh lock
    deadline::wait(&mut child, deadline::CLI, "the CLI");
    assert_eq!(
        w.server.stats()["refreshes"],
        1,
        "the provider rotated the tokens"
    );
    // Until the next refresh finds out, `list` says the refresh was interrupted (not
    // plain "active").
    let o = w.with_pass(&["list"]);
    assert_contains(&stdout(&o), "refresh interrupted");
    // The next caller is not blocked by the dead process's lock, and does not reuse the
    // rotated-away refresh token: it reports the connection needs re-authorisation.
    let t = Instant::now();
    let o = w.with_pass(&["refresh", "r"]);
    assert!(t.elapsed() < Duration::from_secs(10));
    assert_eq!(
        o.status.code(),
        Some(4),
        "exit code 4: needs re-authorisation"
    );
    assert_contains(&stderr(&o), "interrupted");
    let stats = w.server.stats();
    assert_eq!(
        stats["refresh_failures"], 0,
        "the old refresh token was not reused: {stats}"
    );
    let mut v = w.unlocked();
    let c = connection::load(&mut v, &"r".parse().unwrap()).unwrap();
    assert!(matches!(
        c.info.status,
        connection::Status::NeedsReauthorisation { .. }
    ));
    // ... with an audit event, never silently broken.
    let o = w.cli(&["audit", "--json"], &[], "");
    assert_contains(&stdout(&o), "\"class\":\"interrupted\"");
    w.env.wipe();
}

/// Worker for `reuse_never_happens_over_10000_requests`: run as a child process of the
/// test binary itself (`TW_HAMMER=1`), it asks for `TW_HAMMER_REQUESTS` tokens from
/// `TW_HAMMER_THREADS` threads through one refresher and prints how many it got.
#[test]
fn hammer_worker() {
    if std::env::var("TW_HAMMER").is_err() {
        return;
    }
    let home = std::env::var("TOKEN_WALLET_HOME").unwrap();
    let profile = std::env::var("TOKEN_WALLET_PROFILE").unwrap();
    let requests: usize = std::env::var("TW_HAMMER_REQUESTS")
        .unwrap()
        .parse()
        .unwrap();
    let threads: usize = std::env::var("TW_HAMMER_THREADS").unwrap().parse().unwrap();
    let mut o = token_wallet_core::KeystoreOptions::os();
    o.chunk_cap = CAP;
    let data_dir = std::path::Path::new(&home).join(&profile);
    let p = token_wallet_core::Profile::new(&profile).unwrap();
    let v = token_wallet_core::open_vault(&p, &o, &data_dir).unwrap();
    let v = Arc::new(Mutex::new(
        v.unlock(&Passphrase::new(PASS.into()).unwrap()).unwrap(),
    ));
    let r = Arc::new(Refresher::new(Http::new(), Policy::default(), data_dir));
    let per = requests / threads;
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (v, r) = (v.clone(), r.clone());
            std::thread::spawn(move || {
                let mut refreshed = 0;
                for _ in 0..per {
                    let t = r
                        .access_token(&v, &"r".parse().unwrap(), Duration::ZERO)
                        .expect("a token");
                    refreshed += t.refreshed as usize;
                }
                refreshed
            })
        })
        .collect();
    let refreshed: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    println!("HAMMER-DONE {} {refreshed}", per * threads);
}

#[test]
fn reuse_never_happens_over_10000_requests() {
    // 2-second access tokens: a refresh about every second, from whichever process wins.
    let w = connected("rf-10k", 2);
    post(&format!("{}/_test/reset-stats", w.server.issuer));
    let me = std::env::current_exe().unwrap();
    let t = Instant::now();
    let procs: Vec<_> = (0..5)
        .map(|_| {
            Command::new(&me)
                .args([
                    "--exact",
                    "hammer_worker",
                    "--nocapture",
                    "--test-threads",
                    "1",
                ])
                .env("TW_HAMMER", "1")
                .env("TW_HAMMER_REQUESTS", "2000")
                .env("TW_HAMMER_THREADS", "4")
                .env("TOKEN_WALLET_HOME", w.env.home.path())
                .env("TOKEN_WALLET_PROFILE", &w.env.profile)
                .env_remove("TOKEN_WALLET_LOG")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut total = 0;
    let mut refreshed = 0;
    for p in procs {
        let out = deadline::wait_with_output(p, deadline::CLI, "the CLI");
        let s = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{s}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = s
            .lines()
            .find(|l| l.contains("HAMMER-DONE"))
            .unwrap_or_else(|| panic!("worker did not finish: {s}"));
        let line = &line[line.find("HAMMER-DONE").unwrap()..];
        let mut it = line.split_whitespace().skip(1);
        total += it.next().unwrap().parse::<usize>().unwrap();
        refreshed += it.next().unwrap().parse::<usize>().unwrap();
    }
    let elapsed = t.elapsed();
    let stats = w.server.stats();
    println!("10k: {total} requests in {elapsed:?}, {refreshed} refreshes by the wallet; server: {stats}");
    assert_eq!(total, 10_000);
    assert_eq!(
        stats["refresh_failures"], 0,
        "no refresh failed (no reuse): {stats}"
    );
    assert_eq!(
        stats["revoked_grants"], 0,
        "the grant was never revoked: {stats}"
    );
    assert_eq!(
        stats["refreshes"].as_u64().unwrap() as usize,
        refreshed,
        "one server refresh per wallet refresh"
    );
    assert!(
        refreshed >= 2,
        "the run spanned several expiries ({refreshed} refreshes)"
    );
    let (access, refresh) = w.tokens("r");
    assert!(
        w.server.active(refresh.as_deref().unwrap()),
        "the grant is alive"
    );
    assert!(w.server.active(&access) || elapsed > Duration::from_secs(1));
    w.env.wipe();
}

#[test]
fn a_save_killed_at_every_step_leaves_the_list_agreeing_with_the_record() {
    use std::io::{BufRead, BufReader};
    // `token` without an agent remembers the export on the record: one save (the record
    // under a new id, the index naming it with its summary, the old entry deleted).
    // Killed after each of those steps, the summary `list` reads must be the record's.
    let w = connected("rf-save-kill", 3600);
    let name: connection::ConnectionName = "r".parse().unwrap();
    let (mut finished, mut kills) = (false, 0);
    for n in 1..=12u32 {
        // Unexported, so that this run writes the export time (it is kept to the minute).
        connection::update(&mut w.unlocked(), &name, |c| {
            c.info.last_export = None;
            Ok::<_, token_wallet_core::VaultError>(())
        })
        .unwrap();
        let mut c = w.token_cmd("r");
        c.arg("--no-agent")
            .env("TOKEN_WALLET_FAULT_PAUSE_AT", n.to_string())
            .stdout(Stdio::null());
        let mut child = c.spawn().unwrap();
        let _watchdog = deadline::Watchdog::new(&child, deadline::CLI, "token paused at a fault");
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        let mut paused = false;
        while err.read_line(&mut line).unwrap() > 0 {
            if line.contains("fault point") {
                paused = true;
                break;
            }
            line.clear();
        }
        if paused {
            child.kill().unwrap();
            kills += 1;
        }
        let status = deadline::wait(&mut child, deadline::CLI, "the CLI");
        let mut v = w.unlocked();
        let listed = connection::list(&mut v).unwrap();
        assert_eq!(listed.len(), 1, "after a kill at step {n}");
        let stored = connection::load(&mut v, &name).unwrap().info;
        assert_eq!(listed[0], stored, "after a kill at step {n}");
        if !paused {
            assert!(status.success(), "step {n}: the CLI failed");
            assert!(stored.last_export.is_some(), "the finished run's export");
            finished = true;
            break;
        }
    }
    assert!(finished, "the save never finished within 12 fault points");
    // The record, the index, the old record's deletion at least.
    assert!(kills >= 3, "killed at only {kills} steps");
    eprintln!("killed at {kills} steps, then finished");
    w.env.wipe();
}
