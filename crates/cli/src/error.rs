//! The command line's errors: core's neutral message, then what to do about it here
//! (which flag, which command), and the exit code scripts act on.
//!
//! Exit codes: 1 error, 2 usage (clap), 3 the agent is locked, 4 the connection needs
//! re-authorisation, 5 the provider cannot be reached, 6 an API key or token is past its
//! date, 8 `check`: refused, or the installation is in error, 127 `exec` could not run
//! the command.

use token_wallet_core::agent::AgentError;
use token_wallet_core::audit::AuditError;
use token_wallet_core::config::ConfigError;
use token_wallet_core::oauth::OAuthError;
use token_wallet_core::ops::OpError;
use token_wallet_core::refresh::RefreshError;
use token_wallet_core::{KeystoreError, VaultError};

/// A failed command.
#[derive(Debug)]
pub enum Error {
    /// A setting.
    Config(ConfigError),
    /// The keystore.
    Keystore(KeystoreError),
    /// The vault.
    Vault(VaultError),
    /// The provider or the sign-in.
    OAuth(OAuthError),
    /// An operation.
    Op(OpError),
    /// The running agent.
    Agent(AgentError),
    /// The audit log.
    Audit(AuditError),
    /// Anything else, said plainly, with its exit code.
    Message(u8, String),
    /// Standard output was closed (`| head`): stop quietly.
    BrokenPipe,
    /// `exec`'s command ended with this exit code: end with it, saying nothing.
    ChildExit(i32),
    /// The command has printed what it found (`check`): end with this exit code.
    Found(u8),
}

impl Error {
    /// A plain failure (exit code 1).
    pub fn msg(text: impl Into<String>) -> Self {
        Error::Message(1, text.into())
    }

    /// The process's exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Agent(e) => e.exit_code(),
            Error::Op(OpError::Refresh(e)) => refresh_code(e),
            Error::Message(code, _) | Error::Found(code) => *code,
            Error::BrokenPipe => 0,
            // Exit codes are 0-255 (a signal is 128 + its number).
            Error::ChildExit(c) => u8::try_from(*c).unwrap_or(1),
            _ => 1,
        }
    }

    /// What to do, in this command line's words, if there is something to say.
    fn advice(&self) -> Option<String> {
        if let Error::Op(OpError::Refresh(
            RefreshError::NeedsReauthorisation { name, .. } | RefreshError::NoRefreshToken(name),
        )) = self
        {
            return Some(format!(
                "sign in again with `token-wallet reauthorise {name}`"
            ));
        }
        Some(match self {
            Error::Config(ConfigError::NoDataDir) => "pass --home",
            Error::Config(ConfigError::ChunkTooSmall(_)) => "raise --chunk-size",
            Error::Keystore(KeystoreError::Unavailable { .. }) => "the file store is `--store file`",
            Error::Vault(VaultError::NoVault { .. }) => "create one with `token-wallet init`",
            Error::Vault(VaultError::AlreadyExists { .. }) => "unlock it, or use another --profile",
            Error::OAuth(e) | Error::Op(OpError::OAuth(e)) => oauth_advice(e)?,
            Error::Op(OpError::RevocationRefused { .. }) => {
                "the connection is kept; `disconnect --force` forgets it anyway (its tokens may stay live at the provider)"
            }
            Error::Op(OpError::BeingDisconnected(_)) => {
                "connect it again under a new name instead"
            }
            Error::Agent(e) => match e {
                AgentError::Locked => "unlock it with `token-wallet agent unlock` (or pass --passphrase-stdin / --passphrase-file to unlock this command alone)",
                AgentError::NotFound(_) => "see `token-wallet list`",
                AgentError::NeedsReauthorisation(_) => {
                    "sign in again with `token-wallet reauthorise NAME`"
                }
                AgentError::AlreadyRunning(_) => "stop it with `token-wallet agent stop`",
                _ => return None,
            },
            _ => return None,
        }
        .to_string())
    }
}

fn oauth_advice(e: &OAuthError) -> Option<&'static str> {
    Some(match e {
        OAuthError::UnknownProvider(_) => "`token-wallet providers` lists them",
        OAuthError::Timeout(_) => "try again (--no-browser prints the link to open yourself)",
        OAuthError::Browser(_) => "use --no-browser and open the link yourself",
        OAuthError::NoClientId(_) => "give --client-id",
        OAuthError::NoClientSecret(_) => "give it with --client-secret-stdin",
        OAuthError::AuthorizeUnreachable { .. } => {
            "check the provider's address (`token-wallet providers`) and your network, then try again"
        }
        // At a sign-in (a refresh's failure is a RefreshError, not this).
        OAuthError::TokenRefused { .. } | OAuthError::BadTokenResponse { .. } => {
            "nothing was stored"
        }
        _ => return None,
    })
}

fn refresh_code(e: &RefreshError) -> u8 {
    match e {
        RefreshError::NeedsReauthorisation { .. } | RefreshError::NoRefreshToken(_) => 4,
        RefreshError::Provider { error, .. } if error.is_transient() => 5,
        RefreshError::Expired { .. } => 6,
        _ => 1,
    }
}

impl Error {
    /// The connection an operation did not find, if that is what went wrong.
    fn missing_connection(&self) -> Option<&str> {
        match self {
            Error::Op(
                OpError::Vault(VaultError::NotFound(n))
                | OpError::Refresh(RefreshError::Vault(VaultError::NotFound(n))),
            ) => Some(n),
            _ => None,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(n) = self.missing_connection() {
            return write!(f, "no connection named `{n}`; see `token-wallet list`");
        }
        match self {
            Error::Config(e) => write!(f, "{e}"),
            Error::Keystore(e) => write!(f, "{e}"),
            Error::Vault(e) => write!(f, "{e}"),
            Error::OAuth(e) => write!(f, "{e}"),
            Error::Op(e) => write!(f, "{e}"),
            Error::Agent(e) => write!(f, "{e}"),
            Error::Audit(e) => write!(f, "{e}"),
            Error::Message(_, m) => f.write_str(m),
            Error::BrokenPipe => f.write_str("standard output was closed"),
            Error::ChildExit(c) => write!(f, "the command exited with {c}"),
            Error::Found(c) => write!(f, "exit code {c}"),
        }?;
        match self.advice() {
            Some(a) => write!(f, "; {a}"),
            None => Ok(()),
        }
    }
}

macro_rules! from {
    ($($t:ty => $v:ident),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::$v(e)
            }
        }
    )*};
}
from!(ConfigError => Config, KeystoreError => Keystore, VaultError => Vault,
      OAuthError => OAuth, OpError => Op, AgentError => Agent, AuditError => Audit);

impl From<RefreshError> for Error {
    fn from(e: RefreshError) -> Self {
        Error::Op(OpError::Refresh(e))
    }
}

impl From<String> for Error {
    fn from(m: String) -> Self {
        Error::msg(m)
    }
}

impl From<&str> for Error {
    fn from(m: &str) -> Self {
        Error::msg(m)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Error::BrokenPipe
        } else {
            Error::msg(e.to_string())
        }
    }
}

/// A command's result.
pub type Result<T = ()> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_says_what_happened_the_cli_says_what_to_do() {
        let e = Error::from(VaultError::NoVault {
            store: "file",
            service: "token-wallet".into(),
        });
        assert_eq!(
            e.to_string(),
            "no vault found in the file keystore under `token-wallet`; create one with `token-wallet init`"
        );
        let e = Error::from(RefreshError::NeedsReauthorisation {
            name: "payroll".into(),
            reason: "invalid_grant".into(),
        });
        assert_eq!(e.exit_code(), 4);
        assert!(e
            .to_string()
            .ends_with("; sign in again with `token-wallet reauthorise payroll`"));
        assert_eq!(Error::from(AgentError::Locked).exit_code(), 3);
        let pipe = Error::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert_eq!(pipe.exit_code(), 0);
    }
}
