//! The agent's audit batching: events appended as they come (exports buffered),
//! authenticated while unlocked; the head anchored in the vault at each flush (every 30 s,
//! on lock, on demand).

use super::session::Agent;
use crate::audit::{AuditError, Event};
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

    /// Anchors the audit log now (before a command reads the log, say).
    pub fn flush_now(&self) {
        if let Ok(v) = self.session() {
            self.flush(&v);
        }
    }

    /// Anchors the audit log (and learns the names of connections made elsewhere).
    pub(super) fn flush(&self, v: &Arc<Mutex<UnlockedVault>>) {
        *guard(&self.last_flush) = Instant::now();
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
