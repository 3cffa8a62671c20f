//! One refresh across machines on a vault shared through a real OpenBao (a dev server
//! started by the test): five "machines", each its own data directory (so its own file
//! locks, which hold on one machine only), ask for the same expiring connection at once,
//! against the real OAuth server (rotating refresh tokens; reuse revokes the grant).
//! Exactly one refresh reaches the server; every caller gets the one new token.
#![cfg(unix)]

mod common;

use common::oauth::*;
use common::*;
use std::process::Stdio;
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
    // 12-second tokens: the refresh window is their second half.
    let w = World::connected("bao-refresh", 12, "r", "local");
    let machines: Vec<Env> = (0..MACHINES)
        .map(|i| {
            let mut m = Env::new(&format!("bao-m{i}"));
            m.profile = w.env.profile.clone(); // the same vault: the same OpenBao entries
            m
        })
        .collect();
    let status = machines[1].run(&["status", "--passphrase-file", path_str(&w.pass_file)], "");
    assert!(status.status.success(), "{}", stderr(&status));
    assert_contains(&stdout(&status), "store:       openbao");

    for round in 0..2 {
        std::thread::sleep(Duration::from_millis(7300));
        http()
            .post(format!("{}/_test/reset-stats", w.server.issuer))
            .send_empty()
            .unwrap();
        let calls: Vec<_> = machines
            .iter()
            .flat_map(|m| (0..CALLS_PER_MACHINE).map(move |_| m))
            .map(|m| {
                m.cmd()
                    .args([
                        "token",
                        "r",
                        "--no-agent",
                        "--passphrase-file",
                        path_str(&w.pass_file),
                    ])
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut tokens: Vec<String> = calls
            .into_iter()
            .map(|p| {
                let out = deadline::wait_with_output(p, deadline::CLI, "the CLI");
                record(&String::from_utf8_lossy(&out.stderr));
                assert!(out.status.success(), "round {round}: {}", stderr(&out));
                stdout(&out).trim().to_string()
            })
            .collect();
        let stats = w.server.stats();
        assert_eq!(
            stats["refreshes"], 1,
            "round {round}: exactly one refresh: {stats}"
        );
        assert_eq!(stats["refresh_failures"], 0, "round {round}: {stats}");
        assert_eq!(
            stats["revoked_grants"], 0,
            "round {round}: no reuse: {stats}"
        );
        tokens.sort();
        tokens.dedup();
        assert_eq!(
            tokens.len(),
            1,
            "round {round}: every caller got the one new token"
        );
        assert!(
            w.server.active(&tokens[0]),
            "round {round}: the token is live"
        );
    }
}
