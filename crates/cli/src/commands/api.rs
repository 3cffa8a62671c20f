//! `api`: one authenticated request to a connection's API, as `gh api` makes one. The
//! token comes from the agent or the vault unlocked here and goes only to the provider's
//! `api_base` (the path is relative to it; redirects are not followed); a 401 is answered
//! by one refresh and one retry. The body goes to standard output (JSON pretty-printed on
//! a terminal, as it came when piped); the exit code says the status class.

use super::Ctx;
use crate::cli::ApiArgs;
use crate::error::{Error, Result};
use crate::source::with_source;
use secrecy::ExposeSecret;
use std::io::{IsTerminal, Read};
use std::time::Duration;
use token_wallet_core::oauth::http::Http;
use token_wallet_core::ops::Exported;

/// The least lifetime of the token a request is sent with.
const API_MIN_TTL: Duration = Duration::from_secs(30);

/// The exit code of an answer: 0 for 2xx, else 10 + its class (13, 14, 15).
pub fn exit_code(status: u16) -> i32 {
    match status {
        200..=299 => 0,
        s => 10 + i32::from(s / 100),
    }
}

/// The request, ready: method, path and query, body.
struct Request {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

fn usage(why: String) -> Error {
    Error::Message(2, why)
}

fn request(a: &ApiArgs, input: &mut impl Read) -> Result<Request> {
    if !a.path.starts_with('/') || a.path.starts_with("//") {
        return Err(usage(format!(
            "the path `{}` must start with `/`: it is sent to the connection's API base only",
            a.path
        )));
    }
    let mut fields = Vec::new();
    for f in &a.fields {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| usage(format!("the field `{f}` is not KEY=VALUE")))?;
        fields.push((k.to_string(), v.to_string()));
    }
    let body = match &a.input {
        Some(p) if p.as_os_str() == "-" => {
            let mut b = Vec::new();
            input.read_to_end(&mut b)?;
            Some(b)
        }
        Some(p) => Some(
            std::fs::read(p)
                .map_err(|e| Error::Message(1, format!("cannot read {}: {e}", p.display())))?,
        ),
        None => None,
    };
    let method = a
        .method
        .clone()
        .map(|m| m.to_ascii_uppercase())
        .unwrap_or_else(|| {
            if fields.is_empty() && body.is_none() {
                "GET"
            } else {
                "POST"
            }
            .into()
        });
    if !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(usage(format!("`{method}` is not an HTTP method")));
    }
    let (query, body) = if method == "GET" || method == "HEAD" || method == "DELETE" {
        (fields, body)
    } else if fields.is_empty() {
        (Vec::new(), body)
    } else {
        let obj: serde_json::Map<_, _> = fields
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect();
        (
            Vec::new(),
            Some(serde_json::Value::Object(obj).to_string().into_bytes()),
        )
    };
    Ok(Request {
        method,
        path: a.path.clone(),
        query,
        body,
    })
}

/// Sends `r` with `t`'s token to its connection's API base.
fn send(t: &Exported, r: &Request) -> Result<http::Response<Vec<u8>>> {
    let base = t.info.provider.api_base.as_deref().ok_or_else(|| {
        Error::Message(
            1,
            format!(
                "`{}`'s provider has no API base: set `api_base` for it in providers.toml",
                t.info.name
            ),
        )
    })?;
    let mut url =
        url::Url::parse(&format!("{}{}", base.trim_end_matches('/'), r.path)).map_err(|e| {
            usage(format!(
                "`{}` does not make a URL with the API base: {e}",
                r.path
            ))
        })?;
    if !r.query.is_empty() {
        url.query_pairs_mut().extend_pairs(&r.query);
    }
    let token = t.token.token.expose_secret();
    let auth = t.info.kind.authorization(&t.info.token_type, token);
    let mut req = http::Request::builder()
        .method(r.method.as_str())
        .uri(url.as_str())
        .header("accept", "application/json")
        .header("authorization", auth.as_str());
    if r.body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let req = req
        .body(r.body.clone().unwrap_or_default())
        .map_err(|e| usage(format!("bad request: {e}")))?;
    Http::new()
        .send_up_to(req, MAX_ANSWER)
        .map_err(|e| Error::Message(5, format!("{url}: {e}")))
}

/// The largest answer `api` prints.
const MAX_ANSWER: u64 = 64 * 1024 * 1024;

/// `api`. Returns the exit code.
pub fn api(cx: &mut Ctx<'_>, a: &ApiArgs) -> Result<i32> {
    let r = request(a, &mut cx.input)?;
    let resp = with_source(cx.cli, &a.pass, &mut cx.input, |s| {
        let t = s.token(&a.name, API_MIN_TTL)?;
        let resp = send(&t, &r)?;
        if resp.status() != 401 {
            return Ok(resp);
        }
        // Refused: the token may have been revoked or rotated elsewhere. One refresh, one
        // retry.
        eprintln!(
            "the API refused the token (401); refreshing `{}` and trying once more",
            a.name
        );
        s.refresh(&a.name)?;
        let t = s.token(&a.name, API_MIN_TTL)?;
        send(&t, &r)
    })?;
    let status = resp.status();
    if !status.is_success() {
        eprintln!(
            "HTTP {} {} ({} {})",
            status.as_str(),
            status.canonical_reason().unwrap_or(""),
            r.method,
            r.path
        );
    }
    let body = resp.body();
    let pretty = std::io::stdout()
        .is_terminal()
        .then(|| serde_json::from_slice::<serde_json::Value>(body).ok())
        .flatten()
        .and_then(|v| serde_json::to_string_pretty(&v).ok());
    match pretty {
        Some(p) => writeln!(cx.out, "{p}")?,
        None => cx.out.write_all(body)?,
    }
    cx.out.flush()?;
    Ok(exit_code(status.as_u16()))
}
