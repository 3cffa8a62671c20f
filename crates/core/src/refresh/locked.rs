//! The refresh itself, under the connection's refresh lock: the crash marker, the request
//! with its retries, and the outcome persisted (and audited) before it is handed out.

use super::{needs_refresh, Ask, Got, RefreshError, Refresher, Shared};
use crate::connection::{self, ConnectionName, Status};
use crate::guard;
use crate::keystore::KeystoreError;
use crate::lock::VaultLock;
use crate::oauth::Client;
use crate::vault::VaultError;
use std::time::{Duration, Instant};

/// This machine's host name (at most 64 characters), naming the lease's holder.
fn this_host() -> String {
    let h = gethostname::gethostname().to_string_lossy().into_owned();
    h.chars().take(64).collect()
}

/// Whether a marker set at `since` (Unix seconds) is older than another machine's lease.
fn lease_over(since: u64) -> bool {
    connection::now().saturating_sub(since) >= super::ELSEWHERE_LEASE_SECS
}
use secrecy::{ExposeSecret, SecretString};

/// The status after the refresh token turned out dead: "needs re-authorisation", except
/// that a connection waiting for its revocation keeps waiting.
fn dead(status: Status, reason: &str) -> Status {
    match status {
        s @ Status::RevocationPending { .. } => s,
        _ => Status::NeedsReauthorisation {
            since: connection::now(),
            reason: reason.into(),
        },
    }
}

impl Refresher {
    pub(super) fn refresh_locked(&self, vault: &Shared, name: &ConnectionName, ask: Ask) -> Got {
        let Ask {
            min_ttl,
            force,
            want,
        } = ask;
        let path = self.lock_path(vault, name)?;
        let file_lock = VaultLock::acquire(&path).map_err(|e| RefreshError::Lock(e.to_string()))?;
        // Another process may have refreshed while we waited for the lock (or removed
        // the connection: then its lock file goes, as `forget_lock` would have it).
        let c = match self.load(vault, name) {
            Err(e @ RefreshError::Vault(VaultError::NotFound(_))) => {
                file_lock.remove();
                return Err(e);
            }
            other => other?,
        };
        Self::usable(name, &c, want)?;
        if !force && !needs_refresh(&c, &self.policy, min_ttl, connection::now()) {
            return Ok(Self::hand_out(&c, false));
        }
        // Refresh tokens sealed for refreshers, and this identity is not one.
        if c.secrets.refresh_token.is_none() && c.secrets.sealed.is_some() {
            drop(c);
            return self.await_refresher(vault, name, ask);
        }
        if let Some(since) = c.info.refreshing_since {
            if guard(vault).is_shared() && !lease_over(since) {
                drop(c);
                return self.await_elsewhere(vault, name, ask);
            }
            return self.interrupted(vault, name, c.secrets.refresh_token.as_deref());
        }
        let Some(refresh_token) = c.secrets.refresh_token.clone().map(zeroize::Zeroizing::new)
        else {
            return Err(RefreshError::NoRefreshToken(name.into()));
        };
        // Fail closed: nothing goes to the provider while its outcome cannot be audited.
        if let Some(log) = &self.audit {
            log.ready()
                .map_err(|e| RefreshError::Audit(e.to_string()))?;
        }
        // The claim: set only where the record, read again just now, has no marker.
        let claimed = connection::update(&mut guard(vault), name, |c| {
            if c.secrets.refresh_token.as_deref() != Some(refresh_token.as_str()) {
                return Err(RefreshError::Replaced(name.into()));
            }
            if c.info.refreshing_since.is_some() {
                return Err(RefreshError::RefreshingElsewhere {
                    name: name.into(),
                    why: "its refresh started first".into(),
                });
            }
            c.info.refreshing_since = Some(connection::now());
            c.info.refreshed_by = Some(this_host());
            Ok(())
        });
        match claimed {
            Ok(_) => {}
            // On a shared store, tokens that changed since `c` was read are another
            // machine's refresh (or sign-in) that just finished: its result is read.
            Err(RefreshError::Replaced(_)) if guard(vault).is_shared() => {
                drop(c);
                return self.await_elsewhere(vault, name, ask);
            }
            Err(RefreshError::RefreshingElsewhere { .. })
            | Err(RefreshError::Vault(VaultError::Keystore(KeystoreError::Conflict { .. }))) => {
                drop(c);
                return self.await_elsewhere(vault, name, ask);
            }
            Err(e) => return Err(e),
        }
        let client = Client {
            provider: &c.info.provider,
            client_id: c.info.client_id.clone(),
            client_secret: c.secrets.client_secret.clone().map(SecretString::from),
        };
        let mut attempt = 1;
        let outcome = loop {
            let (result, retry_after) = client.refresh(&self.http, &refresh_token);
            // Crash tests stop here: the provider has answered, nothing is written yet.
            crate::fault::named("refresh-answered");
            match result {
                Err(e) if e.is_transient() && attempt < self.policy.max_attempts => {
                    let wait = self.backoff(attempt, retry_after);
                    tracing::info!(connection = %name, attempt, error = %e, wait_ms = wait.as_millis() as u64, "refresh failed; retrying");
                    std::thread::sleep(wait);
                    attempt += 1;
                }
                other => break other,
            }
        };
        drop(c);
        let sent = Some(refresh_token.as_str());
        match outcome {
            Ok(t) => {
                let now = connection::now();
                let mut handed = None;
                // Persisted before anyone gets the new access token.
                self.update(vault, name, sent, |c| {
                    c.info.refreshing_since = None;
                    c.secrets.access_token = t.access_token.expose_secret().to_string();
                    if let Some(r) = &t.refresh_token {
                        c.secrets.refresh_token = Some(r.expose_secret().to_string());
                    }
                    c.info.issued_at = now;
                    c.info.expires_at = t.expires_in.map(|d| now + d.as_secs());
                    if let Some(s) = &t.scopes {
                        c.info.scopes = s.clone();
                    }
                    c.info.last_refresh = Some(now);
                    c.info.refresh_failures = 0;
                    c.info.last_refresh_error = None;
                    handed = Some(Self::hand_out(c, true));
                })?;
                tracing::info!(connection = %name, attempts = attempt, "refreshed");
                // The new tokens are stored whatever happens here (the old refresh token
                // is spent); they are not handed out unaudited.
                self.audit(
                    vault,
                    crate::audit::Event::RefreshOk {
                        connection: name.into(),
                    },
                )?;
                // Invariant: `update` succeeded, so its change ran and set `handed`.
                Ok(handed.expect("the change ran"))
            }
            Err(e) if e.is_invalid_grant() => {
                let reason = e.to_string();
                self.update(vault, name, sent, |c| {
                    c.info.refreshing_since = None;
                    c.info.status = dead(c.info.status.clone(), &reason);
                    c.info.refresh_failures += 1;
                    c.info.last_refresh_error = Some(reason.clone());
                })?;
                tracing::warn!(
                    connection = %name,
                    "refresh token refused: needs re-authorisation"
                );
                // The error says what happened; a failure to audit it is logged.
                let _ = self.audit(
                    vault,
                    crate::audit::Event::RefreshFailed {
                        connection: name.into(),
                        class: crate::audit::RefreshFailure::InvalidGrant,
                    },
                );
                Err(RefreshError::NeedsReauthorisation {
                    name: name.into(),
                    reason,
                })
            }
            Err(e) => {
                self.update(vault, name, sent, |c| {
                    c.info.refreshing_since = None;
                    c.info.refresh_failures += 1;
                    c.info.last_refresh_error = Some(e.to_string());
                })?;
                tracing::warn!(connection = %name, error = %e, attempts = attempt, "refresh failed");
                let _ = self.audit(
                    vault,
                    crate::audit::Event::RefreshFailed {
                        connection: name.into(),
                        class: if e.is_transient() {
                            crate::audit::RefreshFailure::Transient
                        } else {
                            crate::audit::RefreshFailure::Other
                        },
                    },
                );
                Err(RefreshError::Provider {
                    name: name.into(),
                    error: e,
                })
            }
        }
    }

    /// A refresh marker older than the lease: the refresh that set it (here, or on another
    /// machine that died) may have sent the refresh token, and the provider may have
    /// rotated it. Using it again could make the provider revoke the grant, so the
    /// connection is marked as needing re-authorisation.
    fn interrupted(&self, vault: &Shared, name: &ConnectionName, sent: Option<&str>) -> Got {
        let reason = "a refresh was interrupted after the request was sent; the provider may have rotated the refresh token".to_string();
        tracing::warn!(connection = %name, "{reason}");
        self.update(vault, name, sent, |c| {
            c.info.refreshing_since = None;
            c.info.status = dead(c.info.status.clone(), &reason);
        })?;
        // The error says what happened; a failure to audit it is logged.
        let _ = self.audit(
            vault,
            crate::audit::Event::RefreshFailed {
                connection: name.into(),
                class: crate::audit::RefreshFailure::Interrupted,
            },
        );
        Err(RefreshError::NeedsReauthorisation {
            name: name.into(),
            reason,
        })
    }

    /// This identity may only consume `name` (a team vault whose refresher key it does not
    /// hold): it never refreshes and writes nothing. It hands out the access token while
    /// it lasts the time asked (at most half its lifetime), else reads the record until a
    /// refresher has renewed it, for at most [`super::REFRESHER_WAIT_SECS`]; a token that
    /// expired longer ago than that says at once that no refresher is running.
    fn await_refresher(&self, vault: &Shared, name: &ConnectionName, ask: Ask) -> Got {
        let wait = Duration::from_secs(super::REFRESHER_WAIT_SECS);
        let start = Instant::now();
        let mut said = false;
        loop {
            let c = self.load(vault, name)?;
            Self::usable(name, &c, ask.want)?;
            let now = connection::now();
            let least = super::effective_min_ttl(&c.info, ask.min_ttl)
                .as_secs()
                .max(1);
            let exp = c.info.expires_at.unwrap_or(u64::MAX);
            let state = if exp > now {
                format!("expires in {} s", exp - now)
            } else {
                format!("expired {} s ago", now - exp)
            };
            if ask.force {
                return Err(RefreshError::NoRefresher {
                    name: name.into(),
                    state,
                    why: "a refresh was asked, and only a refresher may refresh".into(),
                });
            }
            if exp.saturating_sub(now) >= least {
                return Ok(Self::hand_out(&c, false));
            }
            if now.saturating_sub(exp) > wait.as_secs() {
                return Err(RefreshError::NoRefresher {
                    name: name.into(),
                    state,
                    why: "no refresher has renewed it since".into(),
                });
            }
            if start.elapsed() >= wait {
                return Err(RefreshError::NoRefresher {
                    name: name.into(),
                    state,
                    why: format!("no refresher renewed it within {} s", wait.as_secs()),
                });
            }
            if !said {
                said = true;
                tracing::info!(connection = %name, "consume only: waiting for a refresher to renew the access token");
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Another machine is refreshing `name` (a store shared by several): its outcome is
    /// read from the store until its marker goes. A marker that outlives its lease is a
    /// machine that died mid-refresh: taken over with [`Self::interrupted`]'s rule.
    /// Nothing is sent from here.
    fn await_elsewhere(&self, vault: &Shared, name: &ConnectionName, ask: Ask) -> Got {
        tracing::info!(connection = %name, "another machine is refreshing; waiting for its outcome");
        let start = Instant::now();
        let lease = Duration::from_secs(super::ELSEWHERE_LEASE_SECS);
        loop {
            std::thread::sleep(Duration::from_millis(200));
            let c = self.load(vault, name)?;
            Self::usable(name, &c, ask.want)?;
            match c.info.refreshing_since {
                None if !needs_refresh(&c, &self.policy, ask.min_ttl, connection::now()) => {
                    return Ok(Self::hand_out(&c, false));
                }
                None => {
                    return Err(RefreshError::RefreshingElsewhere {
                        name: name.into(),
                        why: "its refresh ended without a fresh token".into(),
                    })
                }
                Some(since) if lease_over(since) => {
                    return self.interrupted(vault, name, c.secrets.refresh_token.as_deref());
                }
                Some(_) if start.elapsed() >= lease => {
                    return Err(RefreshError::RefreshingElsewhere {
                        name: name.into(),
                        why: format!("still not done after {} s", lease.as_secs()),
                    })
                }
                Some(_) => {}
            }
        }
    }
}
