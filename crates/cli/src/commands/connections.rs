//! `providers`, `connect`, `reauthorise`, `list`, `show`, `disconnect`, `refresh`,
//! `prune`: the connections, through core's operations layer.

use super::{age, say, span, Ctx};
use crate::cli::{
    ConnectArgs, DisconnectArgs, PassArgs, ProvidersArgs, PruneArgs, ReauthoriseArgs, RefreshArgs,
    SignInArgs,
};
use crate::context::config;
use crate::error::{Error, Result};
use crate::source::{with_source, with_source_reading};
use secrecy::SecretString;
use std::io::{BufRead, Write};
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use token_wallet_core::connection::{self, ConnectionInfo, ConnectionName, CredentialKind, Status};
use token_wallet_core::health::Health;
use token_wallet_core::oauth::{self, Interaction, SignInLink};
use token_wallet_core::ops::{ConnectRequest, Disconnected, ReplacedGrant};

/// `providers`.
pub fn providers(cx: &mut Ctx<'_>, a: &ProvidersArgs) -> Result {
    let specs = config(cx.cli)?.provider_specs()?;
    let out = &mut cx.out;
    if a.json {
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

/// Runs a sign-in (`run` gets the browser interaction): in the browser, or with
/// `no_browser` by a printed link, the address it ends on pasted on stdin. Then says what
/// was `done` ("connected … to") and the connection's details.
fn sign_in(
    display: &str,
    how: &SignInArgs,
    out: &mut impl Write,
    done: (&str, &str),
    run: impl FnOnce(Interaction<'_>) -> Result<ConnectionInfo>,
) -> Result {
    let pasted = how.no_browser.then(|| {
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
        rx
    });
    let open = |link: &SignInLink<'_>| {
        if how.no_browser {
            // Printed to the person's terminal, never put in a process's arguments.
            eprintln!("Open this link in a browser to sign in to {display}:\n\n  {}\n\nWaiting for the sign-in; if the browser is on another machine, paste the address it ends on here.", link.direct);
            Ok(())
        } else {
            eprintln!("Opening your browser to sign in to {display}... (if it does not open, run again with --no-browser)");
            // The browser gets the one-time start address: what other users can read in
            // `ps` is dead once the browser has used it.
            token_wallet_core::browser::open(link.start)
        }
    };
    let info = run(Interaction {
        open: &open,
        pasted,
        cancel: &AtomicBool::new(false),
        reopen: None,
        timeout: Duration::from_secs(how.timeout),
    })?;
    say(
        out,
        &format!(
            "{} `{}` {} {}",
            done.0, info.name, done.1, info.provider.display_name
        ),
    )?;
    if let Some(e) = &info.check_error {
        eprintln!("warning: the connection check failed: {e}");
    }
    // Another local user racing the sign-in would show here as a foreign account.
    let who = account(&info);
    if who != "-" {
        say(
            out,
            &format!(
                "account:     {who}, as {} reports it; if this is not the account you meant, run `token-wallet disconnect {}`",
                info.provider.display_name, info.name
            ),
        )?;
    }
    say(out, &details(&info))
}

/// `connect`, through the agent if one runs unlocked (the sign-in then waits in the
/// agent; the browser is opened from here).
pub fn connect(cx: &mut Ctx<'_>, a: &ConnectArgs) -> Result {
    let provider = config(cx.cli)?.provider(&a.provider, &oauth::http::Http::new())?;
    let read = |input: &mut _| -> Result<Option<SecretString>> {
        if !a.client_secret_stdin {
            return Ok(None);
        }
        let mut line = zeroize::Zeroizing::new(String::new());
        BufRead::read_line(input, &mut line)?;
        let secret = token_wallet_core::ops::Pasted::new(&line)
            .map_err(|_| "--client-secret-stdin: standard input has no client secret")?;
        eprintln!("note: a client secret on a user device can be copied from it; Pleo advises public clients with PKCE");
        Ok(Some(secret.secret().clone()))
    };
    let out = &mut cx.out;
    with_source_reading(cx.cli, &a.pass, &mut cx.input, read, |s, secret| {
        let req = ConnectRequest {
            name: &a.name,
            provider: &provider,
            client_id: a.client_id.clone(),
            client_secret: secret,
            scopes: a
                .scopes
                .as_deref()
                .map(|s| s.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default(),
        };
        sign_in(
            &provider.display_name,
            &a.how,
            out,
            ("connected", "to"),
            |ui| s.connect(req, ui),
        )
    })
}

/// `reauthorise`: signs in again in place; another account is refused. Through the agent
/// if one runs unlocked.
pub fn reauthorise(cx: &mut Ctx<'_>, a: &ReauthoriseArgs) -> Result {
    let (name, out) = (&a.name, &mut cx.out);
    let mut replaced = None;
    with_source(cx.cli, &a.pass, &mut cx.input, |s| {
        let display = s
            .list()?
            .into_iter()
            .find(|c| &c.name == name)
            .ok_or_else(|| Error::from(token_wallet_core::VaultError::NotFound(name.into())))?
            .provider
            .display_name;
        sign_in(&display, &a.how, out, ("re-authorised", "with"), |ui| {
            let (info, r) = s.reauthorise(name, ui)?;
            replaced = Some(r);
            Ok(info)
        })
    })?;
    match replaced {
        Some(ReplacedGrant::Revoked) => cx.say("the replaced grant was revoked at the provider"),
        Some(ReplacedGrant::LeftLive(why)) => {
            cx.say(&format!("the replaced grant was not revoked: {why}"))
        }
        Some(ReplacedGrant::RevokeFailed(e)) => {
            eprintln!("warning: the replaced grant could not be revoked ({e}); its tokens may stay live at the provider until they expire");
            Ok(())
        }
        _ => Ok(()),
    }
}

fn expiry(info: &ConnectionInfo) -> String {
    let now = connection::now();
    match info.expires_at {
        None => "unknown".into(),
        // An expired access token of a connection that refreshes is not a problem: the
        // next request refreshes it.
        Some(t) if t <= now && info.has_refresh_token && info.status == Status::Active => {
            "refreshes on next use".into()
        }
        Some(t) if t <= now => format!("expired {} ago", age(t)),
        Some(t) => format!("in {}", span(t - now)),
    }
}

/// The connection's health in words: the same model as the app's badges (core's `health`).
pub fn status(info: &ConnectionInfo) -> String {
    match Health::of(info, connection::now()) {
        Health::RefreshInterrupted => "refresh interrupted (checked on next use)".into(),
        Health::RefreshFailing(n) => format!("active, last {n} refreshes failed"),
        Health::Expiring => "expiring (no refresh token)".into(),
        Health::Expired => "expired (no refresh token): reauthorise".into(),
        Health::NeedsReauthorisation => "needs re-authorisation".into(),
        Health::RevocationPending(attempts) => format!("revocation pending ({attempts} attempts)"),
        Health::KeyExpiring(days) => format!(
            "expires {}: rotate it",
            token_wallet_core::health::in_days(days)
        ),
        Health::KeyExpired => "expired: make a new one and rotate it".into(),
        Health::VerificationFailed => "refused at its last check".into(),
        Health::InstallationProblem => format!(
            "installation {}",
            info.installation().map(|x| x.words()).unwrap_or_default()
        ),
        Health::InstallationUnknown => {
            "installation status unknown (Pleo's answer could not be read)".into()
        }
        _ => "active".into(),
    }
}

/// `oauth`, `api-key` or `static`, for listings.
fn kind_word(kind: CredentialKind) -> &'static str {
    match kind {
        CredentialKind::Oauth => "oauth",
        CredentialKind::ApiKey => "api-key",
        _ => "static",
    }
}

fn details(i: &ConnectionInfo) -> String {
    let mut s = format!(
        "name:        {}\nkind:        {}\nprovider:    {} ({})\nclient id:   {}\nscopes:      {}\nissued:      {} ago\nexpires:     {}\nrefresh:     {}\nstatus:      {}",
        i.name,
        kind_word(i.kind),
        i.provider.display_name,
        i.provider.name,
        i.client_id,
        i.scopes.join(" "),
        age(i.issued_at),
        expiry(i),
        if i.has_refresh_token { "held (never exported)" } else { "none" },
        status(i),
    );
    match i.checked_at {
        Some(t) => s.push_str(&format!("\nchecked:     {} ago", age(t))),
        None if i.kind == CredentialKind::ApiKey => s.push_str(&format!(
            "\nchecked:     never (added without verification; `token-wallet check {}` verifies it)",
            i.name
        )),
        None => {}
    }
    if let (true, Some(t)) = (i.is_restored_copy(), i.restored_at) {
        s.push_str(&format!(
            "\nrestored:    {} ago from a backup: its refresh token is a copy (`token-wallet reauthorise {}` gives this vault its own)",
            age(t),
            i.name
        ));
    }
    for (k, v) in &i.check {
        s.push_str(&format!("\ncheck:       {k} = {v}"));
    }
    if let Some(e) = &i.check_error {
        s.push_str(&format!("\ncheck:       failed: {e}"));
    }
    if let Some(e) = &i.last_refresh_error {
        s.push_str(&format!("\nlast refresh error: {e}"));
    }
    match &i.status {
        Status::RevocationPending { last_error, .. } => {
            s.push_str(&format!("\nlast error:  {last_error}"))
        }
        Status::NeedsReauthorisation { reason, .. } => s.push_str(&format!(
            "\nwhy:         {reason}\nnext:        `token-wallet reauthorise {}` signs it in again",
            i.name
        )),
        Status::Active => {}
    }
    s
}

/// `list` (every connection) or `show NAME` (one, in detail), through the agent if one
/// runs.
pub fn list(
    cx: &mut Ctx<'_>,
    name: Option<&ConnectionName>,
    json: bool,
    pass: &PassArgs,
) -> Result {
    let all = with_source(cx.cli, pass, &mut cx.input, |s| s.list())?;
    let out = &mut cx.out;
    if let Some(name) = name {
        let c = all
            .into_iter()
            .find(|c| &c.name == name)
            .ok_or_else(|| Error::from(token_wallet_core::VaultError::NotFound(name.into())))?;
        let text = if json {
            serde_json::to_string(&c).map_err(|e| e.to_string())?
        } else {
            details(&c)
        };
        return say(out, &text);
    }
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
    let mut rows = vec![[
        "NAME".to_string(),
        "KIND".into(),
        "PROVIDER".into(),
        "ACCOUNT".into(),
        "SCOPES".into(),
        "EXPIRES".into(),
        "STATUS".into(),
    ]];
    rows.extend(all.iter().map(|i| {
        [
            i.name.to_string(),
            kind_word(i.kind).into(),
            i.provider.name.clone(),
            account(i),
            i.scopes.join(" "),
            expiry(i),
            status(i),
        ]
    }));
    for line in table(&rows) {
        say(out, &line)?;
    }
    Ok(())
}

/// Rows as lines, each column padded to its widest cell (the last is not padded).
pub fn table<const N: usize>(rows: &[[String; N]]) -> Vec<String> {
    let mut width = [0usize; N];
    for r in rows {
        for (w, cell) in width.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    rows.iter()
        .map(|r| {
            let mut line = String::new();
            for (k, cell) in r.iter().enumerate() {
                if k + 1 == N {
                    line.push_str(cell);
                } else {
                    line.push_str(&format!("{cell:<w$}  ", w = width[k]));
                }
            }
            line.trim_end().to_string()
        })
        .collect()
}

/// Which account a connection acts for, as its provider's check named it: Pleo's
/// company (`company 1a2b3c4d…`), else the token's user (`sub` / `username`); `-` when
/// unknown (never checked, or a provider with no check).
pub fn account(i: &ConnectionInfo) -> String {
    if let Some(urn) = i.facts().subject {
        return match urn.strip_prefix("urn:pleo:company:") {
            Some(id) if id.chars().count() > 8 => {
                format!("company {}…", id.chars().take(8).collect::<String>())
            }
            Some(id) => format!("company {id}"),
            None => urn.clone(),
        };
    }
    ["username", "sub"]
        .iter()
        .find_map(|k| i.check.get(*k).filter(|s| !s.is_empty()).cloned())
        .unwrap_or_else(|| "-".into())
}

/// `disconnect`.
pub fn disconnect(cx: &mut Ctx<'_>, a: &DisconnectArgs) -> Result {
    let name = &a.name;
    let out = &mut cx.out;
    match with_source(cx.cli, &a.pass, &mut cx.input, |s| s.disconnect(name, a.force))? {
        Disconnected::Revoked => say(out, &format!("disconnected `{name}`: revoked at the provider and deleted")),
        Disconnected::NoRevocation => say(out, &format!("disconnected `{name}`: deleted (the provider offers no revocation; its tokens expire on their own)")),
        Disconnected::Forgotten => {
            eprintln!("warning: `{name}` was forgotten without revocation; its tokens may still be live at the provider");
            say(out, &format!("forgot `{name}`"))
        }
        Disconnected::KeyForgotten(CredentialKind::ApiKey) => say(out, &format!("deleted `{name}` here; a Pleo API key stays valid until you revoke it in Pleo's web app (Settings -> API keys)")),
        Disconnected::KeyForgotten(_) => say(out, &format!("deleted `{name}` here; the token stays valid until you revoke it in the tool or service that issued it")),
        Disconnected::Pending(why) => Err(format!(
            "could not revoke `{name}` ({why}); it is kept as \"revocation pending\" and retried by the next command (or use --force to forget it anyway)"
        )
        .into()),
        _ => Ok(()),
    }
}

/// `refresh NAME` or `refresh --all`, through the agent if one runs.
pub fn refresh(cx: &mut Ctx<'_>, a: &RefreshArgs) -> Result {
    let (name, all, out) = (a.name.as_ref(), a.all, &mut cx.out);
    let said = |out: &mut dyn Write, c: &ConnectionInfo| -> Result {
        let when = c
            .expires_at
            .map(|e| format!("in {}", span(e.saturating_sub(connection::now()))))
            .unwrap_or_else(|| "at an unknown time".into());
        writeln!(out, "refreshed `{}`: new tokens, expiring {when}", c.name)?;
        Ok(())
    };
    with_source(cx.cli, &a.pass, &mut cx.input, |s| match name {
        // One connection: its own error, and its own exit code (4: sign in again).
        Some(n) if !all => said(out, &s.refresh(n)?),
        _ => {
            // API keys and static tokens are never refreshed: skipped, and said so.
            let (refreshed, fixed): (Vec<ConnectionInfo>, Vec<ConnectionInfo>) =
                s.list()?.into_iter().partition(|c| c.kind.is_refreshed());
            if !fixed.is_empty() {
                let list: Vec<String> = fixed.iter().map(|c| c.name.to_string()).collect();
                writeln!(
                    out,
                    "skipped {} (API keys and static tokens are never refreshed)",
                    list.join(", ")
                )?;
            }
            let names: Vec<ConnectionName> = refreshed.into_iter().map(|c| c.name).collect();
            let mut failed = 0;
            for n in &names {
                match s.refresh(n) {
                    Ok(c) => said(out, &c)?,
                    Err(e) => {
                        failed += 1;
                        eprintln!("error: {e}");
                    }
                }
            }
            if failed > 0 {
                return Err(format!("{failed} of {} refreshes failed", names.len()).into());
            }
            Ok(())
        }
    })
}

/// `prune`, through the agent if one runs.
pub fn prune(cx: &mut Ctx<'_>, a: &PruneArgs) -> Result {
    let found = with_source(cx.cli, &a.pass, &mut cx.input, |s| {
        s.prune(a.inactive_days, a.dry_run)
    })?;
    let out = &mut cx.out;
    if found.is_empty() {
        return say(out, "nothing to prune");
    }
    let mut kept = 0;
    for p in found {
        match p.outcome {
            None => say(out, &format!("would prune `{}`: {}", p.name, p.reason))?,
            Some(Ok(Disconnected::Pending(why))) => {
                kept += 1;
                eprintln!("warning: `{}`: revocation pending ({why})", p.name);
            }
            Some(Err(e)) => {
                kept += 1;
                eprintln!("warning: `{}`: {e}", p.name);
            }
            Some(Ok(_)) => say(out, &format!("pruned `{}`: {}", p.name, p.reason))?,
        }
    }
    if kept > 0 {
        return Err(format!("{kept} connection(s) kept (revocation pending or refused); pending ones are retried by the next command").into());
    }
    Ok(())
}
