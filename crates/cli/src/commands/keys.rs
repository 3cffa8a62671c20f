//! `add-key`, `add-token`, `rotate-secret`, `check`: credentials added by hand (Pleo API
//! keys, other tools' tokens) and checking any credential with its provider.

use super::{say, Ctx};
use crate::cli::{AddKeyArgs, AddTokenArgs, CheckArgs, RotateSecretArgs};
use crate::context::config;
use crate::error::{Error, Result};
use crate::source::{with_source_reading, Added};
use std::io::BufRead;
use token_wallet_core::clock;
use token_wallet_core::connection::{ConnectionInfo, CredentialKind};
use token_wallet_core::facts::InstallationStatus;
use token_wallet_core::oauth;
use token_wallet_core::ops::CheckOutcome;
use token_wallet_core::ops::Pasted;

/// `add-key`: a Pleo API key, verified first, stored beside the connections.
pub fn add_key(cx: &mut Ctx<'_>, a: &AddKeyArgs) -> Result {
    let provider = config(cx.cli)?.provider(&a.provider, &oauth::http::Http::new())?;
    let display = provider.display_name.clone();
    let read = |i: &mut _| read_secret(a.key_stdin, "Pleo API key", i);
    with_source_reading(cx.cli, &a.pass, &mut cx.input, read, |s, key| {
        let info = s.add(Added::Key {
            name: &a.name,
            provider: Box::new(provider),
            key: &key,
            expires_at: a.expires,
            verify: !a.no_verify,
        })?;
        let company = info.facts().subject;
        let company = company.as_deref().unwrap_or("not verified");
        let expiry = expiry_text(a.expires);
        say(
            &mut cx.out,
            &format!(
                "added API key `{}` for {display} (company {company}; {expiry})",
                a.name
            ),
        )
    })
}

/// A secret typed at a no-echo prompt, or the next line of `input` (`from_stdin`), held to
/// core's rule for pasted secrets (trimmed; empty is refused).
pub(super) fn read_secret(
    from_stdin: bool,
    what: &str,
    input: &mut impl BufRead,
) -> Result<Pasted> {
    let text = if from_stdin {
        let mut line = zeroize::Zeroizing::new(String::new());
        input.read_line(&mut line)?;
        line
    } else {
        zeroize::Zeroizing::new(
            rpassword::prompt_password(format!("{what} (not shown): "))
                .map_err(|e| format!("could not read the {what}: {e}"))?,
        )
    };
    Pasted::new(&text).map_err(|_| format!("no {what} was given; nothing was stored").into())
}

/// "expires YYYY-MM-DD", or that no date was given.
pub(super) fn expiry_text(expires_at: Option<u64>) -> String {
    expires_at
        .map(|t| format!("expires {}", clock::date(t)))
        .unwrap_or_else(|| "no expiry date given".into())
}

/// `add-token`: another tool's token, stored beside the connections.
pub fn add_token(cx: &mut Ctx<'_>, a: &AddTokenArgs) -> Result {
    use crate::cli::HeaderScheme;
    let kind = match a.header_scheme {
        HeaderScheme::Bearer => CredentialKind::StaticBearer,
        HeaderScheme::Basic => CredentialKind::StaticBasic,
        HeaderScheme::Raw => CredentialKind::StaticRaw,
    };
    let read = |i: &mut _| read_secret(a.token_stdin, "token", i);
    with_source_reading(cx.cli, &a.pass, &mut cx.input, read, |s, token| {
        s.add(Added::Token {
            name: &a.name,
            kind,
            label: &a.label,
            token: &token,
            expires_at: a.expires,
        })?;
        let expiry = expiry_text(a.expires);
        say(
            &mut cx.out,
            &format!("added token `{}` ({}; {expiry})", a.name, a.label),
        )
    })
}

/// `rotate-secret`: a new key or token in place of the old, verified first; then where to
/// revoke the old one.
pub fn rotate_secret(cx: &mut Ctx<'_>, a: &RotateSecretArgs) -> Result {
    let out = &mut cx.out;
    let read = |i: &mut _| read_secret(a.secret_stdin, "new key", i);
    with_source_reading(cx.cli, &a.pass, &mut cx.input, read, |s, new| {
        let r = s.rotate_secret(&a.name, &new, a.expires, !a.no_verify)?;
        let company = r
            .info
            .facts()
            .subject
            .map(|c| format!(" (company {c})"))
            .unwrap_or_default();
        say(
            out,
            &format!(
                "rotated `{}`: the new one is in place{company}; {}",
                a.name,
                expiry_text(r.info.expires_at)
            ),
        )?;
        let where_ = if r.info.kind == CredentialKind::ApiKey {
            "in Pleo's web app (Settings -> API keys)"
        } else {
            "where it was made"
        };
        say(
            out,
            &format!(
                "the old one still works until you revoke it {where_}: {}",
                r.old
            ),
        )
    })
}

/// `check`: the credential with its provider now, and Pleo's installation status. Exit
/// 8 if the provider refused it or its installation is in `ERROR` / `INACTIVE`, 5 if the
/// check could not be completed (the installation's status unreadable included).
pub fn check(cx: &mut Ctx<'_>, a: &CheckArgs) -> Result {
    let (outcome, info) =
        crate::source::with_source(cx.cli, &a.pass, &mut cx.input, |s| s.check(&a.name))?;
    let i = &info;
    let out = &mut cx.out;
    if a.json {
        let installation = i.installation();
        let j = serde_json::json!({
            "name": i.name,
            "kind": i.kind,
            "outcome": outcome.to_string(),
            "error": i.check_error,
            "check": i.check,
            "installation_status": installation.as_ref().map(|x| x.status.as_str()),
            "installation_error_code": installation.as_ref().and_then(|x| x.error_code.as_deref()),
            "installation_read_error": i.installation_unknown(),
            "checked_at": i.checked_at,
        });
        say(out, &j.to_string())?;
    } else {
        say(out, &check_text(i, &outcome))?;
    }
    match outcome {
        CheckOutcome::Refused | CheckOutcome::InstallationProblem => Err(Error::Found(8)),
        CheckOutcome::Failed | CheckOutcome::InstallationUnknown => Err(Error::Found(5)),
        _ => Ok(()),
    }
}

/// What `check` says, a line per fact.
fn check_text(i: &ConnectionInfo, outcome: &CheckOutcome) -> String {
    let name = &i.name;
    let mut lines = vec![match outcome {
        CheckOutcome::Unverifiable => {
            format!("`{name}` is a static token: there is nothing to check it with")
        }
        CheckOutcome::Refused => format!(
            "`{name}` was refused: {}",
            i.check_error.as_deref().unwrap_or_default()
        ),
        CheckOutcome::Failed => format!(
            "`{name}` could not be checked: {}",
            i.check_error.as_deref().unwrap_or_default()
        ),
        _ => format!("`{name}` is accepted by {}", i.provider.display_name),
    }];
    let facts = i.facts();
    for (label, v) in [
        ("company", facts.subject),
        ("application", facts.application),
        ("scopes", facts.scopes),
    ] {
        if let Some(v) = v {
            lines.push(format!("  {label}: {v}"));
        }
    }
    match i.installation() {
        Some(x) if x.status == InstallationStatus::None => lines.push(
            "  installation: none yet (an API-key integration creates it: POST /v1/installations/me)"
                .into(),
        ),
        Some(x) => lines.push(format!("  installation: {}", x.words())),
        None => {}
    }
    if let Some(why) = i.installation_unknown() {
        lines.push(format!(
            "  warning: the installation's status is unknown ({why}); run `token-wallet check {name}` again later"
        ));
    }
    if !i.kind.is_refreshed() {
        lines.push(format!("  {}", expiry_text(i.expires_at)));
    }
    if matches!(outcome, CheckOutcome::Refused) && i.kind == CredentialKind::ApiKey {
        lines.push(format!(
            "  make a new key in Pleo's web app and `token-wallet rotate-secret {name}`"
        ));
    }
    lines.join("\n")
}
