//! One refresh across machines on a vault shared through a real OpenBao (a dev server
//! started by the test): five "machines", each its own data directory (so its own file
//! locks, which hold on one machine only), ask for the same expiring connection at once,
//! against the real OAuth server (rotating refresh tokens; reuse revokes the grant).
//! Exactly one refresh reaches the server; every caller gets the one new token. The vault
//! unlocks by identity (its data key wrapped by an OpenBao Transit key): no passphrase is
//! asked anywhere, and the agent unlocks with its identity too. Its refresh tokens are
//! sealed for refreshers: a consumer identity (the shipped `consumer.hcl` policy) gets
//! live access tokens kept fresh by a refresher's agent, never reads a refresh token, is
//! refused a refresh by the wallet and the refresher key and every write by OpenBao, and
//! says plainly when no refresher is running.
#![cfg(unix)]

mod common;

use common::agent::AgentProc;
use common::oauth::*;
use common::*;
use std::time::Duration;
use token_wallet_core::connection::{self, ConnectionName};
use token_wallet_core::{open_vault, Profile, UnlockedVault};
use token_wallet_test_support::bao::Bao;

fn policy(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/openbao-policies")
        .join(name)
}

/// The vault of `w`, unlocked here with OpenBao token `token`.
fn open_as(bao: &Bao, w: &World, token: &str) -> UnlockedVault {
    let o = bao_options(&bao.addr, token);
    let dir = tempfile::tempdir().unwrap();
    let p = Profile::new(&w.env.profile).unwrap();
    open_vault(&p, &o, dir.path())
        .unwrap()
        .unlock_by_identity()
        .unwrap()
}

const MACHINES: usize = 5;
const CALLS_PER_MACHINE: usize = 8;

#[test]
fn one_refresh_across_five_machines_sharing_an_openbao_vault() {
    let bao = Bao::start();
    use_openbao(&bao.addr, "root");
    bao.transit_key("token-wallet");
    bao.root(&["write", "-f", "transit/keys/token-wallet-refresher"]);
    bao.policy("tw-consumer", &policy("consumer.hcl"));
    let consumer_token = bao.token_with(&["tw-consumer"]);
    // 12-second tokens: the refresh window is their second half.
    let w = World::with_init(
        "bao-refresh",
        12,
        Some(&[
            "--unlock",
            "transit:token-wallet",
            "--refresher",
            "transit:token-wallet-refresher",
        ]),
    );
    let o = w.connect("r", "local", &[], &[], "");
    assert!(o.status.success(), "connect: {}", stderr(&o));
    let machines: Vec<Env> = (0..MACHINES)
        .map(|i| {
            let mut m = Env::new(&format!("bao-m{i}"));
            m.profile = w.env.profile.clone(); // the same vault: the same OpenBao entries
            m
        })
        .collect();
    // No passphrase anywhere: none given, none asked for (stdin is empty).
    let status = machines[1].run(&["status", "--unlock"], "");
    assert!(status.status.success(), "{}", stderr(&status));
    assert_contains(&stdout(&status), "store:       openbao");
    assert_contains(
        &stdout(&status),
        "unlock:      by OpenBao identity (Transit key transit/token-wallet); no passphrase",
    );
    assert_contains(
        &stdout(&status),
        "refresh:     refresh tokens sealed for refreshers (transit:transit/token-wallet-refresher)",
    );
    let passwd = machines[1].run(&["passwd"], "");
    assert!(!passwd.status.success());
    assert_contains(&stderr(&passwd), "this vault has no passphrase");

    for round in 0..2 {
        std::thread::sleep(Duration::from_millis(7300));
        w.token_storm("r", &machines, CALLS_PER_MACHINE, &[], round, || {});
    }

    // Each machine keeps its own audit log, anchored in the shared vault under its own
    // name: every machine's verifies.
    for m in &machines[..3] {
        let o = m.run(&["audit", "verify"], "");
        assert!(o.status.success(), "{}", stderr(&o));
        assert_contains(&stdout(&o), "audit log OK");
    }

    // An agent unlocks with its identity, and again after a lock.
    let agent = AgentProc::start(&w, &[]);
    for _ in 0..2 {
        let o = w.cli(&["token", "r"], &[], "");
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(w.cli(&["lock"], &[], "").status.success());
        let o = w.cli(&["agent", "unlock"], &[], "");
        assert!(o.status.success(), "{}", stderr(&o));
    }
    agent.stop(&w);

    consumer(&bao, &w, &consumer_token);
    dead_machine(&bao, &w, &machines);
}

/// A machine died mid-refresh: its marker, set 112 s ago, outlives the 120-s lease while
/// another machine waits on it; that machine then takes over by the rule for an
/// interrupted refresh (the refresh token may have been sent, so the connection needs
/// re-authorisation), and sends nothing.
fn dead_machine(bao: &Bao, w: &World, machines: &[Env]) {
    let name = ConnectionName::new("r").unwrap();
    connection::update(&mut open_as(bao, w, "root"), &name, |c| {
        c.info.refreshing_since = Some(connection::now() - 112);
        Ok::<_, token_wallet_core::VaultError>(())
    })
    .unwrap();
    let before = w.server.stats()["refreshes"].clone();
    let started = std::time::Instant::now();
    let o = machines[2].run(&["token", "r", "--no-agent"], "");
    assert!(!o.status.success());
    assert_contains(&stderr(&o), "needs re-authorisation");
    assert_contains(&stderr(&o), "interrupted after the request was sent");
    assert!(
        started.elapsed() >= Duration::from_secs(5),
        "it waited for the lease to run out: {:?}",
        started.elapsed()
    );
    assert_eq!(w.server.stats()["refreshes"], before, "nothing sent");
    let list = machines[3].run(&["list"], "");
    assert_contains(&stdout(&list), "re-auth");
}

/// A consumer: access tokens, never a refresh token; a refresher's agent keeps them fresh.
fn consumer(bao: &Bao, w: &World, token: &str) {
    let mut c = Env::new("bao-consumer");
    c.profile = w.env.profile.clone();
    // Its settings from the team vault's settings file, not the environment: the address,
    // and the file that holds its token.
    let token_file = c.pass_file("bao-token", token);
    let settings = c.home.path().join("openbao.toml");
    std::fs::write(
        &settings,
        format!(
            "addr = \"{}\"\ntoken_file = \"{}\"\n",
            bao.addr,
            token_file.display()
        ),
    )
    .unwrap();
    let as_consumer = |args: &[&str]| {
        let mut cmd = c.cmd();
        cmd.args(args)
            .env_remove("BAO_ADDR")
            .env_remove("BAO_TOKEN")
            .env("TOKEN_WALLET_BAO_CONFIG", &settings);
        run_recorded(&mut cmd, "")
    };
    let status = as_consumer(&["status", "--unlock"]);
    assert!(status.status.success(), "{}", stderr(&status));
    assert_contains(&stdout(&status), "this identity may only consume");

    // What the consumer decrypts holds no refresh token; a refresher's view does.
    let name = ConnectionName::new("r").unwrap();
    let mut mine = open_as(bao, w, token);
    assert!(mine.consume_only());
    let seen = connection::load(&mut mine, &name).unwrap();
    assert!(seen.secrets.refresh_token.is_none() && seen.secrets.sealed.is_some());
    let refresher = connection::load(&mut open_as(bao, w, "root"), &name).unwrap();
    let refresh_token = refresher.secrets.refresh_token.clone().unwrap();
    // The lease's last holder is named (this machine's host name), for consumers to see.
    assert!(refresher
        .info
        .refreshed_by
        .as_deref()
        .is_some_and(|h| !h.is_empty()));
    let plain = mine.get("c.r").unwrap();
    assert_absent_in(
        &String::from_utf8_lossy(secrecy::ExposeSecret::expose_secret(&plain)),
        &[&refresh_token],
        "the record as the consumer decrypts it",
    );
    // OpenBao refuses it the refresher key and every write; the wallet refuses a refresh.
    let e = bao
        .cli(
            &[
                "write",
                "transit/decrypt/token-wallet-refresher",
                "ciphertext=vault:v1:AAAA",
            ],
            token,
        )
        .unwrap_err();
    assert_contains(&e, "permission denied");
    let e = bao
        .cli(&["kv", "put", "secret/token-wallet/x", "value=y"], token)
        .unwrap_err();
    assert_contains(&e, "permission denied");
    let refresh = as_consumer(&["refresh", "r", "--no-agent"]);
    assert!(!refresh.status.success());
    assert_contains(&stderr(&refresh), "only a refresher may refresh");

    // A refresher's agent renews the token ahead of expiry; the consumer always gets a
    // live one, across two lifetimes, and sends nothing to the provider.
    let agent = AgentProc::start(w, &[]);
    let mut seen_tokens = Vec::new();
    for _ in 0..3 {
        let o = as_consumer(&["token", "r", "--no-agent"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let t = stdout(&o).trim().to_string();
        assert!(w.server.active(&t), "a live token");
        seen_tokens.push(t);
        std::thread::sleep(Duration::from_secs(9));
    }
    seen_tokens.dedup();
    assert!(seen_tokens.len() >= 2, "renewed by the refresher");
    agent.stop(w);
    assert_eq!(w.server.stats()["revoked_grants"], 0);

    // No refresher: once the token has expired, the consumer says so.
    std::thread::sleep(Duration::from_secs(13));
    let o = as_consumer(&["token", "r", "--no-agent"]);
    assert!(!o.status.success());
    assert_contains(&stderr(&o), "this identity may only consume it");
    assert_contains(&stderr(&o), "no refresher");
    assert!(
        !stderr(&o).contains("could not anchor"),
        "a consumer writes nothing: {}",
        stderr(&o)
    );
    assert_absent_in(&stderr(&o), &[&refresh_token], "the consumer's error");
}
