//! `providers`, `connect`, `list`, `show`, `disconnect`: thin calls into core's `oauth`
//! and `connection` modules.

use crate::{age, audit, say, Cli, Fail};
use std::io::Write;
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;
use std::time::Duration;
use token_wallet_core::audit::{AuditLog, Event};
use token_wallet_core::connection::{self, ConnectionInfo, Status};
use token_wallet_core::oauth::{self, http::Http, Disconnected, Interaction, ProviderSpec};
use token_wallet_core::refresh::{RefreshError, Refresher};
use token_wallet_core::UnlockedVault;

fn specs(cli: &Cli) -> Result<Vec<ProviderSpec>, String> {
    let path = cli
        .providers
        .clone()
        .or_else(token_wallet_core::profile::default_providers_file);
    oauth::load_specs(path.as_deref()).map_err(|e| e.to_string())
}

pub fn providers(cli: &Cli, json: bool) -> Result<(), String> {
    let specs = specs(cli)?;
    let out = &mut std::io::stdout();
    if json {
        let v: Vec<_> = specs
            .iter()
            .map(|s| serde_json::json!({"name": s.name(), "source": s.source()}))
            .collect();
        return say(out, &serde_json::Value::Array(v).to_string());
    }
    for s in specs {
        say(out, &format!("{:<20} {}", s.name(), s.source()))?;
    }
    Ok(())
}

pub struct ConnectArgs<'a> {
    pub name: &'a str,
    pub provider: &'a str,
    pub client_id: Option<String>,
    pub scopes: Option<String>,
    pub client_secret: Option<secrecy::SecretString>,
    pub no_browser: bool,
    pub timeout: Duration,
}

/// Retries revocations left pending by earlier disconnects, and says what happened.
fn retry_pending(v: &mut UnlockedVault, http: &Http, log: &AuditLog) {
    match oauth::retry_pending(v, http) {
        Ok(done) => {
            for n in done {
                eprintln!(
                    "note: the pending revocation of `{n}` went through; it is now disconnected"
                );
                audit(
                    log,
                    Some(v),
                    Event::Disconnected {
                        connection: n,
                        how: "revoked".into(),
                    },
                );
            }
        }
        Err(e) => eprintln!("warning: could not retry pending revocations: {e}"),
    }
}

pub fn connect(
    cli: &Cli,
    vault: &Mutex<UnlockedVault>,
    a: ConnectArgs,
    log: &AuditLog,
    out: &mut impl Write,
) -> Result<(), String> {
    let http = Http::new();
    let lock = || vault.lock().unwrap_or_else(|p| p.into_inner());
    retry_pending(&mut lock(), &http, log);
    let spec = specs(cli)?
        .into_iter()
        .find(|s| s.name() == a.provider)
        .ok_or_else(|| oauth::OAuthError::UnknownProvider(a.provider.to_string()).to_string())?;
    let provider = spec.resolve(&http).map_err(|e| e.to_string())?;
    let scopes: Vec<String> = a
        .scopes
        .as_deref()
        .map(|s| s.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let cancel = AtomicBool::new(false);
    let no_browser = a.no_browser;
    let display = provider.display_name.clone();
    let open = move |link: &oauth::SignInLink<'_>| -> Result<(), String> {
        if no_browser {
            // Printed to the person's terminal, never put in a process's arguments.
            eprintln!("Open this link in a browser to sign in to {display}:\n\n  {}\n\nWaiting for the sign-in; if the browser is on another machine, paste the address it ends on here.", link.direct);
            Ok(())
        } else {
            eprintln!("Opening your browser to sign in to {display}... (if it does not open, run again with --no-browser)");
            // The browser gets the one-time start address: what other users can read
            // in `ps` is dead once the browser has used it.
            oauth::open_browser(link.start)
        }
    };
    let pasted = if no_browser {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let stdin = std::io::stdin();
            let mut line = String::new();
            while stdin.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                if tx.send(std::mem::take(&mut line)).is_err() {
                    break;
                }
            }
        });
        Some(rx)
    } else {
        None
    };
    let info = oauth::connect(
        vault,
        &http,
        oauth::ConnectRequest {
            name: a.name,
            provider: &provider,
            client_id: a.client_id,
            client_secret: a.client_secret,
            scopes,
        },
        Interaction {
            open: &open,
            pasted,
            cancel: &cancel,
            timeout: a.timeout,
        },
    )
    .map_err(|e| e.to_string())?;
    audit(
        log,
        Some(&mut lock()),
        Event::Connected {
            connection: info.name.clone(),
            provider: info.provider.name.clone(),
        },
    );
    say(
        out,
        &format!(
            "connected `{}` to {}",
            info.name, info.provider.display_name
        ),
    )?;
    if let Some(e) = &info.check_error {
        eprintln!("warning: the connection check failed: {e}");
    }
    say(out, &details(&info))
}

fn expiry(info: &ConnectionInfo) -> String {
    match info.expires_at {
        None => "unknown".into(),
        Some(t) => {
            let now = connection::now();
            if t <= now {
                format!("expired {} ago", age(t))
            } else {
                format!("in {}", age(now - (t - now)))
            }
        }
    }
}

fn status(info: &ConnectionInfo) -> String {
    match &info.status {
        Status::Active => "active".into(),
        Status::RevocationPending { attempts, .. } => {
            format!("revocation pending ({attempts} attempts)")
        }
        Status::NeedsReauthorisation { .. } => "needs re-authorisation".into(),
    }
}

fn details(i: &ConnectionInfo) -> String {
    let mut s = format!(
        "name:        {}\nprovider:    {} ({})\nclient id:   {}\nscopes:      {}\nissued:      {} ago\nexpires:     {}\nrefresh:     {}\nstatus:      {}",
        i.name,
        i.provider.display_name,
        i.provider.name,
        i.client_id,
        i.scopes.join(" "),
        age(i.issued_at),
        expiry(i),
        if i.has_refresh_token { "held (never exported)" } else { "none" },
        status(i),
    );
    for (k, v) in &i.check {
        s.push_str(&format!("\ncheck:       {k} = {v}"));
    }
    if let Some(e) = &i.check_error {
        s.push_str(&format!("\ncheck:       failed: {e}"));
    }
    if let Status::RevocationPending { last_error, .. } = &i.status {
        s.push_str(&format!("\nlast error:  {last_error}"));
    }
    s
}

pub fn list(
    v: &mut UnlockedVault,
    json: bool,
    log: &AuditLog,
    out: &mut impl Write,
) -> Result<(), String> {
    retry_pending(v, &Http::new(), log);
    let all = connection::list(v).map_err(|e| e.to_string())?;
    print_list(&all, json, out)
}

/// Prints connections as a table or JSON.
pub fn print_list(all: &[ConnectionInfo], json: bool, out: &mut impl Write) -> Result<(), String> {
    if json {
        return say(
            out,
            &serde_json::to_string(&all).map_err(|e| e.to_string())?,
        );
    }
    if all.is_empty() {
        return say(
            out,
            "no connections; add one with `token-wallet connect NAME --provider P`",
        );
    }
    say(
        out,
        &format!(
            "{:<20} {:<14} {:<30} {:<18} STATUS",
            "NAME", "PROVIDER", "SCOPES", "EXPIRES"
        ),
    )?;
    for i in all {
        say(
            out,
            &format!(
                "{:<20} {:<14} {:<30} {:<18} {}",
                i.name,
                i.provider.name,
                i.scopes.join(" "),
                expiry(i),
                status(i)
            ),
        )?;
    }
    Ok(())
}

pub fn show(
    v: &mut UnlockedVault,
    name: &str,
    json: bool,
    log: &AuditLog,
    out: &mut impl Write,
) -> Result<(), String> {
    retry_pending(v, &Http::new(), log);
    let c = connection::load(v, name).map_err(|e| e.to_string())?;
    if json {
        return say(
            out,
            &serde_json::to_string(&c.info).map_err(|e| e.to_string())?,
        );
    }
    say(out, &details(&c.info))
}

/// Before a Pleo-style revocation (which authenticates with the access token), refresh
/// the token if it is about to expire. A failure is left to the revocation to report.
pub fn live_for_revocation(r: &Refresher, vault: &Mutex<UnlockedVault>, name: &str) {
    let pleo_style = {
        let mut v = vault.lock().unwrap_or_else(|p| p.into_inner());
        connection::load(&mut v, name).is_ok_and(|c| {
            c.info.provider.revocation == oauth::Revocation::PleoInstallation
                && c.info.status == Status::Active
        })
    };
    if pleo_style {
        if let Err(e) = r.access_token(vault, name, Duration::from_secs(60)) {
            eprintln!("note: could not refresh `{name}` before revoking it: {e}");
        }
    }
}

pub fn disconnect(
    v: &mut UnlockedVault,
    name: &str,
    force: bool,
    log: &AuditLog,
    out: &mut impl Write,
) -> Result<(), String> {
    let http = Http::new();
    let result = oauth::disconnect(v, &http, name, force).map_err(|e| e.to_string())?;
    let how = match &result {
        Disconnected::Revoked => "revoked",
        Disconnected::NoRevocation => "no_revocation",
        Disconnected::Forgotten => "forced",
        Disconnected::Pending(_) => "revocation_pending",
        _ => "other",
    };
    if matches!(result, Disconnected::Revoked) {
        audit(
            log,
            Some(v),
            Event::Revoked {
                connection: name.into(),
            },
        );
    }
    audit(
        log,
        Some(v),
        Event::Disconnected {
            connection: name.into(),
            how: how.into(),
        },
    );
    match result {
        Disconnected::Revoked => say(out, &format!("disconnected `{name}`: revoked at the provider and deleted")),
        Disconnected::NoRevocation => say(out, &format!("disconnected `{name}`: deleted (the provider offers no revocation; its tokens expire on their own)")),
        Disconnected::Forgotten => {
            eprintln!("warning: `{name}` was forgotten without revocation; its tokens may still be live at the provider");
            say(out, &format!("forgot `{name}`"))
        }
        Disconnected::Pending(why) => Err(format!(
            "could not revoke `{name}` ({why}); it is kept as \"revocation pending\" and retried by the next command (or use --force to forget it anyway)"
        )),
        _ => Ok(()),
    }
}

/// The process that asked (the CLI's parent), where the OS tells it.
fn requester() -> (Option<u32>, Option<String>) {
    #[cfg(unix)]
    {
        let pid = std::os::unix::process::parent_id();
        let name = std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .ok()
            .map(|s| s.trim().to_string());
        (Some(pid), name)
    }
    #[cfg(not(unix))]
    {
        (None, None)
    }
}

/// An access token for `name` (refreshed first if needed), its use recorded and audited.
pub fn token(
    r: &Refresher,
    vault: &Mutex<UnlockedVault>,
    name: &str,
    min_ttl: Duration,
    log: &AuditLog,
) -> Result<Exported, Fail> {
    let t = r.access_token(vault, name, min_ttl).map_err(|e| {
        let code = match &e {
            RefreshError::NeedsReauthorisation { .. } => 4,
            RefreshError::Provider { error, .. } if error.is_transient() => 5,
            _ => 1,
        };
        Fail {
            code,
            msg: e.to_string(),
        }
    })?;
    let mut v = vault.lock().unwrap_or_else(|p| p.into_inner());
    // Remember the use (for `status` and `prune`); a failure here does not withhold the token.
    let mut info = None;
    if let Ok(mut c) = connection::load(&mut v, name) {
        c.info.last_export = Some(connection::now());
        let _ = connection::save(&mut v, &c);
        info = Some(c.info.clone());
    }
    let (pid, process) = requester();
    audit(
        log,
        Some(&mut v),
        Event::Export {
            connection: name.into(),
            pid,
            process,
            parent_pid: None,
            parent_process: None,
        },
    );
    Ok(Exported { token: t, info })
}

/// A token handed out, with what is known about its connection.
pub struct Exported {
    /// The token.
    pub token: token_wallet_core::refresh::AccessToken,
    /// The connection's public facts.
    pub info: Option<ConnectionInfo>,
}

pub fn refresh(
    r: &Refresher,
    vault: &Mutex<UnlockedVault>,
    name: Option<&str>,
    all: bool,
    out: &mut impl Write,
) -> Result<(), String> {
    let names = if all {
        connection::names(&vault.lock().unwrap_or_else(|p| p.into_inner()))
    } else {
        // Invariant: clap requires NAME unless --all.
        vec![name.expect("NAME or --all").to_string()]
    };
    let mut failed = 0;
    for n in &names {
        match r.force(vault, n) {
            Ok(t) => say(
                out,
                &format!(
                    "refreshed `{n}`: new tokens, expiring {}",
                    t.expires_at
                        .map(|e| format!(
                            "in {}",
                            age(connection::now() - (e.saturating_sub(connection::now())))
                        ))
                        .unwrap_or_else(|| "at an unknown time".into())
                ),
            )?,
            Err(e) => {
                failed += 1;
                eprintln!("error: {e}");
            }
        }
    }
    if failed > 0 {
        return Err(format!("{failed} of {} refreshes failed", names.len()));
    }
    Ok(())
}

pub fn prune(
    v: &mut UnlockedVault,
    inactive_days: u64,
    dry_run: bool,
    log: &AuditLog,
    out: &mut impl Write,
) -> Result<(), String> {
    let now = connection::now();
    let mut victims = Vec::new();
    for c in connection::list(v).map_err(|e| e.to_string())? {
        let idle = now.saturating_sub(token_wallet_core::monitor::last_used(&c)) / 86_400;
        match &c.status {
            // Its refresh token is dead: nothing at the provider can be revoked with it.
            Status::NeedsReauthorisation { .. } => {
                victims.push((c.name, "refresh token no longer valid".to_string(), true))
            }
            Status::Active if idle >= inactive_days => {
                victims.push((c.name, format!("unused for {idle} days"), false))
            }
            _ => {}
        }
    }
    if victims.is_empty() {
        return say(out, "nothing to prune");
    }
    let http = Http::new();
    let mut pending = 0;
    for (name, reason, dead) in victims {
        if dry_run {
            say(out, &format!("would prune `{name}`: {reason}"))?;
            continue;
        }
        match oauth::disconnect(v, &http, &name, dead).map_err(|e| e.to_string())? {
            Disconnected::Pending(why) => {
                pending += 1;
                eprintln!("warning: `{name}`: revocation pending ({why})");
            }
            _ => {
                audit(
                    log,
                    Some(v),
                    Event::Pruned {
                        connection: name.clone(),
                        reason: reason.clone(),
                    },
                );
                say(out, &format!("pruned `{name}`: {reason}"))?;
            }
        }
    }
    if pending > 0 {
        return Err(format!("{pending} connection(s) kept as \"revocation pending\"; they are retried by the next command"));
    }
    Ok(())
}
