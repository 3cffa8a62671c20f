//! The storm at scale: five "machines" (each its own data directory and its own agent, one
//! real OpenBao, the vault unlocked by identity) × 200 concurrent `token` requests to their
//! agents, all sent after the access token expired and with no refresh ahead of time, so
//! every refresh is on a request's path. Against the real OAuth server (rotating refresh
//! tokens; reuse revokes the grant): exactly one refresh, no reuse, no failure, and every
//! one of the 1,000 answers the one live token.
#![cfg(unix)]

mod common;

use common::agent::ask;
use common::oauth::*;
use common::*;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use token_wallet_test_support::bao::Bao;

const MACHINES: usize = 5;
const CALLS_PER_MACHINE: usize = 200;

/// Starts `token-wallet agent` for machine `m` with no refresh ahead of expiry; waits
/// (30 s at most) until it answers. Returns it and its socket.
fn agent(m: &Env) -> (Child, std::path::PathBuf) {
    let log = std::fs::File::create(m.home.path().join("agent.stderr")).unwrap();
    let mut child = m
        .cmd()
        .args(["agent", "--refresh-ahead", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        let o = m.run(&["agent", "status", "--json"], "");
        if o.status.success() {
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            return (child, v["socket"].as_str().unwrap().into());
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "an agent exited: {}",
            std::fs::read_to_string(m.home.path().join("agent.stderr")).unwrap()
        );
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "an agent did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn two_hundred_calls_to_each_of_five_agents_at_expiry_make_one_refresh() {
    let bao = Bao::start();
    use_openbao(&bao.addr, "root");
    bao.transit_key("token-wallet");
    let w = World::with_init("bao-storm", 15, Some(&["--unlock", "transit:token-wallet"]));
    let o = w.connect("r", "local", &[], &[], "");
    assert!(o.status.success(), "connect: {}", stderr(&o));
    let machines: Vec<Env> = (0..MACHINES)
        .map(|i| {
            let mut m = Env::new(&format!("bao-s{i}"));
            m.profile = w.env.profile.clone();
            m
        })
        .collect();
    let agents: Vec<_> = machines.iter().map(agent).collect();
    let frame: &[u8] = b"{\"v\":1,\"op\":\"token\",\"name\":\"r\",\"min_ttl_secs\":0}\n";
    // Each agent hands out the first token once (cached from then on).
    let first: Vec<_> = agents.iter().map(|(_, s)| ask(s, frame)).collect();
    for r in &first {
        assert_eq!(r["ok"], true, "{r}");
    }
    let expires = first[0]["expires_at"].as_u64().unwrap();
    while token_wallet_core::connection::now() <= expires {
        std::thread::sleep(Duration::from_millis(200));
    }
    http()
        .post(format!("{}/_test/reset-stats", w.server.issuer))
        .send_empty()
        .unwrap();

    let started = Instant::now();
    let replies: Vec<serde_json::Value> = std::thread::scope(|s| {
        let calls: Vec<_> = agents
            .iter()
            .flat_map(|(_, sock)| (0..CALLS_PER_MACHINE).map(move |_| sock))
            .map(|sock| s.spawn(move || ask(sock, frame)))
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    });
    eprintln!(
        "{} calls answered in {} ms",
        replies.len(),
        started.elapsed().as_millis()
    );
    let mut tokens: Vec<&str> = replies
        .iter()
        .map(|r| {
            assert_eq!(r["ok"], true, "{r}");
            r["access_token"].as_str().unwrap()
        })
        .collect();
    assert_eq!(tokens.len(), MACHINES * CALLS_PER_MACHINE);
    tokens.sort();
    tokens.dedup();
    assert_eq!(tokens.len(), 1, "every caller got the one new token");
    assert_ne!(tokens[0], first[0]["access_token"].as_str().unwrap());
    assert!(w.server.active(tokens[0]), "a live token");
    let stats = w.server.stats();
    assert_eq!(stats["refreshes"], 1, "exactly one refresh: {stats}");
    assert_eq!(stats["refresh_failures"], 0, "{stats}");
    assert_eq!(stats["revoked_grants"], 0, "no reuse: {stats}");

    for (m, (mut child, _)) in machines.iter().zip(agents) {
        let o = m.run(&["agent", "stop"], "");
        assert!(o.status.success(), "{}", stderr(&o));
        let st = deadline::wait(&mut child, deadline::CLI, "an agent after `agent stop`");
        assert!(st.success(), "agent exit: {st}");
    }
}
