//! The agent's token handing: a cache of access tokens, each valid while the vault's change
//! stamp is unchanged, filled through the one refresher, one filler per connection.

use super::peer::{self};
use super::protocol::Issued;
use super::session::{Agent, Cached};
use super::{now, AgentError};
use crate::audit::Event;
use crate::connection::{self, ConnectionInfo, ConnectionName};
use crate::guard;
use crate::refresh::{needs_refresh_info, RefreshError};
use crate::vault::{UnlockedVault, VaultError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

impl Agent {
    /// An access token for `name` with at least `min_ttl` left, refreshed through the
    /// one refresher if needed; audited with the caller's pid, executable and parent.
    pub fn token(
        &self,
        name: &ConnectionName,
        min_ttl: Duration,
        caller: Option<u32>,
    ) -> Result<Issued, AgentError> {
        let v = self.session()?;
        self.touch();
        let issued = match self.cached(name, min_ttl) {
            Some(i) => i,
            None => self.fill(&v, name, min_ttl)?,
        };
        let parent = caller.and_then(peer::parent);
        // Fail closed: no token leaves unaudited.
        self.append(
            Some(&v),
            Event::Export {
                connection: name.into(),
                pid: caller,
                process: caller.and_then(peer::exe),
                parent_pid: parent,
                parent_process: parent.and_then(peer::exe),
            },
        )
        .map_err(|e| AgentError::Other(format!("the token was not handed out: {e}")))?;
        guard(&self.exports).insert(name.clone(), now());
        Ok(issued)
    }

    /// The cached token, if nothing was written to the vault since it was read and it
    /// has enough life left.
    fn cached(&self, name: &ConnectionName, min_ttl: Duration) -> Option<Issued> {
        let stamp = crate::lock::change_stamp(&self.lock_path)?;
        let cache = guard(&self.cache);
        let c = cache.get(name)?;
        if c.stamp != stamp || needs_refresh_info(&c.info, self.refresher.policy(), min_ttl, now())
        {
            return None;
        }
        Some(Issued {
            token: c.token.clone(),
            expires_at: c.info.expires_at,
            refreshed: false,
            info: c.info.clone(),
        })
    }

    /// Reads (and if needed refreshes) the token; one reader per connection at a time.
    fn fill(
        &self,
        v: &Arc<Mutex<UnlockedVault>>,
        name: &ConnectionName,
        min_ttl: Duration,
    ) -> Result<Issued, AgentError> {
        let gate = guard(&self.fills).entry(name.clone()).or_default().clone();
        let _one = guard(&gate);
        if let Some(i) = self.cached(name, min_ttl) {
            return Ok(i);
        }
        // Read the stamp before the record: a write in between changes it, so this
        // entry is then simply read again next time.
        let stamp = crate::lock::change_stamp(&self.lock_path);
        let t = self
            .refresher
            .access_token(v, name, min_ttl)
            .map_err(|e| self.refresh_error(e))?;
        let mut info = connection::load(&mut guard(v), name)
            .map_err(|e| self.vault_error(e))?
            .info;
        info.expires_at = t.expires_at;
        if let Some(stamp) = stamp {
            let mut cache = guard(&self.cache);
            // Not after a lock: no token outlives the session in memory.
            if guard(&self.session).is_some() {
                cache.insert(
                    name.clone(),
                    Cached {
                        stamp,
                        info: info.clone(),
                        token: t.token.clone(),
                    },
                );
            }
        }
        Ok(Issued {
            token: t.token,
            expires_at: t.expires_at,
            refreshed: t.refreshed,
            info,
        })
    }

    fn refresh_error(&self, e: RefreshError) -> AgentError {
        match e {
            RefreshError::NeedsReauthorisation { .. } | RefreshError::NoRefreshToken(_) => {
                AgentError::NeedsReauthorisation(e.to_string())
            }
            RefreshError::RevocationPending(_) => AgentError::RevocationPending(e.to_string()),
            RefreshError::Provider { ref error, .. } if error.is_transient() => {
                AgentError::ProviderUnreachable(e.to_string())
            }
            RefreshError::Provider { .. } => AgentError::Provider(e.to_string()),
            RefreshError::Expired { .. } => AgentError::Expired(e.to_string()),
            RefreshError::Vault(v) => self.vault_error(v),
            other => AgentError::Other(other.to_string()),
        }
    }

    fn vault_error(&self, e: VaultError) -> AgentError {
        match e {
            VaultError::NotFound(n) => AgentError::NotFound(n),
            VaultError::Stale => {
                // The passphrase was changed by another process: this session's keys
                // no longer open the vault.
                tracing::warn!("the vault's passphrase changed elsewhere; locking the agent");
                self.lock();
                AgentError::Locked
            }
            other => AgentError::Vault(other.to_string()),
        }
    }

    /// Refreshes `name` now (token rotation on demand) through the one refresher; its
    /// facts after. Cached tokens are dropped with the vault's change stamp.
    pub fn refresh(&self, name: &ConnectionName) -> Result<ConnectionInfo, AgentError> {
        let v = self.session()?;
        self.touch();
        self.refresher
            .force(&v, name)
            .map_err(|e| self.refresh_error(e))?;
        let r = connection::load(&mut guard(&v), name);
        r.map(|c| c.info).map_err(|e| self.vault_error(e))
    }

    /// Every connection's public facts.
    pub fn list(&self) -> Result<Vec<ConnectionInfo>, AgentError> {
        let v = self.session()?;
        self.touch();
        let r = connection::list(&mut guard(&v));
        let mut all = r.map_err(|e| self.vault_error(e))?;
        self.with_pending_exports(&mut all);
        Ok(all)
    }
}
