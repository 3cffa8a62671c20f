//! `token`, `env`, `exec`: an access token leaves the wallet (never a refresh token),
//! from the agent or the vault unlocked here.

use super::{span, Ctx};
use crate::cli::{EnvArgs, ExecArgs, PassArgs, TokenArgs};
use crate::error::{Error, Result};
use crate::export::{self, Format};
use crate::source::with_source;
use std::time::Duration;
use token_wallet_core::agent::AgentError;
use token_wallet_core::connection::{self, ConnectionName};
use token_wallet_core::ops::Exported;

/// `exec`'s least lifetime when none is asked for.
const EXEC_MIN_TTL: Duration = Duration::from_secs(300);

/// The token, with a warning on stderr when it is not what was asked for: shorter-lived
/// than `asked` (the provider's tokens live less), or the current one because a refresh
/// failed for now.
fn fetch(
    cx: &mut Ctx<'_>,
    pass: &PassArgs,
    name: &ConnectionName,
    min_ttl: Duration,
    asked: bool,
) -> Result<Exported> {
    let t =
        with_source(cx.cli, pass, &mut cx.input, |s| s.token(name, min_ttl)).map_err(
            |e| match e {
                // The agent only knows the connection's message; the name is known here.
                Error::Agent(AgentError::NeedsReauthorisation(m)) => Error::Message(
                    4,
                    format!("{m}; sign in again with `token-wallet reauthorise {name}`"),
                ),
                e => e,
            },
        )?;
    let left = t
        .token
        .expires_at
        .map(|e| e.saturating_sub(connection::now()));
    if let Some(why) = &t.token.refresh_error {
        eprintln!(
            "warning: could not refresh `{name}` ({why}); this token is still valid for {}, and the next request tries again",
            left.map_or("an unknown time".into(), span)
        );
    }
    if let Some(left) = left.filter(|l| asked && *l < min_ttl.as_secs()) {
        let lifetime = t
            .info
            .expires_at
            .unwrap_or(0)
            .saturating_sub(t.info.issued_at);
        eprintln!(
            "warning: `{name}`'s token has {} left, less than the {} asked for: the provider's tokens live {}",
            span(left),
            span(min_ttl.as_secs()),
            span(lifetime)
        );
    }
    Ok(t)
}

/// `token`.
pub fn token(cx: &mut Ctx<'_>, a: &TokenArgs) -> Result {
    let format = if a.json { Format::Json } else { a.format };
    let t = fetch(cx, &a.pass, &a.name, a.min_ttl, !a.min_ttl.is_zero())?;
    export::print(&t, format, &mut cx.out)
}

/// `env`.
pub fn env(cx: &mut Ctx<'_>, a: &EnvArgs) -> Result {
    let t = fetch(cx, &a.pass, &a.name, a.min_ttl, !a.min_ttl.is_zero())?;
    cx.say(&export::env_line(a.var.as_deref(), &t, a.shell))
}

/// `exec`: the command is found before any token is fetched (a typo costs no refresh
/// and no export); the vault is locked again, and its keys wiped, before it runs.
/// Returns only on failure; otherwise this process ends with the command's exit code.
pub fn exec(cx: &mut Ctx<'_>, a: &ExecArgs) -> Result<i32> {
    let program = export::find_program(&a.cmd[0])?;
    let min_ttl = a.min_ttl.unwrap_or(EXEC_MIN_TTL);
    let t = fetch(cx, &a.pass, &a.name, min_ttl, a.min_ttl.is_some())?;
    // The vault is locked and its keys wiped; what unlocking and exporting left in this
    // thread's stack goes too, before the command runs beside this process (`--mask`).
    token_wallet_core::crypto::scrub_deep_stack();
    export::exec(&t, a.var.as_deref(), a.mask, &program, &a.cmd[1..])
}
