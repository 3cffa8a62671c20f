//! Where a connection stands for the person using it, at a given moment: the one status
//! model that the CLI's `list` / `show` and the app's badges both show. A connection that
//! holds a refresh token renews its access token by itself, so a short-lived or lapsed
//! access token is not a problem to report; only what the person must act on, or should
//! know about, is.

use crate::connection::{ConnectionInfo, CredentialKind, Status};

/// An access token with this little left, and no refresh token to renew it, is
/// "expiring".
pub const EXPIRING_SECS: u64 = 5 * 60;

/// An API key or static token with this many days left or fewer is "expiring": the days
/// before its date when the wallet warns (the first, then each later one).
pub const KEY_WARNING_DAYS: [u64; 3] = [30, 7, 1];

const DAY: u64 = 86_400;

/// Whole days left before `expires_at` at `now`, rounded down as a countdown shows them
/// (a key expiring in 5 days and 13 hours has 5 days left; one in 3 hours, 0).
pub fn days_left(expires_at: u64, now: u64) -> u64 {
    expires_at.saturating_sub(now) / DAY
}

/// "in 5 days", "in 1 day", "within a day": [`days_left`] in words.
pub fn in_days(days: u64) -> String {
    match days {
        0 => "within a day".into(),
        1 => "in 1 day".into(),
        d => format!("in {d} days"),
    }
}

/// The warning a key expiring at `expires_at` is at, at `now`: the smallest of
/// [`KEY_WARNING_DAYS`] (30, 7 or 1) whose span of days before the date has been reached,
/// or `None` with more than 30 days left (or once it has passed).
pub fn warning_level(expires_at: u64, now: u64) -> Option<u64> {
    let left = expires_at.checked_sub(now).filter(|l| *l > 0)?;
    KEY_WARNING_DAYS
        .iter()
        .rev()
        .copied()
        .find(|w| left <= w * DAY)
}

/// A connection's health at a moment. Sent to front ends as `{"key": "keyExpiring",
/// "n": 5}`: `n` the days left, the failures in a row or the revocation attempts, where
/// the variant has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "key", content = "n", rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
    #[serde(rename = "needsReauth")]
    NeedsReauthorisation,
    /// Disconnected here, but the provider has not confirmed the revocation yet (this
    /// many attempts so far).
    RevocationPending(u32),
    /// An API key or static token expires within 30 days, in this many whole days (0:
    /// within the day): make a new one and rotate it in.
    KeyExpiring(u64),
    /// An API key or static token is past its date.
    KeyExpired,
    /// The provider refused the API key when it was last checked (wrong, expired or
    /// revoked).
    VerificationFailed,
    /// The provider says the installation is `ERROR` or `INACTIVE`.
    InstallationProblem,
    /// The installation's status could not be read at the last check (never shown as
    /// healthy).
    InstallationUnknown,
}

impl Health {
    /// The health of `info` at `now` (Unix seconds).
    pub fn of(info: &ConnectionInfo, now: u64) -> Self {
        match &info.status {
            Status::RevocationPending { attempts, .. } => Self::RevocationPending(*attempts),
            Status::NeedsReauthorisation { .. } => Self::NeedsReauthorisation,
            Status::Active if !info.kind.is_refreshed() => Self::of_static(info, now),
            Status::Active if info.refreshing_since.is_some() => Self::RefreshInterrupted,
            Status::Active if info.has_refresh_token && info.refresh_failures > 0 => {
                Self::RefreshFailing(info.refresh_failures)
            }
            Status::Active if info.installation_broken() => Self::InstallationProblem,
            Status::Active if info.installation_unknown().is_some() => Self::InstallationUnknown,
            Status::Active if info.has_refresh_token => Self::Active,
            Status::Active => match info.expires_at {
                Some(t) if t <= now => Self::Expired,
                Some(t) if t - now <= EXPIRING_SECS => Self::Expiring,
                _ => Self::Active,
            },
        }
    }

    /// An API key's or static token's health: past its date, refused, its installation
    /// broken, within [`KEY_WARNING_DAYS`] of its date, or active.
    fn of_static(info: &ConnectionInfo, now: u64) -> Self {
        match info.expires_at {
            Some(t) if t <= now => Self::KeyExpired,
            _ if info.kind == CredentialKind::ApiKey && info.check_error.is_some() => {
                Self::VerificationFailed
            }
            _ if info.installation_broken() => Self::InstallationProblem,
            _ if info.installation_unknown().is_some() => Self::InstallationUnknown,
            Some(t) if warning_level(t, now).is_some() => Self::KeyExpiring(days_left(t, now)),
            _ => Self::Active,
        }
    }

    /// When, after `now`, the health of `info` next changes by the clock alone (an
    /// access token without a refresh token starts expiring, then lapses; a key reaches
    /// 30, 7 and 1 days before its date, counts a day down, then lapses): when a front end
    /// showing it should ask again. `None`: not before something else changes it.
    pub fn until(info: &ConnectionInfo, now: u64) -> Option<u64> {
        let t = info.expires_at?;
        let left = days_left(t, now);
        let mut at: Vec<u64> = [
            Some(t),
            t.checked_sub(EXPIRING_SECS),
            t.checked_sub(30 * DAY),
            t.checked_sub(7 * DAY),
            t.checked_sub(DAY),
            t.checked_sub(left * DAY),
        ]
        .into_iter()
        .flatten()
        .flat_map(|b| [b, b + 1])
        .filter(|&b| b > now)
        .collect();
        at.sort_unstable();
        let here = Self::of(info, now);
        at.into_iter().find(|&b| Self::of(info, b) != here)
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
            Self::KeyExpiring(_) => "keyExpiring",
            Self::KeyExpired => "keyExpired",
            Self::VerificationFailed => "verificationFailed",
            Self::InstallationProblem => "installationProblem",
            Self::InstallationUnknown => "installationUnknown",
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
