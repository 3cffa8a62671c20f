//! Credentials added by hand (Pleo API keys, other tools' static tokens): adding them,
//! replacing one with a new one (`rotate_secret`, verify first), and checking any
//! credential with its provider (`check`: the key or token still accepted, and Pleo's
//! installation status).

use super::{OpError, Session};
use crate::audit::{CheckOutcome, Event};
use crate::connection::{
    self, Connection, ConnectionInfo, ConnectionName, CredentialKind, Secrets,
};
use crate::facts::{self, SUBJECT};
use crate::oauth::api_key::{self, ApiKeyError, ApiKeyFacts};
use crate::oauth::{self, OAuthError};
use crate::vault::VaultError;
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::time::Duration;

/// What a `check` found.
#[derive(Debug)]
#[non_exhaustive]
pub struct Checked {
    /// The connection as saved after the check.
    pub info: ConnectionInfo,
    /// How it went (also in the audit log). What the provider said, the installation's
    /// status among it, is on `info`.
    pub outcome: CheckOutcome,
}

/// The old credential's facts after `rotate_secret`: enough to find it in the provider's
/// list (Pleo's web app, Settings -> API keys) and revoke it there.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Replaced {
    /// The old key's client id at the provider, if known.
    pub client_id: Option<String>,
    /// Its application name, if known.
    pub application: Option<String>,
    /// When it was added here (Unix seconds).
    pub added_at: u64,
    /// Its expiry date, if given.
    pub expires_at: Option<u64>,
}

/// A rotation's result.
#[derive(Debug)]
#[non_exhaustive]
pub struct Rotated {
    /// The connection with its new credential.
    pub info: ConnectionInfo,
    /// The old one's facts (also in the audit log).
    pub old: Replaced,
}

/// A secret a person pasted or typed (an API key, another tool's token, a client secret):
/// the spaces and line endings a paste brings around it are trimmed, and an empty one is
/// refused. The one rule for the CLI and the app.
pub struct Pasted(SecretString);

impl Pasted {
    /// Trims `text`; an error if nothing is left.
    pub fn new(text: &str) -> Result<Self, OpError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(OpError::EmptySecret);
        }
        Ok(Self(SecretString::from(t.to_string())))
    }

    /// The secret.
    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

fn facts_map(f: &ApiKeyFacts) -> BTreeMap<String, String> {
    [
        ("authMethod", "API_KEY"),
        (SUBJECT, f.company.as_str()),
        (facts::CLIENT_ID, f.client_id.as_str()),
        (facts::SCOPES, f.scope.as_str()),
        (facts::APPLICATION, f.application_name.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

impl std::fmt::Display for Replaced {
    /// `client id 4f1e..., application "Books sync", added 2026-11-30`: what tells the
    /// old key apart in the provider's list.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(id) = &self.client_id {
            write!(f, "client id {id}, ")?;
        }
        if let Some(app) = &self.application {
            write!(f, "application \"{app}\", ")?;
        }
        write!(f, "added {}", crate::clock::date(self.added_at))
    }
}

impl Session<'_> {
    /// Stores a Pleo standalone API key as `name`, beside the OAuth connections (one list,
    /// one name space). With `verify`, Pleo's `/v1/introspect` must first accept it as an
    /// API key; its company, client id, scopes and application are kept as the check.
    /// `expires_at` is the expiry date the admin chose in Pleo's web app (Pleo's answer
    /// does not say it). Nothing is stored unless it verified (or `verify` is off).
    pub fn add_api_key(
        &self,
        name: &ConnectionName,
        provider: &oauth::Provider,
        key: &Pasted,
        expires_at: Option<u64>,
        verify: bool,
    ) -> Result<ConnectionInfo, OpError> {
        let key = key.secret();
        self.audit_ready()?;
        if connection::exists(&self.lock(), name) {
            return Err(OAuthError::NameTaken(name.to_string()).into());
        }
        let facts = if verify {
            Some(oauth::api_key::verify(
                self.http(),
                provider,
                key.expose_secret(),
            )?)
        } else {
            None
        };
        let now = connection::now();
        let mut info = ConnectionInfo {
            kind: CredentialKind::ApiKey,
            token_type: "Basic".into(),
            ..ConnectionInfo::new(
                name,
                provider.clone(),
                facts
                    .as_ref()
                    .map(|f| f.client_id.clone())
                    .unwrap_or_default(),
                facts
                    .as_ref()
                    .map(|f| f.scope.split_whitespace().map(String::from).collect())
                    .unwrap_or_default(),
                now,
                expires_at,
            )
        };
        // Unverified: never checked (`checked_at` stays empty), which is not a refusal.
        if let Some(f) = &facts {
            info.check = facts_map(f);
            info.checked_at = Some(now);
        }
        self.store_credential(info, key)
    }

    /// Stores another tool's token or key as `name`, presented as `kind` says
    /// (`StaticBearer`, `StaticBasic`, `StaticRaw`), labelled `source`. Nothing verifies
    /// it; it is never refreshed and fails past `expires_at`.
    pub fn add_static(
        &self,
        name: &ConnectionName,
        kind: CredentialKind,
        source: &str,
        secret: &Pasted,
        expires_at: Option<u64>,
    ) -> Result<ConnectionInfo, OpError> {
        let secret = secret.secret();
        if kind.is_refreshed() || kind == CredentialKind::ApiKey {
            return Err(OAuthError::Config {
                provider: source.into(),
                why: "a static token is bearer, basic or raw".into(),
            }
            .into());
        }
        let now = connection::now();
        let info = ConnectionInfo {
            kind,
            token_type: match kind {
                CredentialKind::StaticBasic => "Basic",
                CredentialKind::StaticRaw => "raw",
                _ => "Bearer",
            }
            .into(),
            ..ConnectionInfo::new(
                name,
                oauth::Provider::static_source(source),
                String::new(),
                Vec::new(),
                now,
                expires_at,
            )
        };
        self.store_credential(info, secret)
    }

    /// Saves a credential added by hand, unless its name is taken; audits it.
    fn store_credential(
        &self,
        info: ConnectionInfo,
        secret: &SecretString,
    ) -> Result<ConnectionInfo, OpError> {
        let name = info.name.clone();
        self.audit_ready()?;
        let conn = Connection {
            info,
            secrets: Secrets {
                access_token: secret.expose_secret().to_string(),
                refresh_token: None,
                client_secret: None,
                sealed: None,
            },
        };
        match connection::create(&mut self.lock(), &conn) {
            Err(VaultError::Exists(_)) => {
                return Err(OAuthError::NameTaken(name.to_string()).into())
            }
            other => other?,
        }
        tracing::info!(connection = %name, kind = ?conn.info.kind, "credential added");
        self.audited(Event::Connected {
            connection: (&name).into(),
            provider: conn.info.provider.name.clone(),
        })?;
        Ok(conn.info.clone())
    }

    /// Replaces the API key or static token `name` with `new`, keeping its name, kind
    /// and history. A Pleo API key is verified first (unless `verify` is off) and must act
    /// for the same company; until it has verified, the old one stays in place untouched.
    /// `expires_at` is the new one's date. The old one's facts are audited and returned:
    /// it is not revoked (there is no API for that), so the person revokes it where it
    /// was made.
    pub fn rotate_secret(
        &self,
        name: &ConnectionName,
        new: &Pasted,
        expires_at: Option<u64>,
        verify: bool,
    ) -> Result<Rotated, OpError> {
        let new = new.secret();
        self.audit_ready()?;
        let old = connection::load(&mut self.lock(), name)?;
        if old.info.kind.is_refreshed() {
            return Err(OpError::NotRotatable(name.into()));
        }
        if new.expose_secret() == old.secrets.access_token {
            return Err(OpError::SameSecret(name.into()));
        }
        let facts = match (old.info.kind, verify) {
            (CredentialKind::ApiKey, true) => Some(
                api_key::verify(self.http(), &old.info.provider, new.expose_secret())
                    .map_err(OpError::Rotation)?,
            ),
            _ => None,
        };
        if let (Some(f), Some(was)) = (&facts, old.info.check.get(SUBJECT)) {
            if &f.company != was {
                return Err(OpError::KeyForAnotherCompany {
                    name: name.into(),
                    was: was.clone(),
                    now: f.company.clone(),
                });
            }
        }
        let now = connection::now();
        let replaced = Replaced {
            client_id: old.info.check.get("clientId").cloned(),
            application: old.info.check.get("applicationName").cloned(),
            added_at: old.info.issued_at,
            expires_at: old.info.expires_at,
        };
        // As it is now: a check or export may have saved it since.
        let ((), info) = connection::update(&mut self.lock(), name, |c| {
            c.info.issued_at = now;
            c.info.expires_at = expires_at;
            c.info.checked_at = None;
            match &facts {
                Some(f) => {
                    c.info.check = facts_map(f);
                    c.info.client_id = f.client_id.clone();
                    c.info.scopes = f.scope.split_whitespace().map(String::from).collect();
                    c.info.check_error = None;
                    c.info.checked_at = Some(now);
                }
                // Unverified: the old key's check says nothing of the new one.
                None => {
                    c.info.check = Default::default();
                    c.info.check_error = None;
                }
            }
            c.secrets.access_token = new.expose_secret().to_string();
            Ok::<_, OpError>(())
        })?;
        tracing::info!(connection = %name, "credential rotated");
        self.audited(Event::SecretRotated {
            connection: name.into(),
            old_client_id: replaced.client_id.clone(),
            old_added_at: replaced.added_at,
            old_expires_at: replaced.expires_at,
        })?;
        Ok(Rotated {
            info,
            old: replaced,
        })
    }

    /// An API key's check: Pleo's facts and its installation's status, or why it failed
    /// (and whether Pleo refused it).
    fn check_api_key(&self, c: &Connection) -> Result<BTreeMap<String, String>, (String, bool)> {
        let key = &c.secrets.access_token;
        let mut facts = api_key::verify(self.http(), &c.info.provider, key)
            .map(|f| facts_map(&f))
            .map_err(|e| (e.to_string(), matches!(e, ApiKeyError::Refused(_))))?;
        let auth = api_key::basic_authorization(key);
        let i = api_key::installation(self.http(), &c.info.provider, &auth);
        api_key::note_installation(&mut facts, i.as_ref().map(Option::as_ref));
        Ok(facts)
    }

    /// Checks `name` with its provider now: a Pleo API key with `/v1/introspect`; an
    /// OAuth connection with its provider's check (its access token refreshed first if
    /// need be). For Pleo, the installation's status is read too
    /// (`/v1/installations/me`). What it finds is saved on the record (a refused key is
    /// flagged, and keeps what was known of it) and audited. A static token has nothing
    /// to check it with: `CheckOutcome::Unverifiable`, nothing sent.
    pub fn check(&self, name: &ConnectionName) -> Result<Checked, OpError> {
        self.audit_ready()?;
        let mut c = connection::load(&mut self.lock(), name)?;
        if c.info.kind == CredentialKind::Oauth {
            // A live access token first, through the one refresher; then the record as it
            // is now, to check with the token it holds.
            self.refresher
                .access_token(self.vault, name, Duration::from_secs(60))?;
            c = connection::load(&mut self.lock(), name)?;
        }
        let result = match c.info.kind {
            CredentialKind::ApiKey => self.check_api_key(&c),
            CredentialKind::Oauth => oauth::check(self.http(), &c.grant()).map_err(|e| {
                let refused = matches!(
                    e,
                    OAuthError::Status {
                        status: 401 | 403,
                        ..
                    }
                );
                (e.to_string(), refused)
            }),
            _ => {
                return Ok(Checked {
                    info: c.info,
                    outcome: CheckOutcome::Unverifiable,
                })
            }
        };
        drop(c);
        let refused = match &result {
            Err((_, refused)) => Some(*refused),
            Ok(_) => None,
        };
        let now = connection::now();
        let ((), info) = connection::update(&mut self.lock(), name, |c| {
            c.info.checked_at = Some(now);
            match result {
                Ok(map) => {
                    c.info.check = map;
                    c.info.check_error = None;
                }
                Err((e, _)) => c.info.check_error = Some(e),
            }
            Ok::<_, OpError>(())
        })?;
        let outcome = match refused {
            Some(true) => CheckOutcome::Refused,
            Some(false) => CheckOutcome::Failed,
            None if info.installation_broken() => CheckOutcome::InstallationProblem,
            None if info.installation_unknown().is_some() => CheckOutcome::InstallationUnknown,
            None => CheckOutcome::Ok,
        };
        tracing::info!(connection = %name, outcome = %outcome, "checked");
        self.audited(Event::Checked {
            connection: name.into(),
            outcome: outcome.clone(),
        })?;
        Ok(Checked { info, outcome })
    }
}
