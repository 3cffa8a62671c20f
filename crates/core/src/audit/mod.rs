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

use crate::files::FilesError;
use crate::lock::VaultLock;
use crate::vault::{UnlockedVault, VaultError};

mod fields;
pub use fields::{CheckOutcome, DisconnectHow, PruneReason, RefreshFailure};
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// What happened. Field values are names and classes, never secrets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// A vault was created.
    VaultCreated,
    /// The vault was unlocked.
    VaultUnlocked,
    /// A wrong passphrase was given.
    UnlockFailed,
    /// The vault was locked.
    VaultLocked,
    /// The passphrase was changed.
    PassphraseChanged,
    /// The data key was rotated.
    DataKeyRotated {
        /// New generation.
        generation: u64,
    },
    /// A backup file of the connections was written.
    BackupWritten {
        /// How many records it holds.
        records: u64,
        /// Sealed under a passphrase given for the backup (else the vault's own).
        own_passphrase: bool,
    },
    /// This vault was made from a backup file.
    VaultRestored {
        /// How many records it brought.
        records: u64,
        /// The connections' refresh tokens were marked as copies (the backup's vault may
        /// still use them).
        marked_copied: bool,
    },
    /// The vault was brought to a newer format (`token-wallet upgrade`).
    FormatUpgraded {
        /// The format it had.
        from: u64,
        /// The format it has now.
        to: u64,
    },
    /// A connection was made.
    Connected {
        /// Connection.
        connection: String,
        /// Provider.
        provider: String,
    },
    /// A connection was signed in again (new tokens in place of the old).
    Reauthorised {
        /// Connection.
        connection: String,
    },
    /// Tokens were refreshed.
    RefreshOk {
        /// Connection.
        connection: String,
    },
    /// A refresh failed.
    RefreshFailed {
        /// Connection.
        connection: String,
        /// Why.
        class: RefreshFailure,
    },
    /// An access token was handed out.
    Export {
        /// Connection.
        connection: String,
        /// Requesting process id, where known.
        pid: Option<u32>,
        /// Requesting process name (or executable), where known.
        process: Option<String>,
        /// The requester's parent, where known (the agent records the client's parent:
        /// the shell or tool that ran `token-wallet`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent_pid: Option<u32>,
        /// The parent's executable, where known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent_process: Option<String>,
    },
    /// Tokens were revoked at the provider.
    Revoked {
        /// Connection.
        connection: String,
    },
    /// A connection was removed (`revoked`, `no_revocation`, `forced`) or kept pending.
    Disconnected {
        /// Connection.
        connection: String,
        /// How.
        how: DisconnectHow,
    },
    /// A credential was checked with its provider.
    Checked {
        /// Connection.
        connection: String,
        /// How it went.
        outcome: CheckOutcome,
    },
    /// An API key or static token was replaced by a new one. The old one's facts, to
    /// find and revoke it where it was made (never the key).
    SecretRotated {
        /// Connection.
        connection: String,
        /// The old key's client id at the provider, if known.
        old_client_id: Option<String>,
        /// When the old one was added (Unix seconds).
        old_added_at: u64,
        /// The old one's expiry date, if given.
        old_expires_at: Option<u64>,
    },
    /// A connection was pruned.
    Pruned {
        /// Connection.
        connection: String,
        /// Why.
        reason: PruneReason,
    },
}

impl Event {
    /// The event's wire name (`connected`, `export`...) and its fields in order, each value
    /// as text (`None` for a field with no value), for listings.
    pub fn name_and_fields(&self) -> (String, Vec<(String, Option<String>)>) {
        // Invariant: an enum of strings and integers always serialises to an object.
        let v = serde_json::to_value(self).expect("events serialise");
        let name = v["event"].as_str().unwrap_or_default().to_string();
        let fields = v
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| *k != "event")
            .map(|(k, v)| {
                let text = match v {
                    serde_json::Value::Null => None,
                    serde_json::Value::String(s) => Some(s.clone()),
                    other => Some(other.to_string()),
                };
                (k.clone(), text)
            })
            .collect();
        (name, fields)
    }

    /// The connection the event is about (as written: a keyed label, or a clear name in
    /// lines of older builds), if it names one.
    pub fn connection(&self) -> Option<&str> {
        match self {
            Event::Connected { connection, .. }
            | Event::Reauthorised { connection }
            | Event::RefreshOk { connection }
            | Event::RefreshFailed { connection, .. }
            | Event::Export { connection, .. }
            | Event::Revoked { connection }
            | Event::Disconnected { connection, .. }
            | Event::Checked { connection, .. }
            | Event::SecretRotated { connection, .. }
            | Event::Pruned { connection, .. } => Some(connection),
            _ => None,
        }
    }

    fn connection_mut(&mut self) -> Option<&mut String> {
        match self {
            Event::Connected { connection, .. }
            | Event::Reauthorised { connection }
            | Event::RefreshOk { connection }
            | Event::RefreshFailed { connection, .. }
            | Event::Export { connection, .. }
            | Event::Revoked { connection }
            | Event::Disconnected { connection, .. }
            | Event::Checked { connection, .. }
            | Event::SecretRotated { connection, .. }
            | Event::Pruned { connection, .. } => Some(connection),
            _ => None,
        }
    }
}

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

/// One line of the log.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Line {
    /// 1, 2, 3, ...
    pub seq: u64,
    /// Unix seconds.
    pub ts: u64,
    /// The event.
    #[serde(flatten)]
    pub event: Event,
    /// Hex SHA-256 of the previous line's bytes ("" for the first).
    pub prev: String,
    /// Hex HMAC-SHA256 under the audit key, if the vault was unlocked.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub mac: Option<String>,
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

/// What `verify` found.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Lines read.
    pub lines: u64,
    /// Lines with a valid MAC.
    pub authenticated: u64,
    /// The first broken link, if any: (line number, what is wrong).
    pub broken: Option<(u64, String)>,
}

const KEY_RECORD: &str = "audit.key";
const ANCHOR_RECORD: &str = "audit.anchor";

#[derive(Serialize, Deserialize)]
struct Anchor {
    seq: u64,
    hash: String,
}

type HmacSha256 = Hmac<Sha256>;

/// A key that names connections where a clear name would tell too much (audit lines,
/// refresh lock files): HMAC-SHA256 keyed with HMAC-SHA256(audit key,
/// `"token-wallet/name-key/v1"`). The audit key is a vault record that a data-key
/// rotation, a passphrase change and a format upgrade carry over unchanged, so the labels
/// are stable for the vault's life; nothing in the clear derives them.
#[derive(Clone)]
pub struct NameKey(zeroize::Zeroizing<[u8; 32]>);

impl NameKey {
    fn of(audit: &AuditKey) -> Self {
        // Invariant: HMAC accepts keys of any length.
        let mut m = HmacSha256::new_from_slice(&audit.0).expect("any key length");
        m.update(b"token-wallet/name-key/v1");
        let mut k = zeroize::Zeroizing::new([0u8; 32]);
        k.copy_from_slice(&m.finalize().into_bytes());
        Self(k)
    }

    /// HMAC-SHA256 of `purpose`, a zero byte and `name`.
    pub fn tag(&self, purpose: &str, name: &str) -> [u8; 32] {
        // Invariant: as above.
        let mut m = HmacSha256::new_from_slice(&*self.0).expect("any key length");
        m.update(purpose.as_bytes());
        m.update(&[0]);
        m.update(name.as_bytes());
        m.finalize().into_bytes().into()
    }

    /// How audit lines name the connection `name`: `#` and 16 hex (64 bits of the tag).
    pub fn audit_label(&self, name: &str) -> String {
        format!(
            "{LABEL_PREFIX}{}",
            hex::encode(&self.tag("audit-connection", name)[..8])
        )
    }
}

impl std::fmt::Debug for NameKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NameKey(<redacted>)")
    }
}

/// How a connection's label starts in an audit line (names never hold it).
pub const LABEL_PREFIX: char = '#';

/// The name key of `vault` (the audit key is made first if the vault has none yet).
pub fn name_key(vault: &mut UnlockedVault) -> Result<NameKey, AuditError> {
    Ok(NameKey::of(&AuditLog::load_key(vault)?))
}

/// The keys a log caches while the vault is unlocked, and the labels it can map back.
struct Keys {
    mac: AuditKey,
    names: NameKey,
    /// Label -> name, for every connection the vault held when the keys were read or
    /// the log was last anchored, and every one named in a line written since.
    labels: HashMap<String, String>,
}

impl Keys {
    fn learn(&mut self, vault: &UnlockedVault) {
        for n in crate::connection::names(vault) {
            let label = self.names.audit_label(&n);
            self.labels.entry(label).or_insert_with(|| n.to_string());
        }
    }
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(<redacted>)")
    }
}

/// The audit log of one profile.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    /// The audit key (it never changes) and what it derives, once read from the vault.
    key: std::sync::Mutex<Option<Keys>>,
    /// Exports are synced at the next anchor, not line by line.
    buffer_exports: bool,
}

use crate::clock::now;

impl AuditLog {
    /// The log in `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            path: data_dir.join("audit.jsonl"),
            key: std::sync::Mutex::new(None),
            buffer_exports: false,
        }
    }

    /// Its file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, err: std::io::Error) -> AuditError {
        AuditError::Io {
            path: self.path.display().to_string(),
            err,
        }
    }

    /// The audit key and the name key (cached), created in the vault on first use.
    fn key(&self, vault: &mut UnlockedVault) -> Result<(AuditKey, NameKey), AuditError> {
        let mut cache = self.key.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = &*cache {
            return Ok((k.mac.clone(), k.names.clone()));
        }
        let mac = Self::load_key(vault)?;
        let mut k = Keys {
            names: NameKey::of(&mac),
            mac,
            labels: HashMap::new(),
        };
        k.learn(vault);
        let both = (k.mac.clone(), k.names.clone());
        *cache = Some(k);
        Ok(both)
    }

    /// Opens the log for appending (made if missing; 0600; never through a symlink).
    fn open_append(&self) -> Result<std::fs::File, AuditError> {
        match crate::files::open_private(&self.path, true) {
            Ok(f) => Ok(f),
            Err(FilesError::Symlink { .. }) => Err(self.set_aside()),
            Err(e) => Err(e.into()),
        }
    }

    /// Opens the existing log (`None` if there is none yet), never through a symlink.
    fn open_existing(&self, append: bool) -> Result<Option<std::fs::File>, AuditError> {
        match crate::files::open_existing(&self.path, append) {
            Ok(f) => Ok(Some(f)),
            Err(FilesError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                Ok(None)
            }
            Err(FilesError::Symlink { .. }) => Err(self.set_aside()),
            Err(e) => Err(e.into()),
        }
    }

    /// The log's bytes (empty if there is none), never through a symlink.
    fn bytes(&self) -> Result<Vec<u8>, AuditError> {
        let Some(mut f) = self.open_existing(false)? else {
            return Ok(Vec::new());
        };
        let mut b = Vec::new();
        f.read_to_end(&mut b).map_err(|e| self.io(e))?;
        Ok(b)
    }

    /// A symbolic link at the log's name (an older build left the data directory open,
    /// and someone planted it): the link itself is renamed aside (`rename` never follows
    /// it; the directory is private again by now, so no one else can race this), and the
    /// error says so. Nothing is ever written through it.
    fn set_aside(&self) -> AuditError {
        let path = self.path.display().to_string();
        let target = std::fs::read_link(&self.path)
            .map(|t| t.display().to_string())
            .unwrap_or_else(|_| "an unknown target".into());
        let is_link = std::fs::symlink_metadata(&self.path)
            .map(|m| m.file_type().is_symlink())
            .unwrap_or(false);
        if !is_link {
            return FilesError::Symlink { path }.into();
        }
        let aside = self.path.with_file_name(format!(
            "audit.jsonl.symlink-{}-{}",
            now(),
            hex::encode(crate::crypto::random::<4>())
        ));
        match std::fs::rename(&self.path, &aside) {
            Ok(()) => {
                tracing::warn!(log = %path, target = %target, aside = %aside.display(), "a symbolic link at the audit log was moved aside");
                AuditError::SymlinkSetAside {
                    path,
                    target,
                    aside: aside.display().to_string(),
                }
            }
            Err(_) => FilesError::Symlink { path }.into(),
        }
    }

    /// Whether a line could be appended now (the log opens for appending, as a private
    /// file of this user, not through a symlink). Writes nothing.
    pub fn ready(&self) -> Result<(), AuditError> {
        self.open_append().map(drop)
    }

    fn load_key(vault: &mut UnlockedVault) -> Result<AuditKey, AuditError> {
        match vault.get(KEY_RECORD) {
            Ok(k) => Ok(AuditKey(zeroize::Zeroizing::new(
                k.expose_secret().to_vec(),
            ))),
            Err(VaultError::NotFound(_)) => {
                let k = AuditKey(zeroize::Zeroizing::new(
                    crate::crypto::random::<32>().to_vec(),
                ));
                vault.put(KEY_RECORD, &k.0)?;
                Ok(k)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The last line's bytes (without its newline), if any.
    fn last_line(&self, f: &mut std::fs::File) -> Result<Option<Vec<u8>>, AuditError> {
        let len = f.metadata().map_err(|e| self.io(e))?.len();
        if len == 0 {
            return Ok(None);
        }
        let start = len.saturating_sub(64 * 1024);
        f.seek(SeekFrom::Start(start)).map_err(|e| self.io(e))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf).map_err(|e| self.io(e))?;
        while buf.last() == Some(&b'\n') {
            buf.pop();
        }
        let from = buf.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        Ok(Some(buf[from..].to_vec()))
    }

    /// Appends an event; MAC'd when a vault is given.
    pub fn append(
        &self,
        event: Event,
        vault: Option<&mut UnlockedVault>,
    ) -> Result<(), AuditError> {
        let durable = !(self.buffer_exports && matches!(event, Event::Export { .. }));
        self.write_line(event, vault, durable)
    }

    /// Export lines (the agent's hot path) are written at once but reach stable storage
    /// at the next [`Self::sync`] or [`Self::anchor`] instead of line by line: a crash
    /// of this process does not lose them, a power loss can lose those since the last
    /// anchor, as it can the anchor. Every other event is synced as it is written.
    pub fn buffering_exports(mut self) -> Self {
        self.buffer_exports = true;
        self
    }

    /// Waits until every line written so far is on stable storage.
    pub fn sync(&self) -> Result<(), AuditError> {
        match self.open_existing(true)? {
            Some(f) => f.sync_data().map_err(|e| self.io(e)),
            None => Ok(()),
        }
    }

    fn write_line(
        &self,
        event: Event,
        vault: Option<&mut UnlockedVault>,
        durable: bool,
    ) -> Result<(), AuditError> {
        let mut event = event;
        let key = match vault {
            Some(v) => Some(self.key(v)?),
            None => None,
        };
        if let Some(name) = event.connection_mut() {
            // The name in the clear stays in the vault; the line carries its label.
            let Some((_, names)) = &key else {
                return Err(AuditError::Locked);
            };
            let label = names.audit_label(name);
            if let Some(k) = &mut *self.key.lock().unwrap_or_else(|p| p.into_inner()) {
                k.labels.insert(label.clone(), std::mem::take(name));
            }
            *name = label;
        }
        let key = key.map(|(mac, _)| mac);
        let _lock =
            VaultLock::acquire(&self.path.with_extension("lock")).map_err(|e| self.io(e.into()))?;
        let mut f = self.open_append()?;
        let (seq, prev) = match self.last_line(&mut f)? {
            None => (1, String::new()),
            Some(last) => {
                let seq = serde_json::from_slice::<Line>(&last)
                    .map(|l| l.seq)
                    .unwrap_or(0)
                    + 1;
                (seq, hex::encode(Sha256::digest(&last)))
            }
        };
        let mut line = Line {
            seq,
            ts: now(),
            event,
            prev,
            mac: None,
        };
        if let Some(k) = key {
            line.mac = Some(k.mac(&line));
        }
        // Invariant: a line of strings and integers always serialises.
        let mut bytes = serde_json::to_vec(&line).expect("audit line serialises");
        bytes.push(b'\n');
        f.write_all(&bytes).map_err(|e| self.io(e))?;
        if durable {
            f.sync_data().map_err(|e| self.io(e))?;
        }
        Ok(())
    }

    /// Forgets the cached audit key and the labels it maps back (when the vault is
    /// locked).
    pub fn forget_key(&self) {
        *self.key.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Records the chain's head in the vault (call once a command is done).
    pub fn anchor(&self, vault: &mut UnlockedVault) -> Result<(), AuditError> {
        // Connections made by other processes: their labels, for `read`.
        self.learn_names(vault);
        // Opened for appending, not only reading: Windows syncs a file only through a
        // handle that may write it. Nothing is written here. Never through a symlink.
        let Some(mut f) = self.open_existing(true)? else {
            return Ok(());
        };
        // What is anchored is on disk first (buffered export lines too).
        f.sync_data().map_err(|e| self.io(e))?;
        if let Some(last) = self.last_line(&mut f)? {
            let seq = serde_json::from_slice::<Line>(&last)
                .map(|l| l.seq)
                .unwrap_or(0);
            let a = Anchor {
                seq,
                hash: hex::encode(Sha256::digest(&last)),
            };
            // Invariant: two plain fields always serialise.
            vault.put(
                ANCHOR_RECORD,
                &serde_json::to_vec(&a).expect("anchor serialises"),
            )?;
        }
        Ok(())
    }

    /// Reads every line (for `audit`), each connection by its name where this log knows
    /// the label (its vault is unlocked in this process: the connections it held when
    /// its key was read or the log last anchored, and those named since); other labels
    /// stay as written (`#` and 16 hex). Lines of older builds carry clear names.
    pub fn read(&self) -> Result<Vec<Line>, AuditError> {
        let bytes = self.bytes()?;
        let mut lines: Vec<Line> = bytes
            .split(|&b| b == b'\n')
            .filter_map(|l| serde_json::from_slice(l).ok())
            .collect();
        if let Some(k) = &*self.key.lock().unwrap_or_else(|p| p.into_inner()) {
            for l in &mut lines {
                if let Some(c) = l.event.connection_mut() {
                    if let Some(name) = k.labels.get(c.as_str()) {
                        *c = name.clone();
                    }
                }
            }
        }
        Ok(lines)
    }

    /// Learns the labels of every connection `vault` holds now (made by another process,
    /// say), so [`Self::read`] shows their names. Only while this log's key is cached
    /// (the vault unlocked in this process).
    pub fn learn_names(&self, vault: &UnlockedVault) {
        if let Some(k) = &mut *self.key.lock().unwrap_or_else(|p| p.into_inner()) {
            k.learn(vault);
        }
    }

    /// [`Self::read`], every connection the unlocked `vault` holds shown by its name; a
    /// label no connection of the vault has (one removed before this process saw it)
    /// stays as written.
    pub fn read_named(&self, vault: &mut UnlockedVault) -> Result<Vec<Line>, AuditError> {
        self.key(vault)?;
        self.learn_names(vault);
        self.read()
    }

    /// Checks what can be checked without the vault: every line parses, the sequence
    /// numbers count up from 1 and each line follows the one before it (hash chain).
    /// Returns the first broken line and why. `verify` also checks the MACs and anchor.
    pub fn chain_break(&self) -> Result<Option<(u64, String)>, AuditError> {
        let bytes = self.bytes()?;
        let mut prev_hash = String::new();
        for (i, raw) in bytes
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .enumerate()
        {
            let n = i as u64 + 1;
            let line: Line = match serde_json::from_slice(raw) {
                Ok(l) => l,
                Err(_) => return Ok(Some((n, "not a valid audit line".into()))),
            };
            if line.seq != n {
                return Ok(Some((n, format!("sequence number {} where {n} was expected (a line was deleted, inserted or moved)", line.seq))));
            }
            if line.prev != prev_hash {
                return Ok(Some((
                    n,
                    "does not follow the line before it (that line was edited, deleted or moved)"
                        .into(),
                )));
            }
            prev_hash = hex::encode(Sha256::digest(raw));
        }
        Ok(None)
    }

    /// Checks the whole chain; reports the first broken link.
    pub fn verify(&self, vault: &mut UnlockedVault) -> Result<Verdict, AuditError> {
        let key = Self::load_key(vault)?;
        let anchor: Option<Anchor> = match vault.get(ANCHOR_RECORD) {
            Ok(a) => serde_json::from_slice(a.expose_secret()).ok(),
            Err(VaultError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        };
        let bytes = self.bytes()?;
        let mut v = Verdict {
            lines: 0,
            authenticated: 0,
            broken: None,
        };
        let mut prev_hash = String::new();
        let mut anchor_seen = false;
        for (i, raw) in bytes
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .enumerate()
        {
            let n = i as u64 + 1;
            v.lines = n;
            let fail = |why: &str| Some((n, why.to_string()));
            let line: Line = match serde_json::from_slice(raw) {
                Ok(l) => l,
                Err(_) => {
                    v.broken = fail("not a valid audit line");
                    return Ok(v);
                }
            };
            if line.seq != n {
                v.broken = fail(&format!("sequence number {} where {n} was expected (a line was deleted, inserted or moved)", line.seq));
                return Ok(v);
            }
            if line.prev != prev_hash {
                v.broken = fail(
                    "does not follow the line before it (that line was edited, deleted or moved)",
                );
                return Ok(v);
            }
            match &line.mac {
                Some(m) => {
                    if !key.verify(&line, m) {
                        v.broken = fail(
                            "fails its MAC (edited, or written without the vault's audit key)",
                        );
                        return Ok(v);
                    }
                    v.authenticated += 1;
                }
                None if line.event == Event::UnlockFailed => {}
                None => {
                    v.broken =
                        fail("has no MAC, but only failed unlocks are written without the vault");
                    return Ok(v);
                }
            }
            prev_hash = hex::encode(Sha256::digest(raw));
            if let Some(a) = &anchor {
                if a.seq == n {
                    if a.hash != prev_hash {
                        v.broken = fail(
                            "differs from the head anchored in the vault (the file was rewritten)",
                        );
                        return Ok(v);
                    }
                    anchor_seen = true;
                }
            }
        }
        if let Some(a) = anchor {
            if !anchor_seen {
                v.broken = Some((
                    v.lines + 1,
                    format!("the log ends at line {} but the vault anchored line {} (lines were removed, or the file was replaced)", v.lines, a.seq),
                ));
            }
        }
        Ok(v)
    }
}

/// The audit log's MAC key (a vault record): it authenticates lines and checks them,
/// and cannot be mistaken for any other key.
#[derive(Clone)]
struct AuditKey(zeroize::Zeroizing<Vec<u8>>);

impl AuditKey {
    /// The HMAC over a line without its `mac` field, ready to finish.
    fn state(&self, line: &Line) -> HmacSha256 {
        let mut unmacd = line.clone();
        unmacd.mac = None;
        // Invariant: as in `append`.
        let bytes = serde_json::to_vec(&unmacd).expect("audit line serialises");
        // Invariant: HMAC accepts keys of any length.
        let mut m = HmacSha256::new_from_slice(&self.0).expect("any key length");
        m.update(&bytes);
        m
    }

    /// The line's MAC, hex.
    fn mac(&self, line: &Line) -> String {
        hex::encode(self.state(line).finalize().into_bytes())
    }

    /// Whether `mac` (hex, as stored) is the line's MAC, compared in constant time
    /// (`Mac::verify_slice`): the time taken does not tell how many leading bytes match.
    fn verify(&self, line: &Line, mac: &str) -> bool {
        match hex::decode(mac) {
            Ok(tag) => self.state(line).verify_slice(&tag).is_ok(),
            Err(_) => false,
        }
    }
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests;
