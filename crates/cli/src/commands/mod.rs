//! The subcommands, by group, and the dispatch. Each parses nothing (clap did), calls
//! core, and formats.

pub mod agent;
pub mod audit;
pub mod connections;
pub mod keys;
pub mod tokens;
pub mod vault;

use crate::cli::{AuditAction, Cli, Command};
use crate::context::Local;
use crate::error::Result;
use connections as conn;
use std::io::Write;
use token_wallet_core::monitor::Thresholds;
use token_wallet_core::KdfParams;

/// Prints one line to standard output.
pub fn say(out: &mut impl Write, text: &str) -> Result {
    writeln!(out, "{text}")?;
    Ok(())
}

/// "42 s", "5 min", "3 h", "2 days": how long ago `since` (Unix seconds) was.
pub fn age(since: u64) -> String {
    span(token_wallet_core::connection::now().saturating_sub(since))
}

/// A duration in seconds, in the largest unit that keeps it readable.
pub fn span(s: u64) -> String {
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        7200..=172_799 => format!("{} h", s / 3600),
        _ => format!("{} days", s / 86_400),
    }
}

/// Runs the command `cli` names.
pub fn run(cli: &Cli) -> Result {
    let out = &mut std::io::stdout();
    // Standard input is read by the command that reads it, and only while it does (a
    // sign-in with --no-browser reads pasted addresses from another thread), with no
    // read-ahead (see `input`).
    let input = crate::input::Input::stdin;
    let local = || Local::open(cli);
    match &cli.command {
        Command::Providers { json } => conn::providers(cli, *json, out),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut cmd, "token-wallet", out);
            Ok(())
        }
        Command::Man => crate::man::render(out).map_err(|e| e.to_string().into()),
        Command::Agent {
            action: Some(a), ..
        } => agent::action(cli, a, &mut input(), out),
        Command::Agent { run, .. } => agent::run(cli, run, &mut input()),
        Command::Lock => agent::lock(cli),
        Command::Init {
            pass,
            kdf_memory_kib,
            kdf_iterations,
            kdf_parallelism,
            insecure_weak_kdf,
        } => {
            let kdf = KdfParams {
                m_kib: *kdf_memory_kib,
                t: *kdf_iterations,
                p: *kdf_parallelism,
            };
            vault::init(&local()?, pass, kdf, *insecure_weak_kdf, &mut input(), out)
        }
        Command::Unlock { pass } => vault::unlock(&local()?.unlock(pass, &mut input())?, out),
        Command::Passwd {
            passphrase_file,
            new_passphrase_file,
            passphrase_stdin,
            keep_data_key,
        } => {
            let (cur, new) = (passphrase_file.as_deref(), new_passphrase_file.as_deref());
            vault::passwd(
                &local()?,
                cur,
                new,
                *passphrase_stdin,
                *keep_data_key,
                &mut input(),
                out,
            )
        }
        Command::RotateKey { pass } => {
            vault::rotate_key(&local()?.unlock(pass, &mut input())?, out)
        }
        Command::Backup {
            file,
            backup_passphrase_file,
            pass,
        } => vault::backup(
            &local()?.unlock(pass, &mut input())?,
            file,
            backup_passphrase_file.as_deref(),
            out,
        ),
        Command::Restore { file, moved, pass } => {
            vault::restore(&local()?, file, *moved, pass, &mut input(), out)
        }
        Command::Upgrade { pass } => vault::upgrade(&local()?.unlock(pass, &mut input())?, out),
        Command::Status {
            pass,
            unlock,
            inactive_days,
            failures,
            json,
        } => {
            let t = Thresholds {
                inactive_days: *inactive_days,
                refresh_failures: *failures,
                ..Thresholds::default()
            };
            vault::status(cli, &local()?, pass, *unlock, t, *json, &mut input(), out)
        }
        Command::Connect {
            name,
            provider,
            client_id,
            scopes,
            client_secret_stdin,
            how,
            pass,
        } => {
            let a = conn::ConnectArgs {
                name,
                provider,
                client_id: client_id.clone(),
                scopes: scopes.clone(),
                client_secret_stdin: *client_secret_stdin,
                how,
            };
            conn::connect(&local()?, a, pass, input(), out)
        }
        Command::AddKey {
            name,
            provider,
            expires,
            key_stdin,
            no_verify,
            pass,
        } => keys::add_key(
            &local()?,
            keys::AddKeyArgs {
                name,
                provider,
                expires_at: *expires,
                key_stdin: *key_stdin,
                verify: !*no_verify,
            },
            pass,
            input(),
            out,
        ),
        Command::AddToken {
            name,
            header_scheme,
            label,
            expires,
            token_stdin,
            pass,
        } => keys::add_token(
            &local()?,
            keys::AddTokenArgs {
                name,
                scheme: *header_scheme,
                label,
                expires_at: *expires,
                token_stdin: *token_stdin,
            },
            pass,
            input(),
            out,
        ),
        Command::RotateSecret {
            name,
            expires,
            secret_stdin,
            no_verify,
            pass,
        } => keys::rotate_secret(
            &local()?,
            keys::RotateArgs {
                name,
                expires_at: *expires,
                secret_stdin: *secret_stdin,
                verify: !*no_verify,
            },
            pass,
            input(),
            out,
        ),
        Command::Check { name, json, pass } => {
            keys::check(cli, name, *json, pass, &mut input(), out)
        }
        Command::Reauthorise { name, how, pass } => {
            conn::reauthorise(&local()?, name, how, pass, input(), out)
        }
        Command::List { json, pass } => conn::list(cli, None, *json, pass, &mut input(), out),
        Command::Show { name, json, pass } => {
            conn::list(cli, Some(name), *json, pass, &mut input(), out)
        }
        Command::Disconnect { name, force, pass } => {
            conn::disconnect(cli, name, *force, pass, &mut input(), out)
        }
        Command::Refresh { name, all, pass } => {
            conn::refresh(cli, name.as_ref(), *all, pass, &mut input(), out)
        }
        Command::Prune {
            inactive_days,
            dry_run,
            pass,
        } => conn::prune(
            &local()?.unlock(pass, &mut input())?,
            *inactive_days,
            *dry_run,
            out,
        ),
        Command::Token {
            name,
            min_ttl,
            format,
            json,
            pass,
        } => {
            let format = if *json {
                crate::export::Format::Json
            } else {
                *format
            };
            tokens::token(cli, name, *min_ttl, format, pass, &mut input(), out)
        }
        Command::Env {
            name,
            var,
            shell,
            min_ttl,
            pass,
        } => tokens::env(
            cli,
            name,
            var.as_deref(),
            *shell,
            *min_ttl,
            pass,
            &mut input(),
            out,
        ),
        Command::Exec {
            name,
            var,
            mask,
            min_ttl,
            pass,
            cmd,
        } => {
            let code = tokens::exec(
                cli,
                name,
                var.as_deref(),
                *mask,
                *min_ttl,
                pass,
                cmd,
                &mut input(),
            )?;
            Err(crate::error::Error::ChildExit(code))
        }
        Command::Audit {
            action: Some(AuditAction::Verify { pass }),
            pass: outer,
            ..
        } => {
            // `audit --passphrase-file F verify` as well as `audit verify --passphrase-file F`.
            let pass = if crate::passphrase::Sources::of(pass).given() {
                pass
            } else {
                outer
            };
            audit::verify(&local()?.unlock(pass, &mut input())?, out)
        }
        Command::Audit {
            action: None,
            since,
            json,
            pass,
        } => {
            let local = local()?;
            if crate::passphrase::Sources::of(pass).given() {
                // Unlocked: verified, and each connection shown by its name.
                let v = local.unlock(pass, &mut input())?;
                audit::verify(&v, &mut std::io::stderr())?;
                return audit::show(&local, Some(&v), *since, *json, out);
            }
            audit::show(&local, None, *since, *json, out)
        }
    }
}
