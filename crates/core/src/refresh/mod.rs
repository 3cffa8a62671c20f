//! The one place tokens are refreshed.
//!
//! - **Ahead of expiry**: an access token is refreshed when less than its refresh window
//!   is left: the larger of 60 s and 10 % of its lifetime, at most half its lifetime (so a
//!   very short-lived token is not refreshed on every request), or the caller's `min_ttl`.
//! - **Single-flight in a process**: concurrent callers for one connection share one
//!   refresh; the others wait for it and read the fresh record.
//! - **One refresher across processes**: the refresher holds the connection's OS file lock
//!   (`refresh-<keyed hash of name>.lock` in the data directory, see
//!   [`crate::lock::refresh_lock_path`]) and re-reads the record under it, so a process that
//!   waited finds the tokens another process already refreshed. The file goes when the
//!   connection does (removed while held, see [`crate::lock::VaultLock::remove`]).
//! - **Persist before handing out**: the new refresh and access tokens are written to the
//!   vault (one atomic record write) before any caller gets the new access token; an old
//!   refresh token is never sent twice.
//! - **Crash marker**: `refreshing_since` is persisted before the request and cleared with
//!   its result. A refresher that finds it set knows a previous one died after sending the
//!   request, when the provider may already have rotated the refresh token: it does not
//!   reuse the token (reuse can revoke the whole grant) but reports "needs
//!   re-authorisation".
//! - **Errors**: `invalid_grant` -> "needs re-authorisation" at once, no retry; network
//!   errors, 5xx and 429 -> bounded exponential backoff with jitter (429 honours
//!   `Retry-After`); anything else fails at once. Failures are counted on the record.

use crate::connection::{self, Connection, ConnectionName, Status};
use crate::guard;
use crate::lock::VaultLock;
use crate::oauth::{http::Http, Client, OAuthError};
use crate::vault::{UnlockedVault, VaultError};
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// When and how hard to refresh.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Refresh when less than this is left (at least).
    pub min_window: Duration,
    /// ... or less than this fraction of the token's lifetime.
    pub window_fraction: f64,
    /// Attempts for transient failures (the first included).
    pub max_attempts: u32,
    /// First backoff; doubles each attempt, plus up to 50 % jitter.
    pub base_backoff: Duration,
    /// Longest single wait (also caps `Retry-After`).
    pub max_backoff: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            min_window: Duration::from_secs(60),
            window_fraction: 0.1,
            max_attempts: 4,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// Why a token could not be had. Neutral words: the front ends add what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RefreshError {
    /// The connection must be signed in again (re-authorised).
    #[error("connection `{name}` needs re-authorisation ({reason})")]
    NeedsReauthorisation {
        /// Connection.
        name: String,
        /// Why.
        reason: String,
    },
    /// The connection is being disconnected.
    #[error("connection `{0}` is being disconnected (revocation pending)")]
    RevocationPending(String),
    /// No refresh token was issued and the access token is expiring.
    #[error("connection `{0}` has no refresh token and its access token is expiring")]
    NoRefreshToken(String),
    /// The provider failed (after retries, where retrying made sense).
    #[error("refreshing `{name}` failed: {error}")]
    Provider {
        /// Connection.
        name: String,
        /// What the provider (or the network) said.
        error: OAuthError,
    },
    /// The vault failed.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The refresh lock could not be taken.
    #[error("could not take the refresh lock: {0}")]
    Lock(String),
    /// An API key or static token past its expiry date (they are never refreshed).
    #[error("`{name}` expired at {}; it is an API key or static token, which is never refreshed", crate::clock::rfc3339(*.expired_at))]
    Expired {
        /// Connection.
        name: String,
        /// When it expired (Unix seconds).
        expired_at: u64,
    },
    /// The connection's grant was replaced (re-authorised) while a refresh was under
    /// way; the refresh's result was not saved over it.
    #[error("connection `{0}` was re-authorised while it was being refreshed; ask again")]
    Replaced(String),
    /// A refresh was asked of an API key or static token.
    #[error("`{0}` is an API key or static token: it is never refreshed")]
    NotRefreshable(String),
    /// The audit log could not be written: nothing was sent to the provider (or, if its
    /// line failed after the refresh, the new tokens were stored but not handed out).
    #[error("the audit log could not be written, so no refresh runs: {0}")]
    Audit(String),
}

/// An access token handed to a caller.
pub struct AccessToken {
    /// The token.
    pub token: SecretString,
    /// When it expires (Unix seconds), if known.
    pub expires_at: Option<u64>,
    /// Whether this call refreshed it.
    pub refreshed: bool,
    /// The refresh this call tried failed for a reason that may pass (network, 5xx), and
    /// this is the current token, still valid for at least the `min_ttl` asked: why the
    /// refresh failed. The refresher tries again on the next call.
    pub refresh_error: Option<String>,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "AccessToken(<redacted>, expires_at: {:?}, refresh_error: {:?})",
            self.expires_at, self.refresh_error
        )
    }
}

/// What a leader publishes: the token and its expiry, or the error's message.
type Outcome = Result<(SecretString, Option<u64>), (String, bool)>;

/// A refresh in flight in this process: its leader publishes the outcome here.
#[derive(Default)]
struct Flight {
    done: Mutex<Option<Outcome>>,
    cv: Condvar,
}

/// What the token is wanted for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    /// To hand out: only an active connection's.
    Use,
    /// To revoke with: a connection waiting for its revocation too.
    Revoke,
}

/// The unlocked vault, shared between threads.
type Shared = Mutex<UnlockedVault>;
/// What a caller gets.
type Got = Result<AccessToken, RefreshError>;

/// What a caller asks of a refresh.
#[derive(Clone, Copy)]
struct Ask {
    /// Least lifetime left.
    min_ttl: Duration,
    /// Refresh whatever the expiry.
    force: bool,
    /// What the token is for.
    want: Want,
}

impl Ask {
    fn new(min_ttl: Duration, force: bool, want: Want) -> Self {
        Self {
            min_ttl,
            force,
            want,
        }
    }
}

/// The refresher of one profile. Share one per process (it is `Sync`).
pub struct Refresher {
    http: Http,
    policy: Policy,
    lock_dir: PathBuf,
    flights: Mutex<HashMap<String, Arc<Flight>>>,
    audit: Option<crate::audit::AuditLog>,
    /// The key that names lock files, with the id of the vault it belongs to.
    lock_key: Mutex<Option<(String, crate::audit::NameKey)>>,
    /// Older builds' unsalted lock files were looked for (once per process).
    old_locks_gone: std::sync::Once,
}

/// Whether a connection's access token should be refreshed now.
pub fn needs_refresh(c: &Connection, policy: &Policy, min_ttl: Duration, now: u64) -> bool {
    needs_refresh_info(&c.info, policy, min_ttl, now)
}

/// [`needs_refresh`] from a connection's public facts.
pub fn needs_refresh_info(
    info: &connection::ConnectionInfo,
    policy: &Policy,
    min_ttl: Duration,
    now: u64,
) -> bool {
    let Some(exp) = info.expires_at else {
        return false; // the provider did not say: use it until it is refused
    };
    if !info.kind.is_refreshed() {
        // Never refreshed: "needs a refresh" only once expired (the refresher then says so).
        return exp <= now;
    }
    let lifetime = exp.saturating_sub(info.issued_at) as f64;
    // A caller's min_ttl counts up to half the provider's token lifetime too: a longer
    // one could never be met, and would refresh on every call (see `effective_min_ttl`).
    let window = (policy.min_window.as_secs_f64())
        .max(lifetime * policy.window_fraction)
        .max(effective_min_ttl(info, min_ttl).as_secs_f64())
        .min(lifetime / 2.0);
    (exp as f64 - now as f64) < window
}

/// The least lifetime a caller may ask of `info`'s tokens: its `min_ttl`, at most half the
/// lifetime of the provider's access tokens (when known). Asking more cannot force a
/// refresh: a token is refreshed at the earliest at half its life, so however large the
/// clients' `min_ttl` (the agent protocol and `token --min-ttl` accept up to 366 days),
/// there are at most two refreshes per token lifetime, never one per request. Half, not
/// "the lifetime minus a margin": a margin small enough to suit a 10-minute token would
/// still let a client refresh a 60-day token every few minutes.
pub fn effective_min_ttl(info: &connection::ConnectionInfo, min_ttl: Duration) -> Duration {
    match info.expires_at {
        Some(exp) if info.kind.is_refreshed() => {
            let half = Duration::from_secs(exp.saturating_sub(info.issued_at)) / 2;
            min_ttl.min(half)
        }
        _ => min_ttl,
    }
}

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
    /// A refresher whose lock files live in `data_dir`.
    pub fn new(http: Http, policy: Policy, data_dir: PathBuf) -> Self {
        Self {
            http,
            policy,
            lock_dir: data_dir,
            flights: Mutex::new(HashMap::new()),
            audit: None,
            lock_key: Mutex::new(None),
            old_locks_gone: std::sync::Once::new(),
        }
    }

    /// Its HTTP client (one per process: the operations share it).
    pub fn http(&self) -> &Http {
        &self.http
    }

    /// Its policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Sends every refresh outcome to this audit log.
    pub fn with_audit(mut self, log: crate::audit::AuditLog) -> Self {
        self.audit = Some(log);
        self
    }

    /// Forgets the audit key this refresher's log cached, and the key that names lock
    /// files (when the vault is locked).
    pub fn forget_keys(&self) {
        if let Some(a) = &self.audit {
            a.forget_key();
        }
        *guard(&self.lock_key) = None;
    }

    /// Appends `event` to this refresher's audit log, if it has one.
    fn audit(
        &self,
        vault: &Mutex<UnlockedVault>,
        event: crate::audit::Event,
    ) -> Result<(), RefreshError> {
        let Some(log) = &self.audit else {
            return Ok(());
        };
        use crate::audit::Recorder as _;
        crate::audit::LogRecorder::new(log, vault)
            .try_record(event)
            .map_err(|e| {
                tracing::error!(error = %e, "could not write the audit log");
                RefreshError::Audit(e.to_string())
            })
    }

    /// The refresh lock file of `name`: named by a keyed hash, whose key comes from the
    /// unlocked vault (cached until [`Self::forget_keys`]). The first time, older builds'
    /// unsalted lock files are removed.
    fn lock_path(
        &self,
        vault: &Mutex<UnlockedVault>,
        name: &ConnectionName,
    ) -> Result<PathBuf, RefreshError> {
        let key = {
            let mut v = guard(vault);
            let id = v.info().vault_id;
            let mut cached = guard(&self.lock_key);
            match &*cached {
                Some((of, k)) if *of == id => k.clone(),
                _ => {
                    let k = crate::audit::name_key(&mut v)
                        .map_err(|e| RefreshError::Lock(e.to_string()))?;
                    *cached = Some((id, k.clone()));
                    k
                }
            }
        };
        self.old_locks_gone
            .call_once(|| crate::lock::remove_unsalted_refresh_locks(&self.lock_dir));
        Ok(crate::lock::refresh_lock_path(&self.lock_dir, &key, name))
    }

    /// Removes the refresh lock file of `name`, a connection that is gone: taken first,
    /// so no refresher of it in any process is between taking it and writing (one that
    /// waits for it finds the file gone once it has it, opens the name afresh, and then
    /// finds no connection to refresh). Best effort: a file left behind tells nothing.
    pub fn forget_lock(&self, vault: &Mutex<UnlockedVault>, name: &ConnectionName) {
        let removed = self.lock_path(vault, name).and_then(|path| {
            if !path.exists() {
                return Ok(());
            }
            VaultLock::acquire(&path)
                .map(VaultLock::remove)
                .map_err(|e| RefreshError::Lock(e.to_string()))
        });
        if let Err(e) = removed {
            tracing::warn!(connection = %name, error = %e, "could not remove the refresh lock file");
        }
    }

    fn load(
        &self,
        vault: &Mutex<UnlockedVault>,
        name: &ConnectionName,
    ) -> Result<Connection, RefreshError> {
        Ok(connection::load(&mut guard(vault), name)?)
    }

    fn usable(name: &ConnectionName, c: &Connection, want: Want) -> Result<(), RefreshError> {
        match &c.info.status {
            Status::Active => Ok(()),
            Status::RevocationPending { .. } if want == Want::Revoke => Ok(()),
            Status::NeedsReauthorisation { reason, .. } => {
                Err(RefreshError::NeedsReauthorisation {
                    name: name.into(),
                    reason: reason.clone(),
                })
            }
            Status::RevocationPending { .. } => Err(RefreshError::RevocationPending(name.into())),
        }
    }

    fn hand_out(c: &Connection, refreshed: bool) -> AccessToken {
        AccessToken {
            token: SecretString::from(c.secrets.access_token.clone()),
            expires_at: c.info.expires_at,
            refreshed,
            refresh_error: None,
        }
    }

    /// An access token with at least `min_ttl` left (if the provider can give one),
    /// refreshing first if needed.
    pub fn access_token(
        &self,
        vault: &Mutex<UnlockedVault>,
        name: &ConnectionName,
        min_ttl: Duration,
    ) -> Result<AccessToken, RefreshError> {
        let c = self.load(vault, name)?;
        Self::usable(name, &c, Want::Use)?;
        if !c.info.kind.is_refreshed() {
            return match c.info.expires_at {
                Some(at) if at <= connection::now() => Err(RefreshError::Expired {
                    name: name.into(),
                    expired_at: at,
                }),
                _ => Ok(Self::hand_out(&c, false)),
            };
        }
        // What a client may ask is capped at half the tokens' lifetime: no client can
        // make every request a refresh.
        let min_ttl = effective_min_ttl(&c.info, min_ttl);
        if !needs_refresh(&c, &self.policy, min_ttl, connection::now()) {
            return Ok(Self::hand_out(&c, false));
        }
        match self.single_flight(vault, name, Ask::new(min_ttl, false, Want::Use)) {
            // The provider is away for now, but the token in hand still does the job.
            Err(RefreshError::Provider { error, .. }) if error.is_transient() => {
                let c = self.load(vault, name)?;
                let left = c
                    .info
                    .expires_at
                    .map(|e| e.saturating_sub(connection::now()));
                match left {
                    Some(left) if left > 0 && left >= min_ttl.as_secs() => Ok(AccessToken {
                        refresh_error: Some(error.to_string()),
                        ..Self::hand_out(&c, false)
                    }),
                    _ => Err(RefreshError::Provider {
                        name: name.into(),
                        error,
                    }),
                }
            }
            other => other,
        }
    }

    /// An access token to revoke `name` with (Pleo's revocation authenticates with it):
    /// the current one if it has a minute left, else a refreshed one. Unlike
    /// [`Self::access_token`], a connection already waiting for its revocation is
    /// refreshed too, and a refused refresh token does not change its status.
    pub fn for_revocation(
        &self,
        vault: &Mutex<UnlockedVault>,
        name: &ConnectionName,
    ) -> Result<AccessToken, RefreshError> {
        let min_ttl = Duration::from_secs(60);
        let c = self.load(vault, name)?;
        Self::usable(name, &c, Want::Revoke)?;
        if !needs_refresh(&c, &self.policy, min_ttl, connection::now()) {
            return Ok(Self::hand_out(&c, false));
        }
        self.single_flight(vault, name, Ask::new(min_ttl, false, Want::Revoke))
    }

    /// Refreshes now, whatever the expiry (token rotation on demand).
    pub fn force(
        &self,
        vault: &Mutex<UnlockedVault>,
        name: &ConnectionName,
    ) -> Result<AccessToken, RefreshError> {
        let c = self.load(vault, name)?;
        Self::usable(name, &c, Want::Use)?;
        if !c.info.kind.is_refreshed() {
            return Err(RefreshError::NotRefreshable(name.into()));
        }
        self.single_flight(vault, name, Ask::new(Duration::ZERO, true, Want::Use))
    }

    fn single_flight(&self, vault: &Shared, name: &ConnectionName, ask: Ask) -> Got {
        let (flight, leader) = {
            let mut f = guard(&self.flights);
            match f.get(name.as_str()) {
                Some(existing) => (existing.clone(), false),
                None => {
                    let fl = Arc::new(Flight::default());
                    f.insert(name.to_string(), fl.clone());
                    (fl, true)
                }
            }
        };
        if leader {
            let result = self.refresh_locked(vault, name, ask);
            guard(&self.flights).remove(name.as_str());
            *guard(&flight.done) = Some(match &result {
                Ok(t) => Ok((t.token.clone(), t.expires_at)),
                Err(e) => Err((
                    e.to_string(),
                    matches!(e, RefreshError::Provider { error, .. } if error.is_transient()),
                )),
            });
            flight.cv.notify_all();
            return result;
        }
        let mut done = guard(&flight.done);
        while done.is_none() {
            done = flight.cv.wait(done).unwrap_or_else(|p| p.into_inner());
        }
        // The leader stored the tokens before publishing them: followers take them
        // from memory instead of reading the record again.
        match done.clone() {
            Some(Ok((token, expires_at))) => Ok(AccessToken {
                token,
                expires_at,
                refreshed: false,
                refresh_error: None,
            }),
            Some(Err((message, transient))) => Err(RefreshError::Provider {
                name: name.into(),
                error: OAuthError::Relayed { message, transient },
            }),
            None => unreachable!("the loop above waits for Some"),
        }
    }

    /// Changes the record as it is now (under the vault's lock), unless its refresh token
    /// is no longer `sent`: then the connection was re-authorised (or connected anew)
    /// while this refresh was under way, and its new grant must not be overwritten.
    fn update(
        &self,
        vault: &Mutex<UnlockedVault>,
        name: &ConnectionName,
        sent: Option<&str>,
        change: impl FnOnce(&mut Connection),
    ) -> Result<(), RefreshError> {
        connection::update(&mut guard(vault), name, |c| {
            if c.secrets.refresh_token.as_deref() != sent {
                return Err(RefreshError::Replaced(name.into()));
            }
            change(c);
            Ok(())
        })
        .map(|((), _)| ())
    }

    fn refresh_locked(&self, vault: &Shared, name: &ConnectionName, ask: Ask) -> Got {
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
        if c.info.refreshing_since.is_some() {
            let reason = "a refresh was interrupted after the request was sent; the provider may have rotated the refresh token".to_string();
            tracing::warn!(connection = %name, "{reason}");
            self.update(vault, name, c.secrets.refresh_token.as_deref(), |c| {
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
            return Err(RefreshError::NeedsReauthorisation {
                name: name.into(),
                reason,
            });
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
        self.update(vault, name, Some(&refresh_token), |c| {
            c.info.refreshing_since = Some(connection::now());
        })?;
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

    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(r) = retry_after {
            return r.min(self.policy.max_backoff);
        }
        let base = self
            .policy
            .base_backoff
            .saturating_mul(1 << (attempt - 1).min(16));
        let jitter = u64::from_le_bytes(crate::crypto::random::<8>()) % 1000;
        let with_jitter = base + base.mul_f64(jitter as f64 / 2000.0);
        with_jitter.min(self.policy.max_backoff)
    }
}

#[cfg(test)]
mod tests;
