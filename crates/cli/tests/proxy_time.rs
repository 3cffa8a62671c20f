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

#[test]
fn a_thousand_requests_over_thirty_minutes_never_wait_for_a_refresh() {
    let clock = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(clock.path(), "0").unwrap();
    // Process-wide, before anything starts: this file's only test.
    std::env::set_var("CLOCK_FILE", clock.path());
    std::env::set_var("TOKEN_WALLET_TEST_CLOCK_FILE", clock.path());
    let w = World::connected("ptime", TTL, "r", "local-api");
    let agent = AgentProc::start(&w, &[]);
    // No passphrase: the proxy's tokens come from the agent.
    let p = ProxyProc::start(&w, "r", &["--allow", "GET /v1/expenses*"], false);
    let before = w.server.stats();
    let mut offset_ms: u64 = 0;
    for i in 0..REQUESTS {
        offset_ms += 1800;
        std::fs::write(clock.path(), (offset_ms / 1000).to_string()).unwrap();
        let a = p.get("/v1/expenses?limit=1");
        assert_eq!(
            a.status,
            200,
            "request {i} at +{} s: {}",
            offset_ms / 1000,
            a.text()
        );
        std::thread::sleep(Duration::from_millis(60));
    }
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
    assert_eq!(n(&after, "api_calls") - n(&before, "api_calls"), REQUESTS);
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
