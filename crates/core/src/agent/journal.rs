//! The agent's audit batching: events appended as they come, authenticated while
//! unlocked; the head anchored in the vault at each flush (every 30 s, on lock, on demand).

use super::session::Agent;
use crate::audit::{AuditError, Event};
use crate::connection::{self, ConnectionName};
use crate::guard;
use crate::vault::UnlockedVault;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

impl Agent {
    /// Appends `e`; says when it could not be written (the caller then does not go on,
    /// or, for a lock, logs it: locking is never held back).
    pub(super) fn append(
        &self,
        v: Option<&Arc<Mutex<UnlockedVault>>>,
        e: Event,
    ) -> Result<(), AuditError> {
        // Exports reach the disk at the next flush (the log buffers them, see
        // `AuditLog::buffering_exports`); everything else line by line.
        let mut held = v.map(|v| guard(v));
        let r = self.audit.append(e, held.as_deref_mut());
        match &r {
            Ok(()) => self.audit_dirty.store(true, Ordering::SeqCst),
            Err(err) => tracing::error!(error = %err, "could not write the audit log"),
        }
        r
    }

    /// Appends `event` to the audit log, authenticated with the unlocked vault's audit key
    /// (unauthenticated while locked); anchored at the next flush or lock. A failure is
    /// logged.
    pub fn record(&self, event: Event) {
        let _ = self.try_record(event);
    }

    /// [`Self::record`], saying when the line could not be written.
    pub fn try_record(&self, event: Event) -> Result<(), AuditError> {
        let v = guard(&self.session).clone();
        self.append(v.as_ref(), event)
    }

    /// Saves pending last-export times and anchors the audit log now (before a command
    /// reads the log, say).
    pub fn flush_now(&self) {
        if let Ok(v) = self.session() {
            self.flush(&v);
        }
    }

    /// Gives `infos` the export times not saved yet (they reach the vault at the next
    /// flush), so what is shown agrees with the export just made.
    pub fn with_pending_exports(&self, infos: &mut [connection::ConnectionInfo]) {
        let pending = guard(&self.exports);
        for i in infos {
            if let Some(&at) = pending.get(&i.name) {
                if i.last_export.is_none_or(|t| t < at) {
                    i.last_export = Some(at);
                }
            }
        }
    }

    /// Saves the last-export times of connections used since the last flush (the
    /// monitor's "unused for N days") and anchors the audit log.
    pub(super) fn flush(&self, v: &Arc<Mutex<UnlockedVault>>) {
        *guard(&self.last_flush) = Instant::now();
        let pending: Vec<(ConnectionName, u64)> = guard(&self.exports).drain().collect();
        for (name, at) in pending {
            let mut vault = guard(v);
            // Only this field, on the record as it is under the vault's lock: never
            // tokens from an earlier read.
            let saved = connection::update(&mut vault, &name, |c| {
                if c.info.last_export.is_none_or(|t| t < at) {
                    c.info.last_export = Some(at);
                }
                Ok::<_, crate::vault::VaultError>(())
            });
            match saved {
                Ok(_) | Err(crate::vault::VaultError::NotFound(_)) => {}
                Err(e) => {
                    tracing::warn!(connection = %name, error = %e, "could not save the last export time")
                }
            }
        }
        // Connections another process made since: named in `read` (the app's audit view
        // flushes first).
        self.audit.learn_names(&guard(v));
        if self.audit_dirty.swap(false, Ordering::SeqCst) {
            if let Err(e) = self.audit.anchor(&mut guard(v)) {
                tracing::warn!(error = %e, "could not anchor the audit log");
            }
        }
    }
}
