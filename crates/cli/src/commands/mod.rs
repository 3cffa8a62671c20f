//! The subcommands, by group. Each parses nothing (clap did), calls core, and formats.

pub mod agent;
pub mod audit;
pub mod connections;
pub mod tokens;
pub mod vault;

use crate::error::Result;
use std::io::Write;

/// Prints one line to standard output.
pub fn say(out: &mut impl Write, text: &str) -> Result {
    writeln!(out, "{text}")?;
    Ok(())
}

/// "42 s", "5 min", "3 h", "2 days": how long ago `since` (Unix seconds) was.
pub fn age(since: u64) -> String {
    span(token_wallet_core::connection::now().saturating_sub(since))
}

/// A duration in seconds, in the largest unit that keeps it readable.
pub fn span(s: u64) -> String {
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        7200..=172_799 => format!("{} h", s / 3600),
        _ => format!("{} days", s / 86_400),
    }
}
