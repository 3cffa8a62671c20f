//! Refreshes through the agent end to end: a token at expiry asked from every door is
//! refreshed once and never reused, a year of `min_ttl` forces no refresh per request,
//! and the headless agent refreshes ahead.

#![cfg(unix)]
mod common;

use common::agent::*;
use common::oauth::*;
use common::*;
use std::time::{Duration, Instant};
use token_wallet_core::connection;

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
