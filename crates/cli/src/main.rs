//! `token-wallet`: the command line. `cli` says what it takes, `commands` do it through
//! core's operations layer, `error` adds the advice and the exit code; this file only
//! dispatches.
#![forbid(unsafe_code)]

/// Every heap block is zeroed when it is freed (or moved by a reallocation), so a secret
/// that passed through any buffer (a protocol frame, an HTTP body, a parsed token) does not
/// survive in freed memory.
#[global_allocator]
static ALLOC: zeroizing_alloc::ZeroAlloc<std::alloc::System> =
    zeroizing_alloc::ZeroAlloc(std::alloc::System);

mod cli;
mod commands;
mod context;
mod error;
mod export;
mod passphrase;
mod source;

use clap::Parser;
use cli::{AuditAction, Cli, Command};
use commands::{agent, audit, connections as conn, tokens, vault};
use context::Local;
use std::process::ExitCode;
use token_wallet_core::monitor::Thresholds;
use token_wallet_core::KdfParams;

/// Logs to stderr, `TOKEN_WALLET_LOG` (default `warn`) choosing what. Other crates are held
/// to WARN and the `log` crate (ureq's and rustls's hex dumps) is not bridged at all:
/// see `token_wallet_core::logging`.
fn init_log() {
    use tracing_subscriber::layer::SubscriberExt as _;
    let sub = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TOKEN_WALLET_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        )
        .finish()
        .with(tracing_subscriber::filter::filter_fn(
            token_wallet_core::logging::allowed,
        ));
    // Invariant: main sets the only global subscriber, once.
    tracing::subscriber::set_global_default(sub).expect("one global subscriber");
}

fn main() -> ExitCode {
    // Before anything secret is read: no core dumps, no same-user memory reads.
    for failed in token_wallet_harden::harden_process() {
        eprintln!("warning: {failed}");
    }
    init_log();
    match run(&Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error::Error::BrokenPipe) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: &Cli) -> error::Result {
    let out = &mut std::io::stdout();
    // Standard input is locked by the command that reads it, and only while it does: a
    // sign-in with --no-browser reads pasted addresses from another thread.
    let input = || std::io::stdin().lock();
    let local = || Local::open(cli);
    match &cli.command {
        Command::Providers { json } => conn::providers(cli, *json, out),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut cmd, "token-wallet", out);
            Ok(())
        }
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
            vault::status(&local()?, pass, *unlock, t, *json, &mut input(), out)
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
        Command::Reauthorise { name, how, pass } => {
            conn::reauthorise(&local()?, name, how, pass, input(), out)
        }
        Command::List { json, pass } => conn::list(cli, None, *json, pass, &mut input(), out),
        Command::Show { name, json, pass } => {
            conn::list(cli, Some(name), *json, pass, &mut input(), out)
        }
        Command::Disconnect { name, force, pass } => {
            conn::disconnect(&local()?.unlock(pass, &mut input())?, name, *force, out)
        }
        Command::Refresh { name, all, pass } => {
            conn::refresh(cli, name.as_deref(), *all, pass, &mut input(), out)
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
            pass,
        } => tokens::token(cli, name, *min_ttl, *format, pass, &mut input(), out),
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
            std::process::exit(code)
        }
        Command::Audit {
            action: Some(AuditAction::Verify { pass }),
            ..
        } => audit::verify(&local()?.unlock(pass, &mut input())?, out),
        Command::Audit {
            action: None,
            since,
            json,
        } => audit::show(&local()?, *since, *json, out),
    }
}
