//! The team vault on a three-node OpenBao cluster (Raft storage, every node a voter) when
//! its leader dies in the middle of a refresh storm: five "machines" (each its own data
//! directory) ask for the same expiring connection at once, with every node's address;
//! the leader is killed while they run. Still exactly one refresh at the real OAuth server
//! (rotating refresh tokens; reuse revokes the grant), no reuse, every call answered with
//! the one live token; and after the election, the next expiry is refreshed once again.
#![cfg(unix)]

mod common;

use common::oauth::*;
use common::*;
use std::time::Duration;
use token_wallet_test_support::bao::Cluster;

#[test]
fn the_leader_dies_mid_storm_one_refresh_nothing_lost() {
    let mut cluster = Cluster::start();
    // Every CLI this test starts uses the cluster, all its nodes.
    use_openbao(&cluster.addrs.join(","), &cluster.root);
    // 40-second tokens (the refresh window is their second half): what a refresh hands
    // out must outlive an election on a loaded machine. Expiry is kept in whole seconds:
    // 21.5 s in, every caller sees the window open.
    let w = World::connected("bao-raft", 40, "r", "local");
    let machines: Vec<Env> = (0..5)
        .map(|i| {
            let mut m = Env::new(&format!("raft-m{i}"));
            m.profile = w.env.profile.clone();
            m
        })
        .collect();
    for round in 0..2 {
        std::thread::sleep(Duration::from_millis(21_500));
        // Room for an election on a loaded machine: nodes are tried for 30 s.
        w.token_storm(
            "r",
            &machines,
            6,
            &[("TOKEN_WALLET_KEYSTORE_TIMEOUT", "60")],
            round,
            || {
                if round == 0 {
                    std::thread::sleep(Duration::from_millis(150));
                    let leader = cluster.leader().expect("a leader");
                    cluster.kill(leader);
                }
            },
        );
    }
}
