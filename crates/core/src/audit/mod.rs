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
//! closed enum of names, counts, classes and process ids.

use crate::lock::VaultLock;
use crate::vault::{UnlockedVault, VaultError};

mod fields;
pub use fields::{CheckOutcome, DisconnectHow, PruneReason, RefreshFailure};
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
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
}

/// Where audit events go. The CLI appends each at once ([`LogRecorder`]); the agent
/// batches them and anchors the log at its next flush.
pub trait Recorder: Sync {
    /// Appends `event`, authenticated while the vault is unlocked. A failure to write is
    /// logged, never fatal: the operation already happened.
    fn record(&self, event: Event);
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
        if let Err(e) = self.log.append(event, Some(&mut crate::guard(self.vault))) {
            tracing::error!(error = %e, "could not write the audit log");
        }
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

/// The audit log of one profile.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    /// The audit key, once read from the vault (it never changes).
    key: std::sync::Mutex<Option<AuditKey>>,
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

    /// The audit key (cached), created in the vault on first use.
    fn key(&self, vault: &mut UnlockedVault) -> Result<AuditKey, AuditError> {
        let mut cache = self.key.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = &*cache {
            return Ok(k.clone());
        }
        let k = Self::load_key(vault)?;
        *cache = Some(k.clone());
        Ok(k)
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
        match std::fs::File::open(&self.path) {
            Ok(f) => f.sync_data().map_err(|e| self.io(e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.io(e)),
        }
    }

    fn write_line(
        &self,
        event: Event,
        vault: Option<&mut UnlockedVault>,
        durable: bool,
    ) -> Result<(), AuditError> {
        let key = match vault {
            Some(v) => Some(self.key(v)?),
            None => None,
        };
        let _lock =
            VaultLock::acquire(&self.path.with_extension("lock")).map_err(|e| self.io(e.into()))?;
        let mut f = crate::files::open_private(&self.path, true)
            .map_err(|e| self.io(std::io::Error::other(e)))?;
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

    /// Forgets the cached audit key (when the vault is locked).
    pub fn forget_key(&self) {
        *self.key.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Records the chain's head in the vault (call once a command is done).
    pub fn anchor(&self, vault: &mut UnlockedVault) -> Result<(), AuditError> {
        // Opened for appending, not only reading: Windows syncs a file only through a
        // handle that may write it. Nothing is written here.
        let opened = std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .open(&self.path);
        let mut f = match opened {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(self.io(e)),
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

    /// Reads every line (for `audit`).
    pub fn read(&self) -> Result<Vec<Line>, AuditError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.io(e)),
        };
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect())
    }

    /// Checks what can be checked without the vault: every line parses, the sequence
    /// numbers count up from 1 and each line follows the one before it (hash chain).
    /// Returns the first broken line and why. `verify` also checks the MACs and anchor.
    pub fn chain_break(&self) -> Result<Option<(u64, String)>, AuditError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io(e)),
        };
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
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(self.io(e)),
        };
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
