//! What the unlocked app does with connections and keys: thin calls into core's
//! operations layer (`ops::Session`), on the vault the embedded agent holds (so the
//! CLI's cached tokens stay coherent: every write changes the vault's stamp), audited
//! through the agent. This file only adds the app's words.

use crate::error::Error;
use crate::models::{
    AlertView, AuditLine, AuditView, ConnectForm, ConnectionView, Connections, Disconnect,
    ProviderView, VaultFacts,
};
use crate::wallet::Wallet;
use secrecy::SecretString;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use token_wallet_core::agent::Agent;
use token_wallet_core::audit::Event;
use token_wallet_core::connection::{self, ConnectionName, Status};
use token_wallet_core::monitor::Thresholds;
use token_wallet_core::oauth::{
    self, http::Http, ClientAuth, Interaction, Provider, ProviderKind, RedirectMode, Revocation,
};
use token_wallet_core::ops::{ConnectRequest, Disconnected, OpError, Session};
use token_wallet_core::{Passphrase, VaultError};
use zeroize::Zeroizing;

/// How long the connect wizard waits for the browser sign-in.
pub const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(300);

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Core commits atomically; a panic elsewhere leaves nothing half-written to skip.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn view(i: connection::ConnectionInfo) -> ConnectionView {
    ConnectionView::from_info(i, Thresholds::default().refresh_token_days)
}

pub(crate) fn op(e: impl std::fmt::Display) -> Error {
    Error::Op(e.to_string())
}

/// A connection name from the window, checked once.
pub(crate) fn conn_name(name: &str) -> Result<ConnectionName, Error> {
    ConnectionName::new(name).map_err(|_| {
        Error::Invalid(format!(
            "“{name}” is not a usable connection name: use up to 62 letters, digits, dots, dashes and underscores"
        ))
    })
}

/// A new passphrase typed twice: the same both times, then held to the rule every front
/// end shares.
pub(crate) fn confirmed(new: String, confirmation: &str) -> Result<Passphrase, Error> {
    if new != confirmation {
        return Err(Error::Mismatch);
    }
    token_wallet_core::ops::new_passphrase(new).map_err(ops_err)
}

/// Core's error in the app's words (a missing connection named plainly).
pub(crate) fn ops_err(e: OpError) -> Error {
    match e {
        OpError::Vault(v) => vault_err(v),
        e => e.into(),
    }
}

/// A custom provider from the wizard's URLs (checked like a config file's).
fn custom_provider(f: &ConnectForm) -> Result<Provider, Error> {
    let host = |u: &str| {
        u.split("://")
            .nth(1)
            .and_then(|r| r.split(['/', '?', '#']).next())
            .unwrap_or("")
            .to_string()
    };
    let p = Provider {
        name: "custom".into(),
        display_name: format!("Custom ({})", host(f.authorize_url.trim())),
        authorize_url: f.authorize_url.trim().into(),
        token_url: f.token_url.trim().into(),
        api_base: None,
        default_scopes: Vec::new(),
        redirect: RedirectMode::Loopback,
        client_auth: if f.client_secret.is_empty() {
            ClientAuth::None
        } else {
            ClientAuth::ClientSecretBasic
        },
        client_id: None,
        revocation: match f.revocation_url.trim() {
            "" => Revocation::None,
            u => Revocation::Rfc7009(u.into()),
        },
        check: oauth::Check::None,
        kind: Some(ProviderKind::Generic),
    };
    p.validate().map_err(op)?;
    Ok(p)
}

/// Runs `f` on the operations layer over the agent's vault, audited through the agent.
pub(crate) fn session<T>(a: &Agent, f: impl FnOnce(&Session<'_>) -> T) -> Result<T, Error> {
    let v = a.unlocked()?;
    Ok(f(&Session::new(&v, a.refresher(), a)))
}

impl Wallet {
    /// The providers the connect wizard offers (built-in presets and the providers file).
    pub fn providers(&self) -> Result<Vec<ProviderView>, Error> {
        Ok(self
            .config()?
            .core
            .provider_specs()
            .map_err(op)?
            .into_iter()
            .map(|s| ProviderView {
                pleo: s.kind() == ProviderKind::Pleo,
                source: s.source(),
                display_name: s.display_name().to_string(),
                default_client_id: s.default_client_id().map(str::to_string),
                default_scopes: s.default_scopes().to_vec(),
                name: s.name().to_string(),
            })
            .collect())
    }

    /// Every connection's public facts and what needs attention, from one pass over the
    /// records (each is a keystore read). Not activity for the auto-lock: the window
    /// re-reads it after background work.
    pub fn connections(&self) -> Result<Connections, Error> {
        let a = self.unlocked_agent()?;
        let mut all = session(&a, |s| s.list()).and_then(|r| r.map_err(ops_err))?;
        a.with_pending_exports(&mut all);
        let alerts = self.alerts(&a, &all);
        Ok(Connections {
            connections: all.into_iter().map(view).collect(),
            alerts,
            now: connection::now(),
        })
    }

    /// The connections' names, from the vault's index alone (no record is read).
    pub fn connection_names(&self) -> Result<Vec<String>, Error> {
        session(&*self.unlocked_agent()?, |s| {
            s.names().iter().map(ToString::to_string).collect()
        })
    }

    /// One connection's public facts.
    pub fn connection(&self, name: &str) -> Result<ConnectionView, Error> {
        let name = conn_name(name)?;
        let info = session(&*self.unlocked_agent()?, |s| s.show(&name))?.map_err(ops_err)?;
        Ok(view(info))
    }

    /// One sign-in at a time through the system browser: `run` gets the session and the
    /// browser interaction (cancellable, [`SIGN_IN_TIMEOUT`]).
    fn sign_in(
        &self,
        run: impl FnOnce(&Session<'_>, Interaction<'_>) -> Result<connection::ConnectionInfo, OpError>,
    ) -> Result<ConnectionView, Error> {
        let a = self.unlocked_agent()?;
        a.note_activity();
        let _one = self.connecting.try_lock().map_err(|_| {
            Error::Invalid("a sign-in is already in progress; finish or cancel it first".into())
        })?;
        self.cancel_connect.store(false, Ordering::SeqCst);
        self.reopen_connect.store(false, Ordering::SeqCst);
        // The browser gets the one-time start address, never the authorisation URL (which
        // is kept only for Copy link, and forgotten when the sign-in ends).
        let open = |link: &oauth::SignInLink<'_>| {
            *guard(&self.sign_in_link) = Some(link.direct.to_string());
            token_wallet_core::browser::open(link.start)
        };
        let info = session(&a, |s| {
            run(
                s,
                Interaction {
                    open: &open,
                    pasted: None,
                    cancel: &self.cancel_connect,
                    reopen: Some(&self.reopen_connect),
                    timeout: SIGN_IN_TIMEOUT,
                },
            )
        });
        *guard(&self.sign_in_link) = None;
        let info = info?.map_err(ops_err)?;
        Ok(view(info))
    }

    /// Runs the sign-in in the system browser and stores the connection. Blocks until the
    /// browser comes back, [`Self::cancel_connect`] or [`SIGN_IN_TIMEOUT`]; the vault stays
    /// usable meanwhile.
    pub fn connect(&self, f: ConnectForm) -> Result<ConnectionView, Error> {
        self.unlocked_agent()?;
        let provider = if f.provider == "custom" {
            custom_provider(&f)?
        } else {
            self.config()?
                .core
                .provider(&f.provider, &Http::new())
                .map_err(op)?
        };
        let name = conn_name(f.name.trim())?;
        let secret = Zeroizing::new(f.client_secret);
        self.sign_in(|s, ui| {
            s.connect(
                ConnectRequest {
                    name: &name,
                    provider: &provider,
                    client_id: Some(f.client_id.trim().to_string()).filter(|s| !s.is_empty()),
                    client_secret: (!secret.is_empty())
                        .then(|| SecretString::from(secret.to_string())),
                    scopes: f.scopes.split_whitespace().map(str::to_string).collect(),
                },
                ui,
            )
        })
    }

    /// Signs in again for an existing connection (same provider, client and scopes);
    /// the new tokens replace the old ones. Another account is refused here; switching
    /// accounts is a new connection.
    pub fn reauthorise(&self, name: &str) -> Result<ConnectionView, Error> {
        let name = conn_name(name)?;
        self.sign_in(|s, ui| s.reauthorise(&name, false, ui).map(|r| r.info))
    }

    /// Stops a sign-in in progress (its listener closes; nothing is stored).
    pub fn cancel_connect(&self) {
        self.cancel_connect.store(true, Ordering::SeqCst);
    }

    /// Opens the browser again for the sign-in in progress, at a fresh one-time address.
    pub fn reopen_sign_in(&self) {
        self.reopen_connect.store(true, Ordering::SeqCst);
    }

    /// The sign-in in progress's authorisation URL (to copy and open by hand), if one is
    /// in progress.
    pub fn sign_in_link(&self) -> Result<String, Error> {
        guard(&self.sign_in_link)
            .clone()
            .ok_or_else(|| Error::Invalid("no sign-in is in progress".into()))
    }

    /// Refreshes now, whatever the expiry, through the one refresher.
    pub fn refresh(&self, name: &str) -> Result<ConnectionView, Error> {
        let a = self.unlocked_agent()?;
        a.note_activity();
        let n = conn_name(name)?;
        session(&a, |s| s.refresh(&n))?.map_err(ops_err)?;
        self.connection(name)
    }

    /// An access token with at least a minute left, for the clipboard or the reveal box,
    /// audited as an export by this app.
    pub fn export(&self, name: &str) -> Result<(SecretString, Option<u64>), Error> {
        let a = self.unlocked_agent()?;
        let t = a.token(
            &conn_name(name)?,
            Duration::from_secs(60),
            Some(std::process::id()),
        )?;
        Ok((t.token, t.expires_at))
    }

    /// Revokes at the provider and deletes. If the provider cannot be reached the
    /// connection is kept as "revocation pending" and retried in the background; `force`
    /// forgets it anyway.
    pub fn disconnect(&self, name: &str, force: bool) -> Result<Disconnect, Error> {
        let a = self.unlocked_agent()?;
        a.note_activity();
        let n = conn_name(name)?;
        let result = session(&a, |s| s.disconnect(&n, force))?.map_err(ops_err)?;
        let (outcome, message) = match &result {
            Disconnected::Revoked => (
                "revoked",
                format!("Disconnected “{name}”: revoked at the provider and deleted."),
            ),
            Disconnected::NoRevocation => (
                "noRevocation",
                format!("Disconnected “{name}”: deleted. The provider offers no revocation, so its tokens expire on their own."),
            ),
            Disconnected::Forgotten => (
                "forgotten",
                format!("Forgot “{name}” without revoking it: its tokens may still be live at the provider."),
            ),
            Disconnected::KeyForgotten(token_wallet_core::connection::CredentialKind::ApiKey) => (
                "keyForgotten",
                format!("Deleted “{name}” here. A Pleo API key stays valid until you revoke it in Pleo's web app (Settings → API keys)."),
            ),
            Disconnected::KeyForgotten(_) => (
                "keyForgotten",
                format!("Deleted “{name}” here. The token stays valid until you revoke it in the tool or service that issued it."),
            ),
            Disconnected::Pending(why) => (
                "pending",
                format!(
                    "Not disconnected yet: {}. “{name}” is kept as “revocation pending”, and the wallet retries by itself; Retry revocation offers to forget it anyway.",
                    crate::error::plain(why)
                ),
            ),
            _ => ("other", format!("Disconnected “{name}”.")),
        };
        Ok(Disconnect { outcome, message })
    }

    /// Re-encrypts every record under a new data key; `progress(done, total)` after each.
    pub fn rotate_key(&self, progress: impl FnMut(usize, usize)) -> Result<VaultFacts, Error> {
        let a = self.unlocked_agent()?;
        a.note_activity();
        session(&a, |s| s.rotate_data_key(progress))?.map_err(ops_err)?;
        a.flush_now();
        self.info()
    }

    /// Changes the passphrase after checking the current one (wrong ones count towards
    /// the unlock throttle); the data key is rotated with it.
    pub fn change_passphrase(
        &self,
        current: String,
        new: String,
        confirmation: String,
    ) -> Result<VaultFacts, Error> {
        let (current, confirmation) = (Zeroizing::new(current), Zeroizing::new(confirmation));
        let new = confirmed(new, &confirmation)?;
        let a = self.unlocked_agent()?;
        a.note_activity();
        self.check_throttle()?;
        let cur = Passphrase::new(current.to_string()).ok_or(Error::EmptyPassphrase)?;
        // The current passphrase must open the stored header (one Argon2 run).
        match self.handle()?.unlock(&cur) {
            Ok(_) => {}
            Err(VaultError::WrongPassphrase) => {
                self.failed_attempt();
                a.record(Event::UnlockFailed);
                return Err(Error::WrongPassphrase);
            }
            Err(e) => return Err(e.into()),
        }
        session(&a, |s| s.change_passphrase(&new, false))?.map_err(ops_err)?;
        a.flush_now();
        self.info()
    }

    /// The audit log, newest first (at most `limit` lines), and its verification.
    pub fn audit(&self, limit: usize) -> Result<AuditView, Error> {
        let a = self.unlocked_agent()?;
        a.note_activity();
        a.flush_now(); // anchor what this session wrote, so verification covers it
        let log = a.audit_log();
        let lines = log.read().map_err(op)?;
        let v = a.unlocked()?;
        let verdict = log.verify(&mut guard(&v)).map_err(op)?;
        let out = lines
            .iter()
            .rev()
            .take(limit)
            .map(|l| {
                let (event, fields) = l.event.name_and_fields();
                AuditLine {
                    seq: l.seq,
                    ts: l.ts,
                    event,
                    // A field with no value (an unknown process, say) is left out.
                    fields: fields
                        .into_iter()
                        .filter_map(|(k, v)| Some((k, v?)))
                        .collect(),
                    authenticated: l.mac.is_some(),
                }
            })
            .collect();
        Ok(AuditView {
            lines: out,
            intact: verdict.broken.is_none(),
            authenticated: verdict.authenticated,
            broken: verdict
                .broken
                .map(|(line, why)| format!("broken at line {line}: {why}")),
            path: log.path().display().to_string(),
        })
    }

    /// What needs attention: connections (re-authorisation, failing refreshes, expiring,
    /// unused, pending revocations) and repeated failed unlocks.
    fn alerts(&self, a: &Agent, conns: &[connection::ConnectionInfo]) -> Vec<AlertView> {
        token_wallet_core::monitor::alerts(conns, &Thresholds::default(), Some(a.audit_log()))
            .into_iter()
            .map(|al| {
                let v = serde_json::to_value(&al).unwrap_or_default();
                AlertView {
                    kind: v["alert"].as_str().unwrap_or("").to_string(),
                    connection: v["connection"].as_str().map(str::to_string),
                    text: crate::error::plain(&al.to_string()),
                }
            })
            .collect()
    }
}

fn vault_err(e: VaultError) -> Error {
    match e {
        VaultError::NotFound(n) => Error::Invalid(format!("no connection named “{n}”")),
        other => other.into(),
    }
}

/// What one background sweep did.
#[derive(Debug, Default)]
pub struct Sweep {
    /// Refreshed ahead of expiry.
    pub refreshed: Vec<String>,
    /// Failed to refresh, with why.
    pub failed: Vec<(String, String)>,
    /// Pending revocations that went through.
    pub revoked: Vec<String>,
}

impl Wallet {
    /// The background task's work: refresh every active connection whose access token
    /// is due (through the one refresher, which audits), unless `hold(name)` says it is
    /// backing off after a failure; retry pending revocations when `retry` is set. Not
    /// activity for the auto-lock.
    pub fn sweep(&self, retry: bool, hold: impl Fn(&str) -> bool) -> Result<Sweep, Error> {
        let a = self.unlocked_agent()?;
        let v = a.unlocked()?;
        let ahead = self.settings().refresh_ahead().as_secs();
        let now = connection::now();
        let mut s = Sweep::default();
        let conns = connection::list(&mut guard(&v)).map_err(vault_err)?;
        for c in conns {
            let Some(lead) = refresh_due(&c, a.refresher().policy(), ahead, now) else {
                continue;
            };
            if hold(&c.name) {
                continue;
            }
            match a.refresher().access_token(&v, &c.name, lead) {
                Ok(_) => s.refreshed.push(c.name.to_string()),
                Err(e) => s.failed.push((c.name.to_string(), e.to_string())),
            }
        }
        if retry {
            let done = session(&a, |x| x.retry_pending())?.map_err(ops_err)?;
            s.revoked = done
                .into_iter()
                .filter(|r| {
                    matches!(
                        r.outcome,
                        Ok(Disconnected::Revoked | Disconnected::NoRevocation)
                    )
                })
                .map(|r| r.name.to_string())
                .collect();
        }
        Ok(s)
    }
}

/// Whether the background task renews `c` now: the refresh lead, capped at half the
/// token's lifetime (so a lead longer than the provider's tokens live does not refresh at
/// every sweep), through core's own rule (the refresher's policy window applies too).
pub fn refresh_due(
    c: &connection::ConnectionInfo,
    policy: &token_wallet_core::refresh::Policy,
    ahead: u64,
    now: u64,
) -> Option<Duration> {
    let expires = c.expires_at?;
    if c.status != Status::Active || !c.has_refresh_token {
        return None;
    }
    let lead = Duration::from_secs(ahead.min(expires.saturating_sub(c.issued_at) / 2));
    token_wallet_core::refresh::needs_refresh_info(c, policy, lead, now).then_some(lead)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(issued: u64, expires: Option<u64>) -> connection::ConnectionInfo {
        connection::ConnectionInfo {
            has_refresh_token: true,
            ..connection::ConnectionInfo::new(
                &"c".parse().unwrap(),
                oauth::presets().remove(0),
                "cid".into(),
                vec![],
                issued,
                expires,
            )
        }
    }

    #[test]
    fn refresh_is_due_within_the_lead_capped_at_half_the_lifetime() {
        let t = 1_000_000;
        let p = token_wallet_core::refresh::Policy::default();
        let due = |i: &connection::ConnectionInfo, ahead, now| {
            refresh_due(i, &p, ahead, now).map(|d| d.as_secs())
        };
        // A 1-hour token, 5-minute lead: due in its last 6 minutes (core's 10 % rule
        // is the larger).
        assert_eq!(due(&info(t, Some(t + 3600)), 300, t + 3000), None);
        assert_eq!(due(&info(t, Some(t + 3600)), 300, t + 3300), Some(300));
        // A 10-minute token, 15-minute lead: capped at 5 minutes, so a fresh token is
        // not refreshed again at once.
        assert_eq!(due(&info(t, Some(t + 600)), 900, t), None);
        assert_eq!(due(&info(t, Some(t + 600)), 900, t + 301), Some(300));
        // Expired: due. No expiry, no refresh token, or not active: never.
        assert_eq!(due(&info(t, Some(t + 60)), 300, t + 100), Some(30));
        assert_eq!(due(&info(t, None), 300, t), None);
        let mut no_rt = info(t, Some(t + 60));
        no_rt.has_refresh_token = false;
        assert_eq!(due(&no_rt, 300, t + 100), None);
        let mut pending = info(t, Some(t + 60));
        pending.status = Status::NeedsReauthorisation {
            since: t,
            reason: "x".into(),
        };
        assert_eq!(due(&pending, 300, t + 100), None);
    }
}
