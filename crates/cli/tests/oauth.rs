//! Connect and disconnect through the CLI against a real OAuth server (oidc-provider set
//! up like Pleo) with the record in the real Secret Service; re-authorisation; no token,
//! code or secret in any output. Hostile and broken answers are in `oauth_hostile.rs`.

mod common;

use common::oauth::*;
use common::*;
use std::process::Command;
use token_wallet_core::connection;

#[test]
fn connect_list_show_disconnect_with_discovery() {
    let w = World::new("oauth-main");
    let o = w.connect("main", "local", &[], &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stdout(&o), "connected `main` to Local OIDC");

    let o = w.with_pass(&["list", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let list: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    let c = &list[0];
    assert_eq!(c["name"], "main");
    assert_eq!(c["status"]["state"], "active");
    assert_eq!(c["has_refresh_token"], true);
    assert!(c["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s == "users:read"));
    assert!(c["expires_at"].as_u64().unwrap() > connection::now());

    let (access, refresh) = w.tokens("main");
    let refresh = refresh.expect("a refresh token");
    assert!(w.server.active(&access));
    assert!(w.server.active(&refresh));

    let o = w.with_pass(&["show", "main"]);
    assert_contains(&stdout(&o), "held (never exported)");

    let before_disconnect = w.env.vault().keystore().raw_count().unwrap().unwrap();
    let o = w.with_pass(&["disconnect", "main"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("revoked at the provider"));
    assert!(
        !w.server.active(&access),
        "access token still active after disconnect"
    );
    assert!(
        !w.server.active(&refresh),
        "refresh token still active after disconnect"
    );
    assert_eq!(w.connection_count(), 0);
    // The record is gone from the keystore: header, index and the audit log's key and
    // anchor records only.
    let after = w.env.vault().keystore().raw_count().unwrap().unwrap();
    assert_eq!(after, 4, "before disconnect: {before_disconnect}");
    assert_eq!(before_disconnect, 5);
    // The audit log has the story, verifies, and holds no token.
    let o = w.cli(&["audit", "--json"], &[], "");
    let log = stdout(&o);
    for e in ["\"connected\"", "\"revoked\"", "\"disconnected\""] {
        assert!(log.contains(e), "missing {e} in\n{log}");
    }
    let o = w.with_pass(&["audit", "verify"]);
    assert!(stdout(&o).contains("audit log OK"), "{}", stderr(&o));
    let file = std::fs::read_to_string(w.env.data_dir().join("audit.jsonl")).unwrap();
    for t in [&access, &refresh] {
        assert!(!file.contains(t.as_str()));
    }
    assert_secrets_absent(&[&access, &refresh, PASS]);
    w.assert_flow_secrets_absent();
    w.env.wipe();
}

#[test]
fn pleo_style_pinned_redirect_check_and_installation_revoke() {
    let w = World::new("oauth-pleo");
    let _port = PINNED_PORT.lock().unwrap_or_else(|p| p.into_inner());
    let o = w.connect(
        "pleo",
        "local-pleo",
        &[],
        &[("BROWSER_TAMPER", "stray")],
        "",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stdout(&o);
    assert!(s.contains("subjectURN = urn:pleo:company:"), "{s}");
    assert!(s.contains("applicationName = "), "{s}");
    let (access, refresh) = w.tokens("pleo");
    let o = w.with_pass(&["disconnect", "pleo"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!w.server.active(&access));
    assert!(!w.server.active(refresh.as_deref().unwrap()));
    assert_secrets_absent(&[&access, refresh.as_deref().unwrap()]);
    w.assert_flow_secrets_absent();
    w.env.wipe();
}

#[test]
fn confidential_client_with_secret_from_stdin() {
    let w = World::new("oauth-conf");
    let o = w.connect(
        "conf",
        "local-confidential",
        &["--client-secret-stdin"],
        &[],
        "tw-confidential-secret\n",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("Pleo advises public clients"));
    let o = w.with_pass(&["show", "conf", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["has_client_secret"], true);
    let (access, refresh) = w.tokens("conf");
    let o = w.with_pass(&["disconnect", "conf"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!w.server.active(&access));
    assert_secrets_absent(&[
        &access,
        refresh.as_deref().unwrap(),
        "tw-confidential-secret",
    ]);
    w.assert_flow_secrets_absent();
    w.env.wipe();
}

#[test]
fn unreachable_revocation_stays_pending_until_forced() {
    let w = World::connected("oauth-pending", 60, "p", "unreachable-revocation");
    let (access, _) = w.tokens("p");
    let o = w.with_pass(&["disconnect", "p"]);
    assert_eq!(o.status.code(), Some(1));
    assert_contains(&stderr(&o), "revocation pending");
    // The next command retries it (and it fails again): still there, two attempts.
    let o = w.with_pass(&["list"]);
    assert_contains(&stdout(&o), "revocation pending (2 attempts)");
    assert!(w.server.active(&access), "nothing was revoked");
    // A retry that leaves it pending is not audited as another disconnect.
    let log = std::fs::read_to_string(w.env.data_dir().join("audit.jsonl")).unwrap();
    assert_eq!(
        log.matches("\"event\":\"disconnected\"").count(),
        1,
        "{log}"
    );
    let o = w.with_pass(&["disconnect", "p", "--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("may still be live"));
    assert_eq!(w.connection_count(), 0);
    w.assert_flow_secrets_absent();
    w.env.wipe();
}

#[test]
fn no_browser_prints_the_link_and_still_waits() {
    use std::io::{BufRead, BufReader};
    let w = World::new("oauth-nobrowser");
    let mut c = w.env.cmd();
    c.args([
        "--providers",
        path_str(&w.providers),
        "connect",
        "nb",
        "--provider",
        "local",
        "--no-browser",
        "--timeout",
        "20",
        "--passphrase-file",
        path_str(&w.pass_file),
    ])
    .env("BROWSER", "false") // must not be used
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    let _watchdog = deadline::Watchdog::new(&child, deadline::CLI, "connect --no-browser");
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut link = None;
    let mut seen = String::new();
    let mut line = String::new();
    while err.read_line(&mut line).unwrap() > 0 {
        if line.trim_start().starts_with("http://127.0.0.1") {
            link = Some(line.trim().to_string());
            break;
        }
        seen.push_str(&line);
        line.clear();
    }
    let link = link.unwrap_or_else(|| panic!("no link printed: {seen}"));
    // A person opens the link in a browser of their own.
    let b = deadline::output(
        Command::new(browser()).arg(&link),
        b"",
        deadline::CLI,
        "the test browser",
    );
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    drop(child.stdin.take());
    let out = deadline::wait_with_output(child, deadline::CLI, "the CLI");
    record(&String::from_utf8_lossy(&out.stdout));
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("connected `nb`"));
    let (access, refresh) = w.tokens("nb");
    assert!(w.server.active(&access));
    assert_secrets_absent(&[&access, refresh.as_deref().unwrap()]);
    w.env.wipe();
}

#[test]
fn pleo_disconnect_with_an_expired_access_token_refreshes_first() {
    // 2-second access tokens: expired by the time we disconnect.
    let w = World::with_ttl("oauth-pleo-exp", 2);
    let _port = PINNED_PORT.lock().unwrap_or_else(|p| p.into_inner());
    let o = w.connect("p", "local-pleo", &[], &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let (old_access, _) = w.tokens("p");
    assert!(
        !w.server.active(&old_access),
        "the access token has expired"
    );
    let o = w.with_pass(&["disconnect", "p"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("revoked at the provider"));
    // It refreshed once (the DELETE needs a live access token), then revoked.
    assert_eq!(w.server.stats()["refreshes"], 1);
    assert_eq!(w.connection_count(), 0);
    w.env.wipe();
}

/// After a re-authorisation, the grant it replaced is revoked where the provider has RFC
/// 7009 (its old refresh token no longer works), and the new one is untouched.
#[test]
fn reauthorise_revokes_the_replaced_grant_where_that_spares_the_new_one() {
    let w = World::connected("oauth-reauth-revoke", 60, "r", "local");
    let (old_access, old_refresh) = w.tokens("r");
    let old_refresh = old_refresh.unwrap();
    let o = w.with_pass(&["reauthorise", "r", "--timeout", "20"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(
        &stdout(&o),
        "the replaced grant was revoked at the provider",
    );
    let (access, refresh) = w.tokens("r");
    assert_ne!(access, old_access);
    assert!(
        !w.server.active(&old_refresh),
        "the replaced refresh token is dead"
    );
    assert!(w.server.active(&access), "the new access token lives");
    assert!(
        w.server.active(refresh.as_deref().unwrap()),
        "the new refresh token lives"
    );
    // And it still refreshes.
    let o = w.with_pass(&["refresh", "r"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_secrets_absent(&[&old_refresh, refresh.as_deref().unwrap()]);
    w.env.wipe();
}

/// Re-authorisation checks whose tokens came back: a sign-in that ends in another account
/// (someone raced the sign-in with their own account, or the person picked the wrong
/// one) is refused and nothing changes, unless the switch is accepted explicitly.
#[test]
fn reauthorise_refuses_another_account_unless_accepted() {
    use std::sync::atomic::AtomicBool;
    use std::sync::Mutex;
    use token_wallet_core::oauth;
    let w = World::connected("oauth-account", 60, "p", "local-pleo");
    let v = Mutex::new(w.unlocked());
    let company = |v: &Mutex<token_wallet_core::UnlockedVault>| {
        connection::load(&mut v.lock().unwrap(), &"p".parse().unwrap())
            .unwrap()
            .info
            .check
            .get("subjectURN")
            .cloned()
            .unwrap()
    };
    let ours = company(&v);
    let again = |login: &str, accept: bool| {
        let login = login.to_string();
        let record = w.env.home.path().join("browser-record");
        let open = move |link: &oauth::SignInLink<'_>| -> Result<(), String> {
            Command::new(browser())
                .arg(link.start)
                .env("BROWSER_LOGIN", &login)
                .env("BROWSER_RECORD", &record)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        let refresher = token_wallet_core::refresh::Refresher::new(
            token_wallet_core::oauth::http::Http::new(),
            Default::default(),
            w.env.data_dir(),
        );
        let log = token_wallet_core::audit::AuditLog::new(&w.env.data_dir());
        let rec = token_wallet_core::ops::LogRecorder::new(&log, &v);
        let s = token_wallet_core::ops::Session::new(&v, &refresher, &rec);
        s.reauthorise(
            &"p".parse().unwrap(),
            accept,
            oauth::Interaction {
                open: &open,
                pasted: None,
                cancel: &AtomicBool::new(false),
                reopen: None,
                timeout: std::time::Duration::from_secs(20),
            },
        )
    };
    let before = w.tokens("p");
    let e = again("mallory", false).unwrap_err().to_string();
    assert!(e.contains("another account"), "{e}");
    assert!(e.contains(&ours), "{e}");
    assert_eq!(w.tokens("p"), before, "nothing changed");
    assert_eq!(company(&v), ours);

    // The same account: accepted, new tokens.
    let r = again("alice", false).unwrap();
    assert_eq!(r.info.check.get("subjectURN"), Some(&ours));
    assert_ne!(w.tokens("p"), before);
    // Pleo's revocation would take the new tokens with the old: left live, and said why.
    assert!(
        matches!(&r.replaced, token_wallet_core::ops::ReplacedGrant::LeftLive(why) if why.contains("whole installation")),
        "{:?}",
        r.replaced
    );
    assert!(w.server.active(&w.tokens("p").0), "the new tokens are live");

    // Another account, accepted explicitly: the connection now belongs to it.
    let r = again("mallory", true).unwrap();
    let theirs = r.info.check.get("subjectURN").unwrap();
    assert_ne!(theirs, &ours);
    assert_eq!(&company(&v), theirs);
    w.env.wipe();
}
