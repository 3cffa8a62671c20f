//! A Pleo API key's life through the CLI against the real test server: replaced by a new
//! one only after it verifies (`rotate-secret`), checked with the provider (refusals and
//! the installation's status), and expiry alerts 30, 7 and 1 days before.
mod common;

use common::keys::*;
use common::oauth::*;
use common::*;
use token_wallet_test_support::oauth_server::http;

/// `rotate-secret NAME` with the new key on standard input.
fn rotate(w: &World, name: &str, key: &str, extra: &[&str]) -> std::process::Output {
    let mut a = vec![
        "rotate-secret",
        name,
        "--secret-stdin",
        "--passphrase-file",
        path_str(&w.pass_file),
    ];
    a.extend_from_slice(extra);
    w.cli(&a, &[], &format!("{key}\n"))
}

/// The key the wallet hands out for `name`.
fn held(w: &World, name: &str) -> String {
    stdout(&w.with_pass(&["token", name])).trim().to_string()
}

#[test]
fn rotate_secret_replaces_a_key_only_after_the_new_one_verifies() {
    let w = World::new("rotate");
    let old = w
        .server
        .mint_api_key(serde_json::json!({"application_name": "Books sync"}));
    let old_key = old["key"].as_str().unwrap().to_string();
    let o = add_key(&w, "books", &old_key, &["--expires", "2099-01-31"]);
    assert!(o.status.success(), "{}", stderr(&o));

    // A revoked new key, another company's key, the same key again: each refused, and
    // the old key stays in place, untouched.
    let revoked = w.server.mint_api_key(serde_json::json!({"revoked": true}));
    let other = w.server.mint_api_key(
        serde_json::json!({"company": "urn:pleo:company:00000000-0000-4000-8000-0000000000aa"}),
    );
    let (revoked, other) = (
        revoked["key"].as_str().unwrap(),
        other["key"].as_str().unwrap(),
    );
    for (bad, why) in [
        (
            revoked,
            "the new key did not verify: Pleo refused the API key (HTTP 401)",
        ),
        (
            other,
            "the new key acts for another company (urn:pleo:company:00000000-0000-4000-8000-0000000000aa)",
        ),
        (old_key.as_str(), "already holds; nothing was changed"),
    ] {
        let o = rotate(&w, "books", bad, &[]);
        assert!(!o.status.success(), "a bad new key was taken");
        assert_contains(&stderr(&o), why);
        assert_absent_in(&stderr(&o), &[bad, &old_key], "the error");
        assert_eq!(held(&w, "books"), old_key);
    }

    // A good one replaces it, with its own date; the old one's facts are printed (to
    // revoke it in Pleo's web app) and audited, never the keys.
    let new = w.server.mint_api_key(serde_json::json!({}));
    let new_key = new["key"].as_str().unwrap().to_string();
    let o = rotate(&w, "books", &new_key, &["--expires", "2099-06-30"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let said = stdout(&o);
    assert_contains(&said, "revoke it in Pleo's web app");
    assert_contains(&said, old["id"].as_str().unwrap());
    assert_contains(&said, "Books sync");
    assert_absent_in(&said, &[&old_key, &new_key], "rotate-secret's output");
    assert_eq!(held(&w, "books"), new_key);
    let j: serde_json::Value =
        serde_json::from_str(&stdout(&w.with_pass(&["show", "books", "--json"]))).unwrap();
    assert_eq!(j["expires_at"], 4_086_460_800u64);
    assert_eq!(j["check"]["clientId"], new["id"]);
    let audit = std::fs::read_to_string(w.env.data_dir().join("audit.jsonl")).unwrap();
    assert_contains(&audit, "\"event\":\"secret_rotated\"");
    assert_contains(&audit, old["id"].as_str().unwrap());
    assert_absent_in(&audit, &[&old_key, &new_key], "the audit log");

    // An OAuth connection's tokens are not replaced by hand.
    let o = w.connect("acme", "local", &[], &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    let o = rotate(&w, "acme", "pasted-by-mistake-123", &[]);
    assert!(!o.status.success());
    assert_contains(&stderr(&o), "is an OAuth connection");
}

/// Creates the key's installation, as a Pleo API-key integration does.
fn install(w: &World, key: &str) {
    http()
        .post(format!("{}/v1/installations/me", w.server.issuer))
        .header(
            "Authorization",
            format!("Basic {}", base64_of(&format!("{key}:"))),
        )
        .send_empty()
        .expect("the installation is created");
}

#[test]
fn check_reports_refusals_and_the_installation_status() {
    let w = World::new("check");
    let k = w.server.mint_api_key(serde_json::json!({}));
    let key = k["key"].as_str().unwrap().to_string();
    let company = k["company"].as_str().unwrap();
    assert!(add_key(&w, "books", &key, &[]).status.success());

    let o = w.with_pass(&["check", "books"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stdout(&o), "`books` is accepted by");
    assert_contains(&stdout(&o), "installation: none yet");

    install(&w, &key);
    let o = w.with_pass(&["check", "books", "--json"]);
    let j: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        (j["outcome"].as_str(), j["installation_status"].as_str()),
        (Some("ok"), Some("ACTIVATED"))
    );

    // Pleo puts the installation in ERROR: `check` exits 8 and says why; `list` and
    // `status` show it from then on.
    w.server
        .set_installation(company, "ERROR", Some("AUTH_ERROR"));
    let o = w.with_pass(&["check", "books"]);
    assert_eq!(o.status.code(), Some(8), "{}", stderr(&o));
    assert_contains(&stdout(&o), "installation: ERROR (AUTH_ERROR)");
    assert_contains(
        &stdout(&w.with_pass(&["list"])),
        "installation ERROR (AUTH_ERROR)",
    );
    assert_contains(
        &stdout(&w.with_pass(&["status"])),
        "ALERT:       Pleo reports the installation of `books` as ERROR (AUTH_ERROR)",
    );

    // The same status, answered as a bare object (no `data`): read all the same.
    w.server.set_installation_shape("bare");
    let o = w.with_pass(&["check", "books"]);
    assert_eq!(o.status.code(), Some(8), "{}", stderr(&o));
    assert_contains(&stdout(&o), "installation: ERROR (AUTH_ERROR)");

    // An answer that cannot be read is a warning everywhere, never "healthy": `check`
    // exits 5, `list` and `status` say the status is unknown.
    w.server.set_installation_shape("unreadable");
    let o = w.with_pass(&["check", "books"]);
    assert_eq!(o.status.code(), Some(5), "{}", stdout(&o));
    assert_contains(
        &stdout(&o),
        "installation: status unknown (Pleo's answer could not be read)",
    );
    assert_contains(&stdout(&o), "warning: the installation's status is unknown");
    assert_contains(
        &stdout(&w.with_pass(&["list"])),
        "installation status unknown (Pleo's answer could not be read)",
    );
    assert_contains(
        &stdout(&w.with_pass(&["status"])),
        "ALERT:       the installation status of `books` is unknown: Pleo's answer could not be read",
    );
    let j: serde_json::Value =
        serde_json::from_str(&stdout(&w.with_pass(&["check", "books", "--json"]))).unwrap();
    assert_eq!(j["outcome"], "installation_unknown", "{j}");
    w.server.set_installation_shape("data");
    w.server.set_installation(company, "ACTIVATED", None);
    let o = w.with_pass(&["check", "books"]);
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(!stdout(&w.with_pass(&["status"])).contains("unknown"));

    // Revoked in Pleo's web app: refused (exit 8), flagged, the company still known.
    w.server.revoke_api_key(&key);
    let o = w.with_pass(&["check", "books"]);
    assert_eq!(o.status.code(), Some(8), "{}", stderr(&o));
    assert_contains(&stdout(&o), "Pleo refused the API key (HTTP 401)");
    assert_contains(&stdout(&o), "rotate-secret books");
    assert_contains(
        &stdout(&w.with_pass(&["list"])),
        "refused at its last check",
    );
    let j: serde_json::Value =
        serde_json::from_str(&stdout(&w.with_pass(&["status", "--json"]))).unwrap();
    assert!(
        j["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["alert"] == "verification_failed"),
        "{j}"
    );
    let j: serde_json::Value =
        serde_json::from_str(&stdout(&w.with_pass(&["show", "books", "--json"]))).unwrap();
    assert_eq!(j["check"]["subjectURN"], company);

    // A static token has nothing to check it with; nothing is sent.
    let uses = w.server.stats()["api_key_uses"].clone();
    let o = w.cli(
        &[
            "add-token",
            "ci",
            "--token-stdin",
            "--passphrase-file",
            path_str(&w.pass_file),
        ],
        &[],
        "static-token-for-the-check\n",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = w.with_pass(&["check", "ci"]);
    assert!(o.status.success());
    assert_contains(&stdout(&o), "nothing to check it with");
    assert_eq!(w.server.stats()["api_key_uses"], uses);

    // A Pleo OAuth connection's installation is read by its check too.
    let o = w.connect("acme", "local-pleo", &[], &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    let j: serde_json::Value =
        serde_json::from_str(&stdout(&w.with_pass(&["check", "acme", "--json"]))).unwrap();
    assert_eq!(j["installation_status"], "ACTIVATED", "{j}");
    let audit = std::fs::read_to_string(w.env.data_dir().join("audit.jsonl")).unwrap();
    assert_contains(&audit, "\"outcome\":\"installation_problem\"");
    assert_contains(&audit, "\"outcome\":\"refused\"");
    assert_absent_in(&audit, &[&key], "the audit log");
}

#[test]
fn expiry_alerts_come_30_7_and_1_days_before_with_the_clock_moved() {
    use token_wallet_core::clock;
    const DAY: u64 = 86_400;
    let w = World::new("keyclock");
    let k = w.server.mint_api_key(serde_json::json!({}));
    let key = k["key"].as_str().unwrap();
    let date = clock::date(clock::now() + 40 * DAY);
    let expires = clock::parse_date(&date).unwrap();
    assert!(add_key(&w, "books", key, &["--expires", &date])
        .status
        .success());

    // The test's own setting moves a debug build's clock to a minute after `days` days
    // before the date (the countdown then shows one day less: whole days, rounded down).
    let alerts_at = |days_before: i64| -> Vec<serde_json::Value> {
        let offset = expires as i64 - clock::now() as i64 - days_before * DAY as i64 + 60;
        let o = w.cli(
            &[
                "status",
                "--json",
                "--passphrase-file",
                path_str(&w.pass_file),
            ],
            &[(clock::TEST_OFFSET_VAR, &offset.to_string())],
            "",
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let j: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        j["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["alert"].as_str().unwrap().starts_with("key_"))
            .cloned()
            .collect()
    };
    assert_eq!(alerts_at(31), Vec::<serde_json::Value>::new());
    for (days, warning) in [(30, 30), (12, 30), (7, 7), (1, 1)] {
        let got = alerts_at(days);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(
            (got[0]["days"].as_i64(), got[0]["warning"].as_i64()),
            (Some(days - 1), Some(warning))
        );
    }
    let got = alerts_at(0);
    assert_eq!(got[0]["alert"], "key_expired");

    // In words, and in `list`.
    let offset = (expires - clock::now() - 7 * DAY + 60).to_string();
    let o = w.cli(
        &["status", "--passphrase-file", path_str(&w.pass_file)],
        &[(clock::TEST_OFFSET_VAR, &offset)],
        "",
    );
    assert_contains(
        &stdout(&o),
        &format!("`books` expires in 6 days (on {date}): make a new one and `token-wallet rotate-secret books`"),
    );
    let o = w.cli(
        &["list", "--passphrase-file", path_str(&w.pass_file)],
        &[(clock::TEST_OFFSET_VAR, &offset)],
        "",
    );
    assert_contains(&stdout(&o), "expires in 6 days: rotate it");
}
