//! Pleo API keys through the CLI against the real test server (which answers Pleo's
//! `/v1/introspect` for Basic-auth keys): a valid key is stored with its company; a
//! revoked, expired or wrong one is refused and nothing is stored; the header `token`
//! prints is the one the server accepts; `env` and `exec` use PLEO_API_KEY; an expired
//! key fails with exit code 6 and is never refreshed; no key in any output.
mod common;

use common::oauth::*;
use common::*;
use token_wallet_test_support::oauth_server::http;

/// `add-key NAME` with the key on standard input.
fn add_key(w: &World, name: &str, key: &str, extra: &[&str]) -> std::process::Output {
    let mut a = vec![
        "add-key",
        name,
        "--provider",
        "local-pleo",
        "--key-stdin",
        "--passphrase-file",
        path_str(&w.pass_file),
    ];
    a.extend_from_slice(extra);
    w.cli(&a, &[], &format!("{key}\n"))
}

/// Pleo's answer to the `Authorization` header `header` (as `curl -H` would send it).
fn introspect_with(w: &World, header: &str) -> u16 {
    let value = header
        .strip_prefix("Authorization: ")
        .expect("a header line");
    match http()
        .get(format!("{}/v1/introspect", w.server.issuer))
        .header("Authorization", value)
        .call()
    {
        Ok(r) => r.status().as_u16(),
        Err(ureq::Error::StatusCode(s)) => s,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn an_api_key_is_verified_stored_and_exported_as_pleo_expects() {
    let w = World::new("keys");
    let k = w
        .server
        .mint_api_key(serde_json::json!({"scope": "users:read companies:read"}));
    let key = k["key"].as_str().unwrap().to_string();
    let company = k["company"].as_str().unwrap();

    let o = add_key(&w, "books", &key, &["--expires", "2099-12-31"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stdout(&o), company);
    assert_contains(&stdout(&o), "expires 2099-12-31");

    // One list with the OAuth connections; its company kept from Pleo's answer.
    let o = w.with_pass(&["show", "books", "--json"]);
    let j: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(j["kind"], "api-key");
    assert_eq!(j["check"]["subjectURN"], company);
    assert_eq!(j["check"]["authMethod"], "API_KEY");
    assert_eq!(j["expires_at"], 4_102_358_400u64);

    // The header `token` prints is the one Pleo's API accepts.
    let header = stdout(&w.with_pass(&["token", "books", "--format", "header"]));
    assert!(
        header.starts_with("Authorization: Basic "),
        "a Basic header"
    );
    assert_eq!(introspect_with(&w, header.trim()), 200);
    assert_eq!(stdout(&w.with_pass(&["token", "books"])).trim(), key);
    let env = stdout(&w.with_pass(&["env", "books"]));
    assert!(env.starts_with("export PLEO_API_KEY='"), "PLEO_API_KEY");
    let o = w.with_pass(&[
        "exec",
        "books",
        "--",
        "sh",
        "-c",
        "test -n \"$PLEO_API_KEY\" && exit 7",
    ]);
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    // Never refreshed.
    let o = w.with_pass(&["refresh", "books"]);
    assert!(!o.status.success());
    assert_contains(&stderr(&o), "never refreshed");

    // The key appears only where it was exported: not in the listing, the audit log or
    // any error.
    let listing = stdout(&w.with_pass(&["list"]));
    assert_contains(&listing, "books");
    assert_absent_in(&listing, &[&key], "list");
    let audit = std::fs::read_to_string(w.env.data_dir().join("audit.jsonl")).unwrap();
    assert_absent_in(&audit, &[&key], "the audit log");
    assert_eq!(w.server.stats()["api_key_uses"], 2);

    // Disconnect deletes it here and says where to revoke it; nothing is sent to Pleo.
    let o = w.with_pass(&["disconnect", "books"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(
        &stdout(&o),
        "revoke it in Pleo's web app (Settings -> API keys)",
    );
    assert_eq!(w.connection_count(), 0);
    assert_eq!(w.server.stats()["api_key_uses"], 2);
}

#[test]
fn fail_revoked_expired_and_wrong_keys_store_nothing() {
    let w = World::new("badkeys");
    let revoked = w.server.mint_api_key(serde_json::json!({"revoked": true}));
    let expired = w
        .server
        .mint_api_key(serde_json::json!({"expires_in": -60}));
    let good = w.server.mint_api_key(serde_json::json!({}));
    let wrong = format!("{}x", good["key"].as_str().unwrap());
    let all = [
        revoked["key"].as_str().unwrap(),
        expired["key"].as_str().unwrap(),
        wrong.as_str(),
    ];
    for (i, key) in all.iter().enumerate() {
        let o = add_key(&w, &format!("k{i}"), key, &[]);
        assert!(!o.status.success());
        let err = stderr(&o);
        assert_contains(&err, "Pleo refused the API key (HTTP 401)");
        assert_contains(&err, "nothing was stored");
        assert_absent_in(&err, &[key], "the error");
    }
    assert_eq!(w.connection_count(), 0);
    // An empty key is refused before anything is asked.
    let o = add_key(&w, "empty", "", &[]);
    assert!(!o.status.success());
    assert_contains(&stderr(&o), "no Pleo API key was given");
    assert_eq!(w.connection_count(), 0);
}

#[test]
fn fail_an_expired_key_exports_nothing_and_exits_6() {
    let w = World::new("oldkey");
    let k = w.server.mint_api_key(serde_json::json!({}));
    let key = k["key"].as_str().unwrap();
    // A date already past is a typo: refused, nothing stored.
    let o = add_key(&w, "old", key, &["--expires", "2020-01-01"]);
    assert!(!o.status.success());
    assert_contains(&stderr(&o), "2020-01-01 is in the past");
    // The date the admin chose passes (the key itself still answers: the wallet goes by
    // the date it was told): the clock moved two days on.
    let date = token_wallet_core::clock::date(token_wallet_core::clock::now() + 86_400);
    let o = add_key(&w, "old", key, &["--expires", &date]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = w.cli(
        &["token", "old", "--passphrase-file", path_str(&w.pass_file)],
        &[(token_wallet_core::clock::TEST_OFFSET_VAR, "172800")],
        "",
    );
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
    assert_contains(&stderr(&o), &format!("expired at {date}T00:00:00Z"));
    assert!(stdout(&o).is_empty());
    assert_absent_in(&stderr(&o), &[key], "the error");
}

#[test]
fn static_tokens_are_presented_as_their_scheme_says() {
    let w = World::new("static");
    let secret = "static-secret-token-value-42";
    for (name, scheme, header) in [
        ("gh", "bearer", format!("Authorization: Bearer {secret}")),
        (
            "legacy",
            "basic",
            format!("Authorization: Basic {}", base64_of(&format!("{secret}:"))),
        ),
        ("raw", "raw", format!("Authorization: {secret}")),
    ] {
        let o = w.cli(
            &[
                "add-token",
                name,
                "--header-scheme",
                scheme,
                "--label",
                "ci tool",
                "--expires",
                "2099-01-01",
                "--token-stdin",
                "--passphrase-file",
                path_str(&w.pass_file),
            ],
            &[],
            &format!("{secret}\n"),
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let got = stdout(&w.with_pass(&["token", name, "--format", "header"]));
        assert_eq!(got.trim(), header);
    }
    let env = stdout(&w.with_pass(&["env", "gh"]));
    assert!(env.starts_with("export ACCESS_TOKEN='"), "ACCESS_TOKEN");
    // A key added without verification is "not checked", never "refused".
    let k = w.server.mint_api_key(serde_json::json!({}));
    let o = add_key(
        &w,
        "unverified",
        k["key"].as_str().unwrap(),
        &["--no-verify"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stdout(&w.with_pass(&["list"])).contains("refused"));
    assert_contains(
        &stdout(&w.with_pass(&["show", "unverified"])),
        "checked:     never",
    );
    let o = w.with_pass(&["disconnect", "unverified"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = w.with_pass(&["refresh", "gh"]);
    assert!(!o.status.success());
    assert_contains(&stderr(&o), "never refreshed");
    // `refresh --all` skips them and says so; nothing failed.
    let o = w.with_pass(&["refresh", "--all"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(
        &stdout(&o),
        "skipped gh, legacy, raw (API keys and static tokens are never refreshed)",
    );
    let listing = stdout(&w.with_pass(&["list"]));
    assert_contains(&listing, "ci tool");
    assert_absent_in(&listing, &[secret], "list");
    // An empty token is refused; the kinds share the name space with everything else.
    let o = w.cli(
        &[
            "add-token",
            "gh",
            "--token-stdin",
            "--passphrase-file",
            path_str(&w.pass_file),
        ],
        &[],
        "another\n",
    );
    assert!(!o.status.success());
    // A static token's advice is the tool's, not Pleo's.
    let o = w.with_pass(&["disconnect", "raw"]);
    assert_contains(
        &stdout(&o),
        "revoke it in the tool or service that issued it",
    );
    assert!(!stdout(&o).contains("Pleo"), "{}", stdout(&o));
    assert_eq!(w.connection_count(), 2);
}

fn base64_of(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

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
