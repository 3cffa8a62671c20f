//! What the unlocked app does with connections and keys: thin calls into core's `oauth`,
//! `connection`, `refresh`, `vault`, `audit` and `monitor`, on the vault the embedded agent
//! holds (so the CLI's cached tokens stay coherent: every write changes the vault's stamp).
//! Every change is audited here, like the CLI does.

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
use token_wallet_core::connection::{self, Status};
use token_wallet_core::monitor::{self, Thresholds};
use token_wallet_core::oauth::{
    self, http::Http, ClientAuth, Disconnected, Interaction, Provider, RedirectMode, Revocation,
};
use token_wallet_core::{Passphrase, UnlockedVault, VaultError};
use zeroize::Zeroizing;

/// How long the connect wizard waits for the browser sign-in.
pub const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(300);

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Core commits atomically; a panic elsewhere leaves nothing half-written to skip.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn view(i: connection::ConnectionInfo) -> ConnectionView {
    ConnectionView::from_info(i, Thresholds::default().refresh_token_days)
}

fn op(e: impl std::fmt::Display) -> Error {
    Error::Op(e.to_string())
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
    };
    p.validate().map_err(op)?;
    Ok(p)
}

impl Wallet {
    fn specs(&self) -> Result<Vec<oauth::ProviderSpec>, Error> {
        oauth::load_specs(self.config()?.providers.as_deref()).map_err(op)
    }

    /// The providers the connect wizard offers (built-in presets and the providers file).
    pub fn providers(&self) -> Result<Vec<ProviderView>, Error> {
        Ok(self
            .specs()?
            .into_iter()
            .map(|s| ProviderView {
                pleo: s.name().contains("pleo"),
                source: s.source(),
                name: s.name().to_string(),
            })
            .collect())
    }

    /// Every connection's public facts and what needs attention, from one pass over the
    /// records (each is a keystore read). Not activity for the auto-lock: the window
    /// re-reads it after background work.
    pub fn connections(&self) -> Result<Connections, Error> {
        let a = self.unlocked_agent()?;
        let v = a.unlocked()?;
        let all = connection::list(&mut guard(&v)).map_err(vault_err)?;
        let alerts = self.alerts(&a, &all);
        Ok(Connections {
            connections: all.into_iter().map(view).collect(),
            alerts,
        })
    }

    /// The connections' names, from the vault's index alone (no record is read).
    pub fn connection_names(&self) -> Result<Vec<String>, Error> {
        let v = self.unlocked_agent()?.unlocked()?;
        let names = connection::names(&guard(&v));
        Ok(names)
    }

    /// One connection's public facts.
    pub fn connection(&self, name: &str) -> Result<ConnectionView, Error> {
        let v = self.unlocked_agent()?.unlocked()?;
        let c = connection::load(&mut guard(&v), name).map_err(vault_err)?;
        Ok(view(c.info.clone()))
    }

    /// One sign-in at a time through the system browser: `run` gets the shared vault
    /// and the browser interaction (cancellable, [`SIGN_IN_TIMEOUT`]); the result is
    /// audited as a connection.
    fn sign_in(
        &self,
        run: impl FnOnce(
            &Mutex<UnlockedVault>,
            Interaction<'_>,
        ) -> Result<connection::ConnectionInfo, oauth::ConnectError>,
    ) -> Result<ConnectionView, Error> {
        let a = self.unlocked_agent()?;
        a.note_activity();
        let _one = self.connecting.try_lock().map_err(|_| {
            Error::Invalid("a sign-in is already in progress; finish or cancel it first".into())
        })?;
        self.cancel_connect.store(false, Ordering::SeqCst);
        let v = a.unlocked()?;
        // The browser gets the one-time start address, never the authorisation URL.
        let open = |link: &oauth::SignInLink<'_>| oauth::open_browser(link.start);
        let info = run(
            &v,
            Interaction {
                open: &open,
                pasted: None,
                cancel: &self.cancel_connect,
                timeout: SIGN_IN_TIMEOUT,
            },
        )
        .map_err(op)?;
        a.record(Event::Connected {
            connection: info.name.clone(),
            provider: info.provider.name.clone(),
        });
        Ok(view(info))
    }

    /// Runs the sign-in in the system browser and stores the connection. Blocks until the
    /// browser comes back, [`Self::cancel_connect`] or [`SIGN_IN_TIMEOUT`]; the vault stays
    /// usable meanwhile.
    pub fn connect(&self, f: ConnectForm) -> Result<ConnectionView, Error> {
        self.unlocked_agent()?;
        let http = Http::new();
        let provider = if f.provider == "custom" {
            custom_provider(&f)?
        } else {
            self.specs()?
                .into_iter()
                .find(|s| s.name() == f.provider)
                .ok_or_else(|| op(oauth::OAuthError::UnknownProvider(f.provider.clone())))?
                .resolve(&http)
                .map_err(op)?
        };
        let secret = Zeroizing::new(f.client_secret);
        self.sign_in(|v, ui| {
            oauth::connect(
                v,
                &http,
                oauth::ConnectRequest {
                    name: f.name.trim(),
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
    /// the new tokens replace the old ones.
    pub fn reauthorise(&self, name: &str) -> Result<ConnectionView, Error> {
        // A different account is refused here; switching accounts is a new connection.
        self.sign_in(|v, ui| oauth::reauthorise(v, &Http::new(), name, false, ui))
    }

    /// Stops a sign-in in progress (its listener closes; nothing is stored).
    pub fn cancel_connect(&self) {
        self.cancel_connect.store(true, Ordering::SeqCst);
    }

    /// Refreshes now, whatever the expiry, through the one refresher.
    pub fn refresh(&self, name: &str) -> Result<ConnectionView, Error> {
        let a = self.unlocked_agent()?;
        a.note_activity();
        let v = a.unlocked()?;
        a.refresher().force(&v, name).map_err(op)?;
        self.connection(name)
    }

    /// An access token with at least a minute left, for the clipboard or the reveal box,
    /// audited as an export by this app.
    pub fn export(&self, name: &str) -> Result<(SecretString, Option<u64>), Error> {
        let a = self.unlocked_agent()?;
        let t = a.token(name, Duration::from_secs(60), Some(std::process::id()))?;
        Ok((t.token, t.expires_at))
    }

    /// Revokes at the provider and deletes. If the provider cannot be reached the
    /// connection is kept as "revocation pending" and retried in the background; `force`
    /// forgets it anyway.
    pub fn disconnect(&self, name: &str, force: bool) -> Result<Disconnect, Error> {
        let a = self.unlocked_agent()?;
        a.note_activity();
        let v = a.unlocked()?;
        // Pleo revokes with the access token: make sure it is live first (through the
        // one refresher, so a rotated refresh token is stored before it is used).
        let pleo_style = connection::load(&mut guard(&v), name)
            .map_err(vault_err)?
            .info;
        if pleo_style.provider.revocation == Revocation::PleoInstallation
            && pleo_style.status == Status::Active
        {
            if let Err(e) = a
                .refresher()
                .access_token(&v, name, Duration::from_secs(60))
            {
                tracing::warn!(connection = name, error = %e, "could not refresh before revoking");
            }
        }
        let result = oauth::disconnect(&mut guard(&v), &Http::new(), name, force).map_err(op)?;
        let (outcome, how, message) = match &result {
            Disconnected::Revoked => (
                "revoked",
                "revoked",
                format!("Disconnected “{name}”: revoked at the provider and deleted."),
            ),
            Disconnected::NoRevocation => (
                "noRevocation",
                "no_revocation",
                format!("Disconnected “{name}”: deleted. The provider offers no revocation, so its tokens expire on their own."),
            ),
            Disconnected::Forgotten => (
                "forgotten",
                "forced",
                format!("Forgot “{name}” without revoking it: its tokens may still be live at the provider."),
            ),
            Disconnected::Pending(why) => (
                "pending",
                "revocation_pending",
                format!("Could not revoke “{name}” ({why}). It is kept as “revocation pending” and retried in the background."),
            ),
            _ => ("other", "other", format!("Disconnected “{name}”.")),
        };
        if matches!(result, Disconnected::Revoked) {
            a.record(Event::Revoked {
                connection: name.into(),
            });
        }
        a.record(Event::Disconnected {
            connection: name.into(),
            how: how.into(),
        });
        Ok(Disconnect { outcome, message })
    }

    /// Re-encrypts every record under a new data key; `progress(done, total)` after each.
    pub fn rotate_key(&self, progress: impl FnMut(usize, usize)) -> Result<VaultFacts, Error> {
        let a = self.unlocked_agent()?;
        a.note_activity();
        let v = a.unlocked()?;
        let info = {
            let mut g = guard(&v);
            g.rotate_data_key_with_progress(progress)
                .map_err(vault_err)?;
            g.info()
        };
        a.record(Event::DataKeyRotated {
            generation: info.generation,
        });
        a.flush_now();
        self.info()
    }

    /// Changes the passphrase after checking the current one (wrong ones count towards
    /// the unlock throttle).
    pub fn change_passphrase(
        &self,
        current: String,
        new: String,
        confirmation: String,
    ) -> Result<VaultFacts, Error> {
        let (current, new, confirmation) = (
            Zeroizing::new(current),
            Zeroizing::new(new),
            Zeroizing::new(confirmation),
        );
        if new.chars().count() < crate::wallet::MIN_PASSPHRASE_CHARS {
            return Err(Error::TooShort(crate::wallet::MIN_PASSPHRASE_CHARS));
        }
        if *new != *confirmation {
            return Err(Error::Mismatch);
        }
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
        let new = Passphrase::new(new.to_string()).ok_or(Error::EmptyPassphrase)?;
        let v = a.unlocked()?;
        guard(&v).change_passphrase(&new).map_err(vault_err)?;
        a.record(Event::PassphraseChanged);
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
        let t = Thresholds::default();
        let mut all = monitor::connection_alerts(conns, &t, connection::now());
        if let Ok(lines) = a.audit_log().read() {
            all.extend(monitor::unlock_alert(&lines, &t));
        }
        all.into_iter()
            .map(|al| {
                let v = serde_json::to_value(&al).unwrap_or_default();
                AlertView {
                    kind: v["alert"].as_str().unwrap_or("").to_string(),
                    connection: v["connection"].as_str().map(str::to_string),
                    text: al.to_string(),
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
                Ok(_) => s.refreshed.push(c.name),
                Err(e) => s.failed.push((c.name, e.to_string())),
            }
        }
        if retry {
            let done = oauth::retry_pending(&mut guard(&v), &Http::new()).map_err(vault_err)?;
            for n in &done {
                a.record(Event::Disconnected {
                    connection: n.clone(),
                    how: "revoked".into(),
                });
            }
            s.revoked = done;
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
                "c",
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
