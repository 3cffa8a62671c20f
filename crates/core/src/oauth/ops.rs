//! Calls on a live connection other than refresh: revocation (RFC 7009 or Pleo's
//! `DELETE /v1/installations/me`) and the connection check (Pleo's `GET /v1/introspect`
//! or RFC 7662).

use super::http::{Http, HttpError};
use super::loopback::sanitize;
use super::{Check, ClientAuth, OAuthError, Revocation};
use crate::connection::Connection;
use base64::Engine as _;
use std::collections::BTreeMap;

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

fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut f = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        f.append_pair(k, v);
    }
    f.finish().into_bytes()
}

/// Client authentication for RFC 7009 / 7662 calls: Basic for a confidential client,
/// `client_id` in the body for a public one.
fn client_auth(
    c: &Connection,
    b: http::request::Builder,
    pairs: &mut Vec<(String, String)>,
) -> http::request::Builder {
    match (c.info.provider.client_auth, &c.secrets.client_secret) {
        (ClientAuth::ClientSecretBasic, Some(secret)) => {
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let raw = format!("{}:{}", enc(&c.info.client_id), enc(secret));
            let b64 = base64::engine::general_purpose::STANDARD
                .encode(zeroize::Zeroizing::new(raw).as_bytes());
            b.header("Authorization", format!("Basic {b64}"))
        }
        _ => {
            pairs.push(("client_id".into(), c.info.client_id.clone()));
            b
        }
    }
}

/// Revokes a connection's tokens at the provider. `Ok(true)`: revoked (or the provider
/// says the token is already dead); `Ok(false)`: the provider offers no revocation.
pub fn revoke(http: &Http, c: &Connection) -> Result<bool, OAuthError> {
    let p = &c.info.provider;
    match &p.revocation {
        Revocation::None => Ok(false),
        Revocation::PleoInstallation => {
            // Invariant: `Provider::validate` requires api_base for Pleo-style revocation.
            let api = p
                .api_base
                .as_deref()
                .unwrap_or_default()
                .trim_end_matches('/');
            let req = build(
                "revocation",
                http::Request::delete(format!("{api}/v1/installations/me")).header(
                    "Authorization",
                    format!("Bearer {}", c.secrets.access_token),
                ),
                Vec::new(),
            )?;
            let status = http
                .send(req)
                .map_err(net("the revocation endpoint"))?
                .status()
                .as_u16();
            match status {
                200..=299 => Ok(true),
                // The token is no longer valid: there is nothing left to revoke with it.
                401 => Ok(true),
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
            if let Some(r) = &c.secrets.refresh_token {
                tokens.push((r.as_str(), "refresh_token"));
            }
            tokens.push((c.secrets.access_token.as_str(), "access_token"));
            for (token, hint) in tokens {
                let mut pairs = vec![
                    ("token".to_string(), token.to_string()),
                    ("token_type_hint".to_string(), hint.to_string()),
                ];
                let b = client_auth(
                    c,
                    http::Request::post(url.as_str())
                        .header("Content-Type", "application/x-www-form-urlencoded"),
                    &mut pairs,
                );
                let body = zeroize::Zeroizing::new(form(
                    &pairs
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect::<Vec<_>>(),
                ));
                let req = build("revocation", b, body.to_vec())?;
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

/// Checks a connection; returns what the provider says about it.
pub fn check(http: &Http, c: &Connection) -> Result<BTreeMap<String, String>, OAuthError> {
    let p = &c.info.provider;
    match &p.check {
        Check::None => Ok(BTreeMap::new()),
        Check::PleoIntrospect => {
            let api = p
                .api_base
                .as_deref()
                .unwrap_or_default()
                .trim_end_matches('/');
            let req = build(
                "check",
                http::Request::get(format!("{api}/v1/introspect"))
                    .header("Accept", "application/json")
                    .header(
                        "Authorization",
                        format!("Bearer {}", c.secrets.access_token),
                    ),
                Vec::new(),
            )?;
            let resp = http.send(req).map_err(net("the introspect endpoint"))?;
            if !resp.status().is_success() {
                return Err(OAuthError::Status {
                    what: "the introspect endpoint",
                    status: resp.status().as_u16(),
                });
            }
            let v: serde_json::Value =
                serde_json::from_slice(resp.body()).map_err(|_| OAuthError::Status {
                    what: "the introspect endpoint (not JSON)",
                    status: resp.status().as_u16(),
                })?;
            Ok(keep_strings(
                &v,
                &["clientId", "scope", "applicationName", "subjectURN"],
            ))
        }
        Check::Rfc7662(url) => {
            let mut pairs = vec![
                ("token".to_string(), c.secrets.access_token.clone()),
                ("token_type_hint".to_string(), "access_token".to_string()),
            ];
            let b = client_auth(
                c,
                http::Request::post(url.as_str())
                    .header("Accept", "application/json")
                    .header("Content-Type", "application/x-www-form-urlencoded"),
                &mut pairs,
            );
            let body = zeroize::Zeroizing::new(form(
                &pairs
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect::<Vec<_>>(),
            ));
            let resp = http
                .send(build("check", b, body.to_vec())?)
                .map_err(net("the introspection endpoint"))?;
            if !resp.status().is_success() {
                return Err(OAuthError::Status {
                    what: "the introspection endpoint",
                    status: resp.status().as_u16(),
                });
            }
            let v: serde_json::Value =
                serde_json::from_slice(resp.body()).map_err(|_| OAuthError::Status {
                    what: "the introspection endpoint (not JSON)",
                    status: resp.status().as_u16(),
                })?;
            Ok(keep_strings(
                &v,
                &["active", "scope", "client_id", "sub", "username", "exp"],
            ))
        }
    }
}
