//! Pleo API keys and other static tokens in the app: add one (verified first), rotate it
//! (the new one verified before it replaces the old), and check any connection with its
//! provider (Pleo's installation status among it). Thin calls into core's operations
//! layer; this file adds the app's words.

use crate::connections::{conn_name, op, ops_err, session, view};
use crate::error::Error;
use crate::models::{AddKeyForm, CheckResult, Checked, RotateForm, Rotated};
use crate::wallet::Wallet;

use token_wallet_core::clock;
use token_wallet_core::connection::CredentialKind;
use token_wallet_core::facts::InstallationStatus;
use token_wallet_core::oauth::http::Http;
use token_wallet_core::ops::{CheckOutcome, Pasted};
use zeroize::Zeroizing;

/// A form's date (`YYYY-MM-DD`), or none if left empty.
fn date(text: &str) -> Result<Option<u64>, Error> {
    match text.trim() {
        "" => Ok(None),
        d => clock::parse_expiry(d).map(Some).map_err(Error::Invalid),
    }
}

/// The key from the native dialog, held to core's rule for pasted secrets.
fn key(text: String, what: &str) -> Result<Pasted, Error> {
    let text = Zeroizing::new(text);
    Pasted::new(&text).map_err(|_| Error::Invalid(format!("paste the {what}: the field is empty")))
}

impl Wallet {
    /// Verifies a Pleo API key with Pleo and stores it; nothing is stored if it does not
    /// verify.
    pub fn add_api_key(&self, f: AddKeyForm) -> Result<crate::models::ConnectionView, Error> {
        let a = self.unlocked_agent()?;
        a.note_activity();
        let name = conn_name(f.name.trim())?;
        let expires_at = date(&f.expires)?;
        let secret = key(f.key, "API key")?;
        let provider = self
            .config()?
            .core
            .provider(&f.provider, &Http::new())
            .map_err(op)?;
        let info = session(&a, |s| {
            s.add_api_key(&name, &provider, &secret, expires_at, true)
        })?
        .map_err(ops_err)?;
        Ok(view(info))
    }

    /// Replaces a key or token with a new one, verified first; says where to revoke the
    /// old one.
    pub fn rotate_secret(&self, f: RotateForm) -> Result<Rotated, Error> {
        let a = self.unlocked_agent()?;
        a.note_activity();
        let name = conn_name(&f.name)?;
        let expires_at = date(&f.expires)?;
        let secret = key(f.key, "new key")?;
        let r =
            session(&a, |s| s.rotate_secret(&name, &secret, expires_at, true))?.map_err(ops_err)?;
        let place = if r.info.kind == CredentialKind::ApiKey {
            "in Pleo’s web app (Settings → API keys)"
        } else {
            "where it was made"
        };
        Ok(Rotated {
            message: format!(
                "Rotated “{name}”: the new key is in place. The old one still works until you revoke it {place}: {}.",
                r.old
            ),
            connection: view(r.info),
        })
    }

    /// Checks a connection with its provider now (an API key with Pleo's introspection,
    /// OAuth with its provider's check; Pleo's installation status too).
    pub fn check_connection(&self, name: &str) -> Result<Checked, Error> {
        let a = self.unlocked_agent()?;
        a.note_activity();
        let n = conn_name(name)?;
        let c = session(&a, |s| s.check(&n))?.map_err(ops_err)?;
        let i = &c.info;
        let installation = match i.installation() {
            Some(x) if x.status == InstallationStatus::None => {
                " It has no installation yet.".to_string()
            }
            Some(x) if x.status == InstallationStatus::Unknown => {
                " Its installation's status is unknown: Pleo's answer could not be read.".into()
            }
            Some(x) => format!(" Its installation is {}.", x.words()),
            None => String::new(),
        };
        let why = i
            .check_error
            .as_deref()
            .map(crate::error::plain)
            .unwrap_or_default();
        let message = match c.outcome {
            CheckOutcome::Unverifiable => {
                format!("“{name}” is a static token: there is nothing to check it with.")
            }
            CheckOutcome::Refused => format!(
                "{} refused “{name}”: {why}. Make a new key and rotate it in.",
                i.provider.display_name
            ),
            CheckOutcome::Failed => format!("“{name}” could not be checked: {why}."),
            _ => format!(
                "{} accepts “{name}”.{installation}",
                i.provider.display_name
            ),
        };
        Ok(Checked {
            outcome: CheckResult::from(&c.outcome),
            message,
            connection: view(c.info),
        })
    }
}

/// A desktop notification worth sending once: `key` says which (the same alert again is
/// not sent twice), `title` and `body` what.
pub struct Notice {
    /// Which alert, at which warning: `books:key_expiring:7`.
    pub key: String,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
}

impl Wallet {
    /// What the keys need a person for: an expiry 30, 7 or 1 days away or past, a key
    /// Pleo refused, an installation in `ERROR` / `INACTIVE`.
    pub fn key_notices(&self) -> Result<Vec<Notice>, Error> {
        use token_wallet_core::monitor::{connection_alerts, Alert, Thresholds};
        let a = self.unlocked_agent()?;
        let all = session(&a, |s| s.list())?.map_err(ops_err)?;
        Ok(
            connection_alerts(&all, &Thresholds::default(), clock::now())
                .into_iter()
                .filter_map(|alert| {
                    let (key, title) = match &alert {
                        Alert::KeyExpiring {
                            connection,
                            warning,
                            ..
                        } => (
                            format!("{connection}:expiring:{warning}"),
                            "A key expires soon",
                        ),
                        Alert::KeyExpired { connection, .. } => {
                            (format!("{connection}:expired"), "A key has expired")
                        }
                        Alert::VerificationFailed { connection, .. } => {
                            (format!("{connection}:refused"), "Pleo refused an API key")
                        }
                        Alert::InstallationProblem {
                            connection, status, ..
                        } => (
                            format!("{connection}:installation:{status}"),
                            "A Pleo installation needs attention",
                        ),
                        _ => return None,
                    };
                    Some(Notice {
                        key,
                        title: title.to_string(),
                        body: crate::error::plain(&alert.to_string()),
                    })
                })
                .collect(),
        )
    }
}
