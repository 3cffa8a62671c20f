//! Prune: disconnect the connections whose refresh token is dead or that were not used
//! for a while.

use super::{Disconnected, OpError, Session};
use crate::audit::Event;
pub use crate::audit::PruneReason;
use crate::connection::{self, ConnectionName, Status};

/// A connection prune found.
#[derive(Debug)]
pub struct Pruned {
    /// Connection.
    pub name: ConnectionName,
    /// Why.
    pub reason: PruneReason,
    /// `None` on a dry run; else how its disconnect ended.
    pub outcome: Option<Result<Disconnected, String>>,
}

impl Session<'_> {
    /// Finds connections whose refresh token is dead, or that were not used for
    /// `inactive_days`, and (unless `dry_run`) disconnects them: revoked where possible,
    /// a dead one forgotten. Audited as pruned.
    pub fn prune(&self, inactive_days: u64, dry_run: bool) -> Result<Vec<Pruned>, OpError> {
        if !dry_run {
            self.audit_ready()?;
        }
        let now = connection::now();
        let mut found = Vec::new();
        for c in self.list()? {
            let idle = now.saturating_sub(crate::monitor::last_used(&c)) / 86_400;
            match &c.status {
                Status::NeedsReauthorisation { .. } => {
                    found.push((c.name, PruneReason::RefreshTokenDead))
                }
                Status::Active if idle >= inactive_days => {
                    found.push((c.name, PruneReason::Unused(idle)))
                }
                _ => {}
            }
        }
        let mut out = Vec::new();
        for (name, reason) in found {
            let outcome = (!dry_run).then(|| {
                let dead = reason == PruneReason::RefreshTokenDead;
                let r = self.disconnect(&name, dead).map_err(|e| e.to_string());
                if matches!(
                    r,
                    Ok(Disconnected::Revoked
                        | Disconnected::NoRevocation
                        | Disconnected::Forgotten)
                ) {
                    self.audited(Event::Pruned {
                        connection: name.to_string(),
                        reason: reason.clone(),
                    })
                    .map_err(|e| e.to_string())?;
                }
                r
            });
            out.push(Pruned {
                name,
                reason,
                outcome,
            });
        }
        Ok(out)
    }
}
