//! Providers: the built-in Pleo presets and any other provider from `providers.toml`, by
//! explicit endpoints or by RFC 8414 / OpenID discovery.

use super::endpoints::{endpoint_url, Endpoints};
use super::http::Http;
use super::OAuthError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

fn pleo(name: &str, display: &str, auth_host: &str, api_host: &str) -> Provider {
    Provider {
        name: name.into(),
        display_name: display.into(),
        authorize_url: format!("https://{auth_host}/oauth/authorize"),
        token_url: format!("https://{auth_host}/oauth/token"),
        api_base: Some(format!("https://{api_host}")),
        default_scopes: vec!["users:read".into()],
        redirect: RedirectMode::Pinned("http://localhost:8976/callback".into()),
        client_auth: ClientAuth::None,
        client_id: None,
        revocation: Revocation::PleoInstallation,
        check: Check::PleoIntrospect,
        kind: Some(ProviderKind::Pleo),
    }
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

/// The built-in presets, from Pleo's developer documentation.
pub fn presets() -> Vec<Provider> {
    vec![
        pleo("pleo", "Pleo", "auth.pleo.io", "external.pleo.io"),
        pleo(
            "pleo-staging",
            "Pleo (staging)",
            "auth.staging.pleo.io",
            "external.staging.pleo.io",
        ),
    ]
}

/// One `[providers.NAME]` table of `providers.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderToml {
    display_name: Option<String>,
    /// RFC 8414 or OpenID discovery document URL (instead of explicit endpoints).
    discovery: Option<String>,
    authorize_url: Option<String>,
    token_url: Option<String>,
    revocation_url: Option<String>,
    introspection_url: Option<String>,
    api_base: Option<String>,
    /// `rfc7009` (default when there is a revocation URL), `pleo`, or `none`.
    revocation: Option<String>,
    /// `rfc7662` (default when there is an introspection URL), `pleo`, or `none`.
    check: Option<String>,
    /// `pleo` (revocation and check default to Pleo's; exported as PLEO_ACCESS_TOKEN)
    /// or `generic` (default).
    kind: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    /// `loopback` (default) or a pinned `http://localhost:PORT/PATH`.
    redirect: Option<String>,
    /// `none` (default) or `client_secret_basic`.
    client_auth: Option<String>,
    client_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigToml {
    #[serde(default)]
    providers: BTreeMap<String, ProviderToml>,
}

/// A provider as configured: endpoints may still need discovery.
#[derive(Debug)]
pub struct ProviderSpec {
    name: String,
    toml: Option<ProviderToml>,
    preset: Option<Provider>,
}

impl ProviderSpec {
    /// The provider's short name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What it is, as far as the configuration says without fetching anything: a preset's
    /// kind, else the config's `kind`, else Pleo when it names Pleo's revocation or check.
    pub fn kind(&self) -> ProviderKind {
        match (&self.preset, &self.toml) {
            (Some(p), _) => p.kind(),
            (_, Some(t)) => match (
                t.kind.as_deref(),
                t.revocation.as_deref(),
                t.check.as_deref(),
            ) {
                (Some("pleo"), _, _) => ProviderKind::Pleo,
                (Some(_), _, _) => ProviderKind::Generic,
                (None, Some("pleo"), _) | (None, _, Some("pleo")) => ProviderKind::Pleo,
                _ => ProviderKind::Generic,
            },
            (None, None) => ProviderKind::Generic,
        }
    }

    /// The name to show people (the config's `display_name`, else the short name).
    pub fn display_name(&self) -> &str {
        match (&self.preset, &self.toml) {
            (Some(p), _) => &p.display_name,
            (_, Some(t)) => t.display_name.as_deref().unwrap_or(&self.name),
            (None, None) => &self.name,
        }
    }

    /// The client id used when none is given, if the configuration names one.
    pub fn default_client_id(&self) -> Option<&str> {
        match (&self.preset, &self.toml) {
            (Some(p), _) => p.client_id.as_deref(),
            (_, Some(t)) => t.client_id.as_deref(),
            (None, None) => None,
        }
    }

    /// The scopes asked for when none are given.
    pub fn default_scopes(&self) -> &[String] {
        match (&self.preset, &self.toml) {
            (Some(p), _) => &p.default_scopes,
            (_, Some(t)) => &t.scopes,
            (None, None) => &[],
        }
    }

    /// Where its endpoints come from, for listings.
    pub fn source(&self) -> String {
        match (&self.preset, &self.toml) {
            (Some(_), _) => "built-in preset".into(),
            (_, Some(t)) if t.discovery.is_some() => "config (discovery)".into(),
            _ => "config".into(),
        }
    }

    /// The provider with every endpoint known; fetches the discovery document if the
    /// config names one.
    pub fn resolve(&self, http: &Http) -> Result<Provider, OAuthError> {
        if let Some(p) = &self.preset {
            return Ok(p.clone());
        }
        // Invariant: a spec has a preset or a toml table (see `load_specs`).
        let t = self.toml.as_ref().expect("spec without preset has a table");
        let bad = |why: String| OAuthError::Config {
            provider: self.name.clone(),
            why,
        };
        let mut endpoints = Endpoints {
            authorize: t.authorize_url.clone(),
            token: t.token_url.clone(),
            revocation: t.revocation_url.clone(),
            introspection: t.introspection_url.clone(),
        };
        if let Some(d) = &t.discovery {
            let found = super::discovery::discover(http, d)?;
            endpoints = endpoints.or(found);
        }
        let authorize = endpoints
            .authorize
            .ok_or_else(|| bad("no authorize_url (and no discovery)".into()))?;
        let token = endpoints
            .token
            .ok_or_else(|| bad("no token_url (and no discovery)".into()))?;
        let kind = match t.kind.as_deref() {
            None => None,
            Some("pleo") => Some(ProviderKind::Pleo),
            Some("generic") => Some(ProviderKind::Generic),
            Some(o) => return Err(bad(format!("unknown kind `{o}` (pleo, generic)"))),
        };
        fn pleo_default(v: Option<&str>, kind: Option<ProviderKind>) -> Option<&str> {
            match v {
                None if kind == Some(ProviderKind::Pleo) => Some("pleo"),
                v => v,
            }
        }
        let revocation = match (
            pleo_default(t.revocation.as_deref(), kind),
            endpoints.revocation,
        ) {
            (Some("none"), _) => Revocation::None,
            (Some("pleo"), _) => Revocation::PleoInstallation,
            (None | Some("rfc7009"), Some(u)) => Revocation::Rfc7009(u),
            (None, None) => Revocation::None,
            (Some("rfc7009"), None) => {
                return Err(bad("revocation = rfc7009 needs revocation_url".into()))
            }
            (Some(o), _) => {
                return Err(bad(format!(
                    "unknown revocation `{o}` (rfc7009, pleo, none)"
                )))
            }
        };
        let check = match (
            pleo_default(t.check.as_deref(), kind),
            endpoints.introspection,
        ) {
            (Some("none"), _) => Check::None,
            (Some("pleo"), _) => Check::PleoIntrospect,
            (None | Some("rfc7662"), Some(u)) => Check::Rfc7662(u),
            (None, None) => Check::None,
            (Some("rfc7662"), None) => {
                return Err(bad("check = rfc7662 needs introspection_url".into()))
            }
            (Some(o), _) => return Err(bad(format!("unknown check `{o}` (rfc7662, pleo, none)"))),
        };
        let redirect = match t.redirect.as_deref() {
            None | Some("loopback") => RedirectMode::Loopback,
            Some(u) => RedirectMode::Pinned(u.to_string()),
        };
        let client_auth = match t.client_auth.as_deref() {
            None | Some("none") => ClientAuth::None,
            Some("client_secret_basic") => ClientAuth::ClientSecretBasic,
            Some(o) => {
                return Err(bad(format!(
                    "unknown client_auth `{o}` (none, client_secret_basic)"
                )))
            }
        };
        let p = Provider {
            name: self.name.clone(),
            display_name: t.display_name.clone().unwrap_or_else(|| self.name.clone()),
            authorize_url: authorize,
            token_url: token,
            api_base: t.api_base.clone(),
            default_scopes: t.scopes.clone(),
            redirect,
            client_auth,
            client_id: t.client_id.clone(),
            revocation,
            check,
            kind,
        };
        p.validate()?;
        Ok(p)
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

/// The providers a `providers.toml` text defines (`source` names it in errors).
pub(crate) fn parse_config(text: &str, source: &str) -> Result<Vec<ProviderSpec>, OAuthError> {
    let cfg: ConfigToml = toml::from_str(text).map_err(|e| OAuthError::Config {
        provider: source.to_string(),
        why: match e.span() {
            Some(span) => {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                format!("line {line}, column {column}: {}", e.message())
            }
            None => e.message().to_string(),
        },
    })?;
    let mut out = Vec::new();
    for (name, t) in cfg.providers {
        crate::vault::check_name(&name).map_err(|_| OAuthError::Config {
            provider: name.clone(),
            why: "provider names use A-Z a-z 0-9 . _ -".into(),
        })?;
        out.push(ProviderSpec {
            name,
            toml: Some(t),
            preset: None,
        });
    }
    Ok(out)
}

/// The presets plus the providers of `providers.toml` (if the file exists). A config
/// table with a preset's name replaces the preset.
pub fn load_specs(config: Option<&std::path::Path>) -> Result<Vec<ProviderSpec>, OAuthError> {
    let mut specs: BTreeMap<String, ProviderSpec> = presets()
        .into_iter()
        .map(|p| {
            (
                p.name.clone(),
                ProviderSpec {
                    name: p.name.clone(),
                    toml: None,
                    preset: Some(p),
                },
            )
        })
        .collect();
    if let Some(path) = config {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                for spec in parse_config(&text, &path.display().to_string())? {
                    specs.insert(spec.name.clone(), spec);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(OAuthError::Config {
                    provider: path.display().to_string(),
                    why: e.to_string(),
                })
            }
        }
    }
    Ok(specs.into_values().collect())
}

#[cfg(test)]
mod tests {
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
