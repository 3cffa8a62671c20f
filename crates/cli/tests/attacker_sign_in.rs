//! A local attacker against the sign-in (`tw-attacker`, another user, as `attacker.rs`
//! explains): reading the browser's arguments to sign the victim into their own account,
//! and flooding the sign-in listener with slow connections.
//! Needs root (CI runs as root) to act as those users.

#![cfg(unix)]
mod common;

use common::attacker::*;
use common::oauth::*;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use token_wallet_core::connection;

/// A world-readable copy of the sign-in attacker (`attacks/sign-in-attacker.mjs`) and the
/// browser helper it signs in with, for the attacker's user to run.
fn attacker_scripts() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    chmod(dir.path(), 0o755);
    let attacker = dir.path().join("sign-in-attacker.mjs");
    std::fs::copy(
        repo().join("crates/cli/tests/attacks/sign-in-attacker.mjs"),
        &attacker,
    )
    .unwrap();
    let helper = dir.path().join("browser.mjs");
    std::fs::copy(repo().join("tests/oauth-server/browser.mjs"), &helper).unwrap();
    for f in [&attacker, &helper] {
        chmod(f, 0o644);
    }
    (dir, attacker, helper)
}

/// The attacker's log lines (JSON), read as text.
fn attack_log(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

/// The account-injection attack of the second review: another user polls every process's
/// argv, finds the address the victim's browser was given, requests it first, signs in
/// with their own account and delivers the code. The browser now gets only a private page
/// (`file://` in a 0700 directory) holding the one-time start address: the attacker sees
/// its name and cannot open it, so the victim's connection holds the victim's account.
/// The victim's browser waits a second before it starts, to give the attacker a head start.
#[test]
fn another_user_reading_the_browsers_argv_cannot_sign_the_victim_into_their_own_account() {
    require_root(AS_OTHERS);
    let w = World::new("attack-sign-in");
    let _port = PINNED_PORT.lock().unwrap_or_else(|p| p.into_inner());
    let (_scripts, attacker, helper) = attacker_scripts();
    let (_t, logs) = user_dir(ATTACKER, 0o700);
    let log = logs.join("inject.log");
    let _attack = Kill(
        as_user(ATTACKER, Path::new("/usr/bin/node"))
            .arg(&attacker)
            .args(["inject", path_str(&helper), path_str(&log), "40"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(500));
    let slow = w.env.home.path().join("slow-browser");
    std::fs::write(
        &slow,
        format!(
            "#!/bin/sh\nsleep 1\nexec '{}' \"$1\"\n",
            browser().display()
        ),
    )
    .unwrap();
    chmod(&slow, 0o755);
    let o = w.connect(
        "victim",
        "local-pleo",
        &[],
        &[("BROWSER", path_str(&slow))],
        "",
    );
    let log_text = attack_log(&log);
    assert!(o.status.success(), "{}\nattacker: {log_text}", stderr(&o));
    // The attacker was fast enough to see the browser's argument, and could not read it.
    assert!(
        log_text.contains(r#""seen":"file","read":"EACCES""#),
        "the attacker saw the page's name and was refused: {log_text}"
    );
    assert!(!log_text.contains(r#""read":"ok""#), "{log_text}");
    assert!(!log_text.contains("requested"), "{log_text}");
    assert!(!log_text.contains("signedInAsMallory"), "{log_text}");
    // The connection holds the victim's own company, and the CLI said so.
    let subject = connection::load(&mut w.unlocked(), &"victim".parse().unwrap())
        .unwrap()
        .info
        .check
        .get("subjectURN")
        .cloned();
    assert_eq!(subject.as_deref(), Some(VICTIM_COMPANY));
    assert_contains(&stdout(&o), VICTIM_COMPANY);
    w.env.wipe();
}

/// The test server's company for the default account (the victim's).
const VICTIM_COMPANY: &str = "urn:pleo:company:3f6c1e2a-8d4b-4f7a-9c21-5b0e7d9a4c13";

/// Another user floods the sign-in listener's (pinned, so known) port with 64 slow
/// connections, reopening each as it is cut: the browser's request is still answered and
/// the sign-in completes.
#[test]
fn another_users_flood_of_slow_connections_does_not_crowd_out_the_browser() {
    require_root(AS_OTHERS);
    let w = World::new("attack-flood");
    let _port = PINNED_PORT.lock().unwrap_or_else(|p| p.into_inner());
    let port = 8976; // tw-pinned's registered redirect
    let (_scripts, attacker, _helper) = attacker_scripts();
    let (_t, logs) = user_dir(ATTACKER, 0o700);
    let log = logs.join("flood.log");
    let flood = Kill(
        as_user(ATTACKER, Path::new("/usr/bin/node"))
            .arg(&attacker)
            .args(["flood", &port.to_string(), path_str(&log), "25"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let o = w.connect("flooded", "local-pleo", &[], &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    let (access, _) = w.tokens("flooded");
    assert!(w.server.active(&access));
    drop(flood);
    // The flood was real: connections were cut and reopened while the sign-in ran.
    let log_text = attack_log(&log);
    let opened: u64 = log_text
        .split(r#""opened":"#)
        .filter_map(|s| s.split('}').next()?.parse().ok())
        .max()
        .unwrap_or(0);
    assert!(
        opened > 64,
        "the flood opened {opened} connections: {log_text}"
    );
    w.env.wipe();
}
