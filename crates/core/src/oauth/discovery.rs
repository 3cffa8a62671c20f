//! RFC 8414 / OpenID Connect discovery. The document must come from the issuer's own
//! origin and name endpoints only on that origin: a document that points the token
//! endpoint at another host is refused (it would send codes and secrets there).

use super::endpoints::{endpoint_url, Endpoints};
use super::http::Http;
use super::OAuthError;
use serde::Deserialize;
use url::Url;

#[derive(Deserialize)]
struct Document {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    revocation_endpoint: Option<String>,
    introspection_endpoint: Option<String>,
    #[serde(default)]
    code_challenge_methods_supported: Option<Vec<String>>,
}

fn origin(u: &Url) -> String {
    u.origin().ascii_serialization()
}

/// Fetches and checks a discovery document.
pub(crate) fn discover(http: &Http, url: &str) -> Result<Endpoints, OAuthError> {
    let bad = |why: String| OAuthError::Discovery {
        url: url.to_string(),
        why,
    };
    let doc_url = endpoint_url("discovery", "discovery URL", url)?;
    let req = http::Request::get(url)
        .header("Accept", "application/json")
        .body(Vec::new())
        .map_err(|e| bad(e.to_string()))?;
    let resp = http.send(req).map_err(|e| bad(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(bad(format!(
            "the server answered HTTP {}",
            resp.status().as_u16()
        )));
    }
    check_document(&doc_url, url, resp.body())
}

/// Parses and checks a discovery document served at `doc_url` (`url` as given, for
/// errors): every endpoint on the issuer's origin, PKCE S256 supported.
pub(crate) fn check_document(
    doc_url: &Url,
    url: &str,
    body: &[u8],
) -> Result<Endpoints, OAuthError> {
    let bad = |why: String| OAuthError::Discovery {
        url: url.to_string(),
        why,
    };
    let doc: Document = serde_json::from_slice(body).map_err(|_| {
        bad("the answer is not a discovery document (JSON with issuer and endpoints)".into())
    })?;
    let issuer = endpoint_url("discovery", "issuer", &doc.issuer)?;
    let home = origin(doc_url);
    if origin(&issuer) != home {
        return Err(bad(format!(
            "it names issuer {} but was served by {home}",
            origin(&issuer)
        )));
    }
    let check = |what: &str, s: &str| -> Result<String, OAuthError> {
        let u = Url::parse(s).map_err(|_| bad(format!("its {what} is not a URL")))?;
        if origin(&u) != home {
            return Err(bad(format!(
                "its {what} is on another host ({}), not the issuer's ({home}); refusing to send anything there",
                origin(&u)
            )));
        }
        endpoint_url("discovery", what, s)?;
        Ok(s.to_string())
    };
    if let Some(m) = &doc.code_challenge_methods_supported {
        if !m.iter().any(|x| x == "S256") {
            return Err(bad("the provider does not support PKCE S256".into()));
        }
    }
    Ok(Endpoints {
        authorize: Some(check(
            "authorization_endpoint",
            &doc.authorization_endpoint,
        )?),
        token: Some(check("token_endpoint", &doc.token_endpoint)?),
        revocation: doc
            .revocation_endpoint
            .as_deref()
            .map(|s| check("revocation_endpoint", s))
            .transpose()?,
        introspection: doc
            .introspection_endpoint
            .as_deref()
            .map(|s| check("introspection_endpoint", s))
            .transpose()?,
    })
}
