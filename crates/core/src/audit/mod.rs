//! The audit log: JSON lines in the profile's data directory, tamper-evident.
//!
//! Each line carries its sequence number, the SHA-256 of the previous line's bytes
//! (`prev`), and, when written by a process with the vault unlocked, an HMAC-SHA256 over
//! the line under the audit key, a random key kept as a record in the vault (`mac`).
//! Lines written while the vault is locked (a failed unlock) have no MAC, but the next
//! MAC'd line covers them through `prev`. After each command the head of the chain (its
//! sequence number and hash) is anchored in the vault.
//!
//! `verify` therefore finds: an edited line (its hash no longer matches the next `prev`,
//! or its MAC fails), a deleted or reordered line (sequence or `prev` breaks), a rewritten
//! file (MACs fail without the key, and the anchored head is missing), and a truncated
//! tail up to the last anchor. It cannot see lines appended after the last anchor being
//! removed, nor forge-proof lines written while locked until a MAC'd line follows them.
//!
//! No token, code, verifier, secret or passphrase is ever an event field: events are a
//! closed enum of names, counts, classes and process ids. Not even a connection's name is
//! written in the clear: a line names it by a keyed label (`#` and 16 hex, an HMAC under a
//! key derived from the audit key, see [`NameKey`]), which only a holder of the unlocked
//! vault can map back to the name ([`AuditLog::read_named`]). Lines of older builds, with
//! clear names, read and verify as they are.
//!
//! The log fails closed: an operation asks [`Recorder::ready`] before it acts and fails
//! when its line cannot be written, and a symbolic link planted at `audit.jsonl` is never
//! written through but moved aside, with an error saying so.

mod event;
mod fields;
mod key;
mod log;
mod verify;

pub use self::log::AuditLog;
pub(crate) use event::this_process;
pub use event::{Event, Line};
pub use fields::{CheckOutcome, DisconnectHow, ExportVia, PruneReason, RefreshFailure};
pub use key::{name_key, NameKey, LABEL_PREFIX};
pub use verify::Verdict;

use crate::files::FilesError;
use crate::vault::{UnlockedVault, VaultError};

/// Where audit events go. The CLI appends each at once ([`LogRecorder`]); the agent
/// batches them and anchors the log at its next flush.
pub trait Recorder: Sync {
    /// Appends `event`, authenticated while the vault is unlocked. A failure to write is
    /// logged (for events whose operation cannot be held back, such as a lock).
    fn record(&self, event: Event);

    /// Whether a line can be appended now: an operation asks before it acts, and does
    /// nothing when the log cannot be written (fail closed).
    fn ready(&self) -> Result<(), AuditError> {
        Ok(())
    }

    /// Appends `event`, saying when it could not be written (the operation then reports
    /// it instead of going on unaudited).
    fn try_record(&self, event: Event) -> Result<(), AuditError> {
        self.record(event);
        Ok(())
    }
}

/// A [`Recorder`] that appends straight to `log` with the unlocked vault's audit key.
pub struct LogRecorder<'a> {
    log: &'a AuditLog,
    vault: &'a std::sync::Mutex<UnlockedVault>,
}

impl<'a> LogRecorder<'a> {
    /// Appends to `log`, keyed by `vault`.
    pub fn new(log: &'a AuditLog, vault: &'a std::sync::Mutex<UnlockedVault>) -> Self {
        Self { log, vault }
    }
}

impl Recorder for LogRecorder<'_> {
    fn record(&self, event: Event) {
        if let Err(e) = self.try_record(event) {
            tracing::error!(error = %e, "could not write the audit log");
        }
    }

    fn ready(&self) -> Result<(), AuditError> {
        self.log.ready()
    }

    fn try_record(&self, event: Event) -> Result<(), AuditError> {
        self.log.append(event, Some(&mut crate::guard(self.vault)))
    }
}

/// Errors of the audit log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// Reading or writing the file failed.
    #[error("audit log {path}: {err}")]
    Io {
        /// File.
        path: String,
        /// OS error.
        err: std::io::Error,
    },
    /// The vault failed (audit key or anchor).
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The log (or its lock file) could not be opened as a private file of this user.
    #[error(transparent)]
    File(#[from] FilesError),
    /// A symbolic link was found where the log belongs: moved aside, never written
    /// through.
    #[error("the audit log {path} was a symbolic link (to {target}), which another program or user put there; nothing was written through it and this was not done. The link was moved aside to {aside}; find out who made it, then try again (the log starts anew)")]
    SymlinkSetAside {
        /// The log's path.
        path: String,
        /// Where the link pointed.
        target: String,
        /// Where the link is now.
        aside: String,
    },
    /// An event naming a connection, without the vault to label the name with.
    #[error("an audit event naming a connection is only written while the vault is unlocked")]
    Locked,
}

#[cfg(test)]
mod tests;
