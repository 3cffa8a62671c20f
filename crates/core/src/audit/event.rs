//! The audit events ([`Event`]: what happened, its fields names, counts and the closed
//! values of `fields`) and one line of the log ([`Line`]), as they are serialised.

use super::fields::{CheckOutcome, DisconnectHow, ExportVia, PruneReason, RefreshFailure};
use serde::{Deserialize, Serialize};

/// What happened. Field values are names and classes, never secrets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// A vault was created.
    VaultCreated,
    /// The vault was unlocked.
    VaultUnlocked {
        /// The process that unlocked it (omitted in lines of builds before 2026-12-03).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pid: Option<u32>,
        /// That process's executable.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        process: Option<String>,
    },
    /// A wrong passphrase was given.
    UnlockFailed {
        /// The process it was given to (omitted in lines of builds before 2026-12-03).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pid: Option<u32>,
        /// That process's executable.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        process: Option<String>,
    },
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
        /// Where the token went when not to the requester itself: the clipboard or the
        /// app's window.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        via: Option<ExportVia>,
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
    /// Requests a local proxy (`token-wallet proxy`) forwarded with the connection's token,
    /// batched: one line per method, path, status and client in each flush period.
    Proxied {
        /// Connection.
        connection: String,
        /// The request's method.
        method: String,
        /// Its path, without the query.
        path: String,
        /// The status the client was answered with (the proxy's own refusals too).
        status: u16,
        /// How many such requests.
        requests: u64,
        /// Bytes of the answers' bodies sent to the client.
        bytes: u64,
        /// The client's process id, where known.
        pid: Option<u32>,
        /// The client's executable, where known.
        process: Option<String>,
    },
}

impl Event {
    /// `VaultUnlocked` by this process.
    pub fn vault_unlocked() -> Self {
        let (pid, process) = this_process();
        Event::VaultUnlocked { pid, process }
    }

    /// `UnlockFailed` in this process.
    pub fn unlock_failed() -> Self {
        let (pid, process) = this_process();
        Event::UnlockFailed { pid, process }
    }

    /// Whether this is an unlock (by any process).
    pub fn is_unlock(&self) -> bool {
        matches!(self, Event::VaultUnlocked { .. })
    }

    /// Whether this is a failed unlock (by any process).
    pub fn is_unlock_failure(&self) -> bool {
        matches!(self, Event::UnlockFailed { .. })
    }

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
            | Event::Pruned { connection, .. }
            | Event::Proxied { connection, .. } => Some(connection),
            _ => None,
        }
    }

    pub(super) fn connection_mut(&mut self) -> Option<&mut String> {
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
            | Event::Pruned { connection, .. }
            | Event::Proxied { connection, .. } => Some(connection),
            _ => None,
        }
    }
}

/// This process's id and executable: the unlock events' and the app's own exports'
/// ([`crate::ops::Requester::this_process_via`]).
pub(crate) fn this_process() -> (Option<u32>, Option<String>) {
    let exe = std::env::current_exe()
        .ok()
        .map(|p| p.display().to_string());
    (Some(std::process::id()), exe)
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
