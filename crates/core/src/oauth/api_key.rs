//! Pleo standalone API keys: what a key is (its verification through Pleo's
//! `GET /v1/introspect`, sent with HTTP Basic: the key as the user name, an empty
//! password) and its installation's status (`GET /v1/installations/me`). Keys are made
//! and revoked only in Pleo's web app; there is no API for either.
//!
//! `ops::Session::add_api_key` stores a key verified here beside the OAuth connections.

use super::http::Http;
use super::loopback::sanitize;

/// What Pleo says of a verified API key.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiKeyFacts {
    /// The company the key acts for (`urn:pleo:company:<uuid>`).
    pub company: String,
    /// The key's client id at Pleo.
    pub client_id: String,
    /// Its scopes, space-separated.
    pub scope: String,
    /// The application name the admin gave it.
    pub application_name: String,
}

/// An installation as Pleo reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct InstallationStatus {
    /// Its id.
    pub id: String,
    /// `ACTIVATED`, `INACTIVE`, `AUTHORIZED`, `PENDING_INTEGRATION` or `ERROR`.
    pub status: String,
    /// Why, when in error: `NOT_ENTITLED`, `AUTH_ERROR`, ...
    pub error_code: Option<String>,
}

/// Why an API key could not be verified or its installation read. Messages never hold
/// the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiKeyError {
    /// Pleo refused the key (401/403): wrong, expired or revoked.
    #[error("Pleo refused the API key (HTTP {0}): it is wrong, expired or revoked")]
    Refused(u16),
    /// The credential verified, but not as an API key.
    #[error("Pleo says this credential is not an API key (its method is `{0}`)")]
    NotAnApiKey(String),
    /// The provider has no API address to ask.
    #[error("provider `{0}` has no API address (api_base) to verify a key with")]
    NoApiBase(String),
    /// Pleo could not be reached.
    #[error("could not reach Pleo's API: {0}")]
    Network(String),
    /// Pleo answered something else than expected.
    #[error("Pleo's API answered unexpectedly: {0}")]
    Answer(String),
}

pub use crate::facts::basic_authorization;

/// `GET {api_base}{path}` with the key; the JSON body's `data` object, or the body itself
/// when it is an object without `data` (Pleo has been seen answering both ways), or
/// `None` for 404.
fn get_data(
    http: &Http,
    provider: &super::Provider,
    authorization: &str,
    method: fn(String) -> http::request::Builder,
    path: &str,
) -> Result<Option<serde_json::Value>, ApiKeyError> {
    let api = provider
        .api_base
        .as_deref()
        .ok_or_else(|| ApiKeyError::NoApiBase(provider.name.clone()))?
        .trim_end_matches('/');
    let req = method(format!("{api}{path}"))
        .header("Accept", "application/json")
        .header("Authorization", authorization)
        .body(Vec::new())
        .map_err(|e| ApiKeyError::Answer(e.to_string()))?;
    let resp = http
        .send(req)
        .map_err(|e| ApiKeyError::Network(e.to_string()))?;
    let status = resp.status().as_u16();
    match status {
        401 | 403 => return Err(ApiKeyError::Refused(status)),
        404 => return Ok(None),
        s if !(200..300).contains(&s) => {
            return Err(ApiKeyError::Answer(format!("HTTP {s} from {path}")))
        }
        _ => {}
    }
    let v: serde_json::Value = serde_json::from_slice(resp.body())
        .map_err(|_| ApiKeyError::Answer(format!("{path} did not answer JSON")))?;
    match v.get("data") {
        Some(d) if d.is_object() => Ok(Some(d.clone())),
        Some(_) => Err(ApiKeyError::Answer(format!(
            "{path} answered a `data` that is not an object"
        ))),
        None if v.is_object() => Ok(Some(v)),
        None => Err(ApiKeyError::Answer(format!(
            "{path} answered neither an object nor `data`"
        ))),
    }
}

fn text(v: &serde_json::Value, field: &str) -> String {
    v.get(field)
        .and_then(|s| s.as_str())
        .map(sanitize)
        .unwrap_or_default()
}

/// Verifies `key` with Pleo's `GET /v1/introspect`: it must answer for an `API_KEY`.
pub fn verify(
    http: &Http,
    provider: &super::Provider,
    key: &str,
) -> Result<ApiKeyFacts, ApiKeyError> {
    let auth = basic_authorization(key);
    let d = get_data(http, provider, &auth, http::Request::get, "/v1/introspect")?
        .ok_or_else(|| ApiKeyError::Answer("/v1/introspect: not found".into()))?;
    let method = text(&d, "authMethod");
    if method != "API_KEY" {
        return Err(ApiKeyError::NotAnApiKey(method));
    }
    let facts = ApiKeyFacts {
        company: text(&d, "subjectURN"),
        client_id: text(&d, "clientId"),
        scope: text(&d, "scope"),
        application_name: text(&d, "applicationName"),
    };
    if !facts.company.starts_with("urn:pleo:company:") {
        return Err(ApiKeyError::Answer(
            "/v1/introspect named no company".into(),
        ));
    }
    Ok(facts)
}

fn installation_of(d: &serde_json::Value) -> Result<InstallationStatus, ApiKeyError> {
    let status = text(d, "status");
    if status.is_empty() {
        return Err(ApiKeyError::Answer(
            "/v1/installations/me answered no installation status".into(),
        ));
    }
    Ok(InstallationStatus {
        id: text(d, "id"),
        status,
        error_code: Some(text(d, "errorCode")).filter(|s| !s.is_empty()),
    })
}

/// The caller's installation (`GET /v1/installations/me`); `None` if the integration
/// has not created one yet. `authorization` is the header value: an API key's
/// [`basic_authorization`], or `Bearer` and an OAuth access token.
pub fn installation(
    http: &Http,
    provider: &super::Provider,
    authorization: &str,
) -> Result<Option<InstallationStatus>, ApiKeyError> {
    get_data(
        http,
        provider,
        authorization,
        http::Request::get,
        "/v1/installations/me",
    )?
    .map(|d| installation_of(&d))
    .transpose()
}

/// Creates the key's installation (`POST /v1/installations/me`), as Pleo expects an
/// API-key integration to; idempotent.
pub fn install(
    http: &Http,
    provider: &super::Provider,
    key: &str,
) -> Result<InstallationStatus, ApiKeyError> {
    get_data(
        http,
        provider,
        &basic_authorization(key),
        http::Request::post,
        "/v1/installations/me",
    )?
    .map(|d| installation_of(&d))
    .ok_or_else(|| ApiKeyError::Answer("/v1/installations/me: not found".into()))?
}

/// Notes what [`installation`] found among a check's facts: the status and error code
/// (`NONE` when the integration has not created one), or, when the answer could not be
/// had or read, `UNKNOWN` and why. Never nothing: an unreadable installation must not
/// look like a healthy one.
pub fn note_installation(
    check: &mut std::collections::BTreeMap<String, String>,
    installation: Result<Option<&InstallationStatus>, &ApiKeyError>,
) {
    use crate::facts::{
        InstallationStatus, INSTALLATION_ERROR, INSTALLATION_READ_ERROR, INSTALLATION_STATUS,
    };
    check.remove(INSTALLATION_ERROR);
    check.remove(INSTALLATION_READ_ERROR);
    match installation {
        Ok(i) => {
            let status = i.map_or(InstallationStatus::None.as_str(), |i| i.status.as_str());
            check.insert(INSTALLATION_STATUS.into(), status.into());
            if let Some(code) = i.and_then(|i| i.error_code.as_ref()) {
                check.insert(INSTALLATION_ERROR.into(), code.clone());
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not read the installation");
            check.insert(
                INSTALLATION_STATUS.into(),
                InstallationStatus::Unknown.as_str().into(),
            );
            check.insert(INSTALLATION_READ_ERROR.into(), sanitize(&e.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_never_hold_a_key() {
        for e in [
            ApiKeyError::Refused(401),
            ApiKeyError::NotAnApiKey("OAUTH".into()),
            ApiKeyError::NoApiBase("x".into()),
        ] {
            assert!(!e.to_string().contains("k3y"));
        }
        assert!(ApiKeyError::Refused(401)
            .to_string()
            .contains("expired or revoked"));
    }
}
