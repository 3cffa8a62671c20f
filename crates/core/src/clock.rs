//! The one clock: Unix seconds, as every record, audit line and expiry stores them.
//!
//! Debug builds (the ones the tests drive) read a test's own setting,
//! `TOKEN_WALLET_TEST_CLOCK_OFFSET` (signed seconds), and move the clock by it, so a test
//! can see what the wallet says 29 days later (expiry alerts) without waiting, and
//! `TOKEN_WALLET_TEST_CLOCK_FILE` (a file holding such an offset, read each time) so a
//! test can move time while the processes run. Release builds never read either.

/// The variable a debug build's clock is moved by.
pub const TEST_OFFSET_VAR: &str = "TOKEN_WALLET_TEST_CLOCK_OFFSET";

/// Seconds since the Unix epoch (0 if the system clock is before it).
pub fn now() -> u64 {
    let real = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    real.saturating_add_signed(test_offset())
}

/// The variable naming a file whose contents (signed seconds) move a debug build's
/// clock, read at each reading of the clock: a test advances time while processes run
/// (the proxy's 30 minutes of fake time). It adds to [`TEST_OFFSET_VAR`].
pub const TEST_OFFSET_FILE_VAR: &str = "TOKEN_WALLET_TEST_CLOCK_FILE";

#[cfg(debug_assertions)]
fn test_offset() -> i64 {
    let fixed: i64 = std::env::var(TEST_OFFSET_VAR)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    let moving: i64 = std::env::var_os(TEST_OFFSET_FILE_VAR)
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    fixed.saturating_add(moving)
}

#[cfg(not(debug_assertions))]
fn test_offset() -> i64 {
    0
}

/// `YYYY-MM-DD` (UTC) of Unix seconds `t`, for messages.
pub fn date(t: u64) -> String {
    rfc3339(t)[..10].to_string()
}

/// RFC 3339 (UTC) for Unix seconds.
pub fn rfc3339(t: u64) -> String {
    let days = (t / 86_400) as i64;
    let secs = t % 86_400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// A key's or token's expiry date as a person gives it: [`parse_date`], and not already
/// past (a credential past its date cannot be used, so such a date is a typo, not a fact
/// worth storing). One rule for every front end.
pub fn parse_expiry(s: &str) -> Result<u64, String> {
    let t = parse_date(s.trim())?;
    if t <= now() {
        return Err(format!(
            "{} is in the past (today is {}, UTC); give the date it expires",
            s.trim(),
            date(now())
        ));
    }
    Ok(t)
}

/// Unix seconds at 00:00 UTC of a `YYYY-MM-DD` date (days from civil, Howard Hinnant's
/// algorithm: the inverse of [`rfc3339`]'s).
pub fn parse_date(s: &str) -> Result<u64, String> {
    let bad = || format!("`{s}` is not a date like 2027-03-31");
    let mut parts = s.splitn(3, '-').map(|p| p.parse::<i64>());
    let (Some(Ok(y)), Some(Ok(m)), Some(Ok(d))) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    if s.len() != 10
        || !(1970..=9999).contains(&y)
        || !(1..=12).contains(&m)
        || !(1..=31).contains(&d)
    {
        return Err(bad());
    }
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let t = u64::try_from(days * 86_400).map_err(|_| bad())?;
    // 2027-02-31 and the like: a date that does not round-trip does not exist.
    if !rfc3339(t).starts_with(s) {
        return Err(bad());
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_and_nonsense_is_refused() {
        assert_eq!(parse_date("1970-01-01"), Ok(0));
        assert_eq!(parse_date("2000-02-29"), Ok(951_782_400));
        for t in [0, 951_782_400, 1_795_392_000] {
            assert_eq!(parse_date(&rfc3339(t)[..10]), Ok(t));
        }
        for bad in [
            "2027-02-30",
            "2027-13-01",
            "27-01-01",
            "2027-1-1",
            "soon",
            "",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rfc3339_of_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_467_600), "2026-11-23T21:00:00Z");
    }

    #[test]
    fn dates() {
        assert_eq!(date(951_782_400), "2000-02-29");
    }
}
