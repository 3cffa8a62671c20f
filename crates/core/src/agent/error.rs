//! What can go wrong between a client and the agent. Each error has a stable wire name
//! ([`AgentError::kind`]) so a client can tell "locked" from "needs re-authorisation"
//! without parsing messages. No message ever holds a token or a passphrase.

/// An agent error, on either side of the socket.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// The agent holds no unlocked vault.
    #[error("the agent is locked")]
    Locked,
    /// No such connection.
    #[error("no connection named `{0}`")]
    NotFound(String),
    /// The connection must be connected again.
    #[error("{0}")]
    NeedsReauthorisation(String),
    /// The connection is being disconnected.
    #[error("{0}")]
    RevocationPending(String),
    /// The provider could not be reached (after retries).
    #[error("{0}")]
    ProviderUnreachable(String),
    /// The provider refused or answered badly.
    #[error("{0}")]
    Provider(String),
    /// An API key or static token past its expiry date.
    #[error("{0}")]
    Expired(String),
    /// A wrong passphrase was given to `unlock`.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// The vault or keystore failed.
    #[error("{0}")]
    Vault(String),
    /// The request was not understood.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// A frame was longer than the protocol allows.
    #[error("frame too large: at most {0} bytes")]
    TooLarge(usize),
    /// The client speaks another protocol version.
    #[error("unsupported protocol version {0}; this agent speaks version {1}")]
    UnsupportedVersion(u64, u32),
    /// Too many clients at once.
    #[error("the agent is busy ({0} clients connected); try again")]
    Busy(usize),
    /// The client took too long to send a whole request.
    #[error("timed out waiting for a complete request")]
    Timeout,
    /// The peer is another user.
    #[error("connection refused: the agent serves only its own user ({0})")]
    PeerRefused(String),
    /// No agent is listening.
    #[error("no agent is running (socket {0})")]
    NotRunning(String),
    /// An agent is already listening on the socket.
    #[error("an agent is already running on {0}")]
    AlreadyRunning(String),
    /// The socket's directory is not private to this user.
    #[error("refusing the agent socket directory {0}: {1}")]
    UnsafeDir(String, String),
    /// The socket, or the process listening on it, is not this user's: not our agent.
    #[error("refusing the agent socket {0}: {1}")]
    NotYourAgent(String, String),
    /// Socket input/output failed.
    #[error("agent socket: {0}")]
    Io(String),
    /// Anything else the agent reported.
    #[error("{0}")]
    Other(String),
}

impl AgentError {
    /// The stable wire name of this error.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Locked => "locked",
            Self::NotFound(_) => "not_found",
            Self::NeedsReauthorisation(_) => "needs_reauthorisation",
            Self::RevocationPending(_) => "revocation_pending",
            Self::ProviderUnreachable(_) => "provider_unreachable",
            Self::Provider(_) => "provider",
            Self::Expired(_) => "expired",
            Self::WrongPassphrase => "wrong_passphrase",
            Self::Vault(_) => "vault",
            Self::BadRequest(_) => "bad_request",
            Self::TooLarge(_) => "too_large",
            Self::UnsupportedVersion(..) => "unsupported_version",
            Self::Busy(_) => "busy",
            Self::Timeout => "timeout",
            Self::PeerRefused(_) => "peer_refused",
            Self::NotRunning(_) => "not_running",
            Self::AlreadyRunning(_) => "already_running",
            Self::UnsafeDir(..) => "unsafe_dir",
            Self::NotYourAgent(..) => "not_your_agent",
            Self::Io(_) => "io",
            Self::Other(_) => "other",
        }
    }

    /// Rebuilds an error a client received: the kinds a client acts on keep their
    /// variant; the message is the agent's.
    pub fn from_wire(kind: &str, message: String) -> Self {
        match kind {
            "locked" => Self::Locked,
            "needs_reauthorisation" => Self::NeedsReauthorisation(message),
            "revocation_pending" => Self::RevocationPending(message),
            "provider_unreachable" => Self::ProviderUnreachable(message),
            "provider" => Self::Provider(message),
            "expired" => Self::Expired(message),
            "wrong_passphrase" => Self::WrongPassphrase,
            _ => Self::Other(message),
        }
    }

    /// The CLI's exit code for it: 3 locked, 4 needs re-authorisation, 5 provider
    /// unreachable, 6 an API key or static token expired, 1 anything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Locked => 3,
            Self::NeedsReauthorisation(_) => 4,
            Self::ProviderUnreachable(_) => 5,
            Self::Expired(_) => 6,
            _ => 1,
        }
    }
}

impl From<std::io::Error> for AgentError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_that_clients_act_on_survive_the_wire() {
        for e in [
            AgentError::Locked,
            AgentError::NeedsReauthorisation("x".into()),
            AgentError::RevocationPending("x".into()),
            AgentError::ProviderUnreachable("x".into()),
            AgentError::Provider("x".into()),
            AgentError::Expired("x".into()),
            AgentError::WrongPassphrase,
        ] {
            let back = AgentError::from_wire(e.kind(), e.to_string());
            assert_eq!(back, e);
        }
        assert_eq!(AgentError::Locked.exit_code(), 3);
        assert_eq!(AgentError::NeedsReauthorisation("x".into()).exit_code(), 4);
        assert_eq!(AgentError::ProviderUnreachable("x".into()).exit_code(), 5);
        assert_eq!(AgentError::from_wire("busy", "b".into()).exit_code(), 1);
    }
}
