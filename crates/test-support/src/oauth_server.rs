//! TEST ONLY: the real OAuth server of `tests/oauth-server` (oidc-provider, set up like
//! Pleo), started per test on a random 127.0.0.1 port, for the Rust tests of every crate.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::deadline;

/// How long the server may take to print its address (it takes well under a second).
const START_DEADLINE: Duration = Duration::from_secs(20);

pub struct OAuthServer {
    child: Child,
    pub issuer: String,
}

/// The repository's root: the nearest folder that holds `tests/oauth-server`, above the
/// running test's package (cargo sets `CARGO_MANIFEST_DIR` when it runs a test), else above
/// where this crate was compiled. (A build directory shared between clones can hold this
/// crate compiled in another clone.)
pub fn repo() -> PathBuf {
    let runtime = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    let compiled = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    runtime
        .iter()
        .chain(std::iter::once(&compiled))
        .flat_map(|p| p.ancestors())
        .find(|d| d.join("tests/oauth-server/server.mjs").is_file())
        .expect("the crate lives inside the repository")
        .to_path_buf()
}

/// An HTTP client whose every call ends within 30 s (a hung server fails the test).
pub fn http() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

impl OAuthServer {
    /// Starts the server; one that has not printed its address within the deadline is
    /// killed and started once more, and a second miss fails the test saying so.
    pub fn start(access_ttl: u64) -> Self {
        let dir = repo().join("tests/oauth-server");
        assert!(
            dir.join("node_modules").exists(),
            "run `npm ci` in tests/oauth-server (scripts/setup does)"
        );
        for attempt in 1..=2 {
            let mut child = Command::new("node")
                .arg(dir.join("server.mjs"))
                .env("PORT", "0")
                .env("ACCESS_TTL", access_ttl.to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("node");
            // Invariant: stdout was piped just above.
            let out = child.stdout.take().expect("piped stdout");
            match deadline::read_line(out, START_DEADLINE) {
                Some(line) => {
                    let v: serde_json::Value = serde_json::from_str(&line)
                        .unwrap_or_else(|_| panic!("server did not start: {line:?}"));
                    return Self {
                        child,
                        issuer: v["issuer"].as_str().expect("issuer").to_string(),
                    };
                }
                None => {
                    let _ = child.kill();
                    let _ = child.wait();
                    eprintln!(
                        "harness: the OAuth server (node tests/oauth-server/server.mjs) printed no address within {} s (attempt {attempt} of 2)",
                        START_DEADLINE.as_secs()
                    );
                }
            }
        }
        panic!(
            "the OAuth server (node tests/oauth-server/server.mjs) hung twice on start: no address within {} s",
            START_DEADLINE.as_secs()
        );
    }

    /// RFC 7662 introspection as the tests' own client: is this token active?
    pub fn active(&self, token: &str) -> bool {
        use base64::Engine as _;
        let basic = base64::engine::general_purpose::STANDARD
            .encode("tw-introspector:tw-introspector-secret");
        let mut resp = http()
            .post(format!("{}/oauth/token/introspect", self.issuer))
            .header("Authorization", format!("Basic {basic}"))
            .send_form([("token", token)])
            .unwrap();
        let v: serde_json::Value =
            serde_json::from_slice(&resp.body_mut().read_to_vec().unwrap()).unwrap();
        v["active"].as_bool().unwrap()
    }

    /// Every code and PKCE verifier the token endpoint saw.
    pub fn secrets_seen(&self) -> Vec<String> {
        let mut resp = http()
            .get(format!("{}/_test/secrets", self.issuer))
            .call()
            .unwrap();
        let v: serde_json::Value =
            serde_json::from_slice(&resp.body_mut().read_to_vec().unwrap()).unwrap();
        ["codes", "code_verifiers"]
            .iter()
            .flat_map(|k| v[*k].as_array().cloned().unwrap_or_default())
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect()
    }

    /// A new Pleo API key, as Pleo's web app shows it once: `{key, id, company}`. `body`
    /// may set `company`, `scope`, `expires_in` (seconds; negative: already expired) and
    /// `revoked`.
    pub fn mint_api_key(&self, body: serde_json::Value) -> serde_json::Value {
        let text = http()
            .post(format!("{}/_test/api-keys", self.issuer))
            .send(body.to_string())
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// Revokes an API key, as an admin would in Pleo's web app.
    pub fn revoke_api_key(&self, key: &str) {
        http()
            .post(format!("{}/_test/api-keys/revoke", self.issuer))
            .send(serde_json::json!({ "key": key }).to_string())
            .unwrap();
    }

    /// The status (and error code) every installation of `company` reports from now on.
    pub fn set_installation(&self, company: &str, status: &str, error_code: Option<&str>) {
        let code = error_code
            .map(|c| format!("&error_code={c}"))
            .unwrap_or_default();
        http()
            .post(format!(
                "{}/_test/installation?company={company}&status={status}{code}",
                self.issuer
            ))
            .send_empty()
            .unwrap();
    }

    /// How `GET /v1/installations/me` answers from now on: `data` (`{"data": {...}}`),
    /// `bare` (the object itself) or `unreadable` (a 200 without an installation in it).
    pub fn set_installation_shape(&self, shape: &str) {
        http()
            .post(format!(
                "{}/_test/installation-shape?shape={shape}",
                self.issuer
            ))
            .send_empty()
            .unwrap();
    }

    pub fn stats(&self) -> serde_json::Value {
        let mut resp = http()
            .get(format!("{}/_test/stats", self.issuer))
            .call()
            .unwrap();
        serde_json::from_slice(&resp.body_mut().read_to_vec().unwrap()).unwrap()
    }
}

impl Drop for OAuthServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
