//! The command line's shape: every subcommand, flag and help text (clap). Parsed once in
//! `main`; the commands get ready values from here.

mod args;

pub use args::*;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;
use token_wallet_core::config::Setting;

#[derive(Parser)]
#[command(
    name = "token-wallet",
    version,
    about = "Keep OAuth tokens safe and hand out short-lived access tokens"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

// The top level alone: `Cli` without its subcommands, to which `Cli::parse_args` adds the one
// being run. The same attributes as `Cli`, and what clap adds for a required subcommand.
#[derive(Parser)]
#[command(
    name = "token-wallet",
    version,
    about = "Keep OAuth tokens safe and hand out short-lived access tokens",
    subcommand_required = true,
    arg_required_else_help = true
)]
struct Top {
    #[command(flatten)]
    global: GlobalArgs,
}

// The flags every command takes, before or after its name, under their own heading in
// every command's help. (Plain comments here and on `Top`: clap would take doc comments
// as help text.)
#[derive(clap::Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Profile: each has its own vault (keystore service `token-wallet`, or
    /// `token-wallet:<profile>` for a profile other than `default`) and data directory.
    #[arg(
        long,
        global = true,
        env = "TOKEN_WALLET_PROFILE",
        default_value = "default"
    )]
    pub profile: String,
    /// Where the vault's entries live: the OS keystore, an encrypted file in the data directory, or
    /// a team's OpenBao server (its address from TOKEN_WALLET_BAO_ADDR or BAO_ADDR; a login from
    /// BAO_TOKEN, TOKEN_WALLET_BAO_TOKEN_FILE, or TOKEN_WALLET_BAO_ROLE_ID and
    /// TOKEN_WALLET_BAO_SECRET_ID_FILE).
    #[arg(long, global = true, env = "TOKEN_WALLET_STORE", value_enum, default_value_t = Store::Os)]
    pub store: Store,
    /// Largest keystore entry in bytes; larger values are split into chunks
    /// (Windows Credential Manager allows 2560).
    #[arg(long, global = true, env = "TOKEN_WALLET_CHUNK_SIZE")]
    pub chunk_size: Option<usize>,
    /// Seconds to wait for one keystore call before giving up.
    #[arg(
        long,
        global = true,
        env = "TOKEN_WALLET_KEYSTORE_TIMEOUT",
        default_value_t = 20
    )]
    pub keystore_timeout: u64,
    /// Data directory (lock file, file store); default: the platform's data directory.
    #[arg(long, global = true, env = "TOKEN_WALLET_HOME")]
    pub home: Option<PathBuf>,
    /// Provider config file (TOML); default: `token-wallet/providers.toml` in the
    /// platform's config directory.
    #[arg(long, global = true, env = "TOKEN_WALLET_PROVIDERS")]
    pub providers: Option<PathBuf>,
    /// Refresh an access token when less than this many seconds are left (at least; 10 %
    /// of a long token's lifetime counts too). Default 60.
    #[arg(long, global = true, env = "TOKEN_WALLET_REFRESH_WINDOW")]
    pub refresh_window: Option<u64>,
    /// Do not ask a running agent; unlock the vault in this process.
    #[arg(
        long,
        global = true,
        env = "TOKEN_WALLET_NO_AGENT",
        value_parser = clap::builder::FalseyValueParser::new()
    )]
    pub no_agent: bool,
    /// The agent's socket (default: under $XDG_RUNTIME_DIR, per profile and data directory).
    #[arg(
        long,
        global = true,
        env = "TOKEN_WALLET_AGENT_SOCKET",
        value_name = "PATH"
    )]
    pub agent_socket: Option<PathBuf>,
}

impl Cli {
    /// Parses the process's arguments (exiting with clap's message on an error, `--help` or
    /// `--version`). Before parsing, clap copies every global flag into every subcommand it
    /// holds: for twenty subcommands that is most of a `token` answer's own start-up work.
    /// So when the command line names a subcommand, clap is given the top level and that
    /// subcommand only, which parses the same; otherwise (no name, an unknown one, `help`)
    /// the whole tree, so its help and suggestions are as ever.
    pub fn parse_args() -> Cli {
        use clap::FromArgMatches;
        let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
        let matches = command_for(&args).get_matches_from(args);
        Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    }

    /// The core settings these flags (or their variables) give.
    pub fn setting(&self, s: Setting) -> Option<String> {
        match s {
            Setting::Profile => Some(self.global.profile.clone()),
            Setting::Home => self.global.home.as_ref().map(|h| h.display().to_string()),
            Setting::Store => Some(match self.global.store {
                Store::Os => "os".into(),
                Store::File => "file".into(),
                Store::Openbao => "openbao".into(),
            }),
            Setting::ChunkSize => self.global.chunk_size.map(|c| c.to_string()),
            Setting::KeystoreTimeout => Some(self.global.keystore_timeout.to_string()),
            Setting::Providers => self
                .global
                .providers
                .as_ref()
                .map(|p| p.display().to_string()),
            Setting::RefreshWindow => self.global.refresh_window.map(|w| w.to_string()),
            // The OpenBao store's settings have no flags (a token on a command line is
            // seen by every process): the environment only.
            other => std::env::var(other.env_var()).ok(),
        }
    }
}

/// The command clap parses `args` with: the top level and the subcommand `args` name, or
/// the whole tree.
fn command_for(args: &[std::ffi::OsString]) -> clap::Command {
    use clap::CommandFactory;
    let full = Cli::command();
    match named_subcommand(&full, args) {
        Some(sub) => Top::command().subcommand(sub),
        None => full,
    }
}

/// The subcommand `args` name, as clap would find it: the first argument that is neither a
/// top-level flag nor a flag's value. `None` for anything this does not know for sure (a
/// short flag, `--`, an unknown flag or name), which then goes to the whole tree.
fn named_subcommand(full: &clap::Command, args: &[std::ffi::OsString]) -> Option<clap::Command> {
    let mut rest = args.iter().skip(1);
    while let Some(arg) = rest.next() {
        let arg = arg.to_str()?;
        let Some(flag) = arg.strip_prefix("--") else {
            if arg.starts_with('-') {
                return None;
            }
            return full.find_subcommand(arg).cloned();
        };
        let (name, inline_value) = match flag.split_once('=') {
            Some((name, _)) => (name, true),
            None => (flag, false),
        };
        let known = full
            .get_arguments()
            .find(|a| a.get_long() == Some(name) && a.is_global_set())?;
        if known.get_action().takes_values() && !inline_value {
            rest.next()?;
        }
    }
    None
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Store {
    /// Keychain, Credential Manager or Secret Service.
    Os,
    /// An encrypted-entries file (0600) in the data directory. Opt-in only.
    File,
    /// A team's OpenBao server (KV v2): entries encrypted here, every write a check-and-set.
    Openbao,
}

#[derive(clap::Args)]
pub struct PassArgs {
    /// Read the passphrase from the first line of this file.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// Read the passphrase from the first line of standard input.
    #[arg(long, conflicts_with = "passphrase_file")]
    pub passphrase_stdin: bool,
}

/// How a sign-in reaches the person.
#[derive(clap::Args)]
pub struct SignInArgs {
    /// Print the sign-in link instead of opening a browser; the wallet still waits
    /// for the redirect, or for you to paste the final redirect URL here.
    #[arg(long)]
    pub no_browser: bool,
    /// Seconds to wait for the sign-in.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
}

#[derive(Subcommand)]
pub enum AuditAction {
    /// Check the chain, the MACs and the anchor; report the first broken link.
    Verify {
        #[command(flatten)]
        pass: PassArgs,
    },
}

/// How a static token is presented in the `Authorization` header.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum HeaderScheme {
    /// `Bearer TOKEN`.
    Bearer,
    /// `Basic base64(TOKEN:)`: the token as the user name, an empty password.
    Basic,
    /// The token is the header's whole value.
    Raw,
}

#[derive(Subcommand)]
pub enum Command {
    /// Create a new vault.
    Init(InitArgs),
    /// Check the passphrase: unlock the vault and lock it again.
    Unlock(UnlockArgs),
    /// Change the passphrase, rotating the data key with it (crash-safe).
    Passwd(PasswdArgs),
    /// Re-encrypt every record under a new data key (crash-safe).
    RotateKey(RotateKeyArgs),
    /// Write every connection to one encrypted backup file
    ///
    /// Sealed under the vault's passphrase, or under --backup-passphrase-file's. The file
    /// holds refresh tokens: keep it as you keep the vault. `restore` brings it into any
    /// store, on any machine. Refuses to overwrite a file.
    Backup(BackupArgs),
    /// Make a new vault from a backup file (this profile and store must have none)
    ///
    /// The backup's passphrase (--passphrase-file, --passphrase-stdin or a prompt) becomes
    /// the new vault's. Each connection's refresh token is marked as a copy: the vault the
    /// backup came from may still refresh the same grant, and a refresh in both places
    /// makes the provider (Pleo) revoke it. Re-authorise them here, or pass --moved when
    /// the old vault is gone or no longer used.
    Restore(RestoreArgs),
    /// Bring a vault made by an older Token Wallet to the newest format (crash-safe)
    ///
    /// Done through a data-key rotation; builds that read only the older format cannot
    /// open the vault afterwards.
    Upgrade(UpgradeArgs),
    /// List the providers: the Pleo presets and those in the config file.
    Providers(ProvidersArgs),
    /// Connect: sign in with the provider in your browser and keep the tokens.
    Connect(ConnectArgs),
    /// Store a Pleo API key beside the connections, verified with Pleo first.
    ///
    /// API keys are made in Pleo's web app (Settings -> API keys) and shown once. The key
    /// is read from a no-echo prompt, or the first line of standard input with
    /// --key-stdin (after the passphrase line, if --passphrase-stdin); never from the
    /// command line. Pleo's /v1/introspect must accept it as an API key (its company and
    /// scopes are kept) unless --no-verify. It is exported like a token: `token --format
    /// header` gives `Authorization: Basic ...`, `env` and `exec` use PLEO_API_KEY. It is
    /// never refreshed; past --expires it fails with exit code 6.
    AddKey(AddKeyArgs),
    /// Store another tool's token or API key beside the connections.
    ///
    /// For credentials that are not OAuth and not Pleo API keys: read from a no-echo
    /// prompt, or standard input with --token-stdin; never from the command line. Nothing
    /// verifies it. `token --format header` presents it as --header-scheme says; `env`
    /// and `exec` use ACCESS_TOKEN (or --var). Never refreshed; past --expires it fails
    /// with exit code 6.
    AddToken(AddTokenArgs),
    /// Replace an API key or static token with a new one, verified first.
    ///
    /// The new one is read like `add-key` reads a key (a no-echo prompt, or standard input
    /// with --secret-stdin). A Pleo API key must verify, for the same company, before it
    /// replaces the old one; until then the old one stays untouched. The old one still
    /// works afterwards: revoke it where it was made (Pleo's web app, Settings -> API
    /// keys). Its facts are kept in the audit log.
    RotateSecret(RotateSecretArgs),
    /// Check a key or connection with its provider now, and Pleo's installation status.
    ///
    /// A Pleo API key is verified with /v1/introspect, an OAuth connection with its
    /// provider's check; for Pleo the installation's status (/v1/installations/me) is read
    /// too. What it finds is kept for `list`, `status` and the app. Exit code 8 if the
    /// provider refused it or the installation is ERROR or INACTIVE, 5 if the check could
    /// not be completed.
    Check(CheckArgs),
    /// Sign in again for an existing connection: new tokens in place, same account only.
    ///
    /// For a connection whose refresh token was refused, or for fresh tokens: the same
    /// provider, client and scopes. A sign-in to another account is refused (connect that
    /// one under a new name).
    Reauthorise(ReauthoriseArgs),
    /// List connections: name, provider, scopes, expiry, status.
    List(ListArgs),
    /// Show one connection (never its tokens).
    Show(ShowArgs),
    /// Disconnect: revoke at the provider, then forget. Kept as "revocation pending" if
    /// the provider cannot be reached.
    Disconnect(DisconnectArgs),
    /// Print an access token for NAME on stdout, refreshing it first if it expires within
    /// --min-ttl. Never a refresh token.
    Token(TokenArgs),
    /// Print `export VAR=token` (or fish / PowerShell) lines to `eval`.
    Env(EnvArgs),
    /// Run a command with the access token in its environment; exits with its exit code.
    Exec(ExecArgs),
    /// Run a command with the `tw://` references of its environment and env files resolved
    ///
    /// A variable whose value is `tw://NAME` gets the connection's access token,
    /// `tw://NAME/header` its whole `Authorization` value, `tw://NAME/expires_at` its expiry
    /// (Unix seconds), `tw://proxy/NAME` the capability of its running `proxy` and
    /// `tw://proxy/NAME/url` that proxy's address, for the command only. So a `.env` file of references holds no
    /// secret and can be committed. A reference of another form, or to a connection that
    /// does not exist, fails before the command starts, naming the variable. Exits with
    /// the command's exit code.
    Run(RunCommandArgs),
    /// Make one authenticated request to a connection's API (as `gh api`)
    ///
    /// PATH is relative to the provider's `api_base` (Pleo: its API host); the token goes
    /// nowhere else, and redirects are not followed. A 401 is answered by one refresh and
    /// one retry. The body goes to standard output, JSON pretty-printed on a terminal.
    /// Exit code 0 for a 2xx answer, 13, 14, 15 for 3xx, 4xx, 5xx.
    Api(ApiArgs),
    /// Serve a connection's API on this machine, adding its token to each request
    ///
    /// A local reverse proxy to the provider's `api_base` (or --upstream): tools send it
    /// plain requests and never hold the token, which is kept fresh in the background.
    /// It listens on 127.0.0.1 and ::1 (and --socket); a TCP client presents the
    /// capability printed at start, `Authorization: Bearer twp_…` (also `tw://proxy/NAME`
    /// to `run`). --allow narrows what may be called. Runs until Ctrl-C.
    Proxy(ProxyArgs),
    /// Refresh now (rotate the tokens) for NAME, or for every connection with --all.
    Refresh(RefreshArgs),
    /// Revoke and remove connections whose refresh token is dead (needs
    /// re-authorisation) or that were not used for N days.
    Prune(PruneArgs),
    /// Show the audit log (`audit verify` checks it is intact).
    Audit(AuditArgs),
    /// Run the agent: keep the vault unlocked and serve access tokens to `token`, `env`,
    /// `exec` and `list` over a private local socket (foreground; `--detach` for the
    /// background). `agent status|unlock|stop` talk to a running one.
    #[command(args_conflicts_with_subcommands = true)]
    Agent(AgentArgs),
    /// Lock the running agent (its keys and cached tokens are wiped).
    Lock,
    /// Print a shell completion script (e.g. `token-wallet completions bash > /etc/bash_completion.d/token-wallet`).
    Completions(CompletionsArgs),
    /// Print the manual page (roff; e.g. `token-wallet man | man -l -`).
    Man,
    /// Show the vault: id, KDF, key generation and age, records, store.
    Status(StatusArgs),
}

/// `agent` subcommands.
#[derive(clap::Subcommand)]
pub enum AgentAction {
    /// Is an agent running, and is it unlocked? Exit code 0 unlocked, 3 locked, 1 none.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Unlock a running agent (after `lock` or its idle timeout).
    Unlock {
        #[command(flatten)]
        pass: PassArgs,
    },
    /// Lock the running agent and make it exit.
    Stop,
}

/// `agent` (run) options.
#[derive(clap::Args)]
pub struct RunArgs {
    /// Lock after this long without a request (e.g. 15m, 1h; 0 = never).
    #[arg(long, default_value = "15m", value_parser = parse_duration)]
    pub idle_timeout: Duration,
    /// Start in the background (log in the data directory's agent.log) and return once
    /// it answers.
    #[arg(long)]
    pub detach: bool,
    /// Refresh access tokens this long before they expire (at most half a token's
    /// lifetime counts), in the background, so a tool asking for one never waits for a
    /// refresh (0: never ahead, only when a token is asked for).
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub refresh_ahead: Duration,
    /// Disconnect (revoke) connections unused for this many days, and those whose
    /// refresh token is dead, as `prune` does; checked every ten minutes.
    #[arg(long, value_name = "DAYS")]
    pub prune_unused_days: Option<u64>,
    /// Seconds a client has to send a whole request.
    #[arg(long, default_value_t = 10, hide = true)]
    pub frame_timeout: u64,
    /// Clients served at once; more are told the agent is busy.
    #[arg(long, default_value_t = 1024, hide = true)]
    pub max_clients: usize,
    #[command(flatten)]
    pub pass: PassArgs,
}

/// The longest `--min-ttl`: 366 days, as the agent protocol's `min_ttl_secs`.
pub const MAX_MIN_TTL_SECS: u64 = 366 * 86_400;

/// A `--min-ttl`: a duration ([`parse_duration`]) of at most [`MAX_MIN_TTL_SECS`].
pub fn parse_min_ttl(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d.as_secs() > MAX_MIN_TTL_SECS {
        return Err(format!("`{s}` is more than a year (8784h)"));
    }
    Ok(d)
}

/// `30s`, `5m`, `1h`, or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration like 30s, 5m or 1h"))?;
    let secs = match unit {
        "" | "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        _ => return Err(format!("`{s}` is not a duration like 30s, 5m or 1h")),
    };
    secs.map(Duration::from_secs)
        .ok_or_else(|| format!("`{s}` is too long a duration"))
}

#[cfg(test)]
mod tests;
