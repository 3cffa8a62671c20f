//! The operations layer's rules as a user meets them through the CLI, each against the
//! real OAuth server (set up like Pleo) and the real Secret Service: a pending Pleo
//! revocation that completes after its access token expired, re-authorisation as the
//! advice says, the provider kind's export variable, Pleo's nested introspection, `exec`
//! that finds its command before it spends a refresh, `--min-ttl` beyond the token's
//! lifetime, one passphrase rule, and a tampered audit log shown with a warning.

mod common;

use common::oauth::*;
use common::*;
use std::time::Duration;

fn post(url: &str) {
    http().post(url).send_empty().unwrap();
}

fn pass(w: &World) -> [&str; 2] {
    ["--passphrase-file", path_str(&w.pass_file)]
}

fn with_pass<'a>(w: &'a World, args: &[&'a str]) -> Vec<&'a str> {
    let mut v = args.to_vec();
    v.extend_from_slice(&pass(w));
    v
}

fn refreshes(w: &World) -> u64 {
    w.server.stats()["refreshes"].as_u64().unwrap()
}

/// Audit lines of one kind (`export`, `refresh_ok`...), read as the user would.
fn audit_events(w: &World, event: &str) -> usize {
    let o = w.cli(&["audit", "--json"], &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
        .lines()
        .filter(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["event"].as_str() == Some(event)
        })
        .count()
}

#[test]
fn a_pending_pleo_revocation_completes_after_its_access_token_expired() {
    let _port = PINNED_PORT.lock().unwrap_or_else(|p| p.into_inner());
    // Access tokens live 3 s: long expired by the time the revocation is retried.
    let w = World::connected("ops-pending", 3, "p", "local-pleo");
    let (_, refresh) = w.tokens("p");
    let refresh = refresh.unwrap();
    // Pleo's API is down for the disconnect: kept as "revocation pending".
    post(&format!(
        "{}/_test/fail-api?count=1&status=503",
        w.server.issuer
    ));
    let o = w.cli(&with_pass(&w, &["disconnect", "p"]), &[], "");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_contains(&stderr(&o), "revocation pending");
    std::thread::sleep(Duration::from_secs(4));
    // The next command retries: the expired access token is renewed with the refresh
    // token first, then the installation is deleted with it.
    let o = w.cli(&with_pass(&w, &["list"]), &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stderr(&o), "pending revocation of `p` went through");
    assert_eq!(w.connection_count(), 0);
    assert!(
        !w.server.active(&refresh),
        "the grant is gone at the provider"
    );
    assert_eq!(w.server.stats()["revoked_grants"], 1);
    w.env.wipe();
}

#[test]
fn a_pleo_shaped_provider_is_pleo_its_check_read_under_data() {
    let _port = PINNED_PORT.lock().unwrap_or_else(|p| p.into_inner());
    let w = World::connected("ops-kind", 60, "p", "local-pleo");
    // `local-pleo` is a providers.toml entry with Pleo's revocation and check, no `kind`:
    // it is Pleo, so the token goes to PLEO_ACCESS_TOKEN (not ACCESS_TOKEN).
    let o = w.cli(&with_pass(&w, &["env", "p"]), &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("export PLEO_ACCESS_TOKEN='"),
        "{}",
        stdout(&o)
    );
    // The server answers /v1/introspect as Pleo does, under `data`; the check read it.
    let o = w.cli(&with_pass(&w, &["show", "p"]), &[], "");
    let s = stdout(&o);
    assert!(s.contains("check:       authMethod = OAUTH"), "{s}");
    assert!(
        s.contains("check:       subjectURN = urn:pleo:company:"),
        "{s}"
    );
    w.env.wipe();
}

#[test]
fn the_advice_after_a_refused_refresh_token_works() {
    let w = World::connected("ops-reauth", 60, "r", "local");
    // Another party spends the refresh token; the wallet's copy is now a reused one.
    w.rotate_refresh_token_elsewhere("r");
    let o = w.cli(&with_pass(&w, &["refresh", "r"]), &[], "");
    assert!(!o.status.success());
    let o = w.cli(&with_pass(&w, &["token", "r"]), &[], "");
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let advice = "`token-wallet reauthorise r`";
    assert!(stderr(&o).contains(advice), "{}", stderr(&o));
    // What the advice names works (it used to name `connect`, which refused the name).
    let o = w.cli(
        &with_pass(&w, &["reauthorise", "r", "--timeout", "20"]),
        &[],
        "",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stdout(&o), "re-authorised `r`");
    let o = w.cli(&with_pass(&w, &["token", "r"]), &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), w.tokens("r").0);
    assert_eq!(audit_events(&w, "reauthorised"), 1);
    w.assert_flow_secrets_absent();
    w.env.wipe();
}

#[test]
fn exec_finds_its_command_before_it_spends_a_refresh_or_an_export() {
    // 4-second tokens: `exec`'s default 5-minute minimum could never be met.
    let w = World::connected("ops-exec", 4, "r", "local");
    let (before_refreshes, before_exports) = (refreshes(&w), audit_events(&w, "export"));
    let o = w.cli(
        &with_pass(&w, &["exec", "r", "--", "no-such-command-tw"]),
        &[],
        "",
    );
    assert_eq!(o.status.code(), Some(127), "{}", stderr(&o));
    assert_contains(
        &stderr(&o),
        "cannot run `no-such-command-tw`: not found on PATH",
    );
    assert_eq!(
        refreshes(&w),
        before_refreshes,
        "no refresh for a command that cannot run"
    );
    assert_eq!(
        audit_events(&w, "export"),
        before_exports,
        "no export either"
    );
    // Six runs in a row share tokens: the minimum counts as half the 4-second lifetime,
    // so a fresh token is not refreshed again at once (it used to be, on every call).
    for _ in 0..6 {
        let args: Vec<&str> = with_pass(&w, &["exec", "r"])
            .into_iter()
            .chain(["--", "true"])
            .collect();
        let o = w.cli(&args, &[], "");
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let used = refreshes(&w) - before_refreshes;
    assert!(used <= 3, "{used} refreshes for 6 quick runs");
    w.env.wipe();
}

#[test]
fn a_min_ttl_the_provider_cannot_meet_is_warned_about() {
    let w = World::connected("ops-minttl", 60, "r", "local");
    let o = w.with_pass(&["token", "r", "--min-ttl", "2h"]);
    let warned = [
        "less than the 2 h asked for",
        "the provider's tokens live 60 s",
    ];
    assert!(o.status.success(), "{}", stderr(&o));
    warned.iter().for_each(|w| assert_contains(&stderr(&o), w));
    w.env.wipe();
}

#[test]
fn one_passphrase_rule_and_a_tampered_audit_log_is_shown_with_a_warning() {
    let env = Env::new("ops-rules");
    // The app's rule, now the CLI's too: at least 8 characters.
    let o = env.init("short\n");
    assert_eq!(o.status.code(), Some(1));
    assert_contains(
        &stderr(&o),
        "the new passphrase is too short: use at least 8 characters",
    );
    let o = env.init("long enough passphrase\n");
    assert!(o.status.success(), "{}", stderr(&o));
    for _ in 0..2 {
        let o = env.run(
            &["unlock", "--passphrase-stdin"],
            "long enough passphrase\n",
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    // `status` says where the data directory is.
    let o = env.run(&["status"], "");
    assert!(
        stdout(&o).contains(&format!("data dir:    {}", env.data_dir().display())),
        "{}",
        stdout(&o)
    );
    let log = env.data_dir().join("audit.jsonl");
    let o = env.run(&["audit"], "");
    assert!(
        o.status.success() && !stderr(&o).contains("broken"),
        "{}",
        stderr(&o)
    );
    let text = std::fs::read_to_string(&log).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.remove(1);
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    let o = env.run(&["audit"], "");
    assert!(o.status.success());
    assert_contains(&stderr(&o), "the audit log is broken at line 2");
    env.wipe();
}

#[test]
fn a_connection_that_refreshes_itself_is_not_shown_as_expired() {
    let w = World::connected("ops-expired", 2, "r", "local");
    std::thread::sleep(Duration::from_millis(2500));
    let o = w.with_pass(&["list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stdout(&o), "refreshes on next use");
    assert!(!stdout(&o).contains("expired"), "{}", stdout(&o));
    w.env.wipe();
}

#[test]
fn a_refresh_that_fails_for_now_hands_out_the_token_still_valid() {
    // 30-second tokens: due for a refresh in their last 15 s.
    let w = World::connected("ops-transient", 30, "r", "local");
    let (access, _) = w.tokens("r");
    std::thread::sleep(Duration::from_secs(16));
    post(&format!(
        "{}/_test/fail-token?count=10&status=503",
        w.server.issuer
    ));
    let o = w.with_pass(&["token", "r"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), access);
    assert_contains(&stderr(&o), "could not refresh `r`");
    assert_contains(&stderr(&o), "the next request tries again");
    w.env.wipe();
}

#[test]
fn default_logging_says_an_error_once() {
    let w = World::new("ops-log");
    let mut c = w.env.cmd();
    c.env_remove("TOKEN_WALLET_LOG").args([
        "--providers",
        path_str(&w.providers),
        "token",
        "nosuch",
        "--passphrase-file",
        path_str(&w.pass_file),
    ]);
    let o = run_recorded(&mut c, "");
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o).trim(),
        "error: no connection named `nosuch`; see `token-wallet list`"
    );
    w.env.wipe();
}

/// The last acceptance run's small things, each as a user meets it: `show` of a missing
/// name and a bad name say so in the user's words, `token --json` works as `--format
/// json`, `audit` takes a passphrase (and verifies first), `list` is padded and names the
/// account, `status` lists each connection with its account and health.
#[test]
fn small_things_say_what_the_user_typed_and_line_up() {
    let w = World::connected("ops-small", 600, "r", "local");
    let o = w.cli(&with_pass(&w, &["show", "nope"]), &[], "");
    assert!(!o.status.success());
    assert_contains(&stderr(&o), "no connection named `nope`");
    let o = w.cli(&with_pass(&w, &["show", "na\u{ef}ve"]), &[], "");
    assert!(!o.status.success());
    assert_contains(
        &stderr(&o),
        "`na\u{ef}ve` is not a usable connection name: use 1 to 62",
    );
    assert!(!stderr(&o).contains("c.na"), "{}", stderr(&o));

    let o = w.cli(&with_pass(&w, &["token", "r", "--json"]), &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(j["access_token"].as_str().unwrap(), w.tokens("r").0);

    let o = w.cli(&with_pass(&w, &["audit"]), &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stderr(&o), "audit log OK");
    assert_contains(&stdout(&o), "export");

    let list = stdout(&w.cli(&with_pass(&w, &["list"]), &[], ""));
    let lines: Vec<&str> = list.lines().collect();
    assert!(lines[0].contains("ACCOUNT"), "{list}");
    let col = |l: &str| l.find("local").unwrap();
    assert_eq!(
        lines[0].find("PROVIDER").unwrap(),
        col(lines[1]),
        "columns line up:\n{list}"
    );
    let account = lines[1].split_whitespace().nth(3).unwrap();
    assert_ne!(account, "-", "the account is named:\n{list}");

    let status = stdout(&w.cli(&with_pass(&w, &["status"]), &[], ""));
    assert_contains(&status, "format:      3");
    assert_contains(&status, "connections: 1");
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("  r ") && l.contains(account)),
        "{status}"
    );
    w.env.wipe();
}

/// One who reads the data directory (a copy of it, or another user where an older build
/// left it open) and hashes guessed names learns no connection's name: refresh lock files
/// are named by a hash keyed from the vault, an older build's unsalted one is removed, the
/// lock file goes with its connection, and the audit log names connections by keyed
/// labels. The user, with the passphrase, still sees the names in `audit`.
#[test]
fn hashing_guessed_names_against_the_data_directory_confirms_none() {
    use sha2::Digest;
    let w = World::connected("ops-names", 600, "payroll-secret", "local");
    let dir = w.env.data_dir();
    let unsalted = |name: &str| {
        let h = sha2::Sha256::digest(format!("token-wallet/refresh-lock/{name}").as_bytes());
        format!("refresh-{}.lock", hex::encode(&h[..8]))
    };
    // An older build's lock file for it, named by the unsalted hash.
    std::fs::write(dir.join(unsalted("payroll-secret")), b"").unwrap();
    let o = w.with_pass(&["refresh", "payroll-secret"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let locks = || -> Vec<String> {
        std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("refresh-"))
            .collect()
    };
    let now = locks();
    assert_eq!(now.len(), 1, "the unsalted one is gone: {now:?}");
    assert_ne!(now[0], unsalted("payroll-secret"));
    let key = token_wallet_core::audit::name_key(&mut w.unlocked()).unwrap();
    assert_eq!(
        dir.join(&now[0]),
        token_wallet_core::lock::refresh_lock_path(&dir, &key, "payroll-secret"),
        "named by the keyed hash"
    );
    let log = std::fs::read_to_string(dir.join("audit.jsonl")).unwrap();
    assert!(!log.contains("payroll-secret"), "{log}");
    let label = key.audit_label("payroll-secret");
    assert!(log.contains(&label), "{log}");
    // Without the passphrase `audit` shows labels and says how to see names; with it,
    // names.
    let o = w.cli(&["audit"], &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stdout(&o).contains("payroll-secret"));
    assert_contains(&stdout(&o), &label);
    assert_contains(&stderr(&o), "keyed labels");
    let o = w.with_pass(&["audit"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stdout(&o), "connection=payroll-secret");
    assert_contains(&stderr(&o), "audit log OK");
    // Disconnected: its lock file goes too; its lines keep their label, and still verify.
    let o = w.with_pass(&["disconnect", "payroll-secret"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(locks(), Vec::<String>::new());
    let o = w.with_pass(&["audit"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stdout(&o), &format!("connection={label}"));
    assert_contains(&stderr(&o), "audit log OK");
    w.env.wipe();
}
