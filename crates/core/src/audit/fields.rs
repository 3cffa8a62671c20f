//! The audit log's closed field values: each is one of a known set, written by one place
//! in core, never a front end's free text. Each reads back exactly what it wrote, and a
//! value written by an earlier version that is not in the set is kept as it was
//! (`Earlier`), so old lines still parse and their MACs still verify.

use serde::{Deserialize, Serialize};

macro_rules! closed {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal,)* }) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(from = "String", into = "String")]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vm])* $v,)*
            /// A value an earlier version wrote, kept as it was.
            Earlier(String),
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                match s.as_str() {
                    $($s => Self::$v,)*
                    _ => Self::Earlier(s),
                }
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.to_string()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(match self {
                    $(Self::$v => $s,)*
                    Self::Earlier(s) => s,
                })
            }
        }
    };
}

closed!(
    /// How a disconnect ended.
    DisconnectHow {
        /// Revoked at the provider and deleted.
        Revoked = "revoked",
        /// The provider has no revocation: deleted.
        NoRevocation = "no_revocation",
        /// Forgotten without revocation.
        Forced = "forced",
        /// The provider could not be reached: kept, to be retried.
        RevocationPending = "revocation_pending",
    }
);

closed!(
    /// Why a refresh failed.
    RefreshFailure {
        /// The provider refused the refresh token.
        InvalidGrant = "invalid_grant",
        /// An earlier refresh died after sending its request.
        Interrupted = "interrupted",
        /// The network or the provider failed in a way that may pass.
        Transient = "transient",
        /// Anything else the provider answered.
        Other = "other",
    }
);

closed!(
    /// How a credential's check went.
    CheckOutcome {
        /// The provider accepted it (and its installation, if any, is fine).
        Ok = "ok",
        /// The provider refused it (401/403): wrong, expired or revoked.
        Refused = "refused",
        /// The check could not be completed (network, an unexpected answer).
        Failed = "failed",
        /// Accepted, but the installation is `ERROR` or `INACTIVE`.
        InstallationProblem = "installation_problem",
        /// Accepted, but the installation's status could not be read.
        InstallationUnknown = "installation_unknown",
        /// A static token: nothing to check it with.
        Unverifiable = "unverifiable",
    }
);

closed!(
    /// Where an exported token went, when not to the process that asked for it.
    ExportVia {
        /// Put on the clipboard (the app's Copy, its tray menu).
        Clipboard = "clipboard",
        /// Shown in the app's window (Reveal).
        Window = "window",
    }
);

/// Why a connection was pruned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
#[non_exhaustive]
pub enum PruneReason {
    /// Its refresh token is dead: nothing at the provider can be revoked with it.
    RefreshTokenDead,
    /// Not used for this many days.
    Unused(u64),
    /// A value an earlier version wrote, kept as it was.
    Earlier(String),
}

impl std::fmt::Display for PruneReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PruneReason::RefreshTokenDead => f.write_str("refresh token no longer valid"),
            PruneReason::Unused(d) => write!(f, "unused for {d} days"),
            PruneReason::Earlier(s) => f.write_str(s),
        }
    }
}

impl From<String> for PruneReason {
    fn from(s: String) -> Self {
        if s == "refresh token no longer valid" {
            return Self::RefreshTokenDead;
        }
        let days = s
            .strip_prefix("unused for ")
            .and_then(|r| r.strip_suffix(" days"))
            .and_then(|d| d.parse().ok());
        match days {
            Some(d) if Self::Unused(d).to_string() == s => Self::Unused(d),
            _ => Self::Earlier(s),
        }
    }
}

impl From<PruneReason> for String {
    fn from(v: PruneReason) -> String {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `text` as a `T` and writes it again.
    fn again<T: Serialize + for<'a> Deserialize<'a>>(text: &str) -> String {
        serde_json::to_string(&serde_json::from_str::<T>(text).unwrap()).unwrap()
    }

    #[test]
    fn every_value_reads_back_as_written() {
        type Again = fn(&str) -> String;
        let cases: [(&str, Again); 14] = [
            ("\"revoked\"", again::<DisconnectHow>),
            ("\"no_revocation\"", again::<DisconnectHow>),
            ("\"forced\"", again::<DisconnectHow>),
            ("\"revocation_pending\"", again::<DisconnectHow>),
            ("\"other\"", again::<DisconnectHow>),
            ("\"invalid_grant\"", again::<RefreshFailure>),
            ("\"interrupted\"", again::<RefreshFailure>),
            ("\"transient\"", again::<RefreshFailure>),
            ("\"other\"", again::<RefreshFailure>),
            ("\"x\"", again::<RefreshFailure>),
            ("\"refresh token no longer valid\"", again::<PruneReason>),
            ("\"unused for 90 days\"", again::<PruneReason>),
            ("\"unused for 090 days\"", again::<PruneReason>),
            ("\"custom\"", again::<PruneReason>),
        ];
        for (text, f) in cases {
            assert_eq!(f(text), text);
        }
        assert_eq!(
            PruneReason::from("unused for 7 days".to_string()),
            PruneReason::Unused(7)
        );
        assert_eq!(
            DisconnectHow::from("forced".to_string()),
            DisconnectHow::Forced
        );
        assert_eq!(
            DisconnectHow::from("other".to_string()),
            DisconnectHow::Earlier("other".into())
        );
    }
}
