//! Keystore errors. Messages name the store and say what to do; they never carry a stored
//! value (some `keyring` errors embed the bytes they failed to decode: those are dropped).

use std::time::Duration;

/// What went wrong talking to the keystore.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeystoreError {
    /// No keystore answered, or it refused access (locked, no service running).
    #[error("the {store} keystore is not available: {detail}. {hint}")]
    Unavailable {
        /// Which store.
        store: &'static str,
        /// What it said.
        detail: String,
        /// What to do about it.
        hint: &'static str,
    },
    /// A keystore call did not return in time.
    #[error("the {store} keystore did not answer within {timeout:?} while trying to {op} ({}); nothing was committed unless the write finished in the background", timeout_hint(store))]
    Timeout {
        /// Which store.
        store: &'static str,
        /// What we were doing.
        op: &'static str,
        /// How long we waited.
        timeout: Duration,
    },
    /// A chunked value is missing one of its chunks.
    #[error("keystore entry `{entry}` is missing chunk {index} of {count}: the vault is damaged; restore the keystore from a backup")]
    MissingChunk {
        /// Entry name.
        entry: String,
        /// Which chunk.
        index: u32,
        /// How many there should be.
        count: u32,
    },
    /// A stored value does not have the shape the adapter wrote.
    #[error("keystore entry `{entry}` is damaged ({why}); restore the keystore from a backup")]
    Corrupt {
        /// Entry name.
        entry: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The store refused or failed an operation.
    #[error("the {store} keystore failed to {op} `{entry}`: {detail}")]
    Failed {
        /// Which store.
        store: &'static str,
        /// What we were doing.
        op: &'static str,
        /// Entry name.
        entry: String,
        /// What it said.
        detail: String,
    },
    /// A write was refused because the entry changed since this process read it (another
    /// machine wrote first); nothing was overwritten.
    #[error("the {store} keystore refused to write `{entry}`: another machine changed it since it was read ({detail}); nothing was overwritten. Try again")]
    Conflict {
        /// Which store.
        store: &'static str,
        /// Entry name.
        entry: String,
        /// What it said.
        detail: String,
    },
    /// The store would not keep values across a restart (a mock or in-memory store).
    #[error("the keystore `{0}` does not persist credentials (it is a mock or in-memory store); refusing to keep a vault there")]
    NotPersistent(String),
    /// A name that the adapter reserves or cannot store.
    #[error("invalid keystore entry name `{0}`")]
    InvalidName(String),
}

/// What to do about a store that did not answer in time.
fn timeout_hint(store: &str) -> &'static str {
    if store == super::openbao::STORE_NAME {
        "is the OpenBao server reachable and unsealed? Try again, or raise --keystore-timeout"
    } else {
        "is it waiting for an unlock prompt? Unlock it and try again"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_to_do() {
        let e = KeystoreError::MissingChunk {
            entry: "header".into(),
            index: 1,
            count: 3,
        };
        assert!(e.to_string().contains("restore"));
        let e = KeystoreError::Timeout {
            store: "secret-service",
            op: "read",
            timeout: Duration::from_secs(2),
        };
        assert!(e.to_string().contains("unlock prompt"));
    }
}
