//! The operations layer: every operation a front end offers (connect, re-authorise,
//! disconnect with pending revocation, refresh, export, prune, rotate the data key,
//! change the passphrase, alerts), written once, audited once, with one set of rules.
//!
//! The CLI, the desktop app and the agent parse their input, call a [`Session`] method
//! and format its result; none of them repeats an operation's steps or invents its audit
//! events. A session works on an unlocked vault shared behind a mutex (so a sign-in can
//! wait for the browser while the vault keeps serving tokens), the process's one
//! [`Refresher`], and a [`Recorder`] that appends to the audit log.

mod cache;
mod connections;
mod error;
mod keys;
mod maintain;
mod open;
mod prune;

pub use crate::audit::{CheckOutcome, LogRecorder, Recorder};
pub use cache::TokenCache;
pub use connections::{ConnectRequest, Disconnected, Reauthorised, ReplacedGrant, Retried};
pub use error::OpError;
pub use keys::{Checked, Pasted, Replaced, Rotated};
pub use maintain::{refresh_due, MaintainOptions, Maintained, Maintenance};
pub use open::{create, create_with_transit, unlock, unlock_by_identity};
pub use prune::{PruneReason, Pruned};

use crate::audit::{AuditLog, Event};
use crate::connection::{self, Connection, ConnectionInfo, ConnectionName};
use crate::monitor::{self, Alert, Thresholds};
use crate::oauth::http::Http;
use crate::refresh::{AccessToken, RefreshError, Refresher};
use crate::vault::{UnlockedVault, VaultError, VaultInfo};
use crate::{guard, KdfParams, Passphrase};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// The shortest passphrase a new vault (or a passphrase change) accepts, in characters.
/// One rule for every front end; unlocking accepts whatever the vault was made with.
pub const MIN_NEW_PASSPHRASE_CHARS: usize = 8;

/// Checks a new passphrase against the rule.
pub fn new_passphrase(text: String) -> Result<Passphrase, OpError> {
    let chars = text.trim_end_matches(['\n', '\r']).chars().count();
    if chars == 0 {
        return Err(OpError::Vault(VaultError::EmptyPassphrase));
    }
    if chars < MIN_NEW_PASSPHRASE_CHARS {
        // Dropped here: a String zeroed by the process's allocator, or the caller's copy.
        return Err(OpError::PassphraseTooShort(MIN_NEW_PASSPHRASE_CHARS));
    }
    Passphrase::new(text).ok_or(OpError::Vault(VaultError::EmptyPassphrase))
}

/// How precisely a connection's last export time is kept, in seconds: exports within
/// this of the stored time do not write it again.
pub const EXPORT_TIME_GRAIN: u64 = 60;

/// The connections of an opened backup, each checked, as a restore stores them: unless
/// `moved` (the vault the backup came from is gone or no longer used), each one with a
/// refresh token is marked as a copy ([`ConnectionInfo::restored_at`]), since the same
/// grant may still be refreshed there and the provider revokes a grant whose used refresh
/// token comes back. Done before any vault is made, so a backup that cannot be restored
/// leaves nothing behind.
pub fn restored_connections(
    backup: &crate::vault::OpenedBackup,
    moved: bool,
) -> Result<Vec<Connection>, OpError> {
    let now = connection::now();
    let mut all = Vec::new();
    for r in &backup.records {
        let Some(name) = r.name.strip_prefix(connection::RECORD_PREFIX) else {
            continue;
        };
        let name: ConnectionName = name.parse()?;
        let mut c = connection::decode(&name, &r.value)?;
        if c.info.name != name {
            return Err(VaultError::BadBackup("holds a connection under another's name").into());
        }
        if !moved && c.info.has_refresh_token && c.info.kind.is_refreshed() {
            c.info.restored_at = Some(now);
        }
        all.push(c);
    }
    Ok(all)
}

/// Who asked for a token, for the audit log.
#[derive(Clone, Debug, Default)]
pub struct Requester {
    /// Process id.
    pub pid: Option<u32>,
    /// Its name or executable.
    pub process: Option<String>,
    /// Its parent's process id.
    pub parent_pid: Option<u32>,
    /// The parent's executable.
    pub parent_process: Option<String>,
    /// Where the token goes when not to the process itself (the app's clipboard, its
    /// window).
    pub via: Option<crate::audit::ExportVia>,
}

impl Requester {
    /// Process `pid`, with its executable and parent as the OS tells them.
    pub fn of_process(pid: u32) -> Self {
        let parent = crate::agent::peer::parent(pid);
        Self {
            pid: Some(pid),
            process: crate::agent::peer::exe(pid),
            parent_pid: parent,
            parent_process: parent.and_then(crate::agent::peer::exe),
            via: None,
        }
    }

    /// This process, handing the token on `via` the clipboard or its window.
    pub fn this_process_via(via: crate::audit::ExportVia) -> Self {
        let (pid, process) = crate::audit::this_process();
        Self {
            pid,
            process,
            via: Some(via),
            ..Self::default()
        }
    }
}

/// Requests a local proxy forwarded with one connection's token, counted together: same
/// method, path, status and client (see [`Session::record_proxied`]).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProxiedRequests {
    /// The method.
    pub method: String,
    /// The path, without its query.
    pub path: String,
    /// The status the client was answered with.
    pub status: u16,
    /// How many.
    pub requests: u64,
    /// Bytes of the answers' bodies.
    pub bytes: u64,
    /// The client's process id, where known.
    pub pid: Option<u32>,
    /// Its executable, where known.
    pub process: Option<String>,
}

impl ProxiedRequests {
    /// The longest method and path kept; longer ones are cut (an audit line is not the
    /// place for a client's whole URL).
    pub const MAX_TEXT: usize = 256;
}

/// An access token handed out, with the connection's public facts.
pub struct Exported {
    /// The token.
    pub token: AccessToken,
    /// The connection as it is after the export.
    pub info: ConnectionInfo,
}

/// The operations on one unlocked vault.
pub struct Session<'a> {
    vault: &'a Mutex<UnlockedVault>,
    refresher: &'a Refresher,
    audit: &'a dyn Recorder,
    cache: Option<&'a TokenCache>,
}

impl<'a> Session<'a> {
    /// Operations on `vault`, refreshing through `refresher`, auditing to `audit`.
    pub fn new(
        vault: &'a Mutex<UnlockedVault>,
        refresher: &'a Refresher,
        audit: &'a dyn Recorder,
    ) -> Self {
        Self {
            vault,
            refresher,
            audit,
            cache: None,
        }
    }

    /// The same session, keeping the access tokens it reads in `cache` (a long-lived
    /// session's: the agent's), so an export whose token is cached reads no record.
    pub fn with_cache(mut self, cache: &'a TokenCache) -> Self {
        self.cache = Some(cache);
        self
    }

    fn lock(&self) -> MutexGuard<'a, UnlockedVault> {
        guard(self.vault)
    }

    fn http(&self) -> &Http {
        self.refresher.http()
    }

    /// Fails unless the audit log can be written now: asked before an audited operation
    /// acts, so none runs unaudited (fail closed).
    fn audit_ready(&self) -> Result<(), OpError> {
        Ok(self.audit.ready()?)
    }

    /// Appends `event`; an error when its line could not be written.
    fn audited(&self, event: Event) -> Result<(), OpError> {
        Ok(self.audit.try_record(event)?)
    }

    /// Every connection's public facts.
    pub fn list(&self) -> Result<Vec<ConnectionInfo>, OpError> {
        Ok(connection::list(&mut self.lock())?)
    }

    /// One connection's public facts.
    pub fn show(&self, name: &ConnectionName) -> Result<ConnectionInfo, OpError> {
        Ok(connection::load(&mut self.lock(), name)?.info)
    }

    /// The connections' names, from the vault's index alone.
    pub fn names(&self) -> Vec<ConnectionName> {
        connection::names(&self.lock())
    }

    /// Refreshes `name` now, whatever its expiry; its facts after.
    pub fn refresh(&self, name: &ConnectionName) -> Result<ConnectionInfo, OpError> {
        self.refresher.force(self.vault, name)?;
        self.show(name)
    }

    /// An access token for `name` with at least `min_ttl` left (refreshed first if need
    /// be; a `min_ttl` beyond half the provider's token lifetime counts as half), its use
    /// remembered on the record (to the minute) and audited with `who` before it is
    /// handed out.
    pub fn export(
        &self,
        name: &ConnectionName,
        min_ttl: Duration,
        who: Requester,
    ) -> Result<Exported, OpError> {
        let (token, mut info) = self.token_and_info(name, min_ttl)?;
        let now = connection::now();
        // Remembered for `status` and `prune`, to the minute (a burst of exports writes
        // once). Only this field is changed, on the record as it is under the lock: it
        // can never put back tokens another process has since refreshed. A failure does
        // not withhold the token.
        if info
            .last_export
            .is_none_or(|t| now.saturating_sub(t) >= EXPORT_TIME_GRAIN)
        {
            let saved = connection::update(&mut self.lock(), name, |c| {
                c.info.last_export = Some(now);
                Ok::<_, VaultError>(())
            });
            match saved {
                Ok(((), saved)) => info.last_export = saved.last_export,
                Err(e) => {
                    tracing::warn!(connection = %name, error = %e, "could not record the export time")
                }
            }
        }
        // Written before the token is handed out: no token leaves unaudited.
        self.audited(Event::Export {
            connection: name.into(),
            pid: who.pid,
            process: who.process,
            parent_pid: who.parent_pid,
            parent_process: who.parent_process,
            via: who.via,
        })?;
        Ok(Exported { token, info })
    }

    /// Audits requests a proxy forwarded with `name`'s token (its method and path cut to
    /// [`ProxiedRequests::MAX_TEXT`] characters, control characters dropped).
    pub fn record_proxied(
        &self,
        name: &ConnectionName,
        batch: Vec<ProxiedRequests>,
    ) -> Result<(), OpError> {
        let clean = |s: String| -> String {
            s.chars()
                .filter(|c| !c.is_control())
                .take(ProxiedRequests::MAX_TEXT)
                .collect()
        };
        for r in batch {
            self.audited(Event::Proxied {
                connection: name.into(),
                method: clean(r.method),
                path: clean(r.path),
                status: r.status,
                requests: r.requests,
                bytes: r.bytes,
                pid: r.pid,
                process: r.process.map(clean),
            })?;
        }
        Ok(())
    }

    /// Re-encrypts every record under a new data key; `progress(done, total)` after each.
    pub fn rotate_data_key(
        &self,
        progress: impl FnMut(usize, usize),
    ) -> Result<VaultInfo, OpError> {
        self.audit_ready()?;
        let info = {
            let mut v = self.lock();
            v.rotate_data_key_with_progress(progress)?;
            v.info()
        };
        self.audited(Event::DataKeyRotated {
            generation: info.generation,
        })?;
        Ok(info)
    }

    /// A backup file of every connection (`docs/format.md`, Backup file), sealed under
    /// the vault's own passphrase, or under `passphrase` (Argon2id with `kdf`), handed to
    /// `write`; audited once `write` has succeeded. Returns how many connections it holds.
    pub fn backup<E>(
        &self,
        passphrase: Option<(&Passphrase, KdfParams)>,
        write: impl FnOnce(&[u8]) -> Result<(), E>,
    ) -> Result<Result<u64, E>, OpError> {
        let own = passphrase.is_some();
        self.audit_ready()?;
        let (bytes, records) = self.lock().backup(connection::RECORD_PREFIX, passphrase)?;
        let records = records as u64;
        if let Err(e) = write(&bytes) {
            return Ok(Err(e));
        }
        self.audited(Event::BackupWritten {
            records,
            own_passphrase: own,
        })?;
        Ok(Ok(records))
    }

    /// Fills this (new, empty) vault with connections from [`restored_connections`], in
    /// one commit. Refused if the vault already holds connections. Audited.
    pub fn restore(&self, all: Vec<Connection>) -> Result<Vec<ConnectionInfo>, OpError> {
        self.audit_ready()?;
        {
            let mut v = self.lock();
            if !connection::names(&v).is_empty() {
                return Err(OpError::RestoreIntoFullVault);
            }
            connection::save_all(&mut v, &all)?;
        }
        self.audited(Event::VaultRestored {
            records: all.len() as u64,
            marked_copied: all.iter().any(|c| c.info.is_restored_copy()),
        })?;
        Ok(all.iter().map(|c| c.info.clone()).collect())
    }

    /// Brings a vault in an older format to the newest (see
    /// [`UnlockedVault::upgrade_format`]); audited when it changed anything. Returns the
    /// format it had and the vault's facts now.
    pub fn upgrade_format(&self) -> Result<(u64, VaultInfo), OpError> {
        self.audit_ready()?;
        let (from, info) = {
            let mut v = self.lock();
            let from = v.upgrade_format()?;
            (from, v.info())
        };
        if from != info.format {
            self.audited(Event::FormatUpgraded {
                from,
                to: info.format,
            })?;
        }
        Ok((from, info))
    }

    /// Changes the passphrase (checked against [`MIN_NEW_PASSPHRASE_CHARS`] by
    /// [`new_passphrase`]); the data key is rotated with it unless `keep_data_key`.
    pub fn change_passphrase(
        &self,
        new: &Passphrase,
        keep_data_key: bool,
    ) -> Result<VaultInfo, OpError> {
        self.audit_ready()?;
        let info = {
            let mut v = self.lock();
            if keep_data_key {
                v.change_passphrase_keep_data_key(new)?;
            } else {
                v.change_passphrase(new)?;
            }
            v.info()
        };
        self.audited(Event::PassphraseChanged)?;
        Ok(info)
    }

    /// What needs the user's attention: connections that need re-authorisation, wait
    /// for revocation, fail to refresh, or lie unused; and failed unlocks in `log`.
    pub fn alerts(&self, t: &Thresholds, log: Option<&AuditLog>) -> Result<Vec<Alert>, OpError> {
        Ok(monitor::alerts(&self.list()?, t, log))
    }
}

impl From<RefreshError> for OpError {
    fn from(e: RefreshError) -> Self {
        OpError::Refresh(e)
    }
}
