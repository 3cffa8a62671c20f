//! Each subcommand's arguments, parsed into one struct that its command takes whole.

use super::{
    parse_duration, parse_min_ttl, AgentAction, AuditAction, HeaderScheme, PassArgs, RunArgs,
    SignInArgs,
};
use crate::export;
use std::path::PathBuf;
use std::time::Duration;
use token_wallet_core::connection::ConnectionName;
use token_wallet_core::KdfParams;

// `init`'s arguments (plain comments: clap would take doc comments as help).
#[derive(clap::Args)]
pub struct InitArgs {
    #[command(flatten)]
    pub pass: PassArgs,
    /// Argon2id memory in KiB (default 65536 = 64 MiB).
    #[arg(long, default_value_t = KdfParams::RFC9106_SECOND.m_kib)]
    pub kdf_memory_kib: u32,
    /// Argon2id passes (default 3).
    #[arg(long, default_value_t = KdfParams::RFC9106_SECOND.t)]
    pub kdf_iterations: u32,
    /// Argon2id lanes (default 4).
    #[arg(long, default_value_t = KdfParams::RFC9106_SECOND.p)]
    pub kdf_parallelism: u32,
    /// Allow KDF settings below RFC 9106's floor. For tests only; the header records it.
    #[arg(long)]
    pub insecure_weak_kdf: bool,
    /// Unlock by OpenBao identity instead of a passphrase: `transit:KEY` (or
    /// `transit:MOUNT/KEY`) wraps the data key with that Transit key, so whoever OpenBao
    /// lets decrypt with it unlocks, and no passphrase exists. Only with --store openbao.
    #[arg(long, value_name = "transit:KEY", value_parser = parse_unlock)]
    pub unlock: Option<token_wallet_core::vault::TransitRef>,
    /// With --unlock transit:KEY: seal refresh tokens and client secrets under a
    /// refresher key wrapped by this second Transit key. Identities that may use KEY but
    /// not this one only consume: they get access tokens, never a refresh token, and never
    /// refresh (a refresher's agent does).
    #[arg(long, value_name = "transit:KEY", value_parser = parse_unlock, requires = "unlock")]
    pub refresher: Option<token_wallet_core::vault::TransitRef>,
}

fn parse_unlock(text: &str) -> Result<token_wallet_core::vault::TransitRef, String> {
    token_wallet_core::vault::TransitRef::parse(text).ok_or_else(|| {
        "expected transit:KEY or transit:MOUNT/KEY (letters, digits, . _ -)".to_string()
    })
}

// `unlock`'s arguments (plain comments: clap would take doc comments as help).
#[derive(clap::Args)]
pub struct UnlockArgs {
    #[command(flatten)]
    pub pass: PassArgs,
}

// `passwd`'s arguments (plain comments: clap would take doc comments as help).
#[derive(clap::Args)]
pub struct PasswdArgs {
    /// Read the current passphrase from this file.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// Read the new passphrase from this file.
    #[arg(long, value_name = "FILE")]
    pub new_passphrase_file: Option<PathBuf>,
    /// Read from standard input: the current passphrase on the first line and the new
    /// one on the second (a passphrase given by file is not read from stdin).
    #[arg(long)]
    pub passphrase_stdin: bool,
    /// Only re-wrap the data key (one header write, fast). By default the data key is
    /// rotated too, so an old copy of the header and the old passphrase open nothing.
    #[arg(long)]
    pub keep_data_key: bool,
}

// `rotate-key`'s arguments (plain comments: clap would take doc comments as help).
#[derive(clap::Args)]
pub struct RotateKeyArgs {
    #[command(flatten)]
    pub pass: PassArgs,
}

// `backup`'s arguments (plain comments: clap would take doc comments as help).
#[derive(clap::Args)]
pub struct BackupArgs {
    /// The file to write (created, mode 0600).
    pub file: PathBuf,
    /// Seal it under the passphrase in this file (first line) instead of the vault's.
    #[arg(long, value_name = "FILE")]
    pub backup_passphrase_file: Option<PathBuf>,
    #[command(flatten)]
    pub pass: PassArgs,
}

// `restore`'s arguments (plain comments: clap would take doc comments as help).
#[derive(clap::Args)]
pub struct RestoreArgs {
    /// The backup file.
    pub file: PathBuf,
    /// The vault the backup came from is gone or no longer used: do not mark the
    /// refresh tokens as copies.
    #[arg(long)]
    pub moved: bool,
    #[command(flatten)]
    pub pass: PassArgs,
}

// `upgrade`'s arguments (plain comments: clap would take doc comments as help).
#[derive(clap::Args)]
pub struct UpgradeArgs {
    #[command(flatten)]
    pub pass: PassArgs,
}

// `providers`'s arguments (plain comments: clap would take doc comments as help).
#[derive(clap::Args)]
pub struct ProvidersArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

// `connect`'s arguments (plain comments: clap would take doc comments as help).
#[derive(clap::Args)]
pub struct ConnectArgs {
    /// A name for the connection, unique in the vault.
    pub name: ConnectionName,
    /// Provider (see `token-wallet providers`).
    #[arg(long)]
    pub provider: String,
    /// OAuth client id (default: the provider's, if the config gives one).
    #[arg(long)]
    pub client_id: Option<String>,
    /// Scopes, space separated (default: the provider's).
    #[arg(long)]
    pub scopes: Option<String>,
    /// Read the client secret of a confidential client from standard input (after
    /// the passphrase line, if --passphrase-stdin). Pleo advises against secrets on
    /// user devices: prefer a public client with PKCE.
    #[arg(long)]
    pub client_secret_stdin: bool,
    #[command(flatten)]
    pub how: SignInArgs,
    #[command(flatten)]
    pub pass: PassArgs,
}

// `add-key`'s arguments (plain comments: clap would take doc comments as help).
#[derive(clap::Args)]
pub struct AddKeyArgs {
    /// A name for it, unique among the connections.
    pub name: ConnectionName,
    /// Provider: pleo, pleo-staging (or a Pleo-style one in providers.toml).
    #[arg(long, default_value = "pleo")]
    pub provider: String,
    /// The expiry date chosen in Pleo's web app (YYYY-MM-DD, UTC).
    #[arg(long, value_parser = crate::export::parse_expiry)]
    pub expires: Option<u64>,
    /// Read the key from standard input instead of a prompt.
    #[arg(long)]
    pub key_stdin: bool,
    /// Store it without asking Pleo first.
    #[arg(long)]
    pub no_verify: bool,
    #[command(flatten)]
    pub pass: PassArgs,
}

// `add-token`'s arguments (plain comments: clap would take doc comments as help).
#[derive(clap::Args)]
pub struct AddTokenArgs {
    /// A name for it, unique among the connections.
    pub name: ConnectionName,
    /// How the `Authorization` header presents it.
    #[arg(long, value_enum, default_value = "bearer")]
    pub header_scheme: HeaderScheme,
    /// Where it comes from, for `list` (e.g. the tool's name).
    #[arg(long, default_value = "static")]
    pub label: String,
    /// Its expiry date, if it has one (YYYY-MM-DD, UTC).
    #[arg(long, value_parser = crate::export::parse_expiry)]
    pub expires: Option<u64>,
    /// Read the token from standard input instead of a prompt.
    #[arg(long)]
    pub token_stdin: bool,
    #[command(flatten)]
    pub pass: PassArgs,
}

// `rotate-secret`'s arguments (plain comments: clap would take doc comments as help).
#[derive(clap::Args)]
pub struct RotateSecretArgs {
    /// The key's or token's name.
    pub name: ConnectionName,
    /// The new one's expiry date (YYYY-MM-DD, UTC).
    #[arg(long, value_parser = crate::export::parse_expiry)]
    pub expires: Option<u64>,
    /// Read the new one from standard input instead of a prompt.
    #[arg(long)]
    pub secret_stdin: bool,
    /// Replace it without asking Pleo first.
    #[arg(long)]
    pub no_verify: bool,
    #[command(flatten)]
    pub pass: PassArgs,
}

// `check`'s arguments (plain comments: clap would take doc comments as help).
#[derive(clap::Args)]
pub struct CheckArgs {
    /// Its name.
    pub name: ConnectionName,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub pass: PassArgs,
}

// `reauthorise`'s arguments (plain comments: clap would take doc comments as help).
#[derive(clap::Args)]
pub struct ReauthoriseArgs {
    /// Connection name.
    pub name: ConnectionName,
    #[command(flatten)]
    pub how: SignInArgs,
    #[command(flatten)]
    pub pass: PassArgs,
}

// `list`'s arguments (plain comments: clap would take doc comments as help).
#[derive(clap::Args)]
pub struct ListArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub pass: PassArgs,
}

// `show`'s arguments (plain comments: clap would take doc comments as help).
#[derive(clap::Args)]
pub struct ShowArgs {
    /// Connection name.
    pub name: ConnectionName,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub pass: PassArgs,
}

// `disconnect`'s arguments (plain comments: clap would take doc comments as help).
#[derive(clap::Args)]
pub struct DisconnectArgs {
    /// Connection name.
    pub name: ConnectionName,
    /// Forget it locally even if revocation fails (the tokens may stay live).
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub pass: PassArgs,
}

// `token`'s arguments (plain comments: clap would take doc comments as help).
#[derive(clap::Args)]
pub struct TokenArgs {
    /// Connection name.
    pub name: ConnectionName,
    /// Least lifetime the token must have left, e.g. 30s, 5m, 1h.
    #[arg(long, default_value = "0s", value_parser = parse_min_ttl)]
    pub min_ttl: Duration,
    /// Output: the token alone, JSON (token, type, expiry, scopes), or an HTTP header.
    #[arg(long, value_enum, default_value_t = export::Format::Raw)]
    pub format: export::Format,
    /// The same as --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    #[command(flatten)]
    pub pass: PassArgs,
}

// `env`'s arguments (plain comments: clap would take doc comments as help).
#[derive(clap::Args)]
pub struct EnvArgs {
    /// Connection name.
    pub name: ConnectionName,
    /// Variable name (default: PLEO_ACCESS_TOKEN for Pleo providers, else ACCESS_TOKEN).
    #[arg(long)]
    pub var: Option<String>,
    /// Shell syntax.
    #[arg(long, value_enum, default_value_t = export::Shell::Sh)]
    pub shell: export::Shell,
    /// Least lifetime the token must have left.
    #[arg(long, default_value = "0s", value_parser = parse_min_ttl)]
    pub min_ttl: Duration,
    #[command(flatten)]
    pub pass: PassArgs,
}

// `exec`'s arguments (plain comments: clap would take doc comments as help).
#[derive(clap::Args)]
pub struct ExecArgs {
    /// Connection name.
    pub name: ConnectionName,
    /// Variable name (default: PLEO_ACCESS_TOKEN for Pleo providers, else ACCESS_TOKEN).
    #[arg(long)]
    pub var: Option<String>,
    /// Replace the token in the command's output with `<concealed by token-wallet>`.
    #[arg(long)]
    pub mask: bool,
    /// Least lifetime the token must have left (default 5m, or half the provider's
    /// token lifetime if that is shorter).
    #[arg(long, value_parser = parse_min_ttl)]
    pub min_ttl: Option<Duration>,
    #[command(flatten)]
    pub pass: PassArgs,
    /// The command and its arguments (after `--`).
    #[arg(last = true, required = true)]
    pub cmd: Vec<String>,
}

// `refresh`'s arguments (plain comments: clap would take doc comments as help).
#[derive(clap::Args)]
pub struct RefreshArgs {
    /// Connection name.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub name: Option<ConnectionName>,
    /// Every active connection.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub pass: PassArgs,
}

// `prune`'s arguments (plain comments: clap would take doc comments as help).
#[derive(clap::Args)]
pub struct PruneArgs {
    /// Remove connections unused for this many days.
    #[arg(long, default_value_t = 90)]
    pub inactive_days: u64,
    /// Only list what would be removed.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub pass: PassArgs,
}

// `audit`'s arguments (plain comments: clap would take doc comments as help).
#[derive(clap::Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub action: Option<AuditAction>,
    /// Only events newer than this (e.g. 30m, 24h).
    #[arg(long, value_parser = parse_duration)]
    pub since: Option<Duration>,
    /// Print JSON lines.
    #[arg(long)]
    pub json: bool,
    /// With a passphrase, the log is verified first (as `audit verify` does).
    #[command(flatten)]
    pub pass: PassArgs,
}

// `agent`'s arguments (plain comments: clap would take doc comments as help).
#[derive(clap::Args)]
pub struct AgentArgs {
    #[command(subcommand)]
    pub action: Option<AgentAction>,
    #[command(flatten)]
    pub run: RunArgs,
}

// `completions`'s arguments (plain comments: clap would take doc comments as help).
#[derive(clap::Args)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}

// `status`'s arguments (plain comments: clap would take doc comments as help).
#[derive(clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub pass: PassArgs,
    /// Unlock (prompting if needed) to count the records and check the connections.
    #[arg(long)]
    pub unlock: bool,
    /// Flag connections not used for this many days.
    #[arg(long, default_value_t = 30)]
    pub inactive_days: u64,
    /// Flag connections that failed to refresh this many times in a row.
    #[arg(long, default_value_t = 3)]
    pub failures: u32,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

// `run`'s arguments (plain comments: clap would take doc comments as help).
#[derive(clap::Args)]
pub struct RunCommandArgs {
    /// Read variables from this dotenv file too (may be repeated; a later file wins over an
    /// earlier one and over the environment). Its references are resolved like the
    /// environment's.
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_files: Vec<PathBuf>,
    /// Replace every resolved token and header in the command's output with
    /// `<concealed by token-wallet>`.
    #[arg(long)]
    pub mask: bool,
    /// Least lifetime each token must have left (default 5m, or half the provider's token
    /// lifetime if that is shorter).
    #[arg(long, value_parser = parse_min_ttl)]
    pub min_ttl: Option<Duration>,
    #[command(flatten)]
    pub pass: PassArgs,
    /// The command and its arguments (after `--`).
    #[arg(last = true, required = true)]
    pub cmd: Vec<String>,
}

// `proxy`'s arguments (plain comments: clap would take doc comments as help).
#[derive(clap::Args)]
pub struct ProxyArgs {
    /// Connection name.
    pub name: ConnectionName,
    /// Let through only requests that match a rule `METHOD /path` or `METHOD /prefix*`
    /// (`*` for any method); may be repeated. None given: everything the token can do.
    /// Others get 403 from the proxy and never reach the API.
    #[arg(long = "allow", value_name = "RULE", value_parser = parse_allow)]
    pub allow: Vec<token_wallet_proxy::Allow>,
    /// Forward to this base URL instead of the provider's `api_base` (https://, or
    /// http:// on this machine only).
    #[arg(long, value_name = "URL")]
    pub upstream: Option<url::Url>,
    /// Listen on this loopback address (default: 127.0.0.1 and ::1 on a port it picks).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
    /// Listen on this Unix socket too (only this user's processes may connect; they need
    /// no capability).
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Listen on the Unix socket only (no TCP).
    #[arg(long, requires = "socket")]
    pub no_tcp: bool,
    /// The upstream's certificate must chain to a CA in this PEM file (else the
    /// platform's roots).
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Requests forwarded at once; more get 503.
    #[arg(long, value_name = "N", default_value_t = 512)]
    pub max_in_flight: usize,
    /// Print the address and capability as one JSON line (for scripts).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub pass: PassArgs,
}

fn parse_allow(s: &str) -> std::result::Result<token_wallet_proxy::Allow, String> {
    token_wallet_proxy::Allow::parse(s)
}

// `api`'s arguments (plain comments: clap would take doc comments as help).
#[derive(clap::Args)]
pub struct ApiArgs {
    /// Connection name.
    pub name: ConnectionName,
    /// The path under the provider's API base, starting with `/` (`/v1/expenses`), with a
    /// query if you like.
    pub path: String,
    /// The method (default GET, or POST when fields or --input are given).
    #[arg(short = 'X', long, value_name = "METHOD")]
    pub method: Option<String>,
    /// A field: a query parameter of a GET, else a member of the JSON body (a string).
    #[arg(short = 'f', long = "field", value_name = "KEY=VALUE")]
    pub fields: Vec<String>,
    /// The request body from this file (`-` for standard input), sent as JSON.
    #[arg(long, value_name = "FILE", conflicts_with = "fields")]
    pub input: Option<PathBuf>,
    #[command(flatten)]
    pub pass: PassArgs,
}
