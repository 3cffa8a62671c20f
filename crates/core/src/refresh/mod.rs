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
//! - **One refresher across machines** (a store shared by several machines, OpenBao):
//!   the file lock holds on one machine only, so the crash marker is also the claim. It is
//!   set only if the record, read from the store just before, has none, and the write is
//!   a check-and-set on that read: of two machines, one sets it and sends the refresh
//!   token; the other sees the marker (or its write is refused) and waits for the
//!   outcome, reading the record until the marker goes, for at most
//!   [`ELSEWHERE_LEASE_SECS`]. A marker older than that is a refresher that died, and is
//!   treated as on one machine.
//! - **Errors**: `invalid_grant` -> "needs re-authorisation" at once, no retry; network
//!   errors, 5xx and 429 -> bounded exponential backoff with jitter (429 honours
//!   `Retry-After`); anything else fails at once. Failures are counted on the record.

/// How long another machine's refresh (its marker in the record) is waited for before
/// it counts as one that died after sending its request.
pub const ELSEWHERE_LEASE_SECS: u64 = 120;

/// How long an identity that may only consume a team vault waits for a refresher to
/// renew an access token that is expiring (or expired less than this ago).
pub const REFRESHER_WAIT_SECS: u64 = 30;

mod flight;
mod locked;
mod policy;

pub use policy::{effective_min_ttl, needs_refresh, needs_refresh_info, Policy};

use crate::connection::{self, Connection, ConnectionName, Status};
use crate::guard;
use crate::oauth::{http::Http, OAuthError};
use crate::vault::{UnlockedVault, VaultError};
use flight::Flight;
use secrecy::SecretString;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    /// On a store shared by several machines, another machine's refresh of this
    /// connection did not end in time (or ended without a fresh token).
    #[error("connection `{name}` is being refreshed by another machine ({why}); nothing was sent from here. Try again in a moment")]
    RefreshingElsewhere {
        /// Connection.
        name: String,
        /// What was seen.
        why: String,
    },
    /// This identity may only consume a team vault: it holds no refresh token, and no
    /// refresher renewed the access token in time.
    #[error("connection `{name}`'s access token {state}, and this identity may only consume it (the team vault's refresher key is not its): {why}. A refresher keeps it fresh: is an agent or the app running on a machine with the refresher policy?")]
    NoRefresher {
        /// Connection.
        name: String,
        /// "expired 3 min ago", "expires in 2 s".
        state: String,
        /// What was seen.
        why: String,
    },
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
}

#[cfg(test)]
mod tests;
