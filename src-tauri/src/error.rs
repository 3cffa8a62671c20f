//! The one error type the commands return. It reaches the webview as a plain message
//! string (never a structure, never a secret): the UI shows it as it is.

use serde::{Serialize, Serializer};
use token_wallet_core::oauth::OAuthError;
use token_wallet_core::ops::OpError;
use token_wallet_core::refresh::RefreshError;
use token_wallet_core::{KeystoreError, VaultError};

/// What went wrong, in words a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The environment names an invalid profile, store or directory.
    #[error("configuration: {0}")]
    Config(String),
    /// No vault under this profile.
    #[error("no vault exists for this profile yet; create one")]
    NoVault,
    /// `create` found one already.
    #[error("a vault already exists for this profile; unlock it instead")]
    AlreadyExists,
    /// The passphrase does not open the vault (a change of passphrase refused).
    #[error("wrong passphrase; nothing was changed")]
    WrongPassphrase,
    /// The passphrase typed to unlock does not open the vault.
    #[error("wrong passphrase")]
    WrongUnlockPassphrase,
    /// Too many wrong passphrases: wait this many seconds.
    #[error("too many failed attempts; wait {0} s before trying again")]
    Throttled(u64),
    /// Nothing was typed.
    #[error("enter a passphrase")]
    EmptyPassphrase,
    /// A new passphrase shorter than the minimum.
    #[error("choose a passphrase of at least {0} characters")]
    TooShort(usize),
    /// The confirmation differs.
    #[error("the two passphrases do not match")]
    Mismatch,
    /// The operation needs an unlocked vault.
    #[error("the vault is locked; unlock it first")]
    Locked,
    /// Any other vault error (damage, format, lock file...): core's message says what to do.
    #[error(transparent)]
    Vault(VaultError),
    /// The keystore failed: core's message names the store and what to do.
    #[error(transparent)]
    Keystore(#[from] KeystoreError),
    /// Input the operation refuses (a bad setting, name or URL): the message says which.
    #[error("{0}")]
    Invalid(String),
    /// An operation on connections failed (OAuth, provider, vault): core's message says
    /// what happened and what to do.
    #[error("{0}")]
    Op(String),
    /// The person cancelled the passphrase (or key) dialog.
    #[error("cancelled; nothing was changed")]
    Cancelled,
    /// A bug or a crashed worker thread.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<VaultError> for Error {
    fn from(e: VaultError) -> Self {
        match e {
            VaultError::NoVault { .. } => Error::NoVault,
            VaultError::AlreadyExists { .. } => Error::AlreadyExists,
            VaultError::WrongPassphrase => Error::WrongPassphrase,
            VaultError::EmptyPassphrase => Error::EmptyPassphrase,
            VaultError::Keystore(k) => Error::Keystore(k),
            other => Error::Vault(other),
        }
    }
}

impl From<OpError> for Error {
    /// Core says what happened; the app adds what to do here, in its own words (a
    /// button, a setting), never a command-line flag.
    fn from(e: OpError) -> Self {
        let e = match e {
            OpError::PassphraseTooShort(n) => return Error::TooShort(n),
            OpError::Vault(v) => return v.into(),
            e => e,
        };
        let advice = match &e {
            OpError::Refresh(
                RefreshError::NeedsReauthorisation { .. } | RefreshError::NoRefreshToken(_),
            ) => Some("use Re-authorise to sign in again"),
            OpError::RevocationRefused { .. } => Some(
                "the connection is kept; Disconnect offers to forget it anyway (its tokens may stay live at the provider)",
            ),
            OpError::BeingDisconnected(_) => Some("connect the account again under a new name"),
            OpError::OAuth(OAuthError::Browser(_)) => {
                Some("copy the sign-in link and open it in a browser yourself")
            }
            OpError::OAuth(OAuthError::NoClientId(_)) => Some("fill in the client ID"),
            OpError::OAuth(OAuthError::NoClientSecret(_)) => Some("fill in the client secret"),
            OpError::OAuth(OAuthError::TokenRefused { .. } | OAuthError::BadTokenResponse { .. }) => {
                Some("nothing was stored")
            }
            _ => None,
        };
        match advice {
            Some(a) => Error::Op(format!("{e}; {a}")),
            None => Error::Op(e.to_string()),
        }
    }
}

impl From<token_wallet_core::agent::AgentError> for Error {
    fn from(e: token_wallet_core::agent::AgentError) -> Self {
        match e {
            token_wallet_core::agent::AgentError::Locked => Error::Locked,
            token_wallet_core::agent::AgentError::NeedsReauthorisation(m) => {
                Error::Op(format!("{m}; use Re-authorise to sign in again"))
            }
            other => Error::Op(other.to_string()),
        }
    }
}

impl Serialize for Error {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&plain(&self.to_string()))
    }
}

/// Core's messages for people reading a window, not a terminal: `name` (a name quoted as
/// code) becomes “name”, and an operating system's error number is dropped
/// ("Permission denied (os error 13)" becomes "Permission denied").
pub fn plain(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut open = false;
    for c in message.chars() {
        if c == '`' {
            out.push(if open { '”' } else { '“' });
            open = !open;
        } else {
            out.push(c);
        }
    }
    let mut s = out;
    while let Some(start) = s.find(" (os error ") {
        match s[start..].find(')') {
            Some(end) => s.replace_range(start..start + end + 1, ""),
            None => break,
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_lose_code_quotes_and_os_error_numbers() {
        assert_eq!(
            plain("`payroll` is waiting for `Pleo`"),
            "“payroll” is waiting for “Pleo”"
        );
        assert_eq!(
            plain("could not write settings.json: Permission denied (os error 13)"),
            "could not write settings.json: Permission denied"
        );
        assert_eq!(plain("an odd ` left open"), "an odd “ left open");
    }

    #[test]
    fn serialises_to_a_plain_string() {
        let json = serde_json::to_string(&Error::Throttled(4)).unwrap();
        assert_eq!(
            json,
            "\"too many failed attempts; wait 4 s before trying again\""
        );
        let e: Error = VaultError::WrongPassphrase.into();
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            "wrong passphrase; nothing was changed"
        );
    }
}
