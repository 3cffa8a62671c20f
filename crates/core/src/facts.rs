//! What a provider's check says of a credential, typed: the account it acts for, the
//! application, the client id, the scopes, and (Pleo) the installation's status. The
//! record keeps the check as the provider's own field names and values (a string map, the
//! stored form `docs/format.md` specifies); [`CheckFacts::of`] reads it once, so no front
//! end matches `"subjectURN"` or `"ERROR"` itself. Also how a key is presented as HTTP
//! Basic. A leaf module: `connection` and `oauth` both use it, neither through the other.

use std::collections::BTreeMap;
use zeroize::Zeroizing;

/// The check's field naming the account (Pleo: the company's URN).
pub const SUBJECT: &str = "subjectURN";
/// The check's field naming the application (Pleo).
pub const APPLICATION: &str = "applicationName";
/// The check's field holding the client id (Pleo).
pub const CLIENT_ID: &str = "clientId";
/// The check's field holding the scopes (Pleo, space-separated).
pub const SCOPES: &str = "scope";
/// The check's field holding the installation's status.
pub const INSTALLATION_STATUS: &str = "installationStatus";
/// The check's field holding the installation's error code.
pub const INSTALLATION_ERROR: &str = "installationErrorCode";
/// The check's field saying why the installation's status is unknown.
pub const INSTALLATION_READ_ERROR: &str = "installationReadError";

/// An installation's status, as Pleo's `/v1/installations/me` says it, plus what the
/// wallet notes itself (`NONE`: there is none; `UNKNOWN`: the answer could not be read).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InstallationStatus {
    /// `ACTIVATED`.
    Activated,
    /// `PENDING`.
    Pending,
    /// `ERROR`: it stops the integration.
    Error,
    /// `INACTIVE`: it stops the integration.
    Inactive,
    /// `NONE`: the integration has not created one.
    None,
    /// `UNKNOWN`: Pleo's answer could not be had or read at the last check.
    Unknown,
    /// Another status Pleo may add, as it said it.
    Other(String),
}

impl InstallationStatus {
    /// From the stored word.
    pub fn parse(s: &str) -> Self {
        match s {
            "ACTIVATED" => Self::Activated,
            "PENDING" => Self::Pending,
            "ERROR" => Self::Error,
            "INACTIVE" => Self::Inactive,
            "NONE" => Self::None,
            "UNKNOWN" => Self::Unknown,
            other => Self::Other(other.to_string()),
        }
    }

    /// The stored word.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Activated => "ACTIVATED",
            Self::Pending => "PENDING",
            Self::Error => "ERROR",
            Self::Inactive => "INACTIVE",
            Self::None => "NONE",
            Self::Unknown => "UNKNOWN",
            Self::Other(s) => s,
        }
    }

    /// Whether it stops the integration (`ERROR`, `INACTIVE`).
    pub fn is_broken(&self) -> bool {
        matches!(self, Self::Error | Self::Inactive)
    }
}

/// The installation, as the last check found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installation {
    /// Its status.
    pub status: InstallationStatus,
    /// Its error code (`NOT_ENTITLED`, `AUTH_ERROR`...), if it has one.
    pub error_code: Option<String>,
    /// Why the status is unknown, when it is.
    pub read_error: Option<String>,
}

impl Installation {
    /// In words: `ERROR (AUTH_ERROR)`, `ACTIVATED`, and for an unknown status a sentence
    /// that cannot pass for one.
    pub fn words(&self) -> String {
        match (&self.status, &self.error_code) {
            (InstallationStatus::Unknown, _) => {
                "status unknown (Pleo's answer could not be read)".to_string()
            }
            (s, Some(code)) => format!("{} ({code})", s.as_str()),
            (s, None) => s.as_str().to_string(),
        }
    }
}

/// A check's facts, typed. Empty strings count as absent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckFacts {
    /// The account the credential acts for (Pleo: `urn:pleo:company:...`).
    pub subject: Option<String>,
    /// The application's name.
    pub application: Option<String>,
    /// The client id.
    pub client_id: Option<String>,
    /// The scopes granted (as the provider wrote them).
    pub scopes: Option<String>,
    /// The installation, if it was asked for.
    pub installation: Option<Installation>,
}

impl CheckFacts {
    /// Reads a record's check.
    pub fn of(check: &BTreeMap<String, String>) -> Self {
        let get = |k: &str| check.get(k).filter(|v| !v.is_empty()).cloned();
        Self {
            subject: get(SUBJECT),
            application: get(APPLICATION),
            client_id: get(CLIENT_ID),
            scopes: get(SCOPES),
            installation: get(INSTALLATION_STATUS).map(|s| Installation {
                status: InstallationStatus::parse(&s),
                error_code: get(INSTALLATION_ERROR),
                read_error: get(INSTALLATION_READ_ERROR),
            }),
        }
    }
}

/// The `Authorization` header value for `key`: `Basic base64(KEY:)` (HTTP Basic, the key
/// as the user name, an empty password). A secret. How a Pleo API key and a
/// `static-basic` token are presented.
pub fn basic_authorization(key: &str) -> Zeroizing<String> {
    use base64::Engine as _;
    let raw = Zeroizing::new(format!("{key}:"));
    Zeroizing::new(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw.as_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_reads_once_into_types() {
        let check: BTreeMap<String, String> = [
            (SUBJECT, "urn:pleo:company:1"),
            (APPLICATION, ""),
            (INSTALLATION_STATUS, "ERROR"),
            (INSTALLATION_ERROR, "AUTH_ERROR"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let f = CheckFacts::of(&check);
        assert_eq!(f.subject.as_deref(), Some("urn:pleo:company:1"));
        assert_eq!(f.application, None, "empty is absent");
        let i = f.installation.unwrap();
        assert!(i.status.is_broken());
        assert_eq!(i.words(), "ERROR (AUTH_ERROR)");
        for s in [
            "ACTIVATED",
            "PENDING",
            "ERROR",
            "INACTIVE",
            "NONE",
            "UNKNOWN",
            "LATER",
        ] {
            assert_eq!(InstallationStatus::parse(s).as_str(), s);
        }
        assert_eq!(CheckFacts::of(&BTreeMap::new()), CheckFacts::default());
    }

    #[test]
    fn the_basic_header_is_the_key_and_an_empty_password() {
        assert_eq!(basic_authorization("k3y").as_str(), "Basic azN5Og==");
    }
}
