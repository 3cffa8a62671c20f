//! Providers as configured: the presets and the tables of `providers.toml`
//! ([`ProviderSpec`]), and how a spec resolves to a [`Provider`] (discovery included).

use super::super::discovery::discover;
use super::super::endpoints::Endpoints;
use super::super::http::Http;
use super::super::OAuthError;
use super::{presets, Check, ClientAuth, Provider, ProviderKind, RedirectMode, Revocation};
use serde::Deserialize;
use std::collections::BTreeMap;

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
        let endpoints = endpoints(t, http)?;
        let authorize = endpoints
            .authorize
            .ok_or_else(|| bad("no authorize_url (and no discovery)".into()))?;
        let token = endpoints
            .token
            .ok_or_else(|| bad("no token_url (and no discovery)".into()))?;
        let kind = said_kind(t).map_err(bad)?;
        let revocation = revocation(t, kind, endpoints.revocation).map_err(bad)?;
        let check = check(t, kind, endpoints.introspection).map_err(bad)?;
        let redirect = match t.redirect.as_deref() {
            None | Some("loopback") => RedirectMode::Loopback,
            Some(u) => RedirectMode::Pinned(u.to_string()),
        };
        let client_auth = client_auth(t).map_err(bad)?;
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

/// A table's endpoints, completed from its discovery document if it names one.
fn endpoints(t: &ProviderToml, http: &Http) -> Result<Endpoints, OAuthError> {
    let mut endpoints = Endpoints {
        authorize: t.authorize_url.clone(),
        token: t.token_url.clone(),
        revocation: t.revocation_url.clone(),
        introspection: t.introspection_url.clone(),
    };
    if let Some(d) = &t.discovery {
        let found = discover(http, d)?;
        endpoints = endpoints.or(found);
    }
    Ok(endpoints)
}

/// A table's `kind`, if it says one.
fn said_kind(t: &ProviderToml) -> Result<Option<ProviderKind>, String> {
    match t.kind.as_deref() {
        None => Ok(None),
        Some("pleo") => Ok(Some(ProviderKind::Pleo)),
        Some("generic") => Ok(Some(ProviderKind::Generic)),
        Some(o) => Err(format!("unknown kind `{o}` (pleo, generic)")),
    }
}

/// `v`, else `pleo` for a provider said to be Pleo.
fn pleo_default(v: Option<&str>, kind: Option<ProviderKind>) -> Option<&str> {
    match v {
        None if kind == Some(ProviderKind::Pleo) => Some("pleo"),
        v => v,
    }
}

/// A table's revocation (`url` the revocation endpoint, if known).
fn revocation(
    t: &ProviderToml,
    kind: Option<ProviderKind>,
    url: Option<String>,
) -> Result<Revocation, String> {
    match (pleo_default(t.revocation.as_deref(), kind), url) {
        (Some("none"), _) => Ok(Revocation::None),
        (Some("pleo"), _) => Ok(Revocation::PleoInstallation),
        (None | Some("rfc7009"), Some(u)) => Ok(Revocation::Rfc7009(u)),
        (None, None) => Ok(Revocation::None),
        (Some("rfc7009"), None) => Err("revocation = rfc7009 needs revocation_url".into()),
        (Some(o), _) => Err(format!("unknown revocation `{o}` (rfc7009, pleo, none)")),
    }
}

/// A table's connection check (`url` the introspection endpoint, if known).
fn check(
    t: &ProviderToml,
    kind: Option<ProviderKind>,
    url: Option<String>,
) -> Result<Check, String> {
    match (pleo_default(t.check.as_deref(), kind), url) {
        (Some("none"), _) => Ok(Check::None),
        (Some("pleo"), _) => Ok(Check::PleoIntrospect),
        (None | Some("rfc7662"), Some(u)) => Ok(Check::Rfc7662(u)),
        (None, None) => Ok(Check::None),
        (Some("rfc7662"), None) => Err("check = rfc7662 needs introspection_url".into()),
        (Some(o), _) => Err(format!("unknown check `{o}` (rfc7662, pleo, none)")),
    }
}

/// A table's client authentication.
fn client_auth(t: &ProviderToml) -> Result<ClientAuth, String> {
    match t.client_auth.as_deref() {
        None | Some("none") => Ok(ClientAuth::None),
        Some("client_secret_basic") => Ok(ClientAuth::ClientSecretBasic),
        Some(o) => Err(format!(
            "unknown client_auth `{o}` (none, client_secret_basic)"
        )),
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
