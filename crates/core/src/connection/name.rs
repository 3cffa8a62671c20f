//! Connection names ([`ConnectionName`], checked once) and the vault records they name.

use crate::vault::VaultError;
use serde::{Deserialize, Serialize};

/// Vault record names of connections start with this (other records may follow later).
pub const RECORD_PREFIX: &str = "c.";

fn record(name: &str) -> String {
    format!("{RECORD_PREFIX}{name}")
}

/// The longest connection name, in characters (ASCII only).
pub const MAX_NAME_CHARS: usize = 62;

/// A connection's name, checked once: 1 to [`MAX_NAME_CHARS`] characters from
/// `A-Z a-z 0-9 . _ -`. Every function that takes one takes this type, so nothing checks a
/// name again; the CLI and the app both show this rule's own error.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ConnectionName(String);

impl ConnectionName {
    /// Checks `name`.
    pub fn new(name: &str) -> Result<Self, VaultError> {
        let bad = || VaultError::InvalidConnectionName(name.to_string());
        if name.is_empty() || name.len() > MAX_NAME_CHARS {
            return Err(bad());
        }
        // The record name's rule (its prefix makes the 62 the record's 64), but the error
        // names what the person typed.
        crate::vault::check_name(&record(name)).map_err(|_| bad())?;
        Ok(Self(name.to_string()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(super) fn record(&self) -> String {
        record(&self.0)
    }
}

impl std::ops::Deref for ConnectionName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ConnectionName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for ConnectionName {
    type Err = VaultError;
    fn from_str(s: &str) -> Result<Self, VaultError> {
        Self::new(s)
    }
}

impl TryFrom<String> for ConnectionName {
    type Error = VaultError;
    fn try_from(s: String) -> Result<Self, VaultError> {
        Self::new(&s)
    }
}

impl From<ConnectionName> for String {
    fn from(n: ConnectionName) -> String {
        n.0
    }
}

impl From<&ConnectionName> for String {
    fn from(n: &ConnectionName) -> String {
        n.0.clone()
    }
}

impl PartialEq<str> for ConnectionName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for ConnectionName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}
