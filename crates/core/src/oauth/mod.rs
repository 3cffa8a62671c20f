//! OAuth 2.0: providers (Pleo presets, config file, discovery), the PKCE flow with a
//! loopback redirect, revocation and connection checks, and the connect / disconnect
//! lifecycle over the vault. Only `refresh` refreshes (a later module).

mod discovery;
mod error;
mod flow;
pub mod http;
pub mod loopback;
mod ops;
mod provider;

pub use error::OAuthError;
pub use flow::{Client, Interaction, SignInLink, TokenSet};
pub use ops::{check, revoke};
pub use provider::{
    load_specs, presets, Check, ClientAuth, Provider, ProviderSpec, RedirectMode, Revocation,
};

use crate::connection::{self, Connection, ConnectionInfo, Secrets, Status};
use crate::vault::{UnlockedVault, VaultError};
use secrecy::{ExposeSecret, SecretString};

/// Anything connect / disconnect can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The OAuth side.
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    /// The vault side.
    #[error(transparent)]
    Vault(#[from] VaultError),
}

/// What to connect.
pub struct ConnectRequest<'a> {
    /// Connection name (unique in the vault).
    pub name: &'a str,
    /// Provider, resolved.
    pub provider: &'a Provider,
    /// Client id (else the provider's default).
    pub client_id: Option<String>,
    /// Client secret, for confidential clients.
    pub client_secret: Option<SecretString>,
    /// Scopes (else the provider's defaults).
    pub scopes: Vec<String>,
}

/// Connects: runs the flow, stores the tokens, then checks the connection and keeps what
/// the check says. Nothing is stored unless the code exchange succeeded. The vault is
/// locked only to check the name and to save: not while the person signs in (so a shared
/// vault keeps serving tokens meanwhile).
pub fn connect(
    vault: &std::sync::Mutex<UnlockedVault>,
    http: &http::Http,
    req: ConnectRequest<'_>,
    ui: Interaction<'_>,
) -> Result<ConnectionInfo, ConnectError> {
    let lock = || vault.lock().unwrap_or_else(|p| p.into_inner());
    connection::check_name(req.name)?;
    if connection::exists(&lock(), req.name) {
        return Err(OAuthError::NameTaken(req.name.to_string()).into());
    }
    let client_id = req
        .client_id
        .or_else(|| req.provider.client_id.clone())
        .ok_or_else(|| {
            OAuthError::Missing(format!(
                "provider `{}` has no default client id: give --client-id",
                req.provider.name
            ))
        })?;
    let scopes = if req.scopes.is_empty() {
        req.provider.default_scopes.clone()
    } else {
        req.scopes
    };
    let client = Client {
        provider: req.provider,
        client_id: client_id.clone(),
        client_secret: req.client_secret,
    };
    let tokens = client.authorize(http, &scopes, ui)?;
    let now = connection::now();
    let mut conn = Connection {
        info: ConnectionInfo {
            token_type: tokens.token_type.clone(),
            has_refresh_token: tokens.refresh_token.is_some(),
            has_client_secret: client.client_secret.is_some(),
            ..ConnectionInfo::new(
                req.name,
                req.provider.clone(),
                client_id,
                tokens.scopes.clone().unwrap_or(scopes),
                now,
                tokens.expires_in.map(|d| now + d.as_secs()),
            )
        },
        secrets: Secrets {
            access_token: tokens.access_token.expose_secret().to_string(),
            refresh_token: tokens
                .refresh_token
                .as_ref()
                .map(|r| r.expose_secret().to_string()),
            client_secret: client
                .client_secret
                .as_ref()
                .map(|s| s.expose_secret().to_string()),
        },
    };
    {
        let mut v = lock();
        // Another connect may have taken the name while this one waited for the browser.
        if connection::exists(&v, req.name) {
            return Err(OAuthError::NameTaken(req.name.to_string()).into());
        }
        connection::save(&mut v, &conn)?;
    }
    tracing::info!(connection = req.name, provider = %req.provider.name, "connected");
    match check(http, &conn) {
        Ok(meta) => conn.info.check = meta,
        Err(e) => {
            tracing::warn!(connection = req.name, error = %e, "connection check failed");
            conn.info.check_error = Some(e.to_string());
        }
    }
    connection::save(&mut lock(), &conn)?;
    Ok(conn.info.clone())
}

/// Signs in again for an existing connection (its refresh token was refused, or the user
/// wants fresh tokens): same provider, client and scopes; the new tokens replace the old
/// ones in place, and the status, failure count and check are reset. Nothing changes
/// unless the code exchange succeeded. The old tokens are not revoked (Pleo's revocation
/// removes the whole installation, which would take the new tokens with it).
pub fn reauthorise(
    vault: &std::sync::Mutex<UnlockedVault>,
    http: &http::Http,
    name: &str,
    accept_other_account: bool,
    ui: Interaction<'_>,
) -> Result<ConnectionInfo, ConnectError> {
    let lock = || vault.lock().unwrap_or_else(|p| p.into_inner());
    let old = connection::load(&mut lock(), name)?;
    if matches!(old.info.status, Status::RevocationPending { .. }) {
        return Err(OAuthError::Missing(format!(
            "`{name}` is being disconnected (revocation pending); connect it again under a new name instead"
        ))
        .into());
    }
    let client = Client {
        provider: &old.info.provider,
        client_id: old.info.client_id.clone(),
        client_secret: old.secrets.client_secret.clone().map(SecretString::from),
    };
    let tokens = client.authorize(http, &old.info.scopes, ui)?;
    let now = connection::now();
    let mut c = connection::load(&mut lock(), name)?; // as it is now, after the wait
    c.info.scopes = tokens.scopes.clone().unwrap_or(c.info.scopes);
    c.info.token_type = tokens.token_type.clone();
    c.info.issued_at = now;
    c.info.expires_at = tokens.expires_in.map(|d| now + d.as_secs());
    c.info.has_refresh_token = tokens.refresh_token.is_some();
    c.info.status = Status::Active;
    c.info.refresh_failures = 0;
    c.info.last_refresh_error = None;
    c.info.refreshing_since = None;
    c.secrets.access_token = tokens.access_token.expose_secret().to_string();
    c.secrets.refresh_token = tokens
        .refresh_token
        .as_ref()
        .map(|r| r.expose_secret().to_string());
    // Whose tokens are these? Checked before anything is saved: a code delivered for
    // another account (someone who raced the sign-in) must not replace this one's.
    let checked = check(http, &c);
    if let Some(was) = old
        .info
        .check
        .get(SUBJECT)
        .filter(|_| !accept_other_account)
    {
        let now_subject = checked.as_ref().ok().and_then(|m| m.get(SUBJECT));
        if now_subject != Some(was) {
            tracing::warn!(
                connection = name,
                "re-authorisation refused: another account"
            );
            return Err(OAuthError::AccountChanged {
                was: was.clone(),
                now: now_subject
                    .cloned()
                    .unwrap_or_else(|| "(the provider's check did not answer)".into()),
            }
            .into());
        }
    }
    match checked {
        Ok(meta) => {
            c.info.check = meta;
            c.info.check_error = None;
        }
        Err(e) => c.info.check_error = Some(e.to_string()),
    }
    connection::save(&mut lock(), &c)?;
    tracing::info!(connection = name, "re-authorised");
    Ok(c.info.clone())
}

/// The connection check's field that names the account (Pleo: the company).
const SUBJECT: &str = "subjectURN";

/// How a disconnect ended.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Disconnected {
    /// Revoked at the provider and deleted.
    Revoked,
    /// The provider has no revocation: deleted locally only.
    NoRevocation,
    /// Forgotten locally without revoking (`--force`); the tokens may still be live.
    Forgotten,
    /// The provider could not be reached: kept as "revocation pending".
    Pending(String),
}

/// Disconnects: revoke at the provider, then delete. If the provider cannot be reached (or
/// answers 5xx) the connection is kept as "revocation pending" for a later retry;
/// `force` forgets it locally anyway.
pub fn disconnect(
    vault: &mut UnlockedVault,
    http: &http::Http,
    name: &str,
    force: bool,
) -> Result<Disconnected, ConnectError> {
    let mut conn = connection::load(vault, name)?;
    match revoke(http, &conn) {
        Ok(revoked) => {
            connection::remove(vault, name)?;
            tracing::info!(connection = name, revoked, "disconnected");
            Ok(if revoked {
                Disconnected::Revoked
            } else {
                Disconnected::NoRevocation
            })
        }
        Err(_) if force => {
            connection::remove(vault, name)?;
            tracing::warn!(connection = name, "forgotten without revocation");
            Ok(Disconnected::Forgotten)
        }
        Err(e) if e.is_transient() => {
            let why = e.to_string();
            conn.info.status = match conn.info.status {
                Status::RevocationPending {
                    since, attempts, ..
                } => Status::RevocationPending {
                    since,
                    attempts: attempts + 1,
                    last_error: why.clone(),
                },
                Status::Active | Status::NeedsReauthorisation { .. } => Status::RevocationPending {
                    since: connection::now(),
                    attempts: 1,
                    last_error: why.clone(),
                },
            };
            connection::save(vault, &conn)?;
            tracing::warn!(connection = name, error = %why, "revocation pending");
            Ok(Disconnected::Pending(why))
        }
        Err(e) => Err(e.into()),
    }
}

/// Retries every pending revocation; returns the names now gone.
pub fn retry_pending(
    vault: &mut UnlockedVault,
    http: &http::Http,
) -> Result<Vec<String>, VaultError> {
    let mut done = Vec::new();
    for name in connection::names(vault) {
        let pending = matches!(
            connection::load(vault, &name)?.info.status,
            Status::RevocationPending { .. }
        );
        if pending {
            if let Ok(Disconnected::Revoked | Disconnected::NoRevocation) =
                disconnect(vault, http, &name, false)
            {
                done.push(name);
            }
        }
    }
    Ok(done)
}

/// `providers.toml` parsing, for the fuzz targets.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn fuzz_parse_config(text: &str) -> Result<Vec<ProviderSpec>, OAuthError> {
    provider::parse_config(text, "fuzz")
}

/// Discovery-document checking, for the fuzz targets.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn fuzz_discovery(body: &[u8]) -> Result<(), OAuthError> {
    // Invariant: a constant, valid URL.
    let at = url::Url::parse("https://issuer.example/.well-known/openid-configuration")
        .expect("a valid URL");
    discovery::check_document(&at, at.as_str(), body).map(|_| ())
}

/// Token-response parsing, for the fuzz targets.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn fuzz_token_response(body: &[u8]) -> Result<(), OAuthError> {
    flow::fuzz_token_response(body)
}

/// Opens `url` in the system browser: `$BROWSER` if set (the Unix convention: a command,
/// or `:`-separated commands, `%s` replaced by the URL or the URL appended), else the
/// platform opener. The browser is never waited for beyond its start.
pub fn open_browser(url: &str) -> Result<(), String> {
    if let Ok(b) = std::env::var("BROWSER") {
        let mut last = String::from("$BROWSER is empty");
        for cmd in b.split(':').filter(|c| !c.trim().is_empty()) {
            let mut parts: Vec<String> = cmd.split_whitespace().map(str::to_string).collect();
            if parts.iter().any(|p| p.contains("%s")) {
                for p in &mut parts {
                    *p = p.replace("%s", url);
                }
            } else {
                parts.push(url.to_string());
            }
            match std::process::Command::new(&parts[0])
                .args(&parts[1..])
                .stdin(std::process::Stdio::null())
                .spawn()
            {
                Ok(_) => return Ok(()),
                Err(e) => last = format!("`{}`: {e}", parts[0]),
            }
        }
        return Err(last);
    }
    let (prog, args): (&str, Vec<&str>) = if cfg!(target_os = "macos") {
        ("open", vec![url])
    } else if cfg!(windows) {
        ("rundll32", vec!["url.dll,FileProtocolHandler", url])
    } else {
        ("xdg-open", vec![url])
    };
    std::process::Command::new(prog)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .map(|_| ())
        .map_err(|e| format!("`{prog}`: {e}"))
}
