//! Where a connection stands for the person using it, at a given moment: the one status
//! model that the CLI's `list` / `show` and the app's badges both show. A connection that
//! holds a refresh token renews its access token by itself, so a short-lived or lapsed
//! access token is not a problem to report; only what the person must act on, or should
//! know about, is.

use crate::connection::{ConnectionInfo, Status};

/// An access token with this little left, and no refresh token to renew it, is
/// "expiring".
pub const EXPIRING_SECS: u64 = 5 * 60;

/// A connection's health at a moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Health {
    /// Usable: the access token is valid, or a held refresh token renews it on next use.
    Active,
    /// A refresh was interrupted (the process died mid-way); the next use checks it.
    RefreshInterrupted,
    /// The last refreshes failed (this many in a row); the wallet keeps retrying.
    RefreshFailing(u32),
    /// No refresh token, and the access token lapses within [`EXPIRING_SECS`].
    Expiring,
    /// No refresh token, and the access token has lapsed: sign in again.
    Expired,
    /// The provider refused the refresh token: sign in again.
    NeedsReauthorisation,
    /// Disconnected here, but the provider has not confirmed the revocation yet (this
    /// many attempts so far).
    RevocationPending(u32),
}

impl Health {
    /// The health of `info` at `now` (Unix seconds).
    pub fn of(info: &ConnectionInfo, now: u64) -> Self {
        match &info.status {
            Status::RevocationPending { attempts, .. } => Self::RevocationPending(*attempts),
            Status::NeedsReauthorisation { .. } => Self::NeedsReauthorisation,
            Status::Active if info.refreshing_since.is_some() => Self::RefreshInterrupted,
            Status::Active if info.has_refresh_token && info.refresh_failures > 0 => {
                Self::RefreshFailing(info.refresh_failures)
            }
            Status::Active if info.has_refresh_token => Self::Active,
            Status::Active => match info.expires_at {
                Some(t) if t <= now => Self::Expired,
                Some(t) if t - now <= EXPIRING_SECS => Self::Expiring,
                _ => Self::Active,
            },
        }
    }

    /// A stable key for front ends (the app's badge class, JSON).
    pub fn key(&self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::RefreshInterrupted => "refreshInterrupted",
            Self::RefreshFailing(_) => "refreshFailing",
            Self::Expiring => "expiring",
            Self::Expired => "expired",
            Self::NeedsReauthorisation => "needsReauth",
            Self::RevocationPending(_) => "revocationPending",
        }
    }

    /// Whether the person should act on it (sorted first, shown as an alert).
    pub fn needs_attention(&self) -> bool {
        !matches!(self, Self::Active | Self::RefreshInterrupted)
    }
}

#[cfg(test)]
#[path = "health_tests.rs"]
mod tests;
