//! The agent's operations: each one is the [`Session`]'s, run over the agent's unlocked
//! vault with its token cache and its batching audit recorder. The agent adds only who
//! asked (the peer the OS names) and the protocol's error words.

use super::protocol::Issued;
use super::session::Agent;
use super::AgentError;
use crate::connection::{ConnectionInfo, ConnectionName};
use crate::ops::{Exported, OpError, Requester, Session};
use crate::refresh::RefreshError;
use crate::vault::{UnlockedVault, VaultError};
use std::sync::Mutex;
use std::time::Duration;

impl Agent {
    /// Runs `f` on the operations over the unlocked vault (with the agent's cache and
    /// audit recorder); an activity for the idle lock. Locked: an error.
    pub fn run<T>(
        &self,
        f: impl FnOnce(&Session<'_>) -> Result<T, OpError>,
    ) -> Result<T, AgentError> {
        self.touch();
        self.with_session(f)?.map_err(|e| self.op_error(e))
    }

    /// Runs `f` on the operations over the unlocked vault, as [`Self::run`] does, but
    /// neither an activity nor with the protocol's error words (for the app's own
    /// commands and background work).
    pub fn with_session<T>(&self, f: impl FnOnce(&Session<'_>) -> T) -> Result<T, AgentError> {
        let v = self.session()?;
        Ok(f(&self.session_over(&v)))
    }

    /// The operations over `v`, with the agent's cache and recorder.
    pub(super) fn session_over<'a>(&'a self, v: &'a Mutex<UnlockedVault>) -> Session<'a> {
        Session::new(v, &self.refresher, self).with_cache(&self.cache)
    }

    /// An access token for `name` with at least `min_ttl` left (see
    /// [`Session::export`]); audited with `who` asked (a peer's pid, executable and parent;
    /// the app's clipboard or window).
    pub fn token(
        &self,
        name: &ConnectionName,
        min_ttl: Duration,
        who: Requester,
    ) -> Result<Issued, AgentError> {
        let Exported { token, info } = self.run(|s| s.export(name, min_ttl, who))?;
        Ok(Issued {
            token: token.token,
            expires_at: token.expires_at,
            refreshed: token.refreshed,
            info,
        })
    }

    /// Refreshes `name` now (token rotation on demand); its facts after.
    pub fn refresh(&self, name: &ConnectionName) -> Result<ConnectionInfo, AgentError> {
        self.run(|s| s.refresh(name))
    }

    /// Every connection's public facts.
    pub fn list(&self) -> Result<Vec<ConnectionInfo>, AgentError> {
        self.run(|s| s.list())
    }

    /// The protocol's word for an operation's failure.
    fn op_error(&self, e: OpError) -> AgentError {
        match e {
            OpError::Refresh(e) => self.refresh_error(e),
            OpError::Vault(e) => self.vault_error(e),
            OpError::Audit(e) => AgentError::Other(format!("the token was not handed out: {e}")),
            other => AgentError::Other(other.to_string()),
        }
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
                self.lock_because(super::session::LockReason::PassphraseChanged);
                AgentError::Locked
            }
            other => AgentError::Vault(other.to_string()),
        }
    }

    /// The audit log verified, and its lines from `since` (Unix seconds) on with each
    /// connection by its name; what this agent holds back is written first.
    pub fn audit(
        &self,
        since: Option<u64>,
    ) -> Result<(Vec<crate::audit::Line>, crate::audit::Verdict), AgentError> {
        self.touch();
        let v = self.session()?;
        self.flush(&v);
        let mut g = crate::guard(&v);
        let fail = |e: crate::audit::AuditError| AgentError::Other(e.to_string());
        let verdict = self.audit.verify(&mut g).map_err(fail)?;
        let mut lines = self.audit.read_named(&mut g).map_err(fail)?;
        lines.retain(|l| since.is_none_or(|s| l.ts >= s));
        Ok((lines, verdict))
    }
}
