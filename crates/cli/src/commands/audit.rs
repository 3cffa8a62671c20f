//! `audit` and `audit verify`: the tamper-evident log.

use super::{age, say, Ctx};
use crate::cli::{AuditAction, AuditArgs};
use crate::context::Local;
use crate::error::Result;
use crate::passphrase::Sources;
use crate::source::client;
use std::io::Write;
use token_wallet_core::agent::AgentError;
use token_wallet_core::audit::{Line, Verdict};

/// `audit` and `audit verify`. A running, unlocked agent answers without a passphrase:
/// verified, and each connection by its name.
pub fn audit(cx: &mut Ctx<'_>, a: &AuditArgs) -> Result {
    let local = cx.local()?;
    let verify_only = matches!(a.action, Some(AuditAction::Verify { .. }));
    // `audit --passphrase-file F verify` as well as `audit verify --passphrase-file F`.
    let pass = match &a.action {
        Some(AuditAction::Verify { pass }) if Sources::of(pass).given() => pass,
        _ => &a.pass,
    };
    let from = a
        .since
        .map(|d| token_wallet_core::connection::now().saturating_sub(d.as_secs()));
    let path = local.log.path().display().to_string();
    // Verified, each connection by its name: by a running, unlocked agent (no passphrase
    // given), else here with the passphrase; `None`: the lines as they are.
    let mut verified: Option<(Verdict, Vec<Line>)> = None;
    if !Sources::of(pass).given() {
        if let Some(mut c) = client(cx.cli)? {
            match c.audit(from) {
                Ok((lines, verdict)) => verified = Some((verdict, lines)),
                Err(AgentError::Locked) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    if verified.is_none() && (verify_only || Sources::of(pass).given()) {
        let v = local.unlock(pass, &mut cx.input)?;
        let verdict = v.log().verify(&mut v.vault())?;
        let lines = if verify_only {
            Vec::new()
        } else {
            v.log().read_named(&mut v.vault())?
        };
        verified = Some((verdict, lines));
    }
    match verified {
        Some((verdict, _)) if verify_only => said(&verdict, &path, &mut cx.out),
        Some((verdict, lines)) => {
            said(&verdict, &path, &mut std::io::stderr())?;
            show(&local, &lines, true, from, a.json, &mut cx.out)
        }
        None => show(&local, &local.log.read()?, false, from, a.json, &mut cx.out),
    }
}

/// `audit`: the lines (from `from`, Unix seconds), with a warning when the chain is
/// broken. Lines name connections by keyed labels (`#` and 16 hex); `named`, each
/// connection the vault holds is shown by its name.
fn show(
    local: &Local,
    lines: &[Line],
    named: bool,
    from: Option<u64>,
    json: bool,
    out: &mut impl Write,
) -> Result {
    let labelled = |l: &Line| {
        l.event
            .connection()
            .is_some_and(|c| c.starts_with(token_wallet_core::audit::LABEL_PREFIX))
    };
    if !named && lines.iter().any(labelled) {
        eprintln!(
            "note: connections are shown by keyed labels (#…); with the passphrase (--passphrase-file F or --passphrase-stdin), or an unlocked agent, each is shown by its name"
        );
    }
    if let Some((n, why)) = local.log.chain_break()? {
        eprintln!(
            "warning: the audit log is broken at line {n}: {why}; `token-wallet audit verify` checks it fully ({})",
            local.log.path().display()
        );
    }
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

/// What `audit verify` found, said: OK, or an error naming the first broken line.
fn said(verdict: &Verdict, path: &str, out: &mut impl Write) -> Result {
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
