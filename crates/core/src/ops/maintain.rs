//! Keeping connections fresh, written once: the step that the headless agent and the app
//! both run on a timer. It refreshes access tokens ahead of expiry (so a tool asking for
//! one is answered from the cache, with no refresh on its path), backs off from a
//! connection whose refresh failed, retries pending revocations, re-checks API keys when
//! due, and prunes unused connections if asked to. It reports what it did as
//! [`Maintained`] events; a front end only turns them into notifications.

use super::{OpError, Session};
use crate::connection::{ConnectionInfo, ConnectionName, CredentialKind, Status};
use crate::refresh::needs_refresh_info;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How often and how far ahead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaintainOptions {
    /// Refresh an access token when less than this is left (at most half its lifetime
    /// counts: see [`crate::refresh::effective_min_ttl`]); `None`: never ahead, only when
    /// a token is asked for.
    pub refresh_ahead: Option<Duration>,
    /// How often connections are looked at for a refresh.
    pub sweep_every: Duration,
    /// The first wait after a failed refresh; it doubles with each failure in a row.
    pub first_backoff: Duration,
    /// The longest wait after failed refreshes.
    pub max_backoff: Duration,
    /// How often pending revocations are retried.
    pub retry_every: Duration,
    /// How often API keys are looked at for a re-check.
    pub key_sweep_every: Duration,
    /// An API key is re-checked when its last check is older than this.
    pub key_check_every: Duration,
    /// Disconnect connections unused for this many days (`None`: never).
    pub prune_unused_days: Option<u64>,
}

impl Default for MaintainOptions {
    fn default() -> Self {
        Self {
            refresh_ahead: Some(Duration::from_secs(5 * 60)),
            sweep_every: Duration::from_secs(5),
            first_backoff: Duration::from_secs(20),
            max_backoff: Duration::from_secs(3600),
            retry_every: Duration::from_secs(60),
            key_sweep_every: Duration::from_secs(600),
            key_check_every: Duration::from_secs(12 * 3600),
            prune_unused_days: None,
        }
    }
}

/// What one step did, for a front end to show or notify.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Maintained {
    /// An access token was refreshed ahead of its expiry.
    Refreshed {
        /// The connection.
        name: ConnectionName,
    },
    /// A refresh ahead of expiry failed; retried after a back-off.
    RefreshFailed {
        /// The connection.
        name: ConnectionName,
        /// Why, in the refresher's words.
        error: String,
        /// Failures in a row (1 for the first).
        failures: u32,
    },
    /// A pending revocation went through: the connection is gone.
    Revoked {
        /// The connection.
        name: ConnectionName,
    },
    /// An API key was checked with its provider (the outcome is on its record).
    KeyChecked {
        /// The connection.
        name: ConnectionName,
    },
    /// An unused connection was disconnected.
    Pruned {
        /// The connection.
        name: ConnectionName,
    },
}

/// What the steps remember between them: when each part last ran, and the back-off of
/// connections whose refresh failed. One per unlocked session (forget it on lock).
#[derive(Debug, Default)]
pub struct Maintenance {
    last_sweep: Option<Instant>,
    last_retry: Option<Instant>,
    last_key_sweep: Option<Instant>,
    backoff: HashMap<ConnectionName, (u32, Instant)>,
}

impl Maintenance {
    /// Whether a step would do anything now (its sweep is due).
    pub fn due(&self, opts: &MaintainOptions) -> bool {
        self.last_sweep
            .is_none_or(|t| t.elapsed() >= opts.sweep_every)
    }
}

/// Whether `c` is refreshed ahead of expiry now: an active OAuth connection with a
/// refresh token, inside the refresher's window or `ahead` (capped at half the token's
/// lifetime by the refresher's own rule).
pub fn refresh_due(
    c: &ConnectionInfo,
    policy: &crate::refresh::Policy,
    ahead: Duration,
    now: u64,
) -> bool {
    c.status == Status::Active
        && c.has_refresh_token
        && c.kind.is_refreshed()
        && needs_refresh_info(c, policy, ahead, now)
}

impl Session<'_> {
    /// One maintenance step, if its sweep is due: refresh what is due (unless backing
    /// off), then, when their time has come, retry pending revocations, re-check API
    /// keys and prune. Each part's failure is reported, not fatal to the others; an error
    /// only when the connections could not be listed at all.
    pub fn maintain(
        &self,
        m: &mut Maintenance,
        opts: &MaintainOptions,
    ) -> Result<Vec<Maintained>, OpError> {
        if !m.due(opts) {
            return Ok(Vec::new());
        }
        let started = Instant::now();
        m.last_sweep = Some(started);
        // An identity that may only consume a team vault writes nothing: refreshers keep
        // its connections fresh, retry revocations and re-check keys.
        if self.lock().consume_only() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        let now = crate::clock::now();
        let all = self.list()?;
        // Nothing ahead of time when `refresh_ahead` is `None`.
        for (c, ahead) in all
            .iter()
            .filter_map(|c| opts.refresh_ahead.map(|a| (c, a)))
        {
            if !refresh_due(c, self.refresher.policy(), ahead, now) {
                continue;
            }
            if m.backoff
                .get(&c.name)
                .is_some_and(|(_, next)| *next > started)
            {
                continue;
            }
            match self.refresher.access_token(self.vault, &c.name, ahead) {
                Ok(_) => {
                    m.backoff.remove(&c.name);
                    out.push(Maintained::Refreshed {
                        name: c.name.clone(),
                    });
                }
                Err(e) => {
                    let failures = m.backoff.get(&c.name).map_or(1, |(n, _)| n + 1);
                    let wait = (opts.first_backoff * 2u32.saturating_pow(failures - 1))
                        .min(opts.max_backoff);
                    m.backoff
                        .insert(c.name.clone(), (failures, Instant::now() + wait));
                    tracing::warn!(connection = %c.name, error = %e, failures, "refresh ahead of expiry failed");
                    out.push(Maintained::RefreshFailed {
                        name: c.name.clone(),
                        error: e.to_string(),
                        failures,
                    });
                }
            }
        }
        // Connections gone since are forgotten.
        m.backoff.retain(|n, _| all.iter().any(|c| &c.name == n));
        if m.last_retry.is_none_or(|t| t.elapsed() >= opts.retry_every) {
            m.last_retry = Some(Instant::now());
            let pending = all
                .iter()
                .any(|c| matches!(c.status, Status::RevocationPending { .. }));
            if pending {
                match self.retry_pending() {
                    Ok(done) => out.extend(
                        done.into_iter()
                            .filter(|r| r.outcome.as_ref().is_ok_and(|d| d.is_gone()))
                            .map(|r| Maintained::Revoked { name: r.name }),
                    ),
                    Err(e) => tracing::warn!(error = %e, "could not retry pending revocations"),
                }
            }
        }
        if m.last_key_sweep
            .is_none_or(|t| t.elapsed() >= opts.key_sweep_every)
        {
            m.last_key_sweep = Some(Instant::now());
            let now = crate::clock::now();
            for c in all.iter().filter(|c| {
                c.kind == CredentialKind::ApiKey
                    && c.status == Status::Active
                    && c.checked_at
                        .is_none_or(|t| now.saturating_sub(t) >= opts.key_check_every.as_secs())
            }) {
                match self.check(&c.name) {
                    Ok(_) => out.push(Maintained::KeyChecked {
                        name: c.name.clone(),
                    }),
                    Err(e) => {
                        tracing::warn!(connection = %c.name, error = %e, "key check failed")
                    }
                }
            }
            if let Some(days) = opts.prune_unused_days {
                match self.prune(days, false) {
                    Ok(pruned) => out.extend(
                        pruned
                            .into_iter()
                            .filter(|p| {
                                p.outcome
                                    .as_ref()
                                    .is_some_and(|o| o.as_ref().is_ok_and(|d| d.is_gone()))
                            })
                            .map(|p| Maintained::Pruned { name: p.name }),
                    ),
                    Err(e) => tracing::warn!(error = %e, "could not prune"),
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::sample_info;
    use crate::refresh::Policy;

    #[test]
    fn refresh_is_due_within_the_lead_capped_at_half_the_lifetime() {
        let t = 1_000_000;
        let p = Policy::default();
        let min = |m: u64| Duration::from_secs(m * 60);
        // A 1-hour token, 5-minute lead: due in its last 6 minutes (the refresher's 10 %
        // window is the larger).
        let hour = sample_info("c", t, Some(t + 3600));
        assert!(!refresh_due(&hour, &p, min(5), t + 3000));
        assert!(refresh_due(&hour, &p, min(5), t + 3300));
        // A 10-minute token, 15-minute lead: capped at 5 minutes, so a fresh token is not
        // refreshed again at once.
        let ten = sample_info("c", t, Some(t + 600));
        assert!(!refresh_due(&ten, &p, min(15), t));
        assert!(refresh_due(&ten, &p, min(15), t + 301));
        // Expired: due. No expiry, no refresh token, not active, or an API key: never.
        assert!(refresh_due(
            &sample_info("c", t, Some(t + 60)),
            &p,
            min(5),
            t + 100
        ));
        assert!(!refresh_due(&sample_info("c", t, None), &p, min(5), t));
        let mut no_rt = sample_info("c", t, Some(t + 60));
        no_rt.has_refresh_token = false;
        assert!(!refresh_due(&no_rt, &p, min(5), t + 100));
        let mut pending = sample_info("c", t, Some(t + 60));
        pending.status = Status::NeedsReauthorisation {
            since: t,
            reason: "x".into(),
        };
        assert!(!refresh_due(&pending, &p, min(5), t + 100));
        let mut key = sample_info("c", t, Some(t + 60));
        key.kind = CredentialKind::ApiKey;
        assert!(!refresh_due(&key, &p, min(5), t + 100));
    }

    #[test]
    fn a_step_runs_once_per_sweep_interval() {
        let opts = MaintainOptions::default();
        let mut m = Maintenance::default();
        assert!(m.due(&opts));
        m.last_sweep = Some(Instant::now());
        assert!(!m.due(&opts));
        m.last_sweep = Instant::now().checked_sub(opts.sweep_every);
        assert!(m.due(&opts));
    }

    struct Quiet;
    impl crate::audit::Recorder for Quiet {
        fn record(&self, _: crate::audit::Event) {}
    }

    /// A refresh that cannot reach the provider is reported once, then left alone for
    /// the back-off; the other parts still run.
    #[test]
    fn a_failed_refresh_is_reported_then_backed_off() {
        let (dir, _vault, v) = crate::vault::memory_vault();
        let v = std::sync::Mutex::new(v);
        let now = crate::clock::now();
        let mut info = sample_info("c", now - 100, Some(now - 10));
        // A closed port on this machine: refused at once, never the real provider.
        info.provider.token_url = "http://127.0.0.1:9/token".into();
        let c = crate::connection::Connection {
            info,
            secrets: crate::connection::Secrets {
                access_token: "a".into(),
                refresh_token: Some("r".into()),
                client_secret: None,
                sealed: None,
            },
        };
        crate::connection::create(&mut crate::guard(&v), &c).unwrap();
        let policy = crate::refresh::Policy {
            max_attempts: 1,
            ..crate::refresh::Policy::default()
        };
        let refresher = crate::refresh::Refresher::new(
            crate::oauth::http::Http::new(),
            policy,
            dir.path().to_path_buf(),
        );
        let s = Session::new(&v, &refresher, &Quiet);
        let opts = MaintainOptions::default();
        let mut m = Maintenance::default();
        let done = s.maintain(&mut m, &opts).unwrap();
        assert!(
            matches!(&done[..], [Maintained::RefreshFailed { failures: 1, .. }]),
            "{done:?}"
        );
        // The next sweep, due at once: held back.
        m.last_sweep = None;
        assert_eq!(s.maintain(&mut m, &opts).unwrap(), vec![]);
        // Once the wait is over, tried again: the second failure in a row.
        m.last_sweep = None;
        m.backoff.get_mut(&"c".parse().unwrap()).unwrap().1 = Instant::now();
        let done = s.maintain(&mut m, &opts).unwrap();
        assert!(
            matches!(&done[..], [Maintained::RefreshFailed { failures: 2, .. }]),
            "{done:?}"
        );
        let (n, next) = m.backoff[&"c".parse().unwrap()];
        assert_eq!(n, 2);
        assert!(next > Instant::now() + opts.first_backoff);
    }
}
