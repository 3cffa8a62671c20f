//! What the unlocked app does with connections and keys: thin calls into core's
//! operations layer (`ops::Session`), on the vault the embedded agent holds (so the
//! CLI's cached tokens stay coherent: every write changes the vault's stamp), audited
//! through the agent. This file only adds the app's words.

use crate::error::Error;
use crate::models::{
    AlertView, AuditLine, AuditView, ConnectForm, ConnectionView, Connections, Disconnect,
    DisconnectOutcome, ProviderView, VaultFacts,
};
use crate::wallet::Wallet;
use secrecy::SecretString;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use token_wallet_core::agent::Agent;
use token_wallet_core::audit::ExportVia;
use token_wallet_core::connection::{self, ConnectionName};
use token_wallet_core::monitor::Thresholds;
use token_wallet_core::oauth::{
    self, http::Http, ClientAuth, Interaction, Provider, ProviderKind, RedirectMode, Revocation,
};
use token_wallet_core::ops::{ConnectRequest, Disconnected, OpError, Requester, Session};
use token_wallet_core::ops::{MaintainOptions, Maintained};
use token_wallet_core::{Passphrase, VaultError};
use zeroize::Zeroizing;

/// How long the connect wizard waits for the browser sign-in.
pub const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(300);

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Core commits atomically; a panic elsewhere leaves nothing half-written to skip.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn view(i: connection::ConnectionInfo) -> ConnectionView {
    ConnectionView::from_info(
        i,
        Thresholds::default().refresh_token_days,
        connection::now(),
    )
}

pub(crate) fn op(e: impl std::fmt::Display) -> Error {
    Error::Op(e.to_string())
}

/// A connection name from the window, checked once.
pub(crate) fn conn_name(name: &str) -> Result<ConnectionName, Error> {
    ConnectionName::new(name).map_err(|e| Error::Invalid(crate::error::plain(&e.to_string())))
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

/// Runs `f` on the operations layer over the agent's vault (its token cache), audited
/// through the agent.
pub(crate) fn session<T>(a: &Agent, f: impl FnOnce(&Session<'_>) -> T) -> Result<T, Error> {
    Ok(a.with_session(f)?)
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
        let all = session(&a, |s| s.list()).and_then(|r| r.map_err(ops_err))?;
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
                    // Core's rule for pasted secrets; none given: a public client.
                    client_secret: token_wallet_core::ops::Pasted::new(&secret)
                        .ok()
                        .map(|p| p.secret().clone()),
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

    /// Whether a sign-in is waiting for the browser (closing the window would stop it).
    pub fn sign_in_running(&self) -> bool {
        matches!(
            self.connecting.try_lock(),
            Err(std::sync::TryLockError::WouldBlock)
        )
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

    /// An access token with at least a minute left, for the clipboard or the reveal box
    /// (`via`), audited as an export by this app to there.
    pub fn export(&self, name: &str, via: ExportVia) -> Result<(SecretString, Option<u64>), Error> {
        let a = self.unlocked_agent()?;
        let t = a.token(
            &conn_name(name)?,
            Duration::from_secs(60),
            Requester::this_process_via(via),
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
                DisconnectOutcome::Revoked,
                format!("Disconnected “{name}”: revoked at the provider and deleted."),
            ),
            Disconnected::NoRevocation => (
                DisconnectOutcome::NoRevocation,
                format!("Disconnected “{name}”: deleted. The provider offers no revocation, so its tokens expire on their own."),
            ),
            Disconnected::Forgotten => (
                DisconnectOutcome::Forgotten,
                format!("Forgot “{name}” without revoking it: its tokens may still be live at the provider."),
            ),
            Disconnected::KeyForgotten(token_wallet_core::connection::CredentialKind::ApiKey) => (
                DisconnectOutcome::KeyForgotten,
                format!("Deleted “{name}” here. A Pleo API key stays valid until you revoke it in Pleo's web app (Settings → API keys)."),
            ),
            Disconnected::KeyForgotten(_) => (
                DisconnectOutcome::KeyForgotten,
                format!("Deleted “{name}” here. The token stays valid until you revoke it in the tool or service that issued it."),
            ),
            Disconnected::Pending(why) => (
                DisconnectOutcome::Pending,
                format!(
                    "Not disconnected yet: {}. “{name}” is kept as “revocation pending”, and the wallet retries by itself; Retry revocation offers to forget it anyway.",
                    crate::error::plain(why)
                ),
            ),
            _ => (DisconnectOutcome::Other, format!("Disconnected “{name}”.")),
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
        // The current passphrase must open the stored header (one Argon2 run; a wrong
        // one is audited by core).
        match session(&a, |s| s.confirm_passphrase(&cur))? {
            Ok(()) => {}
            Err(OpError::Vault(VaultError::WrongPassphrase)) => {
                self.failed_attempt();
                return Err(Error::WrongPassphrase);
            }
            Err(e) => return Err(ops_err(e)),
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
            .map(|al| AlertView {
                kind: al.kind(),
                connection: al.connection().map(str::to_string),
                text: crate::error::plain(&al.to_string()),
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

impl Wallet {
    /// What the background's step of keeping connections fresh is asked to do: refresh
    /// ahead by the settings' lead; the rest as core has it.
    pub fn maintain_options(&self) -> MaintainOptions {
        MaintainOptions {
            refresh_ahead: Some(self.settings().refresh_ahead()),
            ..MaintainOptions::default()
        }
    }

    /// One step of keeping connections fresh (core's, through the agent: refresh ahead
    /// with back-off, pending revocations, key re-checks), if its time has come; what it
    /// did. Locked: an error. Not activity for the auto-lock.
    pub fn maintain(&self, opts: &MaintainOptions) -> Result<Vec<Maintained>, Error> {
        Ok(self.unlocked_agent()?.maintain(opts))
    }
}
