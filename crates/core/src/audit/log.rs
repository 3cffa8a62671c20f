//! The audit log of one profile ([`AuditLog`]): appending lines, reading them back,
//! anchoring the chain's head in the vault, and the audit key's handling.

use super::event::{Event, Line};
use super::key::{AuditKey, Keys, NameKey};
use super::AuditError;
use crate::files::FilesError;
use crate::lock::VaultLock;
use crate::vault::{UnlockedVault, VaultError};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

const KEY_RECORD: &str = "audit.key";
pub(super) const ANCHOR_RECORD: &str = "audit.anchor";

#[derive(Serialize, Deserialize)]
pub(super) struct Anchor {
    pub(super) seq: u64,
    pub(super) hash: String,
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
    pub(super) fn key(&self, vault: &mut UnlockedVault) -> Result<(AuditKey, NameKey), AuditError> {
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
    pub(super) fn bytes(&self) -> Result<Vec<u8>, AuditError> {
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

    pub(super) fn load_key(vault: &mut UnlockedVault) -> Result<AuditKey, AuditError> {
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
        let durable =
            !(self.buffer_exports && matches!(event, Event::Export { .. } | Event::Proxied { .. }));
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
        // An identity that may only consume a team vault may not write to it: its log
        // is chained and keyed, and not anchored.
        if vault.consume_only() {
            return Ok(());
        }
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
                &self.anchor_record(vault)?,
                &serde_json::to_vec(&a).expect("anchor serialises"),
            )?;
        }
        Ok(())
    }

    /// The record that anchors this log's head in `vault`: `audit.anchor`; on a store
    /// shared by several machines (each with its own log) `audit.anchor.<id>`, with this
    /// data directory's random machine id (`machine.id`, made on first use).
    pub(super) fn anchor_record(&self, vault: &UnlockedVault) -> Result<String, AuditError> {
        if !vault.is_shared() {
            return Ok(ANCHOR_RECORD.into());
        }
        let path = self.path.with_file_name("machine.id");
        let valid = |b: &[u8]| b.len() == 32 && b.iter().all(|c| c.is_ascii_hexdigit());
        let id = match crate::files::read_private(&path)? {
            Some(b) if valid(&b) => String::from_utf8_lossy(&b).into_owned(),
            _ => {
                let id = hex::encode(crate::crypto::random::<16>());
                crate::files::write_atomic(&path, id.as_bytes())?;
                id
            }
        };
        Ok(format!("{ANCHOR_RECORD}.{id}"))
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
}
