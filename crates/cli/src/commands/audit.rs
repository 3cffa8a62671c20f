//! `audit` and `audit verify`: the tamper-evident log.

use super::{age, say, Ctx};
use crate::cli::{AuditAction, AuditArgs};
use crate::context::{Local, Unlocked};
use crate::error::Result;
use crate::passphrase::Sources;
use std::io::Write;
use std::time::Duration;

/// `audit` and `audit verify`.
pub fn audit(cx: &mut Ctx<'_>, a: &AuditArgs) -> Result {
    let local = cx.local()?;
    if let Some(AuditAction::Verify { pass }) = &a.action {
        // `audit --passphrase-file F verify` as well as `audit verify --passphrase-file F`.
        let pass = if Sources::of(pass).given() {
            pass
        } else {
            &a.pass
        };
        return verify(&local.unlock(pass, &mut cx.input)?, &mut cx.out);
    }
    if Sources::of(&a.pass).given() {
        // Unlocked: verified, and each connection shown by its name.
        let v = local.unlock(&a.pass, &mut cx.input)?;
        verify(&v, &mut std::io::stderr())?;
        return show(&local, Some(&v), a.since, a.json, &mut cx.out);
    }
    show(&local, None, a.since, a.json, &mut cx.out)
}

/// `audit`: the lines (since `since`), with a warning when the chain is broken. Lines
/// name connections by keyed labels (`#` and 16 hex); with the vault `unlocked`, each
/// connection it holds is shown by its name.
fn show(
    local: &Local,
    unlocked: Option<&Unlocked<'_>>,
    since: Option<Duration>,
    json: bool,
    out: &mut impl Write,
) -> Result {
    let lines = match unlocked {
        Some(v) => v.log().read_named(&mut v.vault())?,
        None => local.log.read()?,
    };
    let labelled = |l: &token_wallet_core::audit::Line| {
        l.event
            .connection()
            .is_some_and(|c| c.starts_with(token_wallet_core::audit::LABEL_PREFIX))
    };
    if unlocked.is_none() && lines.iter().any(labelled) {
        eprintln!(
            "note: connections are shown by keyed labels (#…); with the passphrase (--passphrase-file F or --passphrase-stdin) each is shown by its name"
        );
    }
    if let Some((n, why)) = local.log.chain_break()? {
        eprintln!(
            "warning: the audit log is broken at line {n}: {why}; `token-wallet audit verify` checks it fully ({})",
            local.log.path().display()
        );
    }
    let from = since.map(|d| token_wallet_core::connection::now().saturating_sub(d.as_secs()));
    for l in lines.iter().filter(|l| from.is_none_or(|f| l.ts >= f)) {
        if json {
            say(out, &serde_json::to_string(l).map_err(|e| e.to_string())?)?;
            continue;
        }
        let (event, fields) = l.event.name_and_fields();
        let mut fields: Vec<String> = fields
            .into_iter()
            .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("null")))
            .collect();
        if l.mac.is_none() {
            fields.push("(written while locked)".into());
        }
        say(
            out,
            &format!(
                "{:>6}  {} ago  {:<18} {}",
                l.seq,
                age(l.ts),
                event,
                fields.join(" ")
            ),
        )?;
    }
    Ok(())
}

/// `audit verify`: the chain, the MACs and the anchor.
fn verify(v: &Unlocked<'_>, out: &mut impl Write) -> Result {
    let verdict = {
        let mut g = v.vault();
        v.log().verify(&mut g)?
    };
    let path = v.log().path().display();
    match &verdict.broken {
        None => say(
            out,
            &format!(
                "audit log OK: {} lines, {} authenticated, chain and anchor intact ({path})",
                verdict.lines, verdict.authenticated,
            ),
        ),
        Some((line, why)) => Err(format!("audit log BROKEN at line {line}: {why} ({path})").into()),
    }
}
