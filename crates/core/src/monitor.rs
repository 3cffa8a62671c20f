//! Monitoring: what needs a person's attention, from the connections' records and the
//! audit log. Used by `token-wallet status` (and later the app's alerts).

use crate::audit::{AuditLog, Event, Line};
use crate::connection::{ConnectionInfo, CredentialKind, Status};
use serde::Serialize;

/// Thresholds.
#[derive(Clone, Debug)]
pub struct Thresholds {
    /// Flag a connection after this many failed refreshes in a row.
    pub refresh_failures: u32,
    /// Flag a connection not used (exported or refreshed) for this many days.
    pub inactive_days: u64,
    /// Assumed refresh-token lifetime (Pleo: at least 60 days); flag when a refresh token
    /// has not been used for all but the last 10 days of it.
    pub refresh_token_days: u64,
    /// Flag this many failed unlocks since the last successful one.
    pub failed_unlocks: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            refresh_failures: 3,
            inactive_days: 30,
            refresh_token_days: 60,
            failed_unlocks: 3,
        }
    }
}

/// One thing to look at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "alert", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Alert {
    /// `invalid_grant` or an interrupted refresh: connect again.
    NeedsReauthorisation {
        /// Connection.
        connection: String,
    },
    /// Refresh failed this many times in a row.
    RefreshFailing {
        /// Connection.
        connection: String,
        /// Failures in a row.
        failures: u32,
    },
    /// No refresh token and the access token expires within the hour (or has expired).
    ExpiresSoon {
        /// Connection.
        connection: String,
        /// Expiry (Unix seconds).
        expires_at: u64,
    },
    /// The refresh token has not been used for long: it may expire.
    RefreshTokenAging {
        /// Connection.
        connection: String,
        /// Days since it was issued.
        days: u64,
    },
    /// Not used for this many days.
    Inactive {
        /// Connection.
        connection: String,
        /// Days.
        days: u64,
    },
    /// Revocation still pending.
    RevocationPending {
        /// Connection.
        connection: String,
    },
    /// An API key or static token reaches its date within 30 days: warned at 30, 7 and
    /// 1 days before.
    KeyExpiring {
        /// Connection.
        connection: String,
        /// Its date (Unix seconds).
        expires_at: u64,
        /// Whole days left (rounded down: 0 within the day).
        days: u64,
        /// The warning reached: 30, 7 or 1 (days).
        warning: u64,
    },
    /// An API key or static token is past its date.
    KeyExpired {
        /// Connection.
        connection: String,
        /// Its date (Unix seconds).
        expires_at: u64,
    },
    /// The provider refused the API key at its last check.
    VerificationFailed {
        /// Connection.
        connection: String,
        /// What the check said.
        error: String,
    },
    /// The provider reports the installation in `ERROR` or `INACTIVE`.
    InstallationProblem {
        /// Connection.
        connection: String,
        /// The status.
        status: String,
        /// Its error code (`NOT_ENTITLED`, `AUTH_ERROR`...), if any.
        error_code: Option<String>,
    },
    /// A connection restored from a backup still holds the copied refresh token.
    RestoredCopy {
        /// Connection.
        connection: String,
    },
    /// The installation's status could not be read at the last check.
    InstallationUnknown {
        /// Connection.
        connection: String,
        /// Why.
        why: String,
    },
    /// Wrong passphrases since the last successful unlock.
    FailedUnlocks {
        /// How many.
        count: u32,
    },
}

/// What an [`Alert`] is about, without its details: what a front end keys its look on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[non_exhaustive]
pub enum AlertKind {
    /// [`Alert::NeedsReauthorisation`].
    NeedsReauthorisation,
    /// [`Alert::RefreshFailing`].
    RefreshFailing,
    /// [`Alert::ExpiresSoon`].
    ExpiresSoon,
    /// [`Alert::RefreshTokenAging`].
    RefreshTokenAging,
    /// [`Alert::Inactive`].
    Inactive,
    /// [`Alert::RevocationPending`].
    RevocationPending,
    /// [`Alert::KeyExpiring`].
    KeyExpiring,
    /// [`Alert::KeyExpired`].
    KeyExpired,
    /// [`Alert::VerificationFailed`].
    VerificationFailed,
    /// [`Alert::InstallationProblem`].
    InstallationProblem,
    /// [`Alert::RestoredCopy`].
    RestoredCopy,
    /// [`Alert::InstallationUnknown`].
    InstallationUnknown,
    /// [`Alert::FailedUnlocks`].
    FailedUnlocks,
}

impl Alert {
    /// What it is about.
    pub fn kind(&self) -> AlertKind {
        match self {
            Alert::NeedsReauthorisation { .. } => AlertKind::NeedsReauthorisation,
            Alert::RefreshFailing { .. } => AlertKind::RefreshFailing,
            Alert::ExpiresSoon { .. } => AlertKind::ExpiresSoon,
            Alert::RefreshTokenAging { .. } => AlertKind::RefreshTokenAging,
            Alert::Inactive { .. } => AlertKind::Inactive,
            Alert::RevocationPending { .. } => AlertKind::RevocationPending,
            Alert::KeyExpiring { .. } => AlertKind::KeyExpiring,
            Alert::KeyExpired { .. } => AlertKind::KeyExpired,
            Alert::VerificationFailed { .. } => AlertKind::VerificationFailed,
            Alert::InstallationProblem { .. } => AlertKind::InstallationProblem,
            Alert::RestoredCopy { .. } => AlertKind::RestoredCopy,
            Alert::InstallationUnknown { .. } => AlertKind::InstallationUnknown,
            Alert::FailedUnlocks { .. } => AlertKind::FailedUnlocks,
        }
    }

    /// The connection it concerns, if any.
    pub fn connection(&self) -> Option<&str> {
        match self {
            Alert::NeedsReauthorisation { connection, .. }
            | Alert::RefreshFailing { connection, .. }
            | Alert::ExpiresSoon { connection, .. }
            | Alert::RefreshTokenAging { connection, .. }
            | Alert::Inactive { connection, .. }
            | Alert::RevocationPending { connection, .. }
            | Alert::KeyExpiring { connection, .. }
            | Alert::KeyExpired { connection, .. }
            | Alert::VerificationFailed { connection, .. }
            | Alert::InstallationProblem { connection, .. }
            | Alert::RestoredCopy { connection, .. }
            | Alert::InstallationUnknown { connection, .. } => Some(connection),
            Alert::FailedUnlocks { .. } => None,
        }
    }
}

const DAY: u64 = 86_400;

/// When a connection was last used (exported or refreshed, else created).
pub fn last_used(c: &ConnectionInfo) -> u64 {
    c.last_export
        .into_iter()
        .chain(c.last_refresh)
        .chain([c.created_at])
        .max()
        .unwrap_or(c.created_at)
}

/// Alerts for the connections.
pub fn connection_alerts(conns: &[ConnectionInfo], t: &Thresholds, now: u64) -> Vec<Alert> {
    let mut out = Vec::new();
    for c in conns {
        let name = c.name.clone();
        match &c.status {
            Status::NeedsReauthorisation { .. } => {
                out.push(Alert::NeedsReauthorisation {
                    connection: name.to_string(),
                });
                continue;
            }
            Status::RevocationPending { .. } => {
                out.push(Alert::RevocationPending {
                    connection: name.to_string(),
                });
                continue;
            }
            Status::Active => {}
        }
        if let Some(i) = c.installation().filter(|i| i.status.is_broken()) {
            out.push(Alert::InstallationProblem {
                connection: name.to_string(),
                status: i.status.as_str().to_string(),
                error_code: i.error_code,
            });
        }
        if c.is_restored_copy() {
            out.push(Alert::RestoredCopy {
                connection: name.to_string(),
            });
        }
        if let Some(why) = c.installation_unknown() {
            out.push(Alert::InstallationUnknown {
                connection: name.to_string(),
                why,
            });
        }
        if !c.kind.is_refreshed() {
            out.extend(key_alerts(c, now));
            continue;
        }
        if c.refresh_failures >= t.refresh_failures {
            out.push(Alert::RefreshFailing {
                connection: name.to_string(),
                failures: c.refresh_failures,
            });
        }
        if let Some(exp) = c.expires_at {
            if !c.has_refresh_token && exp < now + 3600 {
                out.push(Alert::ExpiresSoon {
                    connection: name.to_string(),
                    expires_at: exp,
                });
            }
        }
        let rt_age = now.saturating_sub(c.issued_at) / DAY;
        if c.has_refresh_token && rt_age + 10 >= t.refresh_token_days {
            out.push(Alert::RefreshTokenAging {
                connection: name.to_string(),
                days: rt_age,
            });
        }
        let idle = now.saturating_sub(last_used(c)) / DAY;
        if idle >= t.inactive_days {
            out.push(Alert::Inactive {
                connection: name.to_string(),
                days: idle,
            });
        }
    }
    out
}

/// An API key's or static token's own alerts: past its date, near it, refused.
fn key_alerts(c: &ConnectionInfo, now: u64) -> Vec<Alert> {
    let connection = c.name.to_string();
    let mut out = Vec::new();
    if let Some(exp) = c.expires_at {
        let days = crate::health::days_left(exp, now);
        let warning = crate::health::warning_level(exp, now);
        if exp <= now {
            out.push(Alert::KeyExpired {
                connection: connection.clone(),
                expires_at: exp,
            });
        } else if let Some(warning) = warning {
            out.push(Alert::KeyExpiring {
                connection: connection.clone(),
                expires_at: exp,
                days,
                warning,
            });
        }
    }
    if c.kind == CredentialKind::ApiKey {
        if let Some(error) = &c.check_error {
            out.push(Alert::VerificationFailed {
                connection,
                error: error.clone(),
            });
        }
    }
    out
}

/// Failed unlocks since the last successful unlock, if over the threshold.
pub fn unlock_alert(log: &[Line], t: &Thresholds) -> Option<Alert> {
    let count = log
        .iter()
        .rev()
        .take_while(|l| !(l.event.is_unlock() || l.event == Event::VaultCreated))
        .filter(|l| l.event.is_unlock_failure())
        .count() as u32;
    (count >= t.failed_unlocks).then_some(Alert::FailedUnlocks { count })
}

impl std::fmt::Display for Alert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Alert::NeedsReauthorisation { connection } => write!(f, "`{connection}` needs re-authorisation: sign in again (re-authorise it)"),
            Alert::RefreshFailing { connection, failures } => write!(f, "`{connection}` failed to refresh {failures} times in a row"),
            Alert::ExpiresSoon { connection, .. } => write!(f, "`{connection}` has no refresh token and its access token expires within the hour"),
            Alert::RefreshTokenAging { connection, days } => write!(f, "`{connection}`'s refresh token is {days} days old and may expire soon: use or refresh it"),
            Alert::Inactive { connection, days } => write!(f, "`{connection}` has not been used for {days} days"),
            Alert::RevocationPending { connection } => write!(f, "`{connection}` is waiting for its revocation to go through"),
            Alert::KeyExpiring { connection, expires_at, days, .. } => write!(f, "`{connection}` expires {} (on {}): make a new one and `token-wallet rotate-secret {connection}`", crate::health::in_days(*days), crate::clock::date(*expires_at)),
            Alert::KeyExpired { connection, expires_at } => write!(f, "`{connection}` expired on {}: make a new one and `token-wallet rotate-secret {connection}`", crate::clock::date(*expires_at)),
            Alert::VerificationFailed { connection, error } => write!(f, "`{connection}` failed its last check: {error}"),
            Alert::InstallationProblem { connection, status, error_code } => write!(f, "Pleo reports the installation of `{connection}` as {}", crate::facts::Installation { status: crate::facts::InstallationStatus::parse(status), error_code: error_code.clone(), read_error: None }.words()),
            Alert::RestoredCopy { connection } => write!(f, "`{connection}` was restored from a backup: the vault it came from may still refresh the same grant, and a refresh in both places makes the provider revoke it; use one copy only, or `token-wallet reauthorise {connection}` to give this one its own sign-in"),
            Alert::InstallationUnknown { connection, why } => write!(f, "the installation status of `{connection}` is unknown: Pleo's answer could not be read ({why}); run `token-wallet check {connection}` again later"),
            Alert::FailedUnlocks { count } => write!(f, "{count} failed unlocks since the last successful one"),
        }
    }
}

/// Everything that needs attention: the alerts of `conns` and, from `log`, repeated failed
/// unlocks. The CLI's `status`, the operations layer and the app all ask this.
pub fn alerts(conns: &[ConnectionInfo], t: &Thresholds, log: Option<&AuditLog>) -> Vec<Alert> {
    let mut all = connection_alerts(conns, t, crate::clock::now());
    if let Some(lines) = log.and_then(|l| l.read().ok()) {
        all.extend(unlock_alert(&lines, t));
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str) -> ConnectionInfo {
        crate::connection::sample_info(name, 100 * DAY, Some(100 * DAY + 600))
    }

    #[test]
    fn flags() {
        let t = Thresholds::default();
        let now = 100 * DAY + 60;
        assert!(connection_alerts(&[info("ok")], &t, now).is_empty());
        let mut failing = info("f");
        failing.refresh_failures = 3;
        let mut reauth = info("r");
        reauth.status = Status::NeedsReauthorisation {
            since: 0,
            reason: String::new(),
        };
        let mut norefresh = info("n");
        norefresh.has_refresh_token = false;
        let alerts = connection_alerts(&[failing, reauth, norefresh], &t, now);
        assert_eq!(alerts.len(), 3, "{alerts:?}");
        let later = 100 * DAY + 55 * DAY;
        let alerts = connection_alerts(&[info("old")], &t, later);
        assert!(alerts
            .iter()
            .any(|a| matches!(a, Alert::Inactive { days: 55, .. })));
        assert!(alerts
            .iter()
            .any(|a| matches!(a, Alert::RefreshTokenAging { days: 55, .. })));
    }

    #[test]
    fn keys_warn_at_30_7_and_1_days_and_when_refused_or_broken() {
        let t = Thresholds::default();
        let now = 100 * DAY;
        let key = |name: &str, exp: Option<u64>| ConnectionInfo {
            kind: CredentialKind::ApiKey,
            has_refresh_token: false,
            // Used today: not inactive.
            last_export: Some(now),
            ..crate::connection::sample_info(name, now - DAY, exp)
        };
        let warnings = |exp| -> Vec<Alert> { connection_alerts(&[key("k", Some(exp))], &t, now) };
        assert!(warnings(now + 31 * DAY).is_empty());
        for (left, warning) in [(30, 30), (8, 30), (7, 7), (2, 7), (1, 1)] {
            // Exactly `left` days before: `left` whole days, at the warning of `left`.
            assert_eq!(
                warnings(now + left * DAY),
                [Alert::KeyExpiring {
                    connection: "k".into(),
                    expires_at: now + left * DAY,
                    days: left,
                    warning
                }]
            );
        }
        assert!(matches!(warnings(now - 1)[..], [Alert::KeyExpired { .. }]));
        assert!(connection_alerts(&[key("k", None)], &t, now).is_empty());
        let mut refused = key("r", None);
        refused.check_error = Some("Pleo refused the API key (HTTP 401)".into());
        let mut broken = key("b", None);
        broken
            .check
            .insert(crate::facts::INSTALLATION_STATUS.into(), "ERROR".into());
        broken
            .check
            .insert(crate::facts::INSTALLATION_ERROR.into(), "AUTH_ERROR".into());
        let got = connection_alerts(&[refused, broken], &t, now);
        assert!(
            matches!(&got[0], Alert::VerificationFailed { connection, .. } if connection == "r")
        );
        assert_eq!(
            got[1].to_string(),
            "Pleo reports the installation of `b` as ERROR (AUTH_ERROR)"
        );
    }

    #[test]
    fn failed_unlocks_since_last_success() {
        let l = |seq, event| Line {
            seq,
            ts: 0,
            event,
            prev: String::new(),
            mac: None,
        };
        let t = Thresholds::default();
        let log = vec![
            l(1, Event::unlock_failed()),
            l(2, Event::vault_unlocked()),
            l(3, Event::unlock_failed()),
            l(4, Event::unlock_failed()),
        ];
        assert_eq!(unlock_alert(&log, &t), None);
        let mut log = log;
        log.push(l(5, Event::unlock_failed()));
        assert_eq!(
            unlock_alert(&log, &t),
            Some(Alert::FailedUnlocks { count: 3 })
        );
    }
}
