//! The authorisation-code flow with PKCE S256 and `state`, through the `oauth2` crate:
//! build the URL, hand it to the browser, wait on the loopback listener, exchange the code.

use super::http::{Http, HttpError};
use super::loopback::{sanitize, Listener, Pinned, Reopen};
use super::{ClientAuth, OAuthError, Provider, RedirectMode};
use oauth2::basic::{BasicClient, BasicErrorResponse};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge, RedirectUrl,
    RefreshToken, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::Receiver;
use std::sync::Mutex;
use std::time::Duration;

/// Tokens as the token endpoint gave them.
pub struct TokenSet {
    /// Access token.
    pub access_token: SecretString,
    /// Refresh token, if issued.
    pub refresh_token: Option<SecretString>,
    /// Token type.
    pub token_type: String,
    /// Lifetime of the access token.
    pub expires_in: Option<Duration>,
    /// Granted scopes, if the provider said (else the requested ones apply).
    pub scopes: Option<Vec<String>>,
}

/// The client side of a provider.
pub struct Client<'a> {
    /// Provider.
    pub provider: &'a Provider,
    /// Client id.
    pub client_id: String,
    /// Client secret (confidential clients).
    pub client_secret: Option<SecretString>,
}

/// What the flow needs from its caller.
pub struct Interaction<'a> {
    /// Opens the sign-in (system browser), or shows it to the person.
    pub open: &'a dyn Fn(&SignInLink<'_>) -> Result<(), String>,
    /// Redirect URLs a person pasted (browser on another machine).
    pub pasted: Option<Receiver<String>>,
    /// Set to stop waiting.
    pub cancel: &'a AtomicBool,
    /// Set to open the browser again (at a fresh one-time start address) while waiting.
    pub reopen: Option<&'a AtomicBool>,
    /// How long to wait for the callback.
    pub timeout: Duration,
}

/// Where a person signs in.
pub struct SignInLink<'a> {
    /// What a browser on this machine is given: a private page (`file://`, readable by
    /// this user only) that sends it on to a one-time local address, which redirects to the
    /// provider. Reading it in `ps` gains another user nothing.
    pub start: &'a str,
    /// The provider's authorisation URL itself, for a person to open by hand (possibly on
    /// another machine). Never put it in a process's arguments.
    pub direct: &'a str,
}

/// Records the last HTTP status, so errors can say it (oauth2's errors do not).
struct Recorder<'a> {
    http: &'a Http,
    status: Mutex<u16>,
    retry_after: Mutex<Option<Duration>>,
}

impl oauth2::SyncHttpClient for Recorder<'_> {
    type Error = HttpError;
    fn call(&self, r: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, HttpError> {
        let resp = self.http.send(r)?;
        *self.status.lock().unwrap_or_else(|p| p.into_inner()) = resp.status().as_u16();
        // Retry-After in seconds (the HTTP-date form is not used by OAuth servers we know).
        *self.retry_after.lock().unwrap_or_else(|p| p.into_inner()) = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        Ok(resp)
    }
}

fn config_err(p: &Provider, e: impl std::fmt::Display) -> OAuthError {
    OAuthError::Config {
        provider: p.name.clone(),
        why: e.to_string(),
    }
}

fn map_token_error(e: RequestTokenError<HttpError, BasicErrorResponse>, status: u16) -> OAuthError {
    match e {
        RequestTokenError::ServerResponse(r) => OAuthError::TokenRefused {
            status,
            error: r.error().to_string(),
            description: r.error_description().map(|d| sanitize(d)),
        },
        RequestTokenError::Request(HttpError::TooLarge) => OAuthError::BadTokenResponse {
            status,
            why: "the body is larger than 1 MiB".into(),
        },
        RequestTokenError::Request(HttpError::Network(d)) => OAuthError::Network {
            what: "the token endpoint",
            detail: d,
        },
        RequestTokenError::Parse(err, _body) => {
            // The body and serde's message (which may quote values) are never shown;
            // a missing field's name is ours and safe.
            let inner = err.inner().to_string();
            let why = match inner.split('`').nth(1) {
                Some(field) if inner.starts_with("missing field") => {
                    format!("the field `{}` is missing", sanitize(field))
                }
                _ if err.inner().is_syntax() || err.inner().is_eof() => {
                    "it is not valid JSON".into()
                }
                _ => format!(
                    "the field `{}` has the wrong type",
                    sanitize(&err.path().to_string())
                ),
            };
            OAuthError::BadTokenResponse { status, why }
        }
        RequestTokenError::Other(s) => OAuthError::BadTokenResponse {
            status,
            why: sanitize(&s),
        },
    }
}

/// Parses a token endpoint's JSON answer as the exchange does, for the fuzz targets.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn fuzz_token_response(body: &[u8]) -> Result<(), OAuthError> {
    match serde_json::from_slice::<oauth2::basic::BasicTokenResponse>(body) {
        Ok(t) => token_set(&t).map(|_| ()),
        Err(_) => Ok(()),
    }
}

fn token_set(t: &oauth2::basic::BasicTokenResponse) -> Result<TokenSet, OAuthError> {
    if t.access_token().secret().is_empty() {
        return Err(OAuthError::BadTokenResponse {
            status: 200,
            why: "the access token is empty".into(),
        });
    }
    Ok(TokenSet {
        access_token: SecretString::from(t.access_token().secret().clone()),
        refresh_token: t
            .refresh_token()
            .map(|r| SecretString::from(r.secret().clone())),
        token_type: match t.token_type() {
            oauth2::basic::BasicTokenType::Bearer => "Bearer".into(),
            other => sanitize(other.as_ref()),
        },
        expires_in: t.expires_in(),
        scopes: t
            .scopes()
            .map(|s| s.iter().map(|x| x.to_string()).collect()),
    })
}

impl Client<'_> {
    fn oauth(
        &self,
        redirect: Option<&str>,
    ) -> Result<
        BasicClient<
            oauth2::EndpointSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointSet,
        >,
        OAuthError,
    > {
        let p = self.provider;
        let mut c = BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_auth_uri(AuthUrl::new(p.authorize_url.clone()).map_err(|e| config_err(p, e))?)
            .set_token_uri(TokenUrl::new(p.token_url.clone()).map_err(|e| config_err(p, e))?)
            .set_auth_type(oauth2::AuthType::BasicAuth);
        if let Some(r) = redirect {
            c = c.set_redirect_uri(RedirectUrl::new(r.to_string()).map_err(|e| config_err(p, e))?);
        }
        match (p.client_auth, &self.client_secret) {
            (ClientAuth::ClientSecretBasic, Some(s)) => {
                c = c.set_client_secret(ClientSecret::new(s.expose_secret().to_string()));
            }
            (ClientAuth::ClientSecretBasic, None) => {
                return Err(OAuthError::NoClientSecret(p.name.clone()))
            }
            (ClientAuth::None, _) => {}
        }
        Ok(c)
    }

    /// Asks the authorisation endpoint for the sign-in page the browser is about to open
    /// (redirects not followed, the answer not kept): a provider that is down, or that
    /// refuses the request (a wrong client id or redirect address), fails now, in seconds,
    /// instead of after the whole sign-in timeout with a browser showing an error.
    fn preflight(&self, http: &Http, url: &oauth2::url::Url) -> Result<(), OAuthError> {
        let provider = self.provider.name.clone();
        let host = match (url.host_str(), url.port_or_known_default()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => "no host".into(),
        };
        let req = http::Request::get(url.as_str())
            .header("Accept", "text/html")
            .body(Vec::new())
            .map_err(|e| OAuthError::Config {
                provider: provider.clone(),
                why: e.to_string(),
            })?;
        let resp = http
            .send(req)
            .map_err(|e| OAuthError::AuthorizeUnreachable {
                provider: provider.clone(),
                host,
                why: e.to_string(),
            })?;
        let status = resp.status().as_u16();
        if status < 400 {
            return Ok(());
        }
        // What the page says: a JSON `error`, or an HTML title (never the whole body).
        let body = String::from_utf8_lossy(resp.body());
        let what = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
            .or_else(|| {
                let start = body.find("<title>")? + "<title>".len();
                let end = body[start..].find("</title>")? + start;
                Some(body[start..end].to_string())
            })
            .map(|w| super::loopback::sanitize(&w))
            .filter(|w| !w.is_empty());
        tracing::warn!(provider = %provider, status, "the authorisation endpoint refused the sign-in request");
        Err(OAuthError::AuthorizeRefused {
            provider,
            status,
            what,
        })
    }

    /// Runs the whole flow: PKCE S256 + `state`, browser, loopback callback, code exchange.
    pub fn authorize(
        &self,
        http: &Http,
        scopes: &[String],
        ui: Interaction<'_>,
    ) -> Result<TokenSet, OAuthError> {
        let pinned = match &self.provider.redirect {
            RedirectMode::Loopback => None,
            RedirectMode::Pinned(u) => {
                Some(Pinned::parse(u).map_err(|why| OAuthError::Config {
                    provider: self.provider.name.clone(),
                    why,
                })?)
            }
        };
        let listener = Listener::bind(pinned.as_ref())?;
        let client = self.oauth(Some(listener.redirect_uri()))?;
        // 32 random bytes -> a 43-character verifier (RFC 7636 allows 43-128).
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(scopes.iter().map(|s| Scope::new(s.clone())))
            .set_pkce_challenge(challenge)
            .url();
        self.preflight(http, &url)?;
        tracing::info!(provider = %self.provider.name, redirect = listener.redirect_uri(), "waiting for the sign-in callback");
        let start = listener.start_url(url.as_str())?;
        (ui.open)(&SignInLink {
            start: &start,
            direct: url.as_str(),
        })
        .map_err(OAuthError::Browser)?;
        let again = |start: &str| {
            (ui.open)(&SignInLink {
                start,
                direct: url.as_str(),
            })
        };
        let reopen = ui.reopen.map(|asked| Reopen {
            asked,
            open: &again,
        });
        let cb = listener.wait(
            state.secret(),
            ui.timeout,
            ui.cancel,
            ui.pasted.as_ref(),
            reopen,
        )?;
        let rec = Recorder {
            http,
            status: Mutex::new(0),
            retry_after: Mutex::new(None),
        };
        let token = client
            .exchange_code(AuthorizationCode::new(cb.code.expose_secret().to_string()))
            .set_pkce_verifier(verifier)
            .request(&rec)
            .map_err(|e| {
                map_token_error(e, *rec.status.lock().unwrap_or_else(|p| p.into_inner()))
            })?;
        token_set(&token)
    }

    /// Exchanges a refresh token (used by the `refresh` module only). Also returns the
    /// server's `Retry-After`, if it sent one.
    pub fn refresh(
        &self,
        http: &Http,
        refresh_token: &str,
    ) -> (Result<TokenSet, OAuthError>, Option<Duration>) {
        let client = match self.oauth(None) {
            Ok(c) => c,
            Err(e) => return (Err(e), None),
        };
        let rec = Recorder {
            http,
            status: Mutex::new(0),
            retry_after: Mutex::new(None),
        };
        let result = client
            .exchange_refresh_token(&RefreshToken::new(refresh_token.to_string()))
            .request(&rec)
            .map_err(|e| map_token_error(e, *rec.status.lock().unwrap_or_else(|p| p.into_inner())))
            .and_then(|t| token_set(&t));
        let retry_after = *rec.retry_after.lock().unwrap_or_else(|p| p.into_inner());
        (result, retry_after)
    }
}
