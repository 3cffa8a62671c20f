//! The real OAuth server of `tests/oauth-server` (oidc-provider, set up like Pleo), started
//! per test on a random 127.0.0.1 port, and the `$BROWSER` helper that clicks through it.

use super::*;
use std::process::Output;
use token_wallet_core::connection;
use token_wallet_core::Passphrase;

pub use token_wallet_test_support::deadline;
pub use token_wallet_test_support::oauth_server::{http, repo, OAuthServer};

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

    /// A world with access tokens living `access_ttl` seconds and one connection, `name`
    /// to `provider`, made through the CLI.
    pub fn connected(tag: &str, access_ttl: u64, name: &str, provider: &str) -> Self {
        let w = Self::with_ttl(tag, access_ttl);
        let o = w.connect(name, provider, &[], &[], "");
        assert!(o.status.success(), "connect {name}: {}", stderr(&o));
        w
    }

    /// With access tokens that live `access_ttl` seconds.
    pub fn with_ttl(tag: &str, access_ttl: u64) -> Self {
        Self::with_init(tag, access_ttl, None)
    }

    /// [`Self::with_ttl`]; the vault made with `init` and `init_args` instead of the
    /// passphrase (which is still written to `pass_file`, and then unused).
    pub fn with_init(tag: &str, access_ttl: u64, init_args: Option<&[&str]>) -> Self {
        let env = Env::new(tag);
        let server = OAuthServer::start(access_ttl);
        let pass_file = env.pass_file("pass", PASS);
        let mut args = vec!["init"];
        match init_args {
            Some(a) => args.extend_from_slice(a),
            None => {
                args.extend(["--passphrase-file", path_str(&pass_file)]);
                args.extend_from_slice(WEAK_INIT);
            }
        }
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
        let mut t = include_str!("providers.toml")
            .replace("{i}", i)
            .replace("{pinned_port}", &pinned_port.to_string());
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

    /// Runs the CLI with `args` and this world's passphrase file (placed before a `--`).
    pub fn with_pass(&self, args: &[&str]) -> Output {
        let at = args.iter().position(|a| *a == "--").unwrap_or(args.len());
        let mut all = args[..at].to_vec();
        all.extend(["--passphrase-file", path_str(&self.pass_file)]);
        all.extend(&args[at..]);
        self.cli(&all, &[], "")
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

    /// `token NAME` with this world's passphrase file, its output piped, ready to spawn.
    pub fn token_cmd(&self, name: &str) -> Command {
        let mut c = self.env.cmd();
        c.args([
            "token",
            name,
            "--passphrase-file",
            path_str(&self.pass_file),
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
        c
    }

    /// The vault, unlocked through core with [`PASS`] (as the test, not the CLI).
    pub fn unlocked(&self) -> token_wallet_core::UnlockedVault {
        self.env
            .vault()
            .unlock(&Passphrase::new(PASS.into()).unwrap())
            .unwrap()
    }

    /// The stored tokens, read through core (as the test, not the CLI).
    pub fn tokens(&self, name: &str) -> (String, Option<String>) {
        let mut v = self.unlocked();
        let c = connection::load(&mut v, &name.parse().unwrap()).unwrap();
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
        connection::names(&self.unlocked()).len()
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

/// Asserts none of `secrets` (each at least 8 characters) is in `text`, which is `what`:
/// neither as it is nor in the forms a trace log would dump it ([`encodings`]).
pub fn assert_absent_in(text: &str, secrets: &[&str], what: &str) {
    let hay = text.to_ascii_lowercase();
    let squeezed: String = hay.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    for s in secrets {
        assert!(s.len() >= 8);
        assert!(
            !text.contains(s),
            "a secret (`{}…`) appeared in {what}",
            &s[..6]
        );
        for (form, enc) in encodings(s.as_bytes()) {
            let found = match form {
                // Hex is searched case-blind, and every 8-byte stretch of it in the text
                // with everything but hex digits removed (a hex dump splits bytes by
                // spaces and lines, and puts offsets between the lines).
                "hex" => {
                    hay.contains(&enc)
                        || (0..=enc.len().saturating_sub(16))
                            .step_by(2)
                            .any(|i| squeezed.contains(&enc[i..i + 16]))
                }
                _ => text.contains(&enc),
            };
            assert!(
                !found,
                "a secret (`{}…`) appeared {form}-encoded in {what}",
                &s[..6]
            );
        }
    }
}

/// The forms a secret takes in a dump: hex, and base64 (standard and URL-safe) at each of
/// the three alignments it can start at inside a longer encoded text (trimmed to the
/// characters that do not depend on the neighbouring bytes).
pub fn encodings(secret: &[u8]) -> Vec<(&'static str, String)> {
    use base64::Engine as _;
    let mut v = vec![("hex", hex::encode(secret))];
    for skip in 0..3 {
        for (name, e) in [
            ("base64", base64::engine::general_purpose::STANDARD_NO_PAD),
            (
                "base64url",
                base64::engine::general_purpose::URL_SAFE_NO_PAD,
            ),
        ] {
            let mut shifted = vec![0u8; skip];
            shifted.extend_from_slice(secret);
            let enc = e.encode(&shifted);
            // The first characters mix in the padding bytes, the last may be partial.
            let start = (skip * 4).div_ceil(3);
            let end = enc.len().saturating_sub(2);
            if end > start + 8 {
                v.push((name, enc[start..end].to_string()));
            }
        }
    }
    v
}

#[test]
fn encodings_find_a_secret_in_hex_dumps_and_base64() {
    let secret = "tok_0123456789abcdefXYZ";
    let dump = "0000: 74 6f 6b 5f 30 31 32 33  34 35 36 37 38 39 61 62\n0010: 63 64 65 66 58 59 5a";
    let r = std::panic::catch_unwind(|| assert_absent_in(dump, &[secret], "a dump"));
    assert!(r.is_err(), "a spaced hex dump is found");
    use base64::Engine as _;
    for prefix in ["", "a", "ab"] {
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{prefix}{secret}"));
        let r = std::panic::catch_unwind(|| assert_absent_in(&b64, &[secret], "base64"));
        assert!(r.is_err(), "base64 after {prefix:?} is found");
    }
    assert_absent_in("nothing to see", &[secret], "clean text");
}

impl World {
    /// A refresh storm across machines: `per_machine` concurrent `token NAME --no-agent`
    /// calls from each of `machines` (the same vault, each its own data directory), with
    /// `env` added to each call; `meanwhile` runs while they do. The server's counts are
    /// reset first. Asserts exactly one refresh, no failure, no reuse, and every caller
    /// answered with the one live token; `round` names the storm in messages.
    pub fn token_storm(
        &self,
        name: &str,
        machines: &[Env],
        per_machine: usize,
        env: &[(&str, &str)],
        round: usize,
        meanwhile: impl FnOnce(),
    ) {
        http()
            .post(format!("{}/_test/reset-stats", self.server.issuer))
            .send_empty()
            .unwrap();
        let calls: Vec<_> = machines
            .iter()
            .flat_map(|m| (0..per_machine).map(move |_| m))
            .map(|m| {
                let mut c = m.cmd();
                c.args(["token", name, "--no-agent", "--passphrase-file"])
                    .arg(&self.pass_file)
                    .envs(env.iter().copied())
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped());
                c.spawn().unwrap()
            })
            .collect();
        meanwhile();
        let mut tokens: Vec<String> = calls
            .into_iter()
            .map(|p| {
                let out = deadline::wait_with_output(p, deadline::CLI, "the CLI");
                record(&String::from_utf8_lossy(&out.stderr));
                assert!(out.status.success(), "round {round}: {}", stderr(&out));
                stdout(&out).trim().to_string()
            })
            .collect();
        let stats = self.server.stats();
        assert_eq!(
            stats["refreshes"], 1,
            "round {round}: exactly one refresh: {stats}"
        );
        assert_eq!(stats["refresh_failures"], 0, "round {round}: {stats}");
        assert_eq!(
            stats["revoked_grants"], 0,
            "round {round}: no reuse: {stats}"
        );
        tokens.sort();
        tokens.dedup();
        assert_eq!(
            tokens.len(),
            1,
            "round {round}: every caller got the one new token"
        );
        assert!(
            self.server.active(&tokens[0]),
            "round {round}: the token is live"
        );
    }
}
