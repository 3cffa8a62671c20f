//! Calls on a live connection other than refresh: revocation (RFC 7009 or Pleo's
//! `DELETE /v1/installations/me`) and the connection check (Pleo's `GET /v1/introspect`
//! or RFC 7662).

use super::http::{Http, HttpError};
use super::loopback::sanitize;
use super::{Check, ClientAuth, OAuthError, Revocation};
use base64::Engine as _;
use std::collections::BTreeMap;

/// A grant at a provider, as a connection holds it: what revocation and the check need.
pub struct Grant<'a> {
    /// The provider.
    pub provider: &'a super::Provider,
    /// The OAuth client id.
    pub client_id: &'a str,
    /// The client secret of a confidential client.
    pub client_secret: Option<&'a str>,
    /// The access token.
    pub access_token: &'a str,
    /// The refresh token, if one was issued.
    pub refresh_token: Option<&'a str>,
}

fn net(what: &'static str) -> impl Fn(HttpError) -> OAuthError {
    move |e| OAuthError::Network {
        what,
        detail: e.to_string(),
    }
}

fn build(
    what: &'static str,
    b: http::request::Builder,
    body: Vec<u8>,
) -> Result<http::Request<Vec<u8>>, OAuthError> {
    b.body(body).map_err(|e| OAuthError::Config {
        provider: what.into(),
        why: e.to_string(),
    })
}

/// A form POST to an RFC 7009 / 7662 endpoint with the client's authentication: HTTP
/// Basic for a confidential client, `client_id` in the body for a public one.
fn form_request(
    c: &Grant<'_>,
    url: &str,
    pairs: &[(&str, &str)],
) -> Result<http::Request<Vec<u8>>, OAuthError> {
    let mut f = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        f.append_pair(k, v);
    }
    let mut b = http::Request::post(url)
        .header("Accept", "application/json")
        .header("Content-Type", "application/x-www-form-urlencoded");
    match (c.provider.client_auth, c.client_secret) {
        (ClientAuth::ClientSecretBasic, Some(secret)) => {
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let raw = zeroize::Zeroizing::new(format!("{}:{}", enc(c.client_id), enc(secret)));
            let b64 = base64::engine::general_purpose::STANDARD.encode(raw.as_bytes());
            b = b.header("Authorization", format!("Basic {b64}"));
        }
        _ => {
            f.append_pair("client_id", c.client_id);
        }
    }
    let body = zeroize::Zeroizing::new(f.finish());
    build("form request", b, body.as_bytes().to_vec())
}

/// A request to Pleo's API (`api_base` + `path`) authenticated with the access token.
fn pleo_request(
    c: &Grant<'_>,
    method: fn(String) -> http::request::Builder,
    path: &str,
) -> Result<http::Request<Vec<u8>>, OAuthError> {
    // Invariant: `Provider::validate` requires api_base for Pleo-style revocation and checks.
    let api = c
        .provider
        .api_base
        .as_deref()
        .unwrap_or_default()
        .trim_end_matches('/');
    build(
        "Pleo API request",
        method(format!("{api}{path}"))
            .header("Accept", "application/json")
            .header("Authorization", format!("Bearer {}", c.access_token)),
        Vec::new(),
    )
}

/// Revokes a connection's tokens at the provider. `Ok(true)`: revoked (or the provider
/// says the token is already dead); `Ok(false)`: the provider offers no revocation.
pub fn revoke(http: &Http, c: &Grant<'_>) -> Result<bool, OAuthError> {
    let p = c.provider;
    match &p.revocation {
        Revocation::None => Ok(false),
        Revocation::PleoInstallation => {
            let req = pleo_request(c, http::Request::delete, "/v1/installations/me")?;
            let status = http
                .send(req)
                .map_err(net("the revocation endpoint"))?
                .status()
                .as_u16();
            match status {
                200..=299 => Ok(true),
                // A 401 means this access token is no longer accepted, not that the
                // installation is gone: the refresh token may still be live, so this is
                // not a success (refresh first, or --force).
                s => Err(OAuthError::Status {
                    what: "the revocation endpoint",
                    status: s,
                }),
            }
        }
        Revocation::Rfc7009(url) => {
            // Revoking the refresh token revokes the grant (RFC 7009 §2.1); then the
            // access token, for servers that keep them apart.
            let mut tokens: Vec<(&str, &str)> = Vec::new();
            if let Some(r) = c.refresh_token {
                tokens.push((r, "refresh_token"));
            }
            tokens.push((c.access_token, "access_token"));
            for (token, hint) in tokens {
                let req = form_request(c, url, &[("token", token), ("token_type_hint", hint)])?;
                let status = http
                    .send(req)
                    .map_err(net("the revocation endpoint"))?
                    .status()
                    .as_u16();
                if !(200..300).contains(&status) {
                    return Err(OAuthError::Status {
                        what: "the revocation endpoint",
                        status,
                    });
                }
            }
            Ok(true)
        }
    }
}

fn keep_strings(v: &serde_json::Value, keys: &[&str]) -> BTreeMap<String, String> {
    keys.iter()
        .filter_map(|k| {
            let val = v.get(*k)?;
            let s = match val {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Bool(b) => b.to_string(),
                serde_json::Value::Number(n) => n.to_string(),
                _ => return None,
            };
            Some((k.to_string(), sanitize(&s)))
        })
        .collect()
}

/// The fields Pleo's `GET /v1/introspect` answers with.
const PLEO_FIELDS: [&str; 5] = [
    "authMethod",
    "clientId",
    "scope",
    "applicationName",
    "subjectURN",
];

/// Pleo's introspection answer: its fields under `data` (as Pleo documents it), or at the
/// top level (as earlier versions of it did). Neither is an error, not an empty check.
fn pleo_introspection(v: &serde_json::Value) -> Result<BTreeMap<String, String>, OAuthError> {
    let body = match v.get("data") {
        Some(d) if d.is_object() => d,
        _ => v,
    };
    let kept = keep_strings(body, &PLEO_FIELDS);
    if kept.is_empty() {
        return Err(OAuthError::Status {
            what: "the introspect endpoint (an answer without Pleo's fields, under `data` or at the top)",
            status: 200,
        });
    }
    Ok(kept)
}

/// Checks a connection; returns what the provider says about it.
pub fn check(http: &Http, c: &Grant<'_>) -> Result<BTreeMap<String, String>, OAuthError> {
    let p = c.provider;
    match &p.check {
        Check::None => Ok(BTreeMap::new()),
        Check::PleoIntrospect => {
            let req = pleo_request(c, http::Request::get, "/v1/introspect")?;
            let v = json_answer(http, req, "the introspect endpoint")?;
            let mut facts = pleo_introspection(&v)?;
            // The installation's status beside it; a failure to read it is not the
            // check's failure (the token was accepted).
            let bearer = zeroize::Zeroizing::new(format!("Bearer {}", c.access_token));
            let i = super::api_key::installation(http, p, &bearer);
            super::api_key::note_installation(&mut facts, i.as_ref().map(Option::as_ref));
            Ok(facts)
        }
        Check::Rfc7662(url) => {
            let req = form_request(
                c,
                url,
                &[
                    ("token", c.access_token),
                    ("token_type_hint", "access_token"),
                ],
            )?;
            let v = json_answer(http, req, "the introspection endpoint")?;
            Ok(keep_strings(
                &v,
                &["active", "scope", "client_id", "sub", "username", "exp"],
            ))
        }
    }
}

/// Sends `req` and parses a 2xx JSON answer.
fn json_answer(
    http: &Http,
    req: http::Request<Vec<u8>>,
    what: &'static str,
) -> Result<serde_json::Value, OAuthError> {
    let resp = http.send(req).map_err(net(what))?;
    let status = resp.status().as_u16();
    if !resp.status().is_success() {
        return Err(OAuthError::Status { what, status });
    }
    serde_json::from_slice(resp.body()).map_err(|_| OAuthError::Status {
        what: "an endpoint that did not answer JSON",
        status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pleo_introspection_reads_data_then_the_top_level() {
        let nested = json!({"data": {"authMethod": "OAUTH", "clientId": "c", "scope": "a b",
            "applicationName": "App", "subjectURN": "urn:pleo:company:1", "extra": {"x": 1}}});
        let m = pleo_introspection(&nested).unwrap();
        assert_eq!(m["subjectURN"], "urn:pleo:company:1");
        assert_eq!(m["authMethod"], "OAUTH");
        assert_eq!(m.len(), 5);
        let flat = json!({"clientId": "c", "subjectURN": "urn:pleo:company:2"});
        assert_eq!(
            pleo_introspection(&flat).unwrap()["subjectURN"],
            "urn:pleo:company:2"
        );
    }

    #[test]
    fn fail_pleo_introspection_with_neither_shape() {
        for v in [
            json!({}),
            json!({"data": {"other": 1}}),
            json!({"data": "x"}),
            json!([1]),
        ] {
            let e = pleo_introspection(&v).unwrap_err().to_string();
            assert!(e.contains("without Pleo's fields"), "{e}");
        }
    }
}
