//! One refresh across machines on a vault shared through a real OpenBao (a dev server
//! started by the test): five "machines", each its own data directory (so its own file
//! locks, which hold on one machine only), ask for the same expiring connection at once,
//! against the real OAuth server (rotating refresh tokens; reuse revokes the grant).
//! Exactly one refresh reaches the server; every caller gets the one new token. The vault
//! unlocks by identity (its data key wrapped by an OpenBao Transit key): no passphrase is
//! asked anywhere, and the agent unlocks with its identity too.
#![cfg(unix)]

mod common;

use common::agent::AgentProc;
use common::oauth::*;
use common::*;
use std::time::Duration;
use token_wallet_test_support::bao::Bao;

const MACHINES: usize = 5;
const CALLS_PER_MACHINE: usize = 8;

#[test]
fn one_refresh_across_five_machines_sharing_an_openbao_vault() {
    let bao = Bao::start();
    // Every CLI this test starts (this file's only test) keeps its vault in this OpenBao.
    std::env::set_var("TOKEN_WALLET_STORE", "openbao");
    std::env::set_var("BAO_ADDR", &bao.addr);
    std::env::set_var("BAO_TOKEN", "root");
    std::env::remove_var("BAO_CACERT");
    bao.transit_key("token-wallet");
    // 12-second tokens: the refresh window is their second half.
    let w = World::with_init(
        "bao-refresh",
        12,
        Some(&["--unlock", "transit:token-wallet"]),
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
    let passwd = machines[1].run(&["passwd"], "");
    assert!(!passwd.status.success());
    assert_contains(&stderr(&passwd), "this vault has no passphrase");

    for round in 0..2 {
        std::thread::sleep(Duration::from_millis(7300));
        w.token_storm("r", &machines, CALLS_PER_MACHINE, &[], round, || {});
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
}
