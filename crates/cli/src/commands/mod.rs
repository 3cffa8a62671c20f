//! The subcommands, by group, and the dispatch. Each parses nothing (clap did), calls
//! core, and formats.

pub mod agent;
pub mod api;
pub mod audit;
pub mod connections;
pub mod keys;
pub mod proxy;
pub mod run;
pub mod tokens;
pub mod vault;

use crate::cli::{Cli, Command};
use crate::context::Local;
use crate::error::Result;
use crate::input::Input;
use connections as conn;
use std::io::Write;

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

/// What every command gets: the command line as parsed, standard input and standard
/// output. Standard input is read by the command that reads it, and only while it does (a
/// sign-in with --no-browser reads pasted addresses from another thread), with no
/// read-ahead (see `input`).
pub struct Ctx<'a> {
    /// The command line.
    pub cli: &'a Cli,
    /// Standard input, unbuffered.
    pub input: Input,
    /// Standard output.
    pub out: &'a mut dyn Write,
}

impl Ctx<'_> {
    /// The profile's vault, locked.
    pub fn local(&self) -> Result<Local> {
        Local::open(self.cli)
    }

    /// Prints one line to standard output.
    pub fn say(&mut self, text: &str) -> Result {
        say(&mut self.out, text)
    }
}

/// Runs the command `cli` names.
pub fn run(cli: &Cli) -> Result {
    let cx = &mut Ctx {
        cli,
        input: Input::stdin(),
        out: &mut std::io::stdout(),
    };
    match &cli.command {
        Command::Providers(a) => conn::providers(cx, a),
        Command::Completions(a) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(a.shell, &mut cmd, "token-wallet", &mut cx.out);
            Ok(())
        }
        Command::Man => crate::man::render(&mut cx.out).map_err(|e| e.to_string().into()),
        Command::Agent(a) => agent::agent(cx, a),
        Command::Lock => agent::lock(cx),
        Command::Init(a) => vault::init(cx, a),
        Command::Unlock(a) => vault::unlock(cx, a),
        Command::Passwd(a) => vault::passwd(cx, a),
        Command::RotateKey(a) => vault::rotate_key(cx, a),
        Command::Backup(a) => vault::backup(cx, a),
        Command::Restore(a) => vault::restore(cx, a),
        Command::Upgrade(a) => vault::upgrade(cx, a),
        Command::Status(a) => vault::status(cx, a),
        Command::Connect(a) => conn::connect(cx, a),
        Command::AddKey(a) => keys::add_key(cx, a),
        Command::AddToken(a) => keys::add_token(cx, a),
        Command::RotateSecret(a) => keys::rotate_secret(cx, a),
        Command::Check(a) => keys::check(cx, a),
        Command::Reauthorise(a) => conn::reauthorise(cx, a),
        Command::List(a) => conn::list(cx, None, a.json, &a.pass),
        Command::Show(a) => conn::list(cx, Some(&a.name), a.json, &a.pass),
        Command::Disconnect(a) => conn::disconnect(cx, a),
        Command::Refresh(a) => conn::refresh(cx, a),
        Command::Prune(a) => conn::prune(cx, a),
        Command::Token(a) => tokens::token(cx, a),
        Command::Env(a) => tokens::env(cx, a),
        Command::Exec(a) => Err(crate::error::Error::ChildExit(tokens::exec(cx, a)?)),
        Command::Run(a) => Err(crate::error::Error::ChildExit(run::run(cx, a)?)),
        Command::Api(a) => match api::api(cx, a)? {
            0 => Ok(()),
            code => Err(crate::error::Error::ChildExit(code)),
        },
        Command::Proxy(a) => proxy::proxy(cx, a),
        Command::Audit(a) => audit::audit(cx, a),
    }
}
