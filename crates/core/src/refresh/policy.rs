//! When and how hard to refresh: the [`Policy`], whether a token needs a refresh now,
//! the least lifetime a caller may ask, and the backoff between attempts.

use super::Refresher;
use crate::connection::{self, Connection};
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

impl Refresher {
    pub(super) fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
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
