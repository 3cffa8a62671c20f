//! The connection lifecycle: connect, re-authorise, disconnect (with pending revocation
//! and its retries) and prune.

use super::{OpError, Session};
use crate::audit::{DisconnectHow, Event};
use crate::connection::{
    self, Connection, ConnectionInfo, ConnectionName, CredentialKind, Secrets, Status,
};
use crate::oauth::{self, Client, Interaction, OAuthError, Provider, Revocation};
use crate::vault::VaultError;
use secrecy::{ExposeSecret, SecretString};

/// The connection check's field that names the account (Pleo: the company).
pub(super) use crate::facts::SUBJECT;

/// What to connect.
pub struct ConnectRequest<'a> {
    /// Connection name (unique in the vault).
    pub name: &'a ConnectionName,
    /// Provider, resolved.
    pub provider: &'a Provider,
    /// Client id (else the provider's default).
    pub client_id: Option<String>,
    /// Client secret, for confidential clients.
    pub client_secret: Option<SecretString>,
    /// Scopes (else the provider's defaults).
    pub scopes: Vec<String>,
}

/// How a disconnect ended.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Disconnected {
    /// Revoked at the provider and deleted.
    Revoked,
    /// The provider has no revocation: deleted locally only.
    NoRevocation,
    /// Forgotten locally without revoking (`force`); the tokens may still be live.
    Forgotten,
    /// The provider could not be reached: kept as "revocation pending".
    Pending(String),
    /// An API key or static token (of this kind), deleted here. There is no API to
    /// revoke it: revoke it where it was made (a Pleo API key: Pleo's web app, Settings
    /// -> API keys; another tool's token: that tool).
    KeyForgotten(CredentialKind),
}

impl Disconnected {
    /// Whether the connection is gone from the vault (anything but still pending).
    pub fn is_gone(&self) -> bool {
        !matches!(self, Disconnected::Pending(_))
    }

    /// The audit log's word for it.
    fn how(&self) -> DisconnectHow {
        match self {
            Disconnected::Revoked => DisconnectHow::Revoked,
            Disconnected::NoRevocation => DisconnectHow::NoRevocation,
            Disconnected::Forgotten => DisconnectHow::Forced,
            Disconnected::Pending(_) => DisconnectHow::RevocationPending,
            Disconnected::KeyForgotten(_) => DisconnectHow::NoRevocation,
        }
    }
}

/// What became of the grant a re-authorisation replaced.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplacedGrant {
    /// Revoked at the provider (RFC 7009); the new tokens were checked afterwards where
    /// the provider has a check.
    Revoked,
    /// Still live at the provider until it expires: why it was not revoked.
    LeftLive(String),
    /// The revocation was tried and failed (the old tokens may still be live).
    RevokeFailed(String),
}

/// A re-authorised connection.
#[derive(Debug)]
pub struct Reauthorised {
    /// Its facts now.
    pub info: ConnectionInfo,
    /// What became of the grant it replaced.
    pub replaced: ReplacedGrant,
}

/// A pending revocation retried.
#[derive(Debug)]
pub struct Retried {
    /// Connection.
    pub name: ConnectionName,
    /// How it ended: gone ([`Disconnected::Revoked`] or [`Disconnected::NoRevocation`]),
    /// still pending, or refused (the message; the connection is kept).
    pub outcome: Result<Disconnected, String>,
}

impl Session<'_> {
    /// Retries pending revocations first (so a name they free is free), then runs the
    /// sign-in, stores the tokens and checks the connection, keeping what the check says.
    /// Nothing is stored unless the code exchange succeeded. The vault is locked only to
    /// check the name and to save, not while the person signs in.
    pub fn connect(
        &self,
        req: ConnectRequest<'_>,
        ui: Interaction<'_>,
    ) -> Result<ConnectionInfo, OpError> {
        self.audit_ready()?;
        // Each outcome is audited by the disconnect it retries; a failure leaves them
        // pending, as they were.
        match self.retry_pending() {
            Ok(done) => {
                for r in done.iter().filter(|r| r.outcome.is_err()) {
                    tracing::warn!(connection = %r.name, "a pending revocation was refused");
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not retry pending revocations"),
        }
        if connection::exists(&self.lock(), req.name) {
            return Err(OAuthError::NameTaken(req.name.to_string()).into());
        }
        let client_id = req
            .client_id
            .or_else(|| req.provider.client_id.clone())
            .ok_or_else(|| OAuthError::NoClientId(req.provider.name.clone()))?;
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
        let tokens = client.authorize(self.http(), &scopes, ui)?;
        let now = connection::now();
        let conn = Connection {
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
                sealed: None,
            },
        };
        // (checked again under the vault's lock).
        match connection::create(&mut self.lock(), &conn) {
            Err(VaultError::Exists(_)) => {
                return Err(OAuthError::NameTaken(req.name.to_string()).into())
            }
            other => other?,
        }
        tracing::info!(connection = %req.name, provider = %req.provider.name, "connected");
        self.audited(Event::Connected {
            connection: req.name.into(),
            provider: req.provider.name.clone(),
        })?;
        let checked = oauth::check(self.http(), &conn.grant());
        drop(conn);
        let ((), info) = connection::update(&mut self.lock(), req.name, |c| {
            match checked {
                Ok(meta) => c.info.check = meta,
                Err(e) => {
                    tracing::warn!(connection = %req.name, error = %e, "connection check failed");
                    c.info.check_error = Some(e.to_string());
                }
            }
            Ok::<_, OpError>(())
        })?;
        Ok(info)
    }

    /// Signs in again for an existing connection (its refresh token was refused, or the
    /// user wants fresh tokens): same provider, client and scopes; the new tokens replace
    /// the old ones in place, and the status, failure count and check are reset. Nothing
    /// changes unless the code exchange succeeded, and (unless `accept_other_account`)
    /// the check names the same account as before. Then the replaced grant is retired
    /// where that cannot harm the new one: revoked through RFC 7009 (its refresh token,
    /// then its access token). Pleo's revocation removes the whole installation, which
    /// holds the new tokens too, so there it is left to expire, and said so.
    pub fn reauthorise(
        &self,
        name: &ConnectionName,
        accept_other_account: bool,
        ui: Interaction<'_>,
    ) -> Result<Reauthorised, OpError> {
        self.audit_ready()?;
        let old = connection::load(&mut self.lock(), name)?;
        if matches!(old.info.status, Status::RevocationPending { .. }) {
            return Err(OpError::BeingDisconnected(name.into()));
        }
        let client = Client {
            provider: &old.info.provider,
            client_id: old.info.client_id.clone(),
            client_secret: old.secrets.client_secret.clone().map(SecretString::from),
        };
        let tokens = client.authorize(self.http(), &old.info.scopes, ui)?;
        let now = connection::now();
        // The new tokens on the record as it is now, after the wait for the browser.
        let apply = |c: &mut Connection| {
            c.info.scopes = tokens
                .scopes
                .clone()
                .unwrap_or_else(|| c.info.scopes.clone());
            c.info.token_type = tokens.token_type.clone();
            c.info.issued_at = now;
            c.info.expires_at = tokens.expires_in.map(|d| now + d.as_secs());
            c.info.has_refresh_token = tokens.refresh_token.is_some();
            c.info.status = Status::Active;
            c.info.refresh_failures = 0;
            c.info.last_refresh_error = None;
            c.info.refreshing_since = None;
            // Its own grant now: no longer a copy of another vault's.
            c.info.restored_at = None;
            c.secrets.access_token = tokens.access_token.expose_secret().to_string();
            c.secrets.refresh_token = tokens
                .refresh_token
                .as_ref()
                .map(|r| r.expose_secret().to_string());
        };
        let mut fresh = connection::load(&mut self.lock(), name)?;
        apply(&mut fresh);
        // Whose tokens are these? Checked before anything is saved: a code delivered for
        // another account (someone who raced the sign-in) must not replace this one's.
        let checked = oauth::check(self.http(), &fresh.grant());
        drop(fresh);
        if let Some(was) = old
            .info
            .check
            .get(SUBJECT)
            .filter(|_| !accept_other_account)
        {
            let now_subject = checked.as_ref().ok().and_then(|m| m.get(SUBJECT));
            if now_subject != Some(was) {
                tracing::warn!(
                    connection = %name,
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
        let ((), info) = connection::update(&mut self.lock(), name, |c| {
            apply(c);
            match checked {
                Ok(meta) => {
                    c.info.check = meta;
                    c.info.check_error = None;
                }
                Err(e) => c.info.check_error = Some(e.to_string()),
            }
            Ok::<_, OpError>(())
        })?;
        tracing::info!(connection = %name, "re-authorised");
        self.audited(Event::Reauthorised {
            connection: name.into(),
        })?;
        let replaced = self.retire_replaced(&old, name);
        Ok(Reauthorised { info, replaced })
    }

    /// Revokes the grant `old` held, after a re-authorisation replaced it (see
    /// [`Self::reauthorise`]). A dead grant (its refresh token refused) has nothing to
    /// revoke.
    fn retire_replaced(&self, old: &Connection, name: &ConnectionName) -> ReplacedGrant {
        if matches!(old.info.status, Status::NeedsReauthorisation { .. }) {
            return ReplacedGrant::LeftLive(
                "the provider had already refused its refresh token".into(),
            );
        }
        match &old.info.provider.revocation {
            Revocation::None => {
                ReplacedGrant::LeftLive(
                    "the provider offers no revocation; it expires on its own".into(),
                )
            }
            Revocation::PleoInstallation => ReplacedGrant::LeftLive(
                "Pleo's only revocation removes the whole installation, which holds the new tokens too; the replaced refresh token stays valid until it expires unused".into(),
            ),
            Revocation::Rfc7009(_) => match oauth::revoke(self.http(), &old.grant()) {
                Ok(_) => {
                    tracing::info!(connection = %name, "the replaced grant was revoked");
                    ReplacedGrant::Revoked
                }
                Err(e) => {
                    tracing::warn!(connection = %name, error = %e, "could not revoke the replaced grant");
                    ReplacedGrant::RevokeFailed(e.to_string())
                }
            },
        }
    }

    /// Disconnects: revoke at the provider, then delete. Pleo's revocation authenticates
    /// with the access token, so an expiring one is refreshed first (through the one
    /// refresher, also for a connection already waiting for its revocation). If the
    /// provider cannot be reached (or answers 5xx) the connection is kept as "revocation
    /// pending" for a later retry; `force` forgets it locally anyway. Audited.
    pub fn disconnect(&self, name: &ConnectionName, force: bool) -> Result<Disconnected, OpError> {
        self.audit_ready()?;
        let c = connection::load(&mut self.lock(), name)?;
        if !c.info.kind.is_refreshed() {
            connection::remove(&mut self.lock(), name)?;
            tracing::info!(connection = %name, "API key or static token deleted");
            let result = Disconnected::KeyForgotten(c.info.kind);
            self.audited(Event::Disconnected {
                connection: name.into(),
                how: result.how(),
            })?;
            return Ok(result);
        }
        let was_pending = matches!(c.info.status, Status::RevocationPending { .. });
        let mut refresh_failure = None;
        if c.info.provider.revocation == Revocation::PleoInstallation
            && !matches!(c.info.status, Status::NeedsReauthorisation { .. })
        {
            if let Err(e) = self.refresher.for_revocation(self.vault, name) {
                tracing::info!(connection = %name, error = %e, "could not renew the access token before revoking");
                refresh_failure = Some(e.to_string());
            }
        }
        let result = self.revoke_and_remove(name, force, refresh_failure)?;
        if !matches!(result, Disconnected::Pending(_)) {
            // Gone: its refresh lock file goes too (taken first, so no refresher of it
            // in any process is between its lock and its write; see `forget_lock`).
            self.refresher.forget_lock(self.vault, name);
        }
        if result == Disconnected::Revoked {
            self.audited(Event::Revoked {
                connection: name.into(),
            })?;
        }
        // A retry that leaves it pending changes nothing the log does not already say.
        if !(was_pending && matches!(result, Disconnected::Pending(_))) {
            self.audited(Event::Disconnected {
                connection: name.into(),
                how: result.how(),
            })?;
        }
        Ok(result)
    }

    fn revoke_and_remove(
        &self,
        name: &ConnectionName,
        force: bool,
        refresh_failure: Option<String>,
    ) -> Result<Disconnected, OpError> {
        let mut v = self.lock();
        let conn = connection::load(&mut v, name)?;
        let revoked = oauth::revoke(self.http(), &conn.grant());
        drop(conn);
        let failed = match revoked {
            Ok(revoked) => {
                connection::remove(&mut v, name)?;
                tracing::info!(connection = %name, revoked, "disconnected");
                return Ok(if revoked {
                    Disconnected::Revoked
                } else {
                    Disconnected::NoRevocation
                });
            }
            Err(_) if force => {
                connection::remove(&mut v, name)?;
                tracing::warn!(connection = %name, "forgotten without revocation");
                return Ok(Disconnected::Forgotten);
            }
            Err(e) => e,
        };
        let transient = failed.is_transient();
        let why = match &refresh_failure {
            Some(r) if !transient => {
                format!("{failed}; renewing the access token first failed too ({r})")
            }
            _ => failed.to_string(),
        };
        // A connection already waiting keeps waiting, with the newest reason; a live one
        // starts waiting only when the provider may answer later.
        connection::update(&mut v, name, |c| {
            c.info.status = match std::mem::replace(&mut c.info.status, Status::Active) {
                Status::RevocationPending {
                    since, attempts, ..
                } => Status::RevocationPending {
                    since,
                    attempts: attempts + 1,
                    last_error: why.clone(),
                },
                s if !transient => s,
                _ => Status::RevocationPending {
                    since: connection::now(),
                    attempts: 1,
                    last_error: why.clone(),
                },
            };
            Ok::<_, VaultError>(())
        })?;
        if transient {
            tracing::warn!(connection = %name, error = %why, "revocation pending");
            return Ok(Disconnected::Pending(why));
        }
        Err(OpError::RevocationRefused {
            name: name.into(),
            refused: failed,
            refresh: refresh_failure,
        })
    }

    /// Retries every pending revocation; says how each ended.
    pub fn retry_pending(&self) -> Result<Vec<Retried>, OpError> {
        let mut out = Vec::new();
        // From the index's summaries: no record is read unless it is pending.
        for c in self.list()? {
            if matches!(c.status, Status::RevocationPending { .. }) {
                let outcome = self.disconnect(&c.name, false).map_err(|e| e.to_string());
                out.push(Retried {
                    name: c.name,
                    outcome,
                });
            }
        }
        Ok(out)
    }
}
