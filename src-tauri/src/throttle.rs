//! The unlock throttle: each wrong passphrase makes the next attempt wait longer.

use crate::error::Error;
use std::time::{Duration, Instant};

/// The longest wait between unlock attempts.
pub const MAX_DELAY: Duration = Duration::from_secs(300);

/// How long unlock stays refused after `failures` wrong passphrases in a row: nothing
/// before the first, then 1 s, 2 s, 4 s... up to [`MAX_DELAY`].
pub fn delay_after(failures: u32) -> Duration {
    match failures {
        0 => Duration::ZERO,
        n => Duration::from_secs(1u64 << (n - 1).min(16)).min(MAX_DELAY),
    }
}

/// The unlock throttle. It lives in this process (a restart resets it); Argon2id's cost is
/// what protects the vault against offline guessing.
#[derive(Debug, Default)]
pub struct Throttle {
    failures: u32,
    not_before: Option<Instant>,
}

impl Throttle {
    /// How long until an attempt is accepted (zero: now).
    pub fn remaining(&self, now: Instant) -> Duration {
        self.not_before
            .map_or(Duration::ZERO, |t| t.saturating_duration_since(now))
    }

    /// Refuses an attempt made before the wait is over, saying how long is left.
    pub fn check(&self, now: Instant) -> Result<(), Error> {
        let wait = self.remaining(now);
        if wait.is_zero() {
            Ok(())
        } else {
            // Round up: "wait 0 s" would read as a lie.
            Err(Error::Throttled(wait.as_millis().div_ceil(1000) as u64))
        }
    }

    /// Records a wrong passphrase; returns the wait before the next attempt.
    pub fn failed(&mut self, now: Instant) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let d = delay_after(self.failures);
        self.not_before = Some(now + d);
        d
    }

    /// Records a successful unlock.
    pub fn succeeded(&mut self) {
        *self = Self::default();
    }

    /// Wrong passphrases since the last success.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_and_cap() {
        let secs: Vec<u64> = (0..6).map(|n| delay_after(n).as_secs()).collect();
        assert_eq!(secs, [0, 1, 2, 4, 8, 16]);
        assert_eq!(delay_after(9), Duration::from_secs(256));
        assert_eq!(delay_after(10), MAX_DELAY);
        assert_eq!(delay_after(u32::MAX), MAX_DELAY);
    }

    #[test]
    fn throttle_counts_and_resets() {
        let t0 = Instant::now();
        let mut t = Throttle::default();
        assert_eq!(t.remaining(t0), Duration::ZERO);
        assert_eq!(t.failed(t0), Duration::from_secs(1));
        assert_eq!(t.remaining(t0), Duration::from_secs(1));
        assert_eq!(t.failed(t0), Duration::from_secs(2));
        assert_eq!(
            t.remaining(t0 + Duration::from_millis(500)),
            Duration::from_millis(1500)
        );
        assert_eq!(t.remaining(t0 + Duration::from_secs(3)), Duration::ZERO);
        assert_eq!(t.failures(), 2);
        t.succeeded();
        assert_eq!((t.failures(), t.remaining(t0)), (0, Duration::ZERO));
    }
}
