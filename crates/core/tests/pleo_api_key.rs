//! Pleo standalone API keys against the real test server (tests/oauth-server, which
//! answers Pleo's `/v1/introspect` and `/v1/installations/me` for Basic-auth keys):
//! a valid key verifies with its company, an expired, revoked or wrong one is refused, an
//! OAuth token is not taken for a key, and the installation's status is read.
use token_wallet_core::oauth::api_key::{self, ApiKeyError};
use token_wallet_core::oauth::http::Http;
use token_wallet_core::oauth::{load_specs, Provider};
use token_wallet_test_support::oauth_server::OAuthServer;

/// The provider `name` of a `providers.toml` holding `toml`, resolved.
fn resolve(dir: &std::path::Path, toml: &str, name: &str) -> Provider {
    let file = dir.join("providers.toml");
    std::fs::write(&file, toml).unwrap();
    let specs = load_specs(Some(&file)).unwrap();
    let spec = specs.iter().find(|s| s.name() == name).unwrap();
    spec.resolve(&Http::new()).unwrap()
}

/// The test server as a Pleo-style provider.
fn provider(issuer: &str, dir: &std::path::Path) -> Provider {
    let toml = format!(
        "[providers.local-pleo]\nauthorize_url = \"{issuer}/oauth/authorize\"\n\
         token_url = \"{issuer}/oauth/token\"\napi_base = \"{issuer}\"\n\
         revocation = \"pleo\"\ncheck = \"pleo\"\nclient_id = \"tw-public\"\n"
    );
    resolve(dir, &toml, "local-pleo")
}

#[test]
fn a_key_verifies_with_its_company_and_bad_ones_are_refused() {
    let server = OAuthServer::start(600);
    let dir = tempfile::tempdir().unwrap();
    let p = provider(&server.issuer, dir.path());
    let h = Http::new();

    let k = server.mint_api_key(serde_json::json!({"scope": "users:read", "expires_in": 3600}));
    let key = k["key"].as_str().unwrap();
    let facts = api_key::verify(&h, &p, key).unwrap();
    assert_eq!(facts.company, k["company"].as_str().unwrap());
    assert_eq!(facts.client_id, k["id"].as_str().unwrap());
    assert_eq!(facts.scope, "users:read");
    assert_eq!(facts.application_name, "Token Wallet test key");

    // No installation until the integration creates one; then its status, also in error.
    let basic = api_key::basic_authorization(key);
    assert_eq!(api_key::installation(&h, &p, &basic).unwrap(), None);
    let made = api_key::install(&h, &p, key).unwrap();
    assert_eq!(made.status, "ACTIVATED");
    assert_eq!(made.error_code, None);
    server.set_installation(&facts.company, "ERROR", Some("AUTH_ERROR"));
    let now = api_key::installation(&h, &p, &basic).unwrap().unwrap();
    assert_eq!(
        (
            now.id.as_str(),
            now.status.as_str(),
            now.error_code.as_deref()
        ),
        (made.id.as_str(), "ERROR", Some("AUTH_ERROR"))
    );

    // Expired, wrong, revoked: refused, and no message holds the key.
    let expired = server.mint_api_key(serde_json::json!({"expires_in": -1}));
    let wrong = format!("{key}x");
    for bad in [expired["key"].as_str().unwrap(), wrong.as_str()] {
        let e = api_key::verify(&h, &p, bad).unwrap_err();
        assert_eq!(e, ApiKeyError::Refused(401));
        assert!(!e.to_string().contains(bad));
    }
    server.revoke_api_key(key);
    assert_eq!(
        api_key::verify(&h, &p, key).unwrap_err(),
        ApiKeyError::Refused(401)
    );
    assert_eq!(server.stats()["api_key_refusals"], 3);
}

#[test]
fn without_an_api_address_nothing_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let p = resolve(
        dir.path(),
        "[providers.plain]\nauthorize_url = \"http://127.0.0.1:9/a\"\ntoken_url = \"http://127.0.0.1:9/t\"\nclient_id = \"c\"\n",
        "plain",
    );
    assert_eq!(
        api_key::verify(&Http::new(), &p, "k").unwrap_err(),
        ApiKeyError::NoApiBase("plain".into())
    );
}
