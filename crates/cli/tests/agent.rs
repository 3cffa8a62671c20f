//! The agent end to end: the real `token-wallet agent` process, the real Secret Service
//! and the real OAuth server. Tokens through the agent, lock and idle lock, a long list,
//! and the CLI without an agent. The socket's modes and hostile clients are in
//! `agent_socket.rs`, refreshes at expiry and ahead of it in `agent_refresh.rs`.

#![cfg(unix)]
mod common;

use common::agent::*;
use common::oauth::*;
use common::*;
use std::io::Write;
use std::process::Stdio;
use std::time::Duration;
use token_wallet_core::connection;

#[test]
fn tokens_through_the_agent_refresh_exec_env_list_lock_and_unlock() {
    let w = World::connected("agent", 60, "a", "local");
    let (access, refresh) = w.tokens("a");
    let refresh = refresh.unwrap();
    // Refreshes counted here are the requests' own: none in the background.
    let agent = AgentProc::start(&w, &["--refresh-ahead", "0"]);

    // `status` without --unlock: the running agent answers; the vault is not "locked".
    let o = w.cli(&["status"], &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stdout(&o), "the running agent holds the vault unlocked");
    assert_contains(&stdout(&o), "connections: 1");
    assert!(
        !stdout(&o).contains("locked; pass --unlock"),
        "{}",
        stdout(&o)
    );

    // No passphrase anywhere: the agent answers.
    let o = w.cli(&["token", "a"], &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), access);
    assert!(w.server.active(&access));
    let o = w.cli(&["token", "a", "--format", "json"], &[], "");
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["access_token"], access.as_str());
    assert_eq!(j["token_type"], "Bearer");
    assert!(j["expires_at"].as_str().unwrap().ends_with('Z'));
    assert!(j.get("refresh_token").is_none());

    // `refresh` through the agent (no passphrase): exactly one refresh, persisted, and
    // the next token is the new one, live.
    http()
        .post(format!("{}/_test/reset-stats", w.server.issuer))
        .send_empty()
        .unwrap();
    let o = w.cli(&["refresh", "a"], &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stdout(&o), "refreshed `a`");
    let o = w.cli(&["token", "a"], &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    let fresh = stdout(&o).trim().to_string();
    assert_ne!(fresh, access);
    assert!(w.server.active(&fresh));
    assert_eq!(w.server.stats()["refreshes"], 1);
    let (stored, refresh2) = w.tokens("a");
    assert_eq!(stored, fresh);
    // Next time it comes from the agent's memory, without another refresh.
    assert_eq!(stdout(&w.cli(&["token", "a"], &[], "")).trim(), fresh);
    assert_eq!(w.server.stats()["refreshes"], 1);

    let o = w.cli(&["env", "a", "--var", "MY_TOKEN"], &[], "");
    assert_eq!(stdout(&o).trim(), format!("export MY_TOKEN='{fresh}'"));

    let seen = w.env.home.path().join("seen");
    let o = w.cli(
        &[
            "exec",
            "a",
            "--",
            "sh",
            "-c",
            "printf %s \"$ACCESS_TOKEN\" > \"$SEEN\"; exit 7",
        ],
        &[("SEEN", path_str(&seen))],
        "",
    );
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    // exec asks for 5 minutes by default: more than these 60-second tokens have, so it
    // refreshed; the token it passed is the one now stored, and live.
    let fresh = std::fs::read_to_string(&seen).unwrap();
    assert!(w.server.active(&fresh));
    assert_eq!(w.tokens("a").0, fresh);

    let o = w.cli(&["list", "--json"], &[], "");
    let l: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(l[0]["name"], "a");
    assert!(!stdout(&o).contains(&fresh));

    let o = w.cli(&["agent", "status", "--json"], &[], "");
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["unlocked"], true);
    assert_eq!(s["connections"], 1);

    // Exports are audited with the client (token-wallet) and its parent (this test).
    let exports: Vec<serde_json::Value> = audit_log(&w)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["event"] == "export" && l.get("parent_pid").is_some())
        .collect();
    assert!(exports.len() >= 5, "{exports:?}");
    assert!(exports[0]["process"]
        .as_str()
        .unwrap()
        .ends_with("token-wallet"));
    assert_eq!(exports[0]["parent_pid"], std::process::id());

    // Locked: "locked", exit code 3, no token.
    let o = w.cli(&["lock"], &[], "");
    assert!(o.status.success());
    let o = w.cli(&["token", "a"], &[], "");
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("locked"));
    assert!(stdout(&o).is_empty());
    assert_eq!(w.cli(&["agent", "status"], &[], "").status.code(), Some(3));
    // A passphrase given to the command unlocks it alone.
    let o = w.with_pass(&["token", "a"]);
    assert_eq!(stdout(&o).trim(), fresh);
    // A wrong passphrase does not unlock the agent; the right one does.
    let bad = w.env.pass_file("bad", "not-the-passphrase");
    let o = w.cli(
        &["agent", "unlock", "--passphrase-file", path_str(&bad)],
        &[],
        "",
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("wrong passphrase"));
    let o = w.with_pass(&["agent", "unlock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&w.cli(&["token", "a"], &[], "")).trim(), fresh);
    // `show` asks the agent too: no passphrase, nothing on stdin.
    let o = w.cli(&["show", "a"], &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stdout(&o), "name:        a");
    // So does `status --unlock`.
    let o = w.cli(&["status", "--unlock"], &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stdout(&o), "connections: 1");
    assert_contains(&stdout(&o), "the running agent holds the vault unlocked");
    // One unlock for everything: `check` and `disconnect` are served by the agent too
    // (nothing on stdin, no passphrase anywhere), audited there.
    let o = w.cli(&["check", "a"], &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stdout(&o), "`a` is accepted by");
    let o = w.cli(&["disconnect", "a"], &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stdout(&o), "disconnected `a`");
    assert!(!w.server.active(&fresh), "revoked at the provider");
    let o = w.cli(&["list", "--json"], &[], "");
    assert_eq!(stdout(&o).trim(), "[]", "{}", stderr(&o));
    assert_contains(&audit_log(&w), "\"checked\"");
    assert_contains(&audit_log(&w), "\"disconnected\"");

    let log = agent.stop(&w);
    assert!(log.contains("agent listening"), "{log}");
    // Right after `stop`: "not running", in JSON too, never a socket error.
    let o = w.cli(&["agent", "status", "--json"], &[], "");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["running"], false);
    assert_contains(&stderr(&o), "no agent is running");
    // No token in the agent's own (trace-level) log or in the audit log; no refresh
    // token in anything any command printed.
    let all = [access.as_str(), fresh.as_str(), refresh.as_str()];
    assert_absent_in(&log, &all, "the agent's log");
    assert_absent_in(&audit_log(&w), &all, "the audit log");
    assert_secrets_absent(&[refresh.as_str(), refresh2.as_deref().unwrap()]);
    w.env.wipe();
}

#[test]
fn idle_timeout_locks_the_agent() {
    let w = World::connected("agent-idle", 60, "a", "local");
    let (access, _) = w.tokens("a");
    let agent = AgentProc::start(&w, &["--idle-timeout", "2s"]);
    assert_eq!(stdout(&w.cli(&["token", "a"], &[], "")).trim(), access);
    std::thread::sleep(Duration::from_millis(3500));
    let o = w.cli(&["token", "a"], &[], "");
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    let log = agent.stop(&w);
    assert!(log.contains("idle: locking"), "{log}");
    assert_absent_in(&log, &[access.as_str()], "the agent's log");
    assert!(audit_log(&w).contains("\"vault_locked\""));
    w.env.wipe();
}

#[test]
fn without_an_agent_commands_unlock_themselves_and_take_the_refresh_lock() {
    let w = World::connected("agent-none", 60, "a", "local");
    let (access, _) = w.tokens("a");
    let pass = format!("{PASS}\n");
    // No agent: with a passphrase on stdin it works; without one it cannot prompt.
    let o = w.cli(&["token", "a", "--passphrase-stdin"], &[], &pass);
    assert_eq!(stdout(&o).trim(), access, "{}", stderr(&o));
    let o = w.cli(&["env", "a", "--passphrase-stdin"], &[], &pass);
    assert_eq!(stdout(&o).trim(), format!("export ACCESS_TOKEN='{access}'"));
    let o = w.cli(
        &[
            "exec",
            "a",
            "--passphrase-stdin",
            "--",
            "sh",
            "-c",
            "test -n \"$ACCESS_TOKEN\" && exit 9",
        ],
        &[],
        &pass,
    );
    assert_eq!(o.status.code(), Some(9));

    // While another holds the connection's refresh lock, a refresh here waits.
    http()
        .post(format!("{}/_test/reset-stats", w.server.issuer))
        .send_empty()
        .unwrap();
    let key = token_wallet_core::audit::name_key(&mut w.unlocked()).unwrap();
    let held = token_wallet_core::lock::VaultLock::acquire(
        &token_wallet_core::lock::refresh_lock_path(&w.env.data_dir(), &key, "a"),
    )
    .unwrap();
    let mut c = w.env.cmd();
    c.args(["refresh", "a", "--passphrase-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(pass.as_bytes())
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "refresh did not wait for the refresh lock"
    );
    assert_eq!(w.server.stats()["refreshes"], 0);
    drop(held);
    let o = deadline::wait_with_output(child, deadline::CLI, "the CLI");
    record(&String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("refreshed `a`"));
    let fresh = w.tokens("a").0;
    assert_ne!(fresh, access);
    assert!(w.server.active(&fresh));
    assert_eq!(w.server.stats()["refreshes"], 1);
    w.env.wipe();
}

#[test]
fn a_long_list_comes_through_the_agent() {
    // A hundred and twenty connections make a `list` reply of about 100 KB, over a
    // request's 64 KiB frame limit (which once refused it as "request too large").
    let w = World::connected("agent-big-list", 600, "a", "local");
    {
        let mut v = w.unlocked();
        let a = connection::load(&mut v, &"a".parse().unwrap()).unwrap();
        for i in 0..119 {
            let mut c = connection::Connection {
                info: a.info.clone(),
                secrets: connection::Secrets {
                    access_token: format!("copy-{i}"),
                    refresh_token: None,
                    client_secret: None,
                    sealed: None,
                },
            };
            c.info.name = format!("copy-{i:03}").parse().unwrap();
            connection::create(&mut v, &c).unwrap();
        }
    }
    let agent = AgentProc::start(&w, &[]);
    let o = w.cli(&["list", "--json"], &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    let listed: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let n = listed.as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(n, 120, "every connection listed through the agent");
    assert!(
        stdout(&o).len() > 64 * 1024,
        "the reply is over a request's limit"
    );
    agent.stop(&w);
    w.env.wipe();
}
