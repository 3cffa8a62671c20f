//! The background's step of keeping connections fresh (core's `maintain`, through the
//! app's agent) against the real test OAuth server (tests/oauth-server, 8-second access
//! tokens, rotating refresh tokens): a connection made through the app's own connect (the
//! `$BROWSER` helper signs in) is renewed only when it is due, exactly once per due token.
//! (The back-off after failures is core's unit test.) File store: this is about refresh
//! timing, not the keystore (the e2e test uses the Secret Service).

use std::time::Duration;
use token_wallet_app::models::ConnectForm;
use token_wallet_app::settings::Settings;
use token_wallet_app::wallet::{Config, Wallet};
use token_wallet_core::ops::{MaintainOptions, Maintained};

const GOOD: &str = "correct horse battery staple";

use token_wallet_test_support::oauth_server::{repo, OAuthServer};

fn refreshes(s: &OAuthServer) -> u64 {
    s.stats()["refreshes"].as_u64().unwrap()
}

#[test]
fn the_step_refreshes_what_is_due_once() {
    let s = OAuthServer::start(8);
    let dir = tempfile::tempdir().unwrap();
    let providers = dir.path().join("providers.toml");
    std::fs::write(
        &providers,
        format!(
            "[providers.local]\nauthorize_url = \"{i}/oauth/authorize\"\ntoken_url = \"{i}/oauth/token\"\nclient_id = \"tw-public\"\nscopes = [\"offline_access\", \"users:read\"]\n",
            i = s.issuer
        ),
    )
    .unwrap();
    // The app opens the browser through $BROWSER: the helper signs in as a person would.
    std::env::set_var("BROWSER", repo().join("tests/oauth-server/browser"));
    let w = Wallet::new(Config::for_tests(dir.path(), "bg", Some(&providers)));
    w.create(GOOD.into(), GOOD.into()).unwrap();
    w.save_settings(Settings {
        refresh_ahead_minutes: 1,
        ..Settings::default()
    })
    .unwrap();
    let c = w
        .connect(ConnectForm {
            name: "c".into(),
            provider: "local".into(),
            client_id: String::new(),
            confidential: false,
            client_secret: String::new(),
            scopes: String::new(),
            authorize_url: String::new(),
            token_url: String::new(),
            revocation_url: String::new(),
        })
        .unwrap();
    assert!(c.has_refresh_token);
    // Every call a step (not one per five seconds), with the settings' lead.
    let opts = MaintainOptions {
        sweep_every: Duration::ZERO,
        ..w.maintain_options()
    };
    let refreshed = |r: &[Maintained]| {
        r.iter()
            .filter_map(|m| match m {
                Maintained::Refreshed { name } => Some(name.to_string()),
                _ => None,
            })
            .collect::<Vec<_>>()
    };

    // A fresh 8-second token: the 1-minute lead is capped at half its life (4 s).
    // (Expiry times are whole seconds: "due" is less than 4 s left.)
    let r = w.maintain(&opts).unwrap();
    assert!(r.is_empty(), "{r:?}");
    assert_eq!(refreshes(&s), 0);

    // Due: exactly one refresh, and the new token is not refreshed again at once.
    std::thread::sleep(Duration::from_millis(5200));
    let r = w.maintain(&opts).unwrap();
    assert_eq!(refreshed(&r), ["c"], "{r:?}");
    assert_eq!(refreshes(&s), 1);
    let r = w.maintain(&opts).unwrap();
    assert!(r.is_empty(), "{r:?}");
    assert_eq!(refreshes(&s), 1);
    let after = w.connection("c").unwrap();
    assert!(after.last_refresh.is_some());
    assert!(after.expires_at.unwrap() > c.expires_at.unwrap());

    // Idle: a step and the window's re-read of the list make no keystore call (they read
    // the summaries in the vault's index, which the unlock read).
    w.connections().unwrap();
    let calls = w.keystore_calls().unwrap();
    for _ in 0..3 {
        let r = w.maintain(&opts).unwrap();
        assert!(r.is_empty(), "{r:?}");
        assert_eq!(w.connections().unwrap().connections.len(), 1);
    }
    assert_eq!(
        w.keystore_calls().unwrap(),
        calls,
        "idle steps read the keystore"
    );

    // Locked: the step does nothing.
    w.lock();
    assert!(w.maintain(&opts).is_err());
}
