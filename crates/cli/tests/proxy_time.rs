//! The proxy over 30 minutes of fake time with access tokens of 20 s: 1,000 requests from
//! a client that never holds a token all succeed, the token kept fresh by the agent's one
//! session in the background. The test server's clock and the wallet's (debug builds) are
//! both moved by one file (`CLOCK_FILE`, `TOKEN_WALLET_TEST_CLOCK_FILE`), 1.8 s per
//! request. Counted at the server: every refresh; every token the API was called with.
//! Counted by the proxy: requests that had to wait for a token (a refresh on a request's
//! path): none.
#![cfg(unix)]

mod common;

use common::agent::AgentProc;
use common::oauth::*;
use common::proxy::*;
use common::*;
use std::time::Duration;

const REQUESTS: u64 = 1000;
const TTL: u64 = 20;

/// Moves both clocks to `secs`: the file is replaced whole (written beside it, then
/// renamed over it), never truncated and rewritten in place, where a reader in between
/// reads nothing (an offset of 0: the server once issued a token already 400 s expired)
/// or a part of the number.
fn set_clock(path: &std::path::Path, secs: u64) {
    let next = path.with_extension("next");
    std::fs::write(&next, secs.to_string()).unwrap();
    std::fs::rename(&next, path).unwrap();
}

#[test]
fn a_thousand_requests_over_thirty_minutes_never_wait_for_a_refresh() {
    let clock = tempfile::NamedTempFile::new().unwrap();
    set_clock(clock.path(), 0);
    // Process-wide, before anything starts: this file's only test.
    std::env::set_var("CLOCK_FILE", clock.path());
    std::env::set_var("TOKEN_WALLET_TEST_CLOCK_FILE", clock.path());
    let w = World::connected("ptime", TTL, "r", "local-api");
    let agent = AgentProc::start(&w, &[]);
    // No passphrase: the proxy's tokens come from the agent.
    let p = ProxyProc::start(&w, "r", &["--allow", "GET /v1/expenses*"], false);
    let before = w.server.stats();
    // What the server has seen: refreshes (each a new token issued) and the tokens the API
    // was called with.
    let counts = || {
        let s = w.server.stats();
        let n = |k: &str| s[k].as_u64().unwrap_or(0);
        (n("refreshes"), n("api_distinct_tokens"))
    };
    let (mut refreshes, mut used) = counts();
    // When the newest token was issued, at the earliest (fake seconds), and the one the
    // proxy uses (the newest, once the API has seen a new one).
    let (mut newest, mut in_use) = (0u64, 0u64);
    let look =
        |before: u64, refreshes: &mut u64, used: &mut u64, in_use: &mut u64, newest: &mut u64| {
            let (r, u) = counts();
            if r != *refreshes {
                *refreshes = r;
                *newest = before;
            }
            if u != *used {
                *used = u;
                *in_use = *newest;
            }
        };
    let (mut held, mut extra) = (0, 0);
    let mut offset_ms: u64 = 0;
    let get = |i: u64, offset_ms: u64, in_use: u64| {
        let a = p.get("/v1/expenses?limit=1");
        assert_eq!(
            a.status,
            200,
            "request {i} at +{} s (the token in use was issued at +{in_use} s or later): {}",
            offset_ms / 1000,
            a.text()
        );
    };
    for i in 0..REQUESTS {
        // Fake time runs about 30 times faster than real time: a refresh in flight while
        // the clock moves would give the wallet and the server different expiries. So once
        // the token in use is due (less than half its life left: the proxy's nudge or tick
        // starts its refresh in the background), the clock stands still, requests going
        // on, until the API is called with a token issued since. The test waits for the
        // background; no request does (the proxy counts any that did).
        let offset = offset_ms / 1000;
        if offset + TTL / 2 > in_use + TTL {
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            while offset + TTL / 2 > in_use + TTL {
                assert!(
                    std::time::Instant::now() < deadline,
                    "no new token in use by +{offset} s (the one in use was issued at +{in_use} s)"
                );
                get(i, offset_ms, in_use);
                extra += 1;
                look(offset, &mut refreshes, &mut used, &mut in_use, &mut newest);
                std::thread::sleep(Duration::from_millis(10));
            }
            held += 1;
        }
        offset_ms += 1800;
        set_clock(clock.path(), offset_ms / 1000);
        get(i, offset_ms, in_use);
        // A refresh seen now happened after the clock read `offset` at the earliest.
        look(offset, &mut refreshes, &mut used, &mut in_use, &mut newest);
        std::thread::sleep(Duration::from_millis(30));
    }
    eprintln!("time stood still {held} times ({extra} more requests meanwhile) for a background refresh to land");
    let after = w.server.stats();
    let log = p.stop();
    drop(agent);
    let n = |v: &serde_json::Value, k: &str| v[k].as_u64().unwrap_or(0);
    let refreshes = n(&after, "refreshes") - n(&before, "refreshes");
    let tokens_used = n(&after, "api_distinct_tokens");
    let fake_secs = offset_ms / 1000;
    eprintln!(
        "{REQUESTS} requests over {fake_secs} s of fake time: {refreshes} refreshes, {tokens_used} tokens used; proxy: {}",
        log.lines().find(|l| l.contains("proxy stopped")).unwrap_or("")
    );
    assert_eq!(
        n(&after, "api_calls") - n(&before, "api_calls"),
        REQUESTS + extra
    );
    assert_contains(&log, " 0 waited for a token");
    assert_eq!(n(&after, "refresh_failures"), 0);
    // The policy refreshes a token this short at half its life: one refresh per 10 s of
    // fake time, give or take the sweep, never one per request.
    let per_half_life = fake_secs / (TTL / 2);
    assert!(
        refreshes >= fake_secs / TTL && refreshes <= per_half_life + 2,
        "{refreshes} refreshes over {fake_secs} s"
    );
    // Every token the API saw came from a refresh (plus the first), and every refreshed
    // token was used (none was thrown away by a second, racing refresh).
    assert!(
        tokens_used <= refreshes + 1 && tokens_used + 2 >= refreshes,
        "{tokens_used} tokens used, {refreshes} refreshes"
    );
}
