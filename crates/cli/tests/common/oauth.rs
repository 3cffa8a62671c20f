//! The real OAuth server of `tests/oauth-server` (oidc-provider, set up like Pleo), started
//! per test on a random 127.0.0.1 port, and the `$BROWSER` helper that clicks through it.

use super::*;
use std::process::Output;
use token_wallet_core::connection;
use token_wallet_core::Passphrase;

#[path = "../../../../tests/oauth-server/harness.rs"]
mod harness;
pub use harness::{deadline, http, repo, OAuthServer};

/// Tests that connect through the pinned redirect port (8976) take turns.
pub static PINNED_PORT: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub fn browser() -> PathBuf {
    repo().join("tests/oauth-server/browser")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub const PASS: &str = "oauth-test-passphrase";

pub struct World {
    pub env: Env,
    pub server: OAuthServer,
    pub pass_file: PathBuf,
    pub providers: PathBuf,
}

impl World {
    pub fn new(tag: &str) -> Self {
        Self::with_ttl(tag, 60)
    }

    /// With access tokens that live `access_ttl` seconds.
    pub fn with_ttl(tag: &str, access_ttl: u64) -> Self {
        let env = Env::new(tag);
        let server = OAuthServer::start(access_ttl);
        let pass_file = env.pass_file("pass", PASS);
        let mut args = vec!["init", "--passphrase-file", path_str(&pass_file)];
        args.extend_from_slice(WEAK_INIT);
        let o = env.run(&args, "");
        assert!(o.status.success(), "{}", stderr(&o));
        let providers = env.home.path().join("providers.toml");
        let w = Self {
            env,
            server,
            pass_file,
            providers,
        };
        // tw-pinned is registered with exactly this redirect, as Pleo registers them.
        w.write_providers(8976);
        w
    }

    pub fn write_providers(&self, pinned_port: u16) {
        let i = &self.server.issuer;
        let mut t = format!(
            r#"
[providers.local]
display_name = "Local OIDC"
discovery = "{i}/.well-known/openid-configuration"
client_id = "tw-public"
scopes = ["offline_access", "users:read", "export-jobs:read"]

[providers.local-pleo]
display_name = "Local Pleo"
authorize_url = "{i}/oauth/authorize"
token_url = "{i}/oauth/token"
api_base = "{i}"
revocation = "pleo"
check = "pleo"
redirect = "http://localhost:{pinned_port}/callback"
client_id = "tw-pinned"
scopes = ["offline_access", "users:read"]

[providers.local-confidential]
discovery = "{i}/.well-known/openid-configuration"
client_auth = "client_secret_basic"
client_id = "tw-confidential"
check = "none"
scopes = ["offline_access", "users:read"]

[providers.unreachable-revocation]
authorize_url = "{i}/oauth/authorize"
token_url = "{i}/oauth/token"
revocation_url = "{i}/_bad/500/token"
client_id = "tw-public"
scopes = ["offline_access", "users:read"]

[providers.hostile-discovery]
discovery = "{i}/_bad/discovery/.well-known/openid-configuration"
client_id = "tw-public"
"#
        );
        for mode in ["500", "html", "invalid-json", "huge", "no-access-token"] {
            t.push_str(&format!(
                "\n[providers.bad-{mode}]\nauthorize_url = \"{i}/oauth/authorize\"\ntoken_url = \"{i}/_bad/{mode}/token\"\nclient_id = \"tw-public\"\nscopes = [\"users:read\"]\n"
            ));
        }
        std::fs::write(&self.providers, t).unwrap();
    }

    pub fn cli(&self, args: &[&str], extra_env: &[(&str, &str)], stdin: &str) -> Output {
        let mut c = self.env.cmd();
        c.args(["--providers", path_str(&self.providers)])
            .args(args)
            .env("BROWSER", browser())
            .env(
                "BROWSER_RECORD",
                self.env.home.path().join("browser-record"),
            );
        for (k, v) in extra_env {
            c.env(k, v);
        }
        run_recorded(&mut c, stdin)
    }

    pub fn connect(
        &self,
        name: &str,
        provider: &str,
        extra: &[&str],
        env: &[(&str, &str)],
        stdin: &str,
    ) -> Output {
        let mut args = vec![
            "connect",
            name,
            "--provider",
            provider,
            "--passphrase-file",
            path_str(&self.pass_file),
        ];
        if !extra.contains(&"--timeout") {
            args.extend_from_slice(&["--timeout", "20"]);
        }
        args.extend_from_slice(extra);
        self.cli(&args, env, stdin)
    }

    /// The stored tokens, read through core (as the test, not the CLI).
    pub fn tokens(&self, name: &str) -> (String, Option<String>) {
        let mut v = self
            .env
            .vault()
            .unlock(&Passphrase::new(PASS.into()).unwrap())
            .unwrap();
        let c = connection::load(&mut v, name).unwrap();
        (
            c.secrets.access_token.clone(),
            c.secrets.refresh_token.clone(),
        )
    }

    /// Someone else uses the connection's refresh token: the server rotates it away from
    /// the wallet, whose copy is now an old (reused-if-sent) token.
    pub fn rotate_refresh_token_elsewhere(&self, name: &str) {
        let (_, refresh) = self.tokens(name);
        let body = format!(
            "grant_type=refresh_token&client_id=tw-public&refresh_token={}",
            refresh.unwrap()
        );
        http()
            .post(format!("{}/oauth/token", self.server.issuer))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(body.as_bytes())
            .unwrap();
    }

    pub fn connection_count(&self) -> usize {
        let v = self
            .env
            .vault()
            .unlock(&Passphrase::new(PASS.into()).unwrap())
            .unwrap();
        connection::names(&v).len()
    }
}

impl World {
    /// Codes and states the browser delivered, and codes and verifiers the server saw.
    pub fn flow_secrets(&self) -> Vec<String> {
        let mut v = self.server.secrets_seen();
        if let Ok(text) = std::fs::read_to_string(self.env.home.path().join("browser-record")) {
            v.extend(text.lines().map(str::to_string));
        }
        v
    }

    pub fn assert_flow_secrets_absent(&self) {
        let s = self.flow_secrets();
        assert!(!s.is_empty(), "the flow recorded its codes");
        assert_secrets_absent(&s.iter().map(String::as_str).collect::<Vec<_>>());
    }
}

pub fn assert_secrets_absent(secrets: &[&str]) {
    let t = TRANSCRIPT.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert_absent_in(&t, secrets, "CLI output");
}

/// Asserts none of `secrets` (each at least 8 characters) is in `text`, which is `what`.
pub fn assert_absent_in(text: &str, secrets: &[&str], what: &str) {
    for s in secrets {
        assert!(s.len() >= 8);
        assert!(
            !text.contains(s),
            "a secret (`{}…`) appeared in {what}",
            &s[..6]
        );
    }
}
