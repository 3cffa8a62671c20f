//! The one clock: Unix seconds, as every record, audit line and expiry stores them.

/// Seconds since the Unix epoch (0 if the system clock is before it).
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
