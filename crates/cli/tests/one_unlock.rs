//! One unlock for everything: with `token-wallet agent` running and unlocked, the commands
//! that change or read the vault (`add-key`, `add-token`, `rotate-secret`, `prune`,
//! `audit`, `audit verify`) are served through it and ask for no passphrase; standard
//! input then carries only the pasted secret. A locked agent with `--passphrase-stdin`
//! reads the passphrase first, then the secret, as the help says. No secret in any output
//! or in the audit log.

#![cfg(unix)]
mod common;

use common::agent::AgentProc;
use common::oauth::*;
use common::*;
use std::process::Stdio;

/// `token-wallet agent`, unlocked, refreshing nothing ahead of time; killed on drop.
fn agent(w: &World) -> AgentProc {
    AgentProc::start(w, &["--refresh-ahead", "0"])
}

#[test]
fn with_the_agent_unlocked_keys_prune_and_audit_need_no_passphrase() {
    let w = World::connected("one-unlock", 600, "a", "local");
    let k = w
        .server
        .mint_api_key(serde_json::json!({"scope": "users:read"}));
    let key = k["key"].as_str().unwrap().to_string();
    let company = k["company"].as_str().unwrap().to_string();
    // The same (the server's default) company.
    let k2 = w
        .server
        .mint_api_key(serde_json::json!({"scope": "users:read"}));
    let key2 = k2["key"].as_str().unwrap().to_string();
    let static_token = "static-token-one-unlock-4f2a9c";
    let _agent = agent(&w);
    let mut said = Vec::new();

    // Verified with the server, stored by the agent; stdin holds the key only.
    let o = w.cli(
        &[
            "add-key",
            "books",
            "--provider",
            "local-pleo",
            "--key-stdin",
        ],
        &[],
        &format!("{key}\n"),
    );
    said.push(format!("{}{}", stdout(&o), stderr(&o)));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stdout(&o), &company);

    let o = w.cli(
        &["add-token", "ci", "--token-stdin", "--label", "ci-tool"],
        &[],
        &format!("{static_token}\n"),
    );
    said.push(format!("{}{}", stdout(&o), stderr(&o)));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stdout(&o), "added token `ci` (ci-tool");

    // The new key replaces the old one, verified for the same company.
    let o = w.cli(
        &["rotate-secret", "books", "--secret-stdin"],
        &[],
        &format!("{key2}\n"),
    );
    said.push(format!("{}{}", stdout(&o), stderr(&o)));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stdout(&o), "rotated `books`");
    assert_contains(&stdout(&o), "the old one still works");

    // What the agent stored is what the vault holds (read here with the passphrase).
    let o = w.with_pass(&["token", "books", "--no-agent"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), key2);
    let o = w.with_pass(&["token", "ci", "--no-agent"]);
    assert_eq!(stdout(&o).trim(), static_token);

    // A refused key changes nothing, and says why.
    let o = w.cli(
        &["rotate-secret", "books", "--secret-stdin"],
        &[],
        "not-a-key-at-all\n",
    );
    said.push(format!("{}{}", stdout(&o), stderr(&o)));
    assert!(!o.status.success());
    let o = w.with_pass(&["token", "books", "--no-agent"]);
    assert_eq!(stdout(&o).trim(), key2);

    // `prune --dry-run` (everything counts as unused after 0 days): lists, removes nothing.
    let o = w.cli(&["prune", "--inactive-days", "0", "--dry-run"], &[], "");
    said.push(format!("{}{}", stdout(&o), stderr(&o)));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stdout(&o), "would prune");
    assert_eq!(w.connection_count(), 3);

    // The audit log: verified by the agent, each connection by its name, no passphrase.
    let o = w.cli(&["audit", "verify"], &[], "");
    said.push(format!("{}{}", stdout(&o), stderr(&o)));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stdout(&o), "audit log OK");
    let o = w.cli(&["audit"], &[], "");
    said.push(format!("{}{}", stdout(&o), stderr(&o)));
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    for event in ["connected", "secret_rotated"] {
        assert_contains(&text, event);
    }
    assert_contains(&text, "connection=books");
    assert_contains(&text, "connection=ci");
    assert!(
        !text.contains("connection=#"),
        "a label, not a name:\n{text}"
    );
    let o = w.cli(&["audit", "--json", "--since", "1h"], &[], "");
    said.push(format!("{}{}", stdout(&o), stderr(&o)));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).lines().count() >= 3);

    // No secret anywhere: what these commands printed (`token` prints one, as asked),
    // the audit log.
    let said = said.join("\n");
    assert_absent_in(&said, &[&key, &key2, static_token], "the commands' output");
    let log = std::fs::read_to_string(w.env.data_dir().join("audit.jsonl")).unwrap();
    assert_absent_in(&log, &[&key, &key2, static_token], "the audit log");
}

#[test]
fn a_locked_agent_reads_the_passphrase_first_then_the_secret() {
    let w = World::new("one-unlock-locked");
    let _agent = agent(&w);
    let mut said = Vec::new();
    assert!(w.cli(&["lock"], &[], "").status.success());
    let pass = std::fs::read_to_string(&w.pass_file).unwrap();
    let pass = pass.lines().next().unwrap();
    let token = "static-token-after-the-passphrase-77e1";

    // No passphrase source: the locked agent's refusal, before any secret is asked for.
    let o = w.cli(
        &["add-token", "ci", "--token-stdin"],
        &[],
        &format!("{token}\n"),
    );
    said.push(format!("{}{}", stdout(&o), stderr(&o)));
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_contains(&stderr(&o), "locked");

    // --passphrase-stdin: line one the passphrase, line two the token; unlocked here.
    let o = w.cli(
        &["add-token", "ci", "--token-stdin", "--passphrase-stdin"],
        &[],
        &format!("{pass}\n{token}\n"),
    );
    said.push(format!("{}{}", stdout(&o), stderr(&o)));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = w.with_pass(&["token", "ci", "--no-agent"]);
    assert_eq!(stdout(&o).trim(), token);
    assert_absent_in(&said.join("\n"), &[token, pass], "the commands' output");
}

#[test]
fn connect_and_reauthorise_sign_in_through_the_agent_with_no_passphrase() {
    use std::io::{BufRead, BufReader, Write};
    let w = World::new("one-unlock-connect");
    let _agent = agent(&w);
    let mut said = Vec::new();

    // The agent runs the sign-in (its loopback listener); the browser is opened from here.
    let o = w.cli(
        &["connect", "a", "--provider", "local", "--timeout", "20"],
        &[],
        "",
    );
    said.push(format!("{}{}", stdout(&o), stderr(&o)));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stdout(&o), "connected `a`");
    let (access, refresh) = w.tokens("a");
    assert!(w.server.active(&access));

    // Signed in again in place, the same account; the new tokens live.
    let o = w.cli(&["reauthorise", "a", "--timeout", "20"], &[], "");
    said.push(format!("{}{}", stdout(&o), stderr(&o)));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stdout(&o), "re-authorised `a`");
    let (access2, refresh2) = w.tokens("a");
    assert_ne!(access2, access);
    assert!(w.server.active(&access2));

    // --no-browser: the link is printed here; the browser is "on another machine", and
    // the address it ended on, pasted here, reaches the agent's waiting listener.
    let mut c = w.env.cmd();
    c.args(["--providers", path_str(&w.providers)])
        .args([
            "connect",
            "b",
            "--provider",
            "local",
            "--no-browser",
            "--timeout",
            "20",
        ])
        .env("BROWSER", "false") // must not be used
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let _watchdog = deadline::Watchdog::new(&child, deadline::CLI, "connect --no-browser");
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let link = loop {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "no link printed");
        if line.trim_start().starts_with("http://127.0.0.1") {
            break line.trim().to_string();
        }
    };
    let elsewhere = w.env.home.path().join("elsewhere");
    let b = deadline::output(
        std::process::Command::new(browser())
            .arg(&link)
            .env("BROWSER_TAMPER", "elsewhere")
            .env("BROWSER_ELSEWHERE_FILE", &elsewhere),
        b"",
        deadline::CLI,
        "the test browser",
    );
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    let address = std::fs::read_to_string(&elsewhere).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(address.as_bytes()).unwrap();
    let out = deadline::wait_with_output(child, deadline::CLI, "the CLI");
    drop(stdin);
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut err, &mut rest);
    said.push(format!("{}{rest}", String::from_utf8_lossy(&out.stdout)));
    assert!(out.status.success(), "{rest}");
    assert_contains(&String::from_utf8_lossy(&out.stdout), "connected `b`");
    let (access_b, refresh_b) = w.tokens("b");
    assert!(w.server.active(&access_b));

    // Audited by the agent; no token in anything printed.
    let o = w.cli(&["audit"], &[], "");
    assert_contains(&stdout(&o), "connection=b");
    assert_contains(&stdout(&o), "reauthorised");
    let secrets = [
        access,
        refresh.unwrap(),
        access2,
        refresh2.unwrap(),
        access_b,
        refresh_b.unwrap(),
    ];
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    assert_absent_in(&said.join("\n"), &secrets, "the commands' output");
}
