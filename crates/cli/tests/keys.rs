//! Pleo API keys through the CLI against the real test server (which answers Pleo's
//! `/v1/introspect` for Basic-auth keys): a valid key is stored with its company; a
//! revoked, expired or wrong one is refused and nothing is stored; the header `token`
//! prints is the one the server accepts; `env` and `exec` use PLEO_API_KEY; an expired
//! key fails with exit code 6 and is never refreshed; no key in any output. Rotation,
//! checks and expiry alerts are in `keys_lifecycle.rs`.
mod common;

use common::keys::*;
use common::oauth::*;
use common::*;
use token_wallet_test_support::oauth_server::http;

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
