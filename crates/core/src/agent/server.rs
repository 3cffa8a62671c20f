//! The agent itself: the unlocked vault, a token cache, and the socket server.

use super::peer::{self, Peer};
use super::protocol::{write_frame, AgentStatus, Frame, FrameReader, Issued, Reply, Request};
use super::{now, secure_dir, AgentError};
use crate::audit::{AuditLog, Event};
use crate::connection::{self, ConnectionInfo};
use crate::refresh::{needs_refresh_info, RefreshError, Refresher};
use crate::vault::{UnlockedVault, Vault, VaultError};
use crate::Passphrase;
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
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
    /// How often the last-export times are saved and the audit log anchored.
    pub flush_every: Duration,
}

impl Default for AgentOptions {
    fn default() -> Self {
        Self {
            profile: "default".into(),
            idle_timeout: Some(Duration::from_secs(15 * 60)),
            frame_timeout: Duration::from_secs(10),
            max_clients: 1024,
            flush_every: Duration::from_secs(30),
        }
    }
}

/// An access token the agent read, valid while the vault's change stamp is unchanged.
struct Cached {
    stamp: [u8; 8],
    info: ConnectionInfo,
    token: SecretString,
}

/// The agent: an unlocked vault (or none), shared by every client thread.
pub struct Agent {
    vault: Vault,
    lock_path: PathBuf,
    session: Mutex<Option<Arc<Mutex<UnlockedVault>>>>,
    refresher: Refresher,
    audit: AuditLog,
    opts: AgentOptions,
    /// `opts.idle_timeout`, changeable while running (the app's setting).
    idle_timeout: Mutex<Option<Duration>>,
    last_active: Mutex<Instant>,
    last_flush: Mutex<Instant>,
    cache: Mutex<HashMap<String, Cached>>,
    fills: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    unlocking: Mutex<()>,
    exports: Mutex<HashMap<String, u64>>,
    audit_dirty: AtomicBool,
    stop: AtomicBool,
    clients: AtomicUsize,
    socket: Mutex<Option<PathBuf>>,
}

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Decrements the client count when a client thread ends.
struct Slot<'a>(&'a AtomicUsize);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl crate::ops::Recorder for Agent {
    fn record(&self, event: Event) {
        Agent::record(self, event);
    }
}

impl Agent {
    /// A locked agent for `vault`, whose data directory (lock file, audit log) is
    /// `data_dir`; `refresher` is the one refresher of this process.
    pub fn new(vault: Vault, data_dir: &Path, refresher: Refresher, opts: AgentOptions) -> Self {
        Self {
            vault,
            lock_path: crate::lock::lock_path(data_dir),
            session: Mutex::new(None),
            refresher,
            audit: AuditLog::new(data_dir),
            idle_timeout: Mutex::new(opts.idle_timeout),
            opts,
            last_active: Mutex::new(Instant::now()),
            last_flush: Mutex::new(Instant::now()),
            cache: Mutex::new(HashMap::new()),
            fills: Mutex::new(HashMap::new()),
            unlocking: Mutex::new(()),
            exports: Mutex::new(HashMap::new()),
            audit_dirty: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            clients: AtomicUsize::new(0),
            socket: Mutex::new(None),
        }
    }

    fn append(&self, v: Option<&Arc<Mutex<UnlockedVault>>>, e: Event) {
        let r = match v {
            Some(v) => self.audit.append(e, Some(&mut guard(v))),
            None => self.audit.append(e, None),
        };
        match r {
            Ok(()) => self.audit_dirty.store(true, Ordering::SeqCst),
            Err(err) => tracing::warn!(error = %err, "could not write the audit log"),
        }
    }

    /// Unlocks with `passphrase` (a no-op when already unlocked); audited either way.
    pub fn unlock(&self, passphrase: &Passphrase) -> Result<(), VaultError> {
        let _one = guard(&self.unlocking); // one Argon2 at a time
        if self.is_unlocked() {
            return Ok(());
        }
        let unlocked = self.vault.unlock(passphrase);
        crate::crypto::scrub_stack();
        match unlocked {
            Ok(v) => {
                let v = Arc::new(Mutex::new(v));
                self.append(Some(&v), Event::VaultUnlocked);
                *guard(&self.session) = Some(v);
                self.touch();
                tracing::info!("agent unlocked");
                Ok(())
            }
            Err(e) => {
                if matches!(e, VaultError::WrongPassphrase) {
                    self.append(None, Event::UnlockFailed);
                }
                Err(e)
            }
        }
    }

    /// Adopts a vault unlocked (or created) elsewhere, first auditing `event` if given
    /// (the CLI's `agent` command has audited its unlock already; the app audits a
    /// created vault here).
    pub fn adopt(&self, v: UnlockedVault, event: Option<Event>) {
        let v = Arc::new(Mutex::new(v));
        if let Some(e) = event {
            self.append(Some(&v), e);
        }
        *guard(&self.session) = Some(v);
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

    /// Forgets the keys and every cached token (zeroized on drop), after saving what is
    /// pending and anchoring the audit log.
    pub fn lock(&self) {
        let Some(v) = guard(&self.session).take() else {
            return;
        };
        guard(&self.cache).clear();
        self.flush(&v);
        self.append(Some(&v), Event::VaultLocked);
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

    fn session(&self) -> Result<Arc<Mutex<UnlockedVault>>, AgentError> {
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

    /// Appends `event` to the audit log, authenticated with the unlocked vault's audit key
    /// (unauthenticated while locked); anchored at the next flush or lock.
    pub fn record(&self, event: Event) {
        let v = guard(&self.session).clone();
        self.append(v.as_ref(), event);
    }

    /// Changes the idle auto-lock (`None`: never); counts from the last activity.
    pub fn set_idle_timeout(&self, idle: Option<Duration>) {
        *guard(&self.idle_timeout) = idle;
    }

    /// Saves pending last-export times and anchors the audit log now (before a command
    /// reads the log, say).
    pub fn flush_now(&self) {
        if let Ok(v) = self.session() {
            self.flush(&v);
        }
    }

    fn touch(&self) {
        *guard(&self.last_active) = Instant::now();
    }

    /// An access token for `name` with at least `min_ttl` left, refreshed through the
    /// one refresher if needed; audited with the caller's pid, executable and parent.
    pub fn token(
        &self,
        name: &str,
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
        self.append(
            Some(&v),
            Event::Export {
                connection: name.into(),
                pid: caller,
                process: caller.and_then(peer::exe),
                parent_pid: parent,
                parent_process: parent.and_then(peer::exe),
            },
        );
        guard(&self.exports).insert(name.to_string(), now());
        Ok(issued)
    }

    /// The cached token, if nothing was written to the vault since it was read and it
    /// has enough life left.
    fn cached(&self, name: &str, min_ttl: Duration) -> Option<Issued> {
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
        name: &str,
        min_ttl: Duration,
    ) -> Result<Issued, AgentError> {
        let gate = guard(&self.fills)
            .entry(name.to_string())
            .or_default()
            .clone();
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
                    name.to_string(),
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
    pub fn refresh(&self, name: &str) -> Result<ConnectionInfo, AgentError> {
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
        r.map_err(|e| self.vault_error(e))
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
            protocol: super::protocol::VERSION,
        }
    }

    /// Saves the last-export times of connections used since the last flush (the
    /// monitor's "unused for N days") and anchors the audit log.
    fn flush(&self, v: &Arc<Mutex<UnlockedVault>>) {
        *guard(&self.last_flush) = Instant::now();
        let pending: Vec<(String, u64)> = guard(&self.exports).drain().collect();
        for (name, at) in pending {
            let mut vault = guard(v);
            if let Ok(mut c) = connection::load(&mut vault, &name) {
                if c.info.last_export.is_none_or(|t| t < at) {
                    c.info.last_export = Some(at);
                    if let Err(e) = connection::save(&mut vault, &c) {
                        tracing::warn!(connection = name, error = %e, "could not save the last export time");
                    }
                }
            }
        }
        if self.audit_dirty.swap(false, Ordering::SeqCst) {
            if let Err(e) = self.audit.anchor(&mut guard(v)) {
                tracing::warn!(error = %e, "could not anchor the audit log");
            }
        }
    }

    /// Housekeeping, called every fraction of a second by [`Self::serve`] (or by the app):
    /// the idle auto-lock and the periodic flush.
    pub fn tick(&self) {
        let Ok(v) = self.session() else {
            return;
        };
        let idle_timeout = *guard(&self.idle_timeout);
        if let Some(idle) = idle_timeout {
            if guard(&self.last_active).elapsed() >= idle {
                tracing::info!(idle_secs = idle.as_secs(), "idle: locking");
                drop(v);
                self.lock();
                return;
            }
        }
        if guard(&self.last_flush).elapsed() >= self.opts.flush_every {
            self.flush(&v);
        }
    }

    /// Asks a running [`Self::serve`] to lock and return.
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        if let Some(p) = guard(&self.socket).clone() {
            let _ = UnixStream::connect(p);
        }
    }

    /// Serves the socket at `path` until a `stop` request (or [`Self::request_stop`]);
    /// then locks and removes the socket. `ready` is called once it is listening.
    pub fn serve(self: &Arc<Self>, path: &Path, ready: impl FnOnce()) -> Result<(), AgentError> {
        use std::os::unix::fs::PermissionsExt;
        let dir = path.parent().ok_or_else(|| {
            AgentError::UnsafeDir(path.display().to_string(), "no parent directory".into())
        })?;
        secure_dir(dir, true)?;
        if std::fs::symlink_metadata(path).is_ok() {
            if UnixStream::connect(path).is_ok() {
                return Err(AgentError::AlreadyRunning(path.display().to_string()));
            }
            // A socket left by an agent that died.
            std::fs::remove_file(path)?;
        }
        let listener = UnixListener::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        *guard(&self.socket) = Some(path.to_path_buf());
        tracing::info!(socket = %path.display(), "agent listening");
        ready();
        let me = self.clone();
        let ticker = std::thread::spawn(move || {
            while !me.stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(250));
                me.tick();
            }
        });
        for conn in listener.incoming() {
            if self.stop.load(Ordering::SeqCst) {
                break;
            }
            let s = match conn {
                Ok(s) => s,
                Err(e) => {
                    // Out of file descriptors, say: back off, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
            };
            let n = self.clients.fetch_add(1, Ordering::SeqCst) + 1;
            if n > self.opts.max_clients {
                self.clients.fetch_sub(1, Ordering::SeqCst);
                let _ = s.set_write_timeout(Some(Duration::from_millis(200)));
                let _ = write_frame(&s, &Reply::Error(AgentError::Busy(n - 1)).encode());
                continue;
            }
            let me = self.clone();
            let spawned = std::thread::Builder::new()
                .name("agent-client".into())
                .stack_size(256 * 1024)
                .spawn(move || {
                    let _slot = Slot(&me.clients);
                    me.handle(s);
                });
            if let Err(e) = spawned {
                self.clients.fetch_sub(1, Ordering::SeqCst);
                tracing::warn!(error = %e, "could not start a client thread");
            }
        }
        self.lock();
        let _ = std::fs::remove_file(path);
        let _ = ticker.join();
        tracing::info!("agent stopped");
        Ok(())
    }

    fn handle(&self, s: UnixStream) {
        self.serve_client(s);
        // Whatever this thread's requests left in its stack (a token, a key schedule) is
        // overwritten before the thread (and its reusable stack) goes.
        crate::crypto::scrub_stack();
    }

    fn serve_client(&self, s: UnixStream) {
        let peer = match peer::of(&s) {
            Ok(p) if p.uid == peer::my_uid() => p,
            Ok(p) => {
                tracing::warn!(uid = p.uid, pid = ?p.pid, "refused a client of another user");
                let _ = s.set_write_timeout(Some(Duration::from_millis(200)));
                let _ = write_frame(
                    &s,
                    &Reply::Error(AgentError::PeerRefused(peer::my_uid())).encode(),
                );
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "refused a client whose credentials are unknown");
                return;
            }
        };
        let _ = s.set_write_timeout(Some(self.opts.frame_timeout));
        let mut frames = FrameReader::new(&s);
        loop {
            let (reply, close) = match frames.next(self.opts.frame_timeout) {
                Ok(Frame::Closed) => return,
                Ok(Frame::Line(f)) => match Request::parse(&f) {
                    Ok(req) => self.dispatch(req, &peer),
                    // The framing is intact: answer and read on.
                    Err(e) => (Reply::Error(e), false),
                },
                // Too large, too slow, or broken: answer and hang up.
                Err(e) => (Reply::Error(e), true),
            };
            if let Reply::Error(e) = &reply {
                tracing::debug!(kind = e.kind(), "request failed");
            }
            let written = write_frame(&s, &reply.encode());
            if self.stop.load(Ordering::SeqCst) {
                self.request_stop();
                return;
            }
            if written.is_err() || close {
                return;
            }
        }
    }

    fn dispatch(&self, req: Request, peer: &Peer) -> (Reply, bool) {
        let reply = |r: Result<Reply, AgentError>| r.unwrap_or_else(Reply::Error);
        match req {
            Request::Token { name, min_ttl } => (
                reply(
                    self.token(&name, min_ttl, peer.pid)
                        .map(|t| Reply::Token(Box::new(t))),
                ),
                false,
            ),
            Request::Refresh { name } => (
                reply(self.refresh(&name).map(|c| Reply::Refreshed(Box::new(c)))),
                false,
            ),
            Request::List => (reply(self.list().map(Reply::List)), false),
            Request::Status => (Reply::Status(self.status()), false),
            Request::Lock => {
                self.lock();
                (Reply::Done, false)
            }
            Request::Unlock { passphrase } => {
                let r = match Passphrase::new(passphrase.expose_secret().to_string()) {
                    Some(p) => self.unlock(&p).map(|_| Reply::Done).map_err(|e| match e {
                        VaultError::WrongPassphrase => AgentError::WrongPassphrase,
                        other => AgentError::Vault(other.to_string()),
                    }),
                    None => Err(AgentError::BadRequest("empty passphrase".into())),
                };
                (reply(r), false)
            }
            Request::Stop => {
                self.stop.store(true, Ordering::SeqCst);
                (Reply::Done, true)
            }
        }
    }
}
