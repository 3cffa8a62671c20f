//! `token-wallet`: the command line. `cli` says what it takes, `commands` dispatch and do
//! it through core's operations layer, `error` adds the advice and the exit code; this file
//! only sets up the process (hardening, allocator, logging) and hands over.
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
mod input;
mod man;
mod passphrase;
mod references;
mod source;

use std::process::ExitCode;

/// Logs to stderr, `TOKEN_WALLET_LOG` (default `error`: the CLI says what went wrong
/// itself) choosing what; see `token_wallet_core::logging`.
fn init_log() {
    token_wallet_core::logging::init(
        tracing::Level::ERROR,
        std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && std::io::IsTerminal::is_terminal(&std::io::stderr()),
    );
}

fn main() -> ExitCode {
    // Before anything secret is read: no core dumps, no same-user memory reads.
    for failed in token_wallet_harden::harden_process() {
        eprintln!("warning: {failed}");
    }
    init_log();
    match commands::run(&cli::Cli::parse_args()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(
            e @ (error::Error::BrokenPipe | error::Error::ChildExit(_) | error::Error::Found(_)),
        ) => ExitCode::from(e.exit_code()),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
