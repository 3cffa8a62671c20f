//! `run`: a command with the `tw://` references of its environment and env files resolved
//! (see [`crate::references`]), for it alone. Every reference is checked, and every
//! connection it names found, before any token is fetched; the vault is locked again, and
//! what unlocking left on this thread's stack wiped, before the command starts.

use super::Ctx;
use crate::cli::RunCommandArgs;
use crate::error::{Error, Result};
use crate::export::{self, ChildEnv};
use crate::references::{self, Part, Reference};
use crate::source::with_source;
use secrecy::ExposeSecret;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use token_wallet_core::ops::Exported;
use zeroize::Zeroizing;

/// A token's least lifetime when none is asked for (as `exec`).
const RUN_MIN_TTL: Duration = Duration::from_secs(300);

/// `run`. Returns only on failure; otherwise the command's exit code.
pub fn run(cx: &mut Ctx<'_>, a: &RunCommandArgs) -> Result<i32> {
    let program = export::find_program(&a.cmd[0])?;
    // The environment's variables, then each file's: a later one wins.
    // (A variable that is not UTF-8 is no reference, and is passed on as it is.)
    let mut given: BTreeMap<String, (String, bool)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(_, v)| v.starts_with("tw://"))
        .map(|(k, v)| (k, (v, false)))
        .collect();
    for f in &a.env_files {
        for (k, v) in references::read_env_file(f)? {
            given.insert(k, (v, true));
        }
    }
    let mut refs: Vec<Reference> = Vec::new();
    let mut plain: Vec<(String, Zeroizing<String>)> = Vec::new();
    for (k, (v, from_file)) in &given {
        match references::parse(k, v)? {
            Some(r) => refs.push(r),
            None if *from_file => plain.push((k.clone(), Zeroizing::new(v.clone()))),
            None => {}
        }
    }
    let mut env = ChildEnv {
        vars: plain,
        secrets: Vec::new(),
    };
    // A running proxy's address and capability come from it, not from the vault.
    let (proxied, refs): (Vec<Reference>, Vec<Reference>) =
        refs.into_iter().partition(|r| r.part.of_proxy());
    for r in &proxied {
        let p = super::proxy::running(cx.cli, &r.name)?.ok_or_else(|| {
            Error::Message(
                1,
                format!(
                    "`{}` refers to the proxy of `{}`, which is not running (start it with `token-wallet proxy {}`); nothing was run",
                    r.var, r.name, r.name
                ),
            )
        })?;
        let value = match r.part {
            Part::ProxyUrl => Zeroizing::new(p.url.ok_or_else(|| {
                Error::Message(
                    1,
                    format!(
                        "`{}`: the proxy of `{}` listens on a Unix socket only (no URL); nothing was run",
                        r.var, r.name
                    ),
                )
            })?),
            _ => {
                env.secrets
                    .push(Zeroizing::new(p.capability.as_bytes().to_vec()));
                p.capability
            }
        };
        env.vars.push((r.var.clone(), value));
    }
    if !refs.is_empty() {
        let min_ttl = a.min_ttl.unwrap_or(RUN_MIN_TTL);
        let tokens = with_source(cx.cli, &a.pass, &mut cx.input, |s| {
            let known: Vec<String> = s.list()?.into_iter().map(|i| i.name.to_string()).collect();
            if let Some(r) = refs.iter().find(|r| !known.contains(&r.name.to_string())) {
                return Err(Error::Message(
                    1,
                    format!(
                        "`{}` refers to connection `{}`, which does not exist (see `token-wallet list`); nothing was run",
                        r.var, r.name
                    ),
                ));
            }
            let mut got: HashMap<String, Exported> = HashMap::new();
            for r in &refs {
                if !got.contains_key(r.name.as_str()) {
                    got.insert(r.name.to_string(), s.token(&r.name, min_ttl)?);
                }
            }
            Ok(got)
        })?;
        for r in &refs {
            let t = &tokens[r.name.as_str()];
            let token = t.token.token.expose_secret();
            let value = match r.part {
                Part::Token => Zeroizing::new(token.to_string()),
                Part::Header => t.info.kind.authorization(&t.info.token_type, token),
                Part::ProxyCapability | Part::ProxyUrl => continue,
                Part::ExpiresAt => Zeroizing::new(
                    t.token
                        .expires_at
                        .map(|e| e.to_string())
                        .unwrap_or_default(),
                ),
            };
            if r.part != Part::ExpiresAt {
                env.secrets.push(Zeroizing::new(value.as_bytes().to_vec()));
            }
            env.vars.push((r.var.clone(), value));
        }
        drop(tokens);
        // The vault is locked and its keys wiped; what unlocking and exporting left in
        // this thread's stack goes too, before the command runs beside this process.
        token_wallet_core::crypto::scrub_deep_stack();
    }
    export::run_command(env, a.mask, &program, &a.cmd[1..])
}
