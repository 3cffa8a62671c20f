//! Providers: the built-in Pleo presets and any other provider from `providers.toml`, by
//! explicit endpoints or by RFC 8414 / OpenID discovery.

mod config;
mod presets;

use super::endpoints::endpoint_url;
use super::OAuthError;
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use config::parse_config;
pub use config::{load_specs, ProviderSpec};
pub use presets::presets;
use serde::{Deserialize, Serialize};

/// Where the authorisation server sends the browser back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedirectMode {
    /// Any free port on 127.0.0.1, path `/callback` (RFC 8252 §7.3).
    Loopback,
    /// Exactly this URL (`http://localhost:PORT/PATH`), as registered with the provider.
    Pinned(String),
}

/// How the client authenticates at the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// A public client: PKCE only.
    None,
    /// A confidential client: HTTP Basic with the client secret.
    ClientSecretBasic,
}

/// How a connection is revoked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "url")]
pub enum Revocation {
    /// RFC 7009 at this endpoint.
    Rfc7009(String),
    /// Pleo: `DELETE {api}/v1/installations/me` with the access token.
    PleoInstallation,
    /// The provider offers no revocation.
    None,
}

/// How a fresh connection is checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "url")]
pub enum Check {
    /// Pleo: `GET {api}/v1/introspect` with the access token.
    PleoIntrospect,
    /// RFC 7662 introspection at this endpoint.
    Rfc7662(String),
    /// No check.
    None,
}

/// What a provider is, where that changes what the wallet does (the export variable,
/// the revocation and check it uses by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// Pleo (or a server shaped like it): `PLEO_ACCESS_TOKEN`, revocation by
    /// `DELETE /v1/installations/me`, check by `GET /v1/introspect`.
    Pleo,
    /// Any other OAuth 2.0 provider.
    Generic,
}

/// A provider with every endpoint known (discovery already done).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provider {
    /// Short name (`pleo`, `pleo-staging`, or the config table's name).
    pub name: String,
    /// For people.
    pub display_name: String,
    /// Authorization endpoint.
    pub authorize_url: String,
    /// Token endpoint.
    pub token_url: String,
    /// API base (Pleo's `external` host), if any.
    pub api_base: Option<String>,
    /// Scopes asked for when none are given.
    pub default_scopes: Vec<String>,
    /// Redirect mode.
    pub redirect: RedirectMode,
    /// Client authentication.
    pub client_auth: ClientAuth,
    /// A default client id, if the config gives one.
    pub client_id: Option<String>,
    /// Revocation.
    pub revocation: Revocation,
    /// Connection check.
    pub check: Check,
    /// What it is, if said (`providers.toml`'s `kind`, or a preset); see [`Self::kind`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ProviderKind>,
}

impl Provider {
    /// Where a static token came from, for a token added by hand: a label and nothing to
    /// call (no endpoints, no revocation, no check).
    pub fn static_source(label: &str) -> Self {
        Provider {
            name: label.into(),
            display_name: label.into(),
            authorize_url: String::new(),
            token_url: String::new(),
            api_base: None,
            default_scopes: Vec::new(),
            redirect: RedirectMode::Loopback,
            client_auth: ClientAuth::None,
            client_id: None,
            revocation: Revocation::None,
            check: Check::None,
            kind: Some(ProviderKind::Generic),
        }
    }
}

impl Provider {
    /// What it is: as said, else Pleo when it revokes and checks the way Pleo does.
    pub fn kind(&self) -> ProviderKind {
        self.kind.unwrap_or(
            if self.revocation == Revocation::PleoInstallation
                || self.check == Check::PleoIntrospect
            {
                ProviderKind::Pleo
            } else {
                ProviderKind::Generic
            },
        )
    }

    /// Checks every URL: https (http only on loopback), and a pinned redirect is
    /// `http://localhost:PORT/PATH` or `http://127.0.0.1:PORT/PATH`.
    pub fn validate(&self) -> Result<(), OAuthError> {
        endpoint_url(&self.name, "authorize_url", &self.authorize_url)?;
        endpoint_url(&self.name, "token_url", &self.token_url)?;
        if let Some(a) = &self.api_base {
            endpoint_url(&self.name, "api_base", a)?;
        }
        if let Revocation::Rfc7009(u) = &self.revocation {
            endpoint_url(&self.name, "revocation_url", u)?;
        }
        if let Check::Rfc7662(u) = &self.check {
            endpoint_url(&self.name, "introspection_url", u)?;
        }
        let pleo_style = matches!(self.revocation, Revocation::PleoInstallation)
            || matches!(self.check, Check::PleoIntrospect);
        if pleo_style && self.api_base.is_none() {
            return Err(OAuthError::Config {
                provider: self.name.clone(),
                why: "Pleo-style revocation or check needs api_base".into(),
            });
        }
        if let RedirectMode::Pinned(r) = &self.redirect {
            super::loopback::Pinned::parse(r).map_err(|why| OAuthError::Config {
                provider: self.name.clone(),
                why,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::http::Http;
    use super::*;

    #[test]
    fn pleo_presets_match_the_docs() {
        let p = &presets()[0];
        assert_eq!(p.authorize_url, "https://auth.pleo.io/oauth/authorize");
        assert_eq!(p.token_url, "https://auth.pleo.io/oauth/token");
        assert_eq!(p.api_base.as_deref(), Some("https://external.pleo.io"));
        let s = &presets()[1];
        assert_eq!(s.token_url, "https://auth.staging.pleo.io/oauth/token");
        assert_eq!(
            s.api_base.as_deref(),
            Some("https://external.staging.pleo.io")
        );
        for p in presets() {
            p.validate().unwrap();
        }
    }

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("providers.toml");
        std::fs::write(&p, text).unwrap();
        (d, p)
    }

    #[test]
    fn explicit_provider_from_toml() {
        let (_d, p) = write(
            r#"
[providers.local]
authorize_url = "http://127.0.0.1:9/auth"
token_url = "http://127.0.0.1:9/token"
revocation_url = "http://127.0.0.1:9/token/revocation"
scopes = ["users:read"]
client_auth = "client_secret_basic"
"#,
        );
        let specs = load_specs(Some(&p)).unwrap();
        let spec = specs.iter().find(|s| s.name() == "local").unwrap();
        let prov = spec.resolve(&Http::new()).unwrap();
        assert_eq!(
            prov.revocation,
            Revocation::Rfc7009("http://127.0.0.1:9/token/revocation".into())
        );
        assert_eq!(prov.check, Check::None);
        assert_eq!(prov.client_auth, ClientAuth::ClientSecretBasic);
        assert_eq!(prov.redirect, RedirectMode::Loopback);
    }

    #[test]
    fn fail_plain_http_to_a_remote_host() {
        let (_d, p) = write(
            "[providers.x]\nauthorize_url = \"http://example.com/a\"\ntoken_url = \"https://example.com/t\"\n",
        );
        let specs = load_specs(Some(&p)).unwrap();
        let e = specs
            .iter()
            .find(|s| s.name() == "x")
            .unwrap()
            .resolve(&Http::new())
            .unwrap_err();
        assert!(e.to_string().contains("must be https"), "{e}");
    }

    #[test]
    fn fail_unknown_keys_and_bad_toml() {
        let (_d, p) = write("[providers.x]\nauthorise_url = \"https://a/b\"\n");
        let e = load_specs(Some(&p)).unwrap_err().to_string();
        // The line and column of the offending key, and what is wrong with it.
        assert!(
            e.contains("line 2, column 1: unknown field `authorise_url`"),
            "{e}"
        );
        let (_d, p) = write("# providers\n\n[providers.x\n");
        let e = load_specs(Some(&p)).unwrap_err().to_string();
        assert!(e.contains("line 3, column"), "{e}");
        let (_d, p) = write("[providers.x]\nkind = \"pleo-ish\"\nauthorize_url = \"https://a/b\"\ntoken_url = \"https://a/t\"\n");
        let e = load_specs(Some(&p))
            .unwrap()
            .into_iter()
            .find(|s| s.name() == "x")
            .unwrap()
            .resolve(&Http::new())
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("unknown kind `pleo-ish` (pleo, generic)"),
            "{e}"
        );
    }

    #[test]
    fn provider_kind_said_or_inferred() {
        for p in presets() {
            assert_eq!(p.kind(), ProviderKind::Pleo);
        }
        let base = "authorize_url = \"https://a.example/a\"\ntoken_url = \"https://a.example/t\"\napi_base = \"https://api.example\"\n";
        let resolve = |extra: &str| {
            let (_d, p) = write(&format!("[providers.x]\n{base}{extra}"));
            load_specs(Some(&p))
                .unwrap()
                .into_iter()
                .find(|s| s.name() == "x")
                .unwrap()
                .resolve(&Http::new())
                .unwrap()
        };
        // Said: Pleo's revocation and check by default.
        let p = resolve("kind = \"pleo\"\n");
        assert_eq!(
            (p.kind(), &p.revocation, &p.check),
            (
                ProviderKind::Pleo,
                &Revocation::PleoInstallation,
                &Check::PleoIntrospect
            )
        );
        // Not said, but Pleo-shaped: Pleo.
        assert_eq!(
            resolve("revocation = \"pleo\"\ncheck = \"pleo\"\n").kind(),
            ProviderKind::Pleo
        );
        // Said generic wins; nothing said and nothing Pleo-like: generic.
        assert_eq!(
            resolve("kind = \"generic\"\nrevocation = \"pleo\"\n").kind(),
            ProviderKind::Generic
        );
        assert_eq!(resolve("").kind(), ProviderKind::Generic);
        // A record stored before `kind` existed reads as what it does.
        let mut old = presets()[0].clone();
        old.kind = None;
        let json = serde_json::to_string(&old).unwrap();
        assert!(!json.contains("\"kind\":\"pleo\""));
        let back: Provider = serde_json::from_str(&json).unwrap();
        assert_eq!(back.kind(), ProviderKind::Pleo);
    }
}
