//! `proxy`: runs `token_wallet_proxy` for one connection, its tokens from the agent or the
//! vault unlocked here, until Ctrl-C or SIGTERM. While it runs, its address and capability
//! are in a 0600 file in this user's runtime directory, for `run`'s `tw://proxy/NAME`.

use super::Ctx;
use crate::cli::{Cli, ProxyArgs};
use crate::context::config;
use crate::error::{Error, Result};
use crate::source::{with_source, Source};
use secrecy::{ExposeSecret, SecretString};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;
use token_wallet_core::connection::ConnectionName;
use token_wallet_proxy::{Credential, ProxiedRequests, ProxyOptions, Ready, TokenSource};

/// The proxy's tokens and audit lines, through the command's [`Source`].
struct Through<'a> {
    source: &'a mut dyn Source,
    name: &'a ConnectionName,
}

impl TokenSource for Through<'_> {
    fn credential(&mut self, min_ttl: Duration) -> std::result::Result<Credential, String> {
        let t = self
            .source
            .token(self.name, min_ttl)
            .map_err(|e| e.to_string())?;
        let token = t.token.token.expose_secret();
        let header = t.info.kind.authorization(&t.info.token_type, token);
        Ok(Credential {
            token: SecretString::from(token.to_string()),
            header: SecretString::from(header.as_str().to_string()),
            expires_at: t.token.expires_at,
            issued_at: Some(t.info.issued_at),
        })
    }

    fn record(&mut self, requests: Vec<ProxiedRequests>) -> std::result::Result<(), String> {
        self.source
            .proxied(self.name, requests)
            .map_err(|e| e.to_string())
    }

    fn locked(&mut self) -> std::result::Result<bool, String> {
        self.source.locked().map_err(|e| e.to_string())
    }
}

/// Where a running proxy of `name` leaves its address and capability.
pub fn state_file(cli: &Cli, name: &ConnectionName) -> Result<PathBuf> {
    let c = config(cli)?;
    #[cfg(unix)]
    {
        let sock = token_wallet_core::agent::socket_path(&c.profile, &c.data_dir)?;
        let dir = sock
            .parent()
            .ok_or_else(|| Error::from("the agent's socket has no directory".to_string()))?;
        let stem = sock
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(dir.join(format!("{stem}.proxy-{name}.json")))
    }
    #[cfg(not(unix))]
    Ok(c.data_dir.join(format!("proxy-{name}.json")))
}

/// What `run` needs of a running proxy.
pub struct Running {
    /// Its first URL (none when it listens on a Unix socket only).
    pub url: Option<String>,
    /// Its capability.
    pub capability: zeroize::Zeroizing<String>,
}

/// Whether process `pid` lives (where the OS tells; elsewhere, assumed).
fn alive(pid: u64) -> bool {
    if cfg!(target_os = "linux") {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

/// The proxy of `name` that runs now, if one does (a file left by one that died is
/// removed).
pub fn running(cli: &Cli, name: &ConnectionName) -> Result<Option<Running>> {
    let path = state_file(cli, name)?;
    // Only a file in a directory no one else may enter: another user could otherwise point
    // `run`'s tools at a proxy of theirs.
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        if token_wallet_core::agent::transport::secure_dir(dir, false).is_err() {
            return Ok(None);
        }
    }
    let Ok(text) = std::fs::read(&path).map(zeroize::Zeroizing::new) else {
        return Ok(None);
    };
    let v: serde_json::Value = serde_json::from_slice(&text).unwrap_or_default();
    let (Some(pid), Some(cap)) = (v["pid"].as_u64(), v["capability"].as_str()) else {
        return Ok(None);
    };
    let url = v["url"].as_str().map(str::to_string);
    let answers = |u: &str| {
        u.strip_prefix("http://")
            .and_then(|a| a.parse::<std::net::SocketAddr>().ok())
            .is_some_and(|a| {
                std::net::TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok()
            })
    };
    if !alive(pid) || url.as_deref().is_some_and(|u| !answers(u)) {
        let _ = std::fs::remove_file(&path);
        return Ok(None);
    }
    Ok(Some(Running {
        url,
        capability: zeroize::Zeroizing::new(cap.to_string()),
    }))
}

/// Removes the state file if this process wrote it (a second `proxy` of the same name
/// that failed to start leaves the first one's alone).
fn remove_state(path: &PathBuf) {
    let mine = std::fs::read(path)
        .ok()
        .and_then(|t| serde_json::from_slice::<serde_json::Value>(&zeroize::Zeroizing::new(t)).ok())
        .is_some_and(|v| v["pid"].as_u64() == Some(u64::from(std::process::id())));
    if mine {
        let _ = std::fs::remove_file(path);
    }
}

/// Writes the state file (0600, in a directory only this user may enter).
fn write_state(path: &PathBuf, ready: &Ready) -> std::io::Result<()> {
    let json = zeroize::Zeroizing::new(
        serde_json::json!({
            "pid": std::process::id(),
            "url": ready.urls.first(),
            "capability": ready.capability.expose_secret(),
        })
        .to_string(),
    );
    // The agent's socket directory: made 0700 if missing, refused if others may enter.
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        token_wallet_core::agent::transport::secure_dir(dir, true)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
    }
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    std::io::Write::write_all(&mut o.open(path)?, json.as_bytes())
}

/// `proxy`.
pub fn proxy(cx: &mut Ctx<'_>, a: &ProxyArgs) -> Result {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone())
            .map_err(|e| Error::from(format!("cannot handle signals: {e}")))?;
    }
    let state = state_file(cx.cli, &a.name)?;
    let out = &mut *cx.out;
    let summary = with_source(cx.cli, &a.pass, &mut cx.input, |s| {
        let info = s
            .list()?
            .into_iter()
            .find(|i| i.name == a.name)
            .ok_or_else(|| {
                Error::Message(
                    1,
                    format!("no connection named `{}` (see `token-wallet list`)", a.name),
                )
            })?;
        let upstream = match (&a.upstream, &info.provider.api_base) {
            (Some(u), _) => u.clone(),
            (None, Some(b)) => b.parse().map_err(|e| {
                Error::Message(1, format!("the provider's api_base `{b}` is not a URL: {e}"))
            })?,
            (None, None) => {
                return Err(Error::Message(
                    1,
                    format!(
                        "`{}`'s provider has no API base: give --upstream URL, or set `api_base` for it in providers.toml",
                        a.name
                    ),
                ))
            }
        };
        let mut opts = ProxyOptions::new(upstream.clone());
        opts.allow = a.allow.clone();
        opts.listen = a.listen;
        opts.socket = a.socket.clone();
        opts.tcp = !a.no_tcp;
        opts.ca_file = a.ca_file.clone();
        opts.max_in_flight = a.max_in_flight.max(1);
        let mut through = Through {
            source: s,
            name: &a.name,
        };
        let mut said = Ok(());
        let served = token_wallet_proxy::serve(opts, &mut through, &stop, |r| {
            if let Err(e) = write_state(&state, r) {
                tracing::warn!(error = %e, "could not leave the proxy's address for `run`");
            }
            said = announce(out, a, &upstream, r);
        });
        remove_state(&state);
        said?;
        served.map_err(|e| Error::Message(1, e.to_string()))
    })?;
    eprintln!(
        "proxy stopped: {} requests forwarded, {} answered by the proxy, {} waited for a token, {} tokens fetched",
        summary.forwarded, summary.refused, summary.waited, summary.fetched
    );
    Ok(())
}

/// Says where the proxy listens and its capability, once.
fn announce(out: &mut dyn std::io::Write, a: &ProxyArgs, upstream: &url::Url, r: &Ready) -> Result {
    let cap = r.capability.expose_secret();
    if a.json {
        let line = zeroize::Zeroizing::new(
            serde_json::json!({
                "connection": a.name,
                "upstream": upstream.as_str(),
                "urls": r.urls,
                "socket": r.socket,
                "capability": cap,
                "allow": a.allow.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            })
            .to_string(),
        );
        writeln!(out, "{}", line.as_str())?;
    } else {
        writeln!(out, "Proxy for `{}` to {upstream}", a.name)?;
        if !r.urls.is_empty() {
            writeln!(out, "  listening on {}", r.urls.join(" and "))?;
        }
        if let Some(s) = &r.socket {
            writeln!(
                out,
                "  socket       {} (this user only; no capability needed)",
                s.display()
            )?;
        }
        writeln!(out, "  capability   {cap}")?;
        writeln!(
            out,
            "               send it as `Authorization: Bearer <capability>`; it works while this proxy runs"
        )?;
        let allowed = if a.allow.is_empty() {
            "everything the token can do (narrow it with --allow)".to_string()
        } else {
            a.allow
                .iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(out, "  allowed      {allowed}")?;
        writeln!(out, "Stop it with Ctrl-C.")?;
    }
    out.flush()?;
    Ok(())
}
