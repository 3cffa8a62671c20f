//! The CLI's sign-in against hostile and broken answers (a real OAuth server set up like
//! Pleo, the real Secret Service): forged and broken callbacks, a sign-in page that is
//! down or refuses, broken token endpoints and hostile discovery, a spying browser. Each
//! fails clearly, stores nothing and prints no token, code or secret.

mod common;

use common::oauth::*;
use common::*;

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

/// The account-injection attack: another local user reads the browser's command line in
/// `ps`, replays the address with their own account and delivers the code first. The
/// browser is now given only a private page (`file://`, this user's only) holding a
/// one-time start address: no `state`, no PKCE challenge, no start address in any
/// process's arguments; the page is gone and the start address dead once used (the
/// attack as another user is in `attacker_sign_in.rs`). Meanwhile forged callbacks with a
/// wrong or missing state cannot end the victim's sign-in.
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
