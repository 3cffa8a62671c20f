//! Connect and disconnect through the CLI against a real OAuth server (oidc-provider set
//! up like Pleo) with the record in the real Secret Service; hostile and broken answers;
//! no token, code or secret in any output.

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

/// Each case: a clear error and nothing stored.
fn refused(w: &World, provider: &str, extra: &[&str], env: &[(&str, &str)], want: &str) {
    let before: Vec<String> = snapshot(&w.env).into_keys().collect();
    let o = w.connect("x", provider, extra, env, "");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{provider} {env:?}: {err}");
    assert!(
        err.contains(want),
        "{provider} {env:?}: wanted `{want}` in:\n{err}"
    );
    // Nothing stored: no connection, no new keystore entry (the audit anchor record is
    // rewritten after every command, so only names are compared).
    assert_eq!(
        w.connection_count(),
        0,
        "{provider} {env:?}: a connection was stored"
    );
    assert_eq!(
        before,
        snapshot(&w.env).into_keys().collect::<Vec<_>>(),
        "{provider} {env:?}: something was stored"
    );
}

#[test]
fn fail_hostile_and_broken_callbacks() {
    let w = World::new("oauth-hostile");
    refused(
        &w,
        "local",
        &["--timeout", "4"],
        &[("BROWSER_TAMPER", "state")],
        // A callback with a wrong state is someone else's: ignored (logged), and the
        // sign-in goes on waiting for ours until its deadline.
        "ignored a sign-in callback with a wrong or missing state",
    );
    refused(
        &w,
        "local",
        &[],
        &[("BROWSER_TAMPER", "drop-code")],
        "no authorisation code",
    );
    refused(
        &w,
        "local",
        &[],
        &[("BROWSER_DECISION", "deny")],
        "refused the sign-in: access_denied",
    );
    refused(
        &w,
        "local",
        &["--timeout", "4"],
        &[("BROWSER_TAMPER", "wrong-path")],
        "no sign-in came back within 4 s; nothing was stored; try again (--no-browser prints the link to open yourself)",
    );
    refused(
        &w,
        "local",
        &["--timeout", "2"],
        &[("BROWSER", "true")],
        "no sign-in came back within 2 s",
    );
    // The pinned port already taken.
    let busy = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    w.write_providers(busy.local_addr().unwrap().port());
    refused(&w, "local-pleo", &[], &[], "is in use by another program");
    w.assert_flow_secrets_absent();
    w.env.wipe();
}

/// A provider that is down, or that refuses the sign-in request (a redirect address it
/// does not have registered), fails in seconds, before a browser is opened, naming what
/// was tried; not after the whole sign-in timeout.
#[test]
fn fail_fast_when_the_sign_in_page_is_down_or_refuses_the_request() {
    let w = World::new("oauth-preflight");
    let closed = free_port();
    let i = &w.server.issuer;
    let mut t = std::fs::read_to_string(&w.providers).unwrap();
    t.push_str(&format!(
        "\n[providers.down]\nauthorize_url = \"http://127.0.0.1:{closed}/oauth/authorize\"\ntoken_url = \"http://127.0.0.1:{closed}/oauth/token\"\nclient_id = \"tw-public\"\n\n[providers.wrong-redirect]\nauthorize_url = \"{i}/oauth/authorize\"\ntoken_url = \"{i}/oauth/token\"\nredirect = \"http://localhost:{}/not-registered\"\nclient_id = \"tw-pinned\"\n",
        free_port()
    ));
    std::fs::write(&w.providers, t).unwrap();
    let record = w.env.home.path().join("opened");
    // A browser that would leave a mark, had it been opened.
    let opener = w.env.home.path().join("opener.sh");
    std::fs::write(
        &opener,
        format!("#!/bin/sh\ntouch '{}'\n", record.display()),
    )
    .unwrap();
    chmod(&opener, 0o755);
    let opener = path_str(&opener).to_string();
    for (provider, want) in [
        (
            "down",
            format!("the sign-in page of `down` (127.0.0.1:{closed}) did not answer"),
        ),
        (
            "wrong-redirect",
            "the sign-in page of `wrong-redirect` refused the request (HTTP 400".to_string(),
        ),
    ] {
        let began = std::time::Instant::now();
        refused(
            &w,
            provider,
            &["--timeout", "120"],
            &[("BROWSER", &opener)],
            &want,
        );
        assert!(
            began.elapsed() < std::time::Duration::from_secs(20),
            "{provider}: failed after {:?}, not in seconds",
            began.elapsed()
        );
        assert!(!record.exists(), "{provider}: no browser was opened");
    }
    w.env.wipe();
}

#[test]
fn fail_broken_token_endpoints_and_hostile_discovery() {
    let w = World::new("oauth-broken");
    refused(&w, "bad-500", &[], &[], "HTTP 500");
    refused(&w, "bad-html", &[], &[], "not a valid token response");
    refused(&w, "bad-invalid-json", &[], &[], "not valid JSON");
    refused(&w, "bad-huge", &[], &[], "larger than 1 MiB");
    refused(
        &w,
        "bad-no-access-token",
        &[],
        &[],
        "`access_token` is missing",
    );
    refused(&w, "hostile-discovery", &[], &[], "on another host");
    let t = TRANSCRIPT.lock().unwrap().clone();
    assert!(!t.contains("evil.example/token\""));
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

/// The account-injection attack: another local user reads the browser's command line in
/// `ps`, replays the address with their own account and delivers the code first. The
/// browser is now given only a private page (`file://`, this user's only) holding a
/// one-time start address: no `state`, no PKCE challenge, no start address in any
/// process's arguments; the page is gone and the start address dead once used (the
/// attack as another user is in `attacker.rs`). Meanwhile forged callbacks with a wrong
/// or missing state cannot end the victim's sign-in.
#[test]
#[cfg(unix)] // a shell script as the browser
fn the_browser_gets_a_private_page_and_forged_callbacks_do_not_end_the_sign_in() {
    let w = World::new("oauth-argv");
    let dir = w.env.home.path();
    let argv_file = dir.join("browser-argv");
    // $BROWSER: records its arguments, sends forged callbacks first (as a local attacker
    // would), lets the real browser helper sign in, then replays the start address.
    let script = dir.join("spy-browser");
    std::fs::write(
        &script,
        format!(
            r#"#!/bin/sh
printf '%s\n' "$@" > '{argv}'
page=$(printf '%s' "$1" | sed 's#^file://##')
stat -c '%a' "$page" "$(dirname "$page")" > '{argv}.modes'
start=$(grep -o 'http://127.0.0.1:[0-9]*/start/[0-9a-f]*' "$page" | head -n 1)
port=$(printf '%s' "$start" | sed -E 's#^http://127.0.0.1:([0-9]+)/.*#\1#')
curl -s -o /dev/null -H "Host: 127.0.0.1:$port" "http://127.0.0.1:$port/callback?code=forged&state=guess"
curl -s -o /dev/null "http://127.0.0.1:$port/callback?code=forged"
'{browser}' "$1" || exit 1
test -e "$page" && echo 'page still there' >> '{argv}.replay'
curl -s -o /dev/null -w '%{{http_code}}\n' "$start" >> '{argv}.replay' || true
"#,
            argv = argv_file.display(),
            browser = browser().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let o = w.connect("spied", "local", &[], &[("BROWSER", path_str(&script))], "");
    assert!(o.status.success(), "{}", stderr(&o));
    let argv = std::fs::read_to_string(&argv_file).unwrap();
    assert!(argv.starts_with("file:///"), "{argv}");
    for leak in [
        "/start/",
        "state=",
        "code_challenge",
        "/oauth/authorize",
        "redirect_uri",
    ] {
        assert!(
            !argv.contains(leak),
            "the browser's argv holds `{leak}`: {argv}"
        );
    }
    let modes = std::fs::read_to_string(dir.join("browser-argv.modes")).unwrap();
    assert_eq!(modes.split_whitespace().collect::<Vec<_>>(), ["600", "700"]);
    let replay = std::fs::read_to_string(dir.join("browser-argv.replay")).unwrap();
    assert!(
        matches!(replay.trim(), "404" | "000"),
        "the page is gone and the start address dead (or the listener closed): {replay}"
    );
    assert!(stderr(&o).contains("ignored a sign-in callback with a wrong or missing state"));
    let (access, _) = w.tokens("spied");
    assert!(w.server.active(&access));
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
