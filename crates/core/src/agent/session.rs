//! The agent's session: the unlocked vault, unlock and lock, the idle timeout, keeping
//! connections fresh, and status. Its operations (over [`crate::ops::Session`]) are in
//! `tokens.rs`, its audit batching in `journal.rs`, its socket server in `server.rs`.

use super::protocol::AgentStatus;
use super::AgentError;
use crate::audit::{AuditLog, Event};
use crate::connection::{self};
use crate::ops::{MaintainOptions, Maintained, Maintenance, TokenCache};
use crate::refresh::Refresher;
use crate::vault::{UnlockedVault, Vault, VaultError};
use crate::{guard, Passphrase};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the agent behaves.
#[derive(Clone, Debug)]
pub struct AgentOptions {
    /// The profile it serves (for `status`).
    pub profile: String,
    /// Lock after this long without a token or list request (`None`: never).
    pub idle_timeout: Option<Duration>,
    /// A client must send each whole request within this time.
    pub frame_timeout: Duration,
    /// Clients served at once; more get "busy".
    pub max_clients: usize,
    /// How often the audit log is anchored.
    pub flush_every: Duration,
    /// Keep connections fresh ([`Agent::maintain`]) on a thread of [`Agent::serve`]
    /// (`None`: the embedding program calls [`Agent::maintain`] itself, as the app does).
    pub maintain: Option<MaintainOptions>,
}

impl Default for AgentOptions {
    fn default() -> Self {
        Self {
            profile: "default".into(),
            idle_timeout: Some(Duration::from_secs(15 * 60)),
            frame_timeout: Duration::from_secs(10),
            max_clients: 1024,
            flush_every: Duration::from_secs(30),
            maintain: Some(MaintainOptions::default()),
        }
    }
}

/// Why the agent last locked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LockReason {
    /// Asked to (the `lock` request, the app's button or tray, stopping).
    Asked,
    /// Nothing used it for this long.
    Idle(Duration),
    /// Another process changed the passphrase: this session's keys open nothing.
    PassphraseChanged,
}

/// An agent's lock count ([`Agent::times_locked`], or `times_locked` in its status) as a
/// watcher last saw it: one that looks now and then (a background task, a proxy) learns
/// of every lock, even one followed by an unlock between two looks.
#[derive(Clone, Copy, Debug, Default)]
pub struct LockWatch(Option<u64>);

impl LockWatch {
    /// Watching from a count seen already.
    pub fn from(times_locked: u64) -> Self {
        Self(Some(times_locked))
    }

    /// Whether the agent has locked since the last look, given its count now; the first
    /// look of a watch made with `default()` only notes the count.
    pub fn locked_since(&mut self, times_locked: u64) -> bool {
        self.0
            .replace(times_locked)
            .is_some_and(|seen| seen != times_locked)
    }
}

/// The agent: an unlocked vault (or none), shared by every client thread.
pub struct Agent {
    pub(super) vault: Vault,
    pub(super) session: Mutex<Option<Arc<Mutex<UnlockedVault>>>>,
    pub(super) refresher: Refresher,
    pub(super) audit: AuditLog,
    pub(super) opts: AgentOptions,
    /// `opts.idle_timeout`, changeable while running (the app's setting).
    pub(super) idle_timeout: Mutex<Option<Duration>>,
    pub(super) last_active: Mutex<Instant>,
    pub(super) last_flush: Mutex<Instant>,
    pub(super) cache: TokenCache,
    /// What keeping connections fresh remembers between steps (reset on lock).
    pub(super) upkeep: Mutex<Maintenance>,
    pub(super) unlocking: Mutex<()>,
    pub(super) audit_dirty: AtomicBool,
    /// The server's state: asked to stop, clients being served, and where it listens
    /// (a socket or named pipe) once it does.
    pub(super) stop: AtomicBool,
    pub(super) clients: AtomicUsize,
    pub(super) socket: Mutex<Option<PathBuf>>,
    /// Why it last locked (`None`: never, or unlocked since).
    pub(super) locked_because: Mutex<Option<LockReason>>,
    /// How many times it has locked (see [`Agent::times_locked`]).
    pub(super) times_locked: AtomicU64,
}

impl crate::audit::Recorder for Agent {
    fn record(&self, event: Event) {
        Agent::record(self, event);
    }

    fn ready(&self) -> Result<(), crate::audit::AuditError> {
        self.audit.ready()
    }

    fn try_record(&self, event: Event) -> Result<(), crate::audit::AuditError> {
        Agent::try_record(self, event)
    }
}

impl Agent {
    /// A locked agent for `vault`, whose data directory (lock file, audit log) is
    /// `data_dir`; `refresher` is the one refresher of this process.
    pub fn new(vault: Vault, data_dir: &Path, refresher: Refresher, opts: AgentOptions) -> Self {
        Self {
            vault,
            session: Mutex::new(None),
            refresher,
            audit: AuditLog::new(data_dir).buffering_exports(),
            idle_timeout: Mutex::new(opts.idle_timeout),
            opts,
            last_active: Mutex::new(Instant::now()),
            last_flush: Mutex::new(Instant::now()),
            cache: TokenCache::new(data_dir),
            upkeep: Mutex::new(Maintenance::default()),
            unlocking: Mutex::new(()),
            audit_dirty: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            clients: AtomicUsize::new(0),
            socket: Mutex::new(None),
            locked_because: Mutex::new(None),
            times_locked: AtomicU64::new(0),
        }
    }

    /// Unlocks with `passphrase` (a no-op when already unlocked); audited either way
    /// ([`crate::ops::unlock`]).
    pub fn unlock(&self, passphrase: &Passphrase) -> Result<(), VaultError> {
        self.unlock_with(|| crate::ops::unlock(&self.vault, &self.audit, passphrase))
    }

    /// Unlocks a vault that opens by this machine's OpenBao identity (a Transit key; a
    /// no-op when already unlocked); audited ([`crate::ops::unlock_by_identity`]).
    pub fn unlock_by_identity(&self) -> Result<(), VaultError> {
        self.unlock_with(|| crate::ops::unlock_by_identity(&self.vault, &self.audit))
    }

    fn unlock_with(
        &self,
        open: impl FnOnce() -> Result<UnlockedVault, VaultError>,
    ) -> Result<(), VaultError> {
        let _one = guard(&self.unlocking); // one Argon2 at a time
        if self.is_unlocked() {
            return Ok(());
        }
        let unlocked = open();
        crate::crypto::scrub_stack();
        match unlocked {
            Ok(v) => {
                self.adopt(v);
                tracing::info!("agent unlocked");
                Ok(())
            }
            Err(e) => {
                self.audit.forget_key();
                Err(e)
            }
        }
    }

    /// Creates the vault with `passphrase` and holds it unlocked; audited
    /// ([`crate::ops::create`]).
    pub fn create(
        &self,
        passphrase: &Passphrase,
        opts: &crate::CreateOptions,
    ) -> Result<(), VaultError> {
        let _one = guard(&self.unlocking);
        let made = crate::ops::create(&self.vault, &self.audit, passphrase, opts);
        crate::crypto::scrub_stack();
        self.adopt(made?);
        Ok(())
    }

    /// Holds a vault unlocked elsewhere (the CLI's `agent` command unlocked it, audited,
    /// through [`crate::ops::unlock`]).
    pub fn adopt(&self, v: UnlockedVault) {
        *guard(&self.session) = Some(Arc::new(Mutex::new(v)));
        self.audit_dirty.store(true, Ordering::SeqCst);
        self.touch();
    }

    /// The unlocked vault's public facts (`None` while locked).
    pub fn vault_info(&self) -> Option<crate::VaultInfo> {
        let v = guard(&self.session).clone()?;
        let info = guard(&v).info();
        Some(info)
    }

    /// Whether a vault is unlocked.
    pub fn is_unlocked(&self) -> bool {
        guard(&self.session).is_some()
    }

    /// How many times this agent has locked, however (asked, idle, a passphrase changed
    /// elsewhere). A watcher that samples [`Self::is_unlocked`] can miss a lock followed
    /// by an unlock, or an unlock followed by a lock, between two looks; this count does
    /// not miss one.
    pub fn times_locked(&self) -> u64 {
        self.times_locked.load(Ordering::SeqCst)
    }

    /// Forgets the keys and every cached token (zeroized on drop), after saving what is
    /// pending and anchoring the audit log.
    pub fn lock(&self) {
        self.lock_because(LockReason::Asked);
    }

    /// Why it last locked; `None` while unlocked (or never locked).
    pub fn locked_because(&self) -> Option<LockReason> {
        if self.is_unlocked() {
            return None;
        }
        *guard(&self.locked_because)
    }

    /// [`Self::lock`], saying why.
    pub(super) fn lock_because(&self, why: LockReason) {
        let v = {
            let mut session = guard(&self.session);
            let v = session.take();
            // Counted under the session's guard: whoever sees it locked sees the count.
            if v.is_some() {
                self.times_locked.fetch_add(1, Ordering::SeqCst);
            }
            v
        };
        let Some(v) = v else {
            return;
        };
        *guard(&self.locked_because) = Some(why);
        self.cache.clear();
        // Never waits for a step in flight (a refresh may take seconds): that step
        // forgets its state itself when it next finds the agent locked.
        if let Ok(mut m) = self.upkeep.try_lock() {
            *m = Maintenance::default();
        }
        self.flush(&v);
        // Locking is never held back; a failure to audit it is logged.
        let _ = self.append(Some(&v), Event::VaultLocked);
        if let Err(e) = self.audit.anchor(&mut guard(&v)) {
            tracing::warn!(error = %e, "could not anchor the audit log");
        }
        self.audit.forget_key();
        self.refresher.forget_keys();
        drop(v);
        crate::crypto::scrub_stack();
        tracing::info!("agent locked");
        // Client threads still holding `v` drop their clones when they finish; the
        // keys are zeroized when the last one goes.
    }

    pub(super) fn session(&self) -> Result<Arc<Mutex<UnlockedVault>>, AgentError> {
        guard(&self.session).clone().ok_or(AgentError::Locked)
    }

    /// The unlocked vault, for work the protocol does not cover (the app's connect,
    /// disconnect, rotation, background refresh...). Not activity by itself: a person's
    /// action calls [`Self::note_activity`]. Writes through it change the vault's stamp,
    /// so no cached token outlives them.
    pub fn unlocked(&self) -> Result<Arc<Mutex<UnlockedVault>>, AgentError> {
        self.session()
    }

    /// Restarts the idle auto-lock's count (a person used the app).
    pub fn note_activity(&self) {
        self.touch();
    }

    /// The one refresher of this process.
    pub fn refresher(&self) -> &Refresher {
        &self.refresher
    }

    /// The audit log (read, verify).
    pub fn audit_log(&self) -> &AuditLog {
        &self.audit
    }

    /// Changes the idle auto-lock (`None`: never); counts from the last activity.
    pub fn set_idle_timeout(&self, idle: Option<Duration>) {
        *guard(&self.idle_timeout) = idle;
    }

    pub(super) fn touch(&self) {
        *guard(&self.last_active) = Instant::now();
    }

    /// The agent's state.
    pub fn status(&self) -> AgentStatus {
        let v = guard(&self.session).clone();
        let (vault_id, connections) = match &v {
            Some(v) => {
                let v = guard(v);
                (Some(v.info().vault_id), Some(connection::names(&v).len()))
            }
            None => (None, None),
        };
        let idle = *guard(&self.idle_timeout);
        AgentStatus {
            unlocked: v.is_some(),
            pid: std::process::id(),
            profile: self.opts.profile.clone(),
            vault_id,
            connections,
            idle_timeout_secs: idle.map(|d| d.as_secs()),
            locks_in_secs: match (&v, idle) {
                (Some(_), Some(d)) => Some(
                    d.saturating_sub(guard(&self.last_active).elapsed())
                        .as_secs(),
                ),
                _ => None,
            },
            clients: self.clients.load(Ordering::SeqCst),
            times_locked: self.times_locked(),
            protocol: super::protocol::VERSION,
        }
    }

    /// One step of keeping connections fresh (see [`crate::ops::Session::maintain`]), if
    /// its time has come and no other step is running; what it did. Not activity for the
    /// idle lock. Locked: nothing.
    pub fn maintain(&self, opts: &MaintainOptions) -> Vec<Maintained> {
        let Ok(mut m) = self.upkeep.try_lock() else {
            return Vec::new(); // another thread's step is running
        };
        let Ok(v) = self.session() else {
            // Locked: what the last session's steps remembered goes.
            *m = Maintenance::default();
            return Vec::new();
        };
        if !m.due(opts) {
            return Vec::new(); // nothing to do, nothing to scrub
        }
        let done = self.session_over(&v).maintain(&mut m, opts);
        drop(v);
        crate::crypto::scrub_stack();
        match done {
            Ok(done) => done,
            Err(e) => {
                tracing::warn!(error = %e, "keeping connections fresh failed");
                Vec::new()
            }
        }
    }

    /// Housekeeping, called every fraction of a second by [`Self::serve`] (or by the app):
    /// the idle auto-lock, noticing a passphrase changed by another process, and the
    /// periodic flush.
    pub fn tick(&self) {
        let Ok(v) = self.session() else {
            return;
        };
        let idle_timeout = *guard(&self.idle_timeout);
        if let Some(idle) = idle_timeout {
            if guard(&self.last_active).elapsed() >= idle {
                tracing::info!(idle_secs = idle.as_secs(), "idle: locking");
                drop(v);
                self.lock_because(LockReason::Idle(idle));
                return;
            }
        }
        if self.passphrase_changed(&v) {
            drop(v);
            tracing::warn!("the vault's passphrase changed elsewhere; locking the agent");
            self.lock_because(LockReason::PassphraseChanged);
            return;
        }
        if guard(&self.last_flush).elapsed() >= self.opts.flush_every {
            self.flush(&v);
        }
    }

    /// Whether another process changed the passphrase, so this session's keys no longer
    /// open the vault. One small file read (the change stamp) while nothing was written;
    /// never waits for a vault another thread is using (it looks again next tick). Not on
    /// a store shared by several machines: there following is two reads of the server, and
    /// every operation re-reads the header first anyway, so a changed passphrase locks the
    /// agent at its next operation.
    fn passphrase_changed(&self, v: &Mutex<UnlockedVault>) -> bool {
        let Ok(mut v) = v.try_lock() else {
            return false;
        };
        !v.is_shared() && matches!(v.follow(), Err(VaultError::Stale))
    }
}
