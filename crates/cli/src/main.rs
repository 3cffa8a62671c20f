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
mod source;

use std::process::ExitCode;

/// Logs to stderr, `TOKEN_WALLET_LOG` (default `warn`) choosing what. Other crates are held
/// to WARN and the `log` crate (ureq's and rustls's hex dumps) is not bridged at all:
/// see `token_wallet_core::logging`.
fn init_log() {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt as _;
    // `target=level,...` directives (a bare level is the default), as `Targets` reads them:
    // no regular-expression engine in a command whose start-up time matters.
    let filter = std::env::var("TOKEN_WALLET_LOG")
        .ok()
        .and_then(|v| v.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::ERROR));
    let sub = tracing_subscriber::fmt()
        // Everything reaches `filter`, which decides (fmt alone would stop at INFO).
        .with_max_level(tracing::Level::TRACE)
        .with_writer(std::io::stderr)
        .with_ansi(
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        )
        .finish()
        .with(filter)
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
