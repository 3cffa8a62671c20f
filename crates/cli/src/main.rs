//! `token-wallet`: the command line. Subcommands are thin calls into `token_wallet_core`.
#![forbid(unsafe_code)]

/// Every heap block is zeroed when it is freed (or moved by a reallocation), so a secret
/// that passed through any buffer (a protocol frame, an HTTP body, a parsed token) does not
/// survive in freed memory.
#[global_allocator]
static ALLOC: zeroizing_alloc::ZeroAlloc<std::alloc::System> =
    zeroizing_alloc::ZeroAlloc(std::alloc::System);

mod agent;
mod connections;
mod export;
mod passphrase;

use clap::{Parser, Subcommand, ValueEnum};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use token_wallet_core::audit::{AuditLog, Event};
use token_wallet_core::monitor::{self, Thresholds};
use token_wallet_core::{
    keystore, open_vault, CreateOptions, KdfParams, KeystoreOptions, Profile, StoreKind, Vault,
    VaultInfo,
};

#[derive(Parser)]
#[command(
    name = "token-wallet",
    version,
    about = "Keep OAuth tokens safe and hand out short-lived access tokens"
)]
pub(crate) struct Cli {
    /// Profile: each has its own vault (keystore service `token-wallet:<profile>`).
    #[arg(
        long,
        global = true,
        env = "TOKEN_WALLET_PROFILE",
        default_value = "default"
    )]
    profile: String,
    /// Where the vault's entries live: the OS keystore, or an encrypted file in the data directory.
    #[arg(long, global = true, env = "TOKEN_WALLET_STORE", value_enum, default_value_t = Store::Os)]
    store: Store,
    /// Largest keystore entry in bytes; larger values are split into chunks
    /// (Windows Credential Manager allows 2560).
    #[arg(long, global = true, env = "TOKEN_WALLET_CHUNK_SIZE")]
    chunk_size: Option<usize>,
    /// Seconds to wait for one keystore call before giving up.
    #[arg(
        long,
        global = true,
        env = "TOKEN_WALLET_KEYSTORE_TIMEOUT",
        default_value_t = 20
    )]
    keystore_timeout: u64,
    /// Data directory (lock file, file store); default: the platform's data directory.
    #[arg(long, global = true, env = "TOKEN_WALLET_HOME")]
    home: Option<PathBuf>,
    /// Provider config file (TOML); default: `token-wallet/providers.toml` in the
    /// platform's config directory.
    #[arg(long, global = true, env = "TOKEN_WALLET_PROVIDERS")]
    pub(crate) providers: Option<PathBuf>,
    /// Refresh an access token when less than this many seconds are left (at least; 10 %
    /// of a long token's lifetime counts too). Default 60.
    #[arg(long, global = true, env = "TOKEN_WALLET_REFRESH_WINDOW")]
    refresh_window: Option<u64>,
    /// Do not ask a running agent; unlock the vault in this process.
    #[arg(long, global = true, env = "TOKEN_WALLET_NO_AGENT")]
    pub(crate) no_agent: bool,
    /// The agent's socket (default: under $XDG_RUNTIME_DIR, per profile and data directory).
    #[arg(
        long,
        global = true,
        env = "TOKEN_WALLET_AGENT_SOCKET",
        value_name = "PATH"
    )]
    pub(crate) agent_socket: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Store {
    /// Keychain, Credential Manager or Secret Service.
    Os,
    /// An encrypted-entries file (0600) in the data directory. Opt-in only.
    File,
}

#[derive(clap::Args)]
pub(crate) struct PassArgs {
    /// Read the passphrase from the first line of this file.
    #[arg(long, value_name = "FILE")]
    pub(crate) passphrase_file: Option<PathBuf>,
    /// Read the passphrase from the first line of standard input.
    #[arg(long, conflicts_with = "passphrase_file")]
    pub(crate) passphrase_stdin: bool,
}

#[derive(Subcommand)]
enum AuditAction {
    /// Check the chain, the MACs and the anchor; report the first broken link.
    Verify {
        #[command(flatten)]
        pass: PassArgs,
    },
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Create a new vault.
    Init {
        #[command(flatten)]
        pass: PassArgs,
        /// Argon2id memory in KiB (default 65536 = 64 MiB).
        #[arg(long, default_value_t = KdfParams::RFC9106_SECOND.m_kib)]
        kdf_memory_kib: u32,
        /// Argon2id passes (default 3).
        #[arg(long, default_value_t = KdfParams::RFC9106_SECOND.t)]
        kdf_iterations: u32,
        /// Argon2id lanes (default 4).
        #[arg(long, default_value_t = KdfParams::RFC9106_SECOND.p)]
        kdf_parallelism: u32,
        /// Allow KDF settings below RFC 9106's floor. For tests only; the header records it.
        #[arg(long)]
        insecure_weak_kdf: bool,
    },
    /// Check the passphrase: unlock the vault and lock it again.
    Unlock {
        #[command(flatten)]
        pass: PassArgs,
    },
    /// Change the passphrase, rotating the data key with it (crash-safe).
    Passwd {
        /// Read the current passphrase from this file.
        #[arg(long, value_name = "FILE")]
        passphrase_file: Option<PathBuf>,
        /// Read the new passphrase from this file.
        #[arg(long, value_name = "FILE")]
        new_passphrase_file: Option<PathBuf>,
        /// Read from standard input: the current passphrase on the first line and the new
        /// one on the second (a passphrase given by file is not read from stdin).
        #[arg(long)]
        passphrase_stdin: bool,
        /// Only re-wrap the data key (one header write, fast). By default the data key is
        /// rotated too, so an old copy of the header and the old passphrase open nothing.
        #[arg(long)]
        keep_data_key: bool,
    },
    /// Re-encrypt every record under a new data key (crash-safe).
    RotateKey {
        #[command(flatten)]
        pass: PassArgs,
    },
    /// List the providers: the Pleo presets and those in the config file.
    Providers {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Connect: sign in with the provider in your browser and keep the tokens.
    Connect {
        /// A name for the connection, unique in the vault.
        name: String,
        /// Provider (see `token-wallet providers`).
        #[arg(long)]
        provider: String,
        /// OAuth client id (default: the provider's, if the config gives one).
        #[arg(long)]
        client_id: Option<String>,
        /// Scopes, space separated (default: the provider's).
        #[arg(long)]
        scopes: Option<String>,
        /// Read the client secret of a confidential client from standard input (after
        /// the passphrase line, if --passphrase-stdin). Pleo advises against secrets on
        /// user devices: prefer a public client with PKCE.
        #[arg(long)]
        client_secret_stdin: bool,
        /// Print the sign-in link instead of opening a browser; the wallet still waits
        /// for the redirect, or for you to paste the final redirect URL here.
        #[arg(long)]
        no_browser: bool,
        /// Seconds to wait for the sign-in.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
        #[command(flatten)]
        pass: PassArgs,
    },
    /// List connections: name, provider, scopes, expiry, status.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        pass: PassArgs,
    },
    /// Show one connection (never its tokens).
    Show {
        /// Connection name.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        pass: PassArgs,
    },
    /// Disconnect: revoke at the provider, then forget. Kept as "revocation pending" if
    /// the provider cannot be reached.
    Disconnect {
        /// Connection name.
        name: String,
        /// Forget it locally even if revocation fails (the tokens may stay live).
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        pass: PassArgs,
    },
    /// Print an access token for NAME on stdout, refreshing it first if it expires within
    /// --min-ttl. Never a refresh token.
    Token {
        /// Connection name.
        name: String,
        /// Least lifetime the token must have left, e.g. 30s, 5m, 1h.
        #[arg(long, default_value = "0s", value_parser = parse_duration)]
        min_ttl: Duration,
        /// Output: the token alone, JSON (token, type, expiry, scopes), or an HTTP header.
        #[arg(long, value_enum, default_value_t = export::Format::Raw)]
        format: export::Format,
        #[command(flatten)]
        pass: PassArgs,
    },
    /// Print `export VAR=token` (or fish / PowerShell) lines to `eval`.
    Env {
        /// Connection name.
        name: String,
        /// Variable name (default: PLEO_ACCESS_TOKEN for Pleo providers, else ACCESS_TOKEN).
        #[arg(long)]
        var: Option<String>,
        /// Shell syntax.
        #[arg(long, value_enum, default_value_t = export::Shell::Sh)]
        shell: export::Shell,
        /// Least lifetime the token must have left.
        #[arg(long, default_value = "0s", value_parser = parse_duration)]
        min_ttl: Duration,
        #[command(flatten)]
        pass: PassArgs,
    },
    /// Run a command with the access token in its environment; exits with its exit code.
    Exec {
        /// Connection name.
        name: String,
        /// Variable name (default: PLEO_ACCESS_TOKEN for Pleo providers, else ACCESS_TOKEN).
        #[arg(long)]
        var: Option<String>,
        /// Replace the token in the command's output with `<redacted>`.
        #[arg(long)]
        mask: bool,
        /// Least lifetime the token must have left.
        #[arg(long, default_value = "5m", value_parser = parse_duration)]
        min_ttl: Duration,
        #[command(flatten)]
        pass: PassArgs,
        /// The command and its arguments (after `--`).
        #[arg(last = true, required = true)]
        cmd: Vec<String>,
    },
    /// Refresh now (rotate the tokens) for NAME, or for every connection with --all.
    Refresh {
        /// Connection name.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        name: Option<String>,
        /// Every active connection.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        pass: PassArgs,
    },
    /// Revoke and remove connections whose refresh token is dead (needs
    /// re-authorisation) or that were not used for N days.
    Prune {
        /// Remove connections unused for this many days.
        #[arg(long, default_value_t = 90)]
        inactive_days: u64,
        /// Only list what would be removed.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        pass: PassArgs,
    },
    /// Show the audit log (`audit verify` checks it is intact).
    Audit {
        #[command(subcommand)]
        action: Option<AuditAction>,
        /// Only events newer than this (e.g. 30m, 24h).
        #[arg(long, value_parser = parse_duration)]
        since: Option<Duration>,
        /// Print JSON lines.
        #[arg(long)]
        json: bool,
    },
    /// Run the agent: keep the vault unlocked and serve access tokens to `token`, `env`,
    /// `exec` and `list` over a private local socket (foreground; `--detach` for the
    /// background). `agent status|unlock|stop` talk to a running one.
    #[command(args_conflicts_with_subcommands = true)]
    Agent {
        #[command(subcommand)]
        action: Option<agent::AgentAction>,
        #[command(flatten)]
        run: agent::RunArgs,
    },
    /// Lock the running agent (its keys and cached tokens are wiped).
    Lock,
    /// Print a shell completion script (e.g. `token-wallet completions bash > /etc/bash_completion.d/token-wallet`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Show the vault: id, KDF, key generation and age, records, store.
    Status {
        #[command(flatten)]
        pass: PassArgs,
        /// Unlock (prompting if needed) to count the records and check the connections.
        #[arg(long)]
        unlock: bool,
        /// Flag connections not used for this many days.
        #[arg(long, default_value_t = 30)]
        inactive_days: u64,
        /// Flag connections that failed to refresh this many times in a row.
        #[arg(long, default_value_t = 3)]
        failures: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// A failure with its exit code: 1 error, 2 usage (clap), 3 the agent is locked,
/// 4 needs re-authorisation, 5 provider unreachable, 127 `exec` could not run the command.
pub(crate) struct Fail {
    pub code: u8,
    pub msg: String,
}

impl From<String> for Fail {
    fn from(msg: String) -> Self {
        Self { code: 1, msg }
    }
}

impl From<&str> for Fail {
    fn from(msg: &str) -> Self {
        msg.to_string().into()
    }
}

/// Logs to stderr, `TOKEN_WALLET_LOG` (default `warn`) choosing what. Other crates are held
/// to WARN and the `log` crate (ureq's and rustls's hex dumps) is not bridged at all:
/// see `token_wallet_core::logging`.
fn init_log() {
    use tracing_subscriber::layer::SubscriberExt as _;
    let sub = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TOKEN_WALLET_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
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
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {}", f.msg);
            ExitCode::from(f.code)
        }
    }
}

pub(crate) fn base_dir(cli: &Cli) -> Result<PathBuf, String> {
    cli.home
        .clone()
        .or_else(token_wallet_core::profile::default_base_dir)
        .ok_or_else(|| "cannot find a data directory; pass --home".to_string())
}

pub(crate) fn open(cli: &Cli) -> Result<(Profile, Vault), String> {
    let profile = Profile::new(&cli.profile)?;
    let data_dir = profile.data_dir(&base_dir(cli)?);
    let mut opts = KeystoreOptions::os();
    if cli.store == Store::File {
        opts.kind = StoreKind::File(data_dir.join("keystore.json"));
    }
    if let Some(c) = cli.chunk_size {
        if c < keystore::MIN_CHUNK_CAP {
            return Err(format!(
                "--chunk-size must be at least {}",
                keystore::MIN_CHUNK_CAP
            ));
        }
        opts.chunk_cap = c;
    }
    opts.timeout = Duration::from_secs(cli.keystore_timeout.max(1));
    let vault = open_vault(&profile, &opts, &data_dir).map_err(|e| e.to_string())?;
    Ok((profile, vault))
}

pub(crate) fn refresher(
    cli: &Cli,
    data_dir: &std::path::Path,
) -> token_wallet_core::refresh::Refresher {
    let mut policy = token_wallet_core::refresh::Policy::default();
    if let Some(w) = cli.refresh_window {
        policy.min_window = Duration::from_secs(w);
    }
    token_wallet_core::refresh::Refresher::new(
        token_wallet_core::oauth::http::Http::new(),
        policy,
        data_dir.to_path_buf(),
    )
    .with_audit(AuditLog::new(data_dir))
}

/// `30s`, `5m`, `1h`, or plain seconds.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration like 30s, 5m or 1h"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("`{s}` is not a duration like 30s, 5m or 1h")),
    };
    Ok(Duration::from_secs(secs))
}

pub(crate) fn sources(p: &PassArgs) -> passphrase::Sources<'_> {
    passphrase::Sources {
        file: p.passphrase_file.as_deref(),
        stdin: p.passphrase_stdin,
    }
}

fn run(cli: Cli) -> Result<(), Fail> {
    if let Command::Providers { json } = &cli.command {
        return connections::providers(&cli, *json).map_err(Fail::from);
    }
    if let Command::Completions { shell } = &cli.command {
        use clap::CommandFactory;
        clap_complete::generate(
            *shell,
            &mut Cli::command(),
            "token-wallet",
            &mut std::io::stdout(),
        );
        return Ok(());
    }
    if let Some(r) = agent::route(&cli) {
        return r;
    }
    if let Command::Agent { run, .. } = &cli.command {
        return agent::run(&cli, run);
    }
    let (profile, vault) = open(&cli)?;
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let out = &mut std::io::stdout();
    let data_dir = profile.data_dir(&base_dir(&cli)?);
    let log = AuditLog::new(&data_dir);
    let result: Result<(), String> = match &cli.command {
        Command::Init {
            pass,
            kdf_memory_kib,
            kdf_iterations,
            kdf_parallelism,
            insecure_weak_kdf,
        } => {
            if vault.exists().map_err(|e| e.to_string())? {
                return Err(format!(
                    "a vault already exists for profile `{}`; unlock it, or use another --profile",
                    profile.name()
                )
                .into());
            }
            let p = passphrase::new(
                pass.passphrase_file.as_deref(),
                pass.passphrase_stdin,
                &mut input,
                "New passphrase",
            )?;
            let opts = CreateOptions {
                kdf: KdfParams {
                    m_kib: *kdf_memory_kib,
                    t: *kdf_iterations,
                    p: *kdf_parallelism,
                },
                allow_weak_kdf: *insecure_weak_kdf,
            };
            let mut v = vault.create(&p, &opts).map_err(|e| e.to_string())?;
            audit(&log, Some(&mut v), Event::VaultCreated);
            done(&log, &mut v);
            let info = v.info();
            say(
                out,
                &format!(
                    "created vault {} in the {} keystore (service `{}`), {}",
                    info.vault_id, info.store, info.service, info.kdf
                ),
            )
        }
        Command::Unlock { pass } => {
            let mut v = unlock(&vault, sources(pass), &mut input, &log)?;
            let n = v.info().record_count.unwrap_or(0);
            done(&log, &mut v);
            v.lock();
            say(
                out,
                &format!("passphrase OK; vault unlocked ({n} records) and locked again"),
            )
        }
        Command::Passwd {
            passphrase_file,
            new_passphrase_file,
            passphrase_stdin,
            keep_data_key,
        } => {
            let src = passphrase::Sources {
                file: passphrase_file.as_deref(),
                stdin: *passphrase_stdin && passphrase_file.is_none(),
            };
            let mut v = unlock(&vault, src, &mut input, &log)?;
            let new = passphrase::new(
                new_passphrase_file.as_deref(),
                *passphrase_stdin,
                &mut input,
                "New passphrase",
            )?;
            if *keep_data_key {
                v.change_passphrase_keep_data_key(&new)
            } else {
                v.change_passphrase(&new)
            }
            .map_err(|e| e.to_string())?;
            audit(&log, Some(&mut v), Event::PassphraseChanged);
            done(&log, &mut v);
            if *keep_data_key {
                say(out, "passphrase changed (data key kept)")
            } else {
                say(
                    out,
                    &format!(
                        "passphrase changed; data key rotated (generation {})",
                        v.info().generation
                    ),
                )
            }
        }
        Command::RotateKey { pass } => {
            let mut v = unlock(&vault, sources(pass), &mut input, &log)?;
            let from = v.info().generation;
            v.rotate_data_key().map_err(|e| e.to_string())?;
            let info = v.info();
            audit(
                &log,
                Some(&mut v),
                Event::DataKeyRotated {
                    generation: info.generation,
                },
            );
            done(&log, &mut v);
            say(
                out,
                &format!(
                    "data key rotated: generation {from} -> {}, {} records re-encrypted",
                    info.generation,
                    info.record_count.unwrap_or(0)
                ),
            )
        }
        Command::Providers { .. }
        | Command::Completions { .. }
        | Command::Agent { .. }
        | Command::Lock => unreachable!("handled above"),
        Command::Connect {
            name,
            provider,
            client_id,
            scopes,
            client_secret_stdin,
            no_browser,
            timeout,
            pass,
        } => {
            let v = unlock(&vault, sources(pass), &mut input, &log)?;
            let secret = if *client_secret_stdin {
                let mut line = String::new();
                input.read_line(&mut line).map_err(|e| e.to_string())?;
                let line = line.trim_end_matches(['\n', '\r']).to_string();
                if line.is_empty() {
                    return Err("--client-secret-stdin: standard input has no client secret".into());
                }
                eprintln!("note: a client secret on a user device can be copied from it; Pleo advises public clients with PKCE");
                Some(secrecy::SecretString::from(line))
            } else {
                None
            };
            let req = connections::ConnectArgs {
                name,
                provider,
                client_id: client_id.clone(),
                scopes: scopes.clone(),
                client_secret: secret,
                no_browser: *no_browser,
                timeout: Duration::from_secs(*timeout),
            };
            let v = std::sync::Mutex::new(v);
            let r = connections::connect(&cli, &v, req, &log, out);
            done(&log, &mut v.lock().unwrap_or_else(|p| p.into_inner()));
            r
        }
        Command::List { json, pass } => {
            let mut v = unlock(&vault, sources(pass), &mut input, &log)?;
            let r = connections::list(&mut v, *json, &log, out);
            done(&log, &mut v);
            r
        }
        Command::Show { name, json, pass } => {
            let mut v = unlock(&vault, sources(pass), &mut input, &log)?;
            let r = connections::show(&mut v, name, *json, &log, out);
            done(&log, &mut v);
            r
        }
        Command::Disconnect { name, force, pass } => {
            let v = unlock(&vault, sources(pass), &mut input, &log)?;
            // Pleo revokes with the access token: make sure it is live first (through the
            // one refresher, so a rotated refresh token is stored before it is used).
            let v = std::sync::Mutex::new(v);
            connections::live_for_revocation(&refresher(&cli, &data_dir), &v, name);
            let mut v = v.into_inner().unwrap_or_else(|p| p.into_inner());
            let r = connections::disconnect(&mut v, name, *force, &log, out);
            done(&log, &mut v);
            r
        }
        Command::Token {
            name,
            min_ttl,
            format,
            pass,
        } => {
            let v = std::sync::Mutex::new(unlock(&vault, sources(pass), &mut input, &log)?);
            let r = connections::token(&refresher(&cli, &data_dir), &v, name, *min_ttl, &log)
                .and_then(|t| export::print(&t, *format, out).map_err(Fail::from));
            done(&log, &mut v.lock().unwrap_or_else(|p| p.into_inner()));
            return r;
        }
        Command::Env {
            name,
            var,
            shell,
            min_ttl,
            pass,
        } => {
            let v = std::sync::Mutex::new(unlock(&vault, sources(pass), &mut input, &log)?);
            let r = connections::token(&refresher(&cli, &data_dir), &v, name, *min_ttl, &log)
                .and_then(|t| {
                    say(out, &export::env_line(var.as_deref(), &t, *shell)).map_err(Fail::from)
                });
            done(&log, &mut v.lock().unwrap_or_else(|p| p.into_inner()));
            return r;
        }
        Command::Exec {
            name,
            var,
            mask,
            min_ttl,
            pass,
            cmd,
        } => {
            let v = std::sync::Mutex::new(unlock(&vault, sources(pass), &mut input, &log)?);
            let r = connections::token(&refresher(&cli, &data_dir), &v, name, *min_ttl, &log);
            done(&log, &mut v.lock().unwrap_or_else(|p| p.into_inner()));
            // The vault's keys (KEK, DEK) and the cached audit key are dropped, and wiped,
            // before the child runs; only the access token stays (for --mask).
            drop(v);
            log.forget_key();
            let code = export::exec(&r?, var.as_deref(), *mask, cmd)?;
            std::process::exit(code);
        }
        Command::Refresh { name, all, pass } => {
            let v = std::sync::Mutex::new(unlock(&vault, sources(pass), &mut input, &log)?);
            let r =
                connections::refresh(&refresher(&cli, &data_dir), &v, name.as_deref(), *all, out);
            done(&log, &mut v.lock().unwrap_or_else(|p| p.into_inner()));
            r
        }
        Command::Audit {
            action,
            since,
            json,
        } => match action {
            Some(AuditAction::Verify { pass }) => {
                let mut v = unlock(&vault, sources(pass), &mut input, &log)?;
                let verdict = log.verify(&mut v).map_err(|e| e.to_string())?;
                match &verdict.broken {
                    None => say(
                        out,
                        &format!(
                            "audit log OK: {} lines, {} authenticated, chain and anchor intact ({})",
                            verdict.lines,
                            verdict.authenticated,
                            log.path().display()
                        ),
                    ),
                    Some((line, why)) => Err(format!(
                        "audit log BROKEN at line {line}: {why} ({})",
                        log.path().display()
                    )),
                }
            }
            None => {
                let lines = log.read().map_err(|e| e.to_string())?;
                let from =
                    since.map(|d| token_wallet_core::connection::now().saturating_sub(d.as_secs()));
                for l in lines.iter().filter(|l| from.is_none_or(|f| l.ts >= f)) {
                    if *json {
                        say(out, &serde_json::to_string(l).map_err(|e| e.to_string())?)?;
                    } else {
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
                }
                Ok(())
            }
        },
        Command::Status {
            pass,
            unlock: want,
            json,
            inactive_days,
            failures,
        } => {
            let t = Thresholds {
                inactive_days: *inactive_days,
                refresh_failures: *failures,
                ..Thresholds::default()
            };
            let given = pass.passphrase_file.is_some() || pass.passphrase_stdin;
            let mut alerts = Vec::new();
            let info = if *want || given {
                let mut v = unlock(&vault, sources(pass), &mut input, &log)?;
                let conns =
                    token_wallet_core::connection::list(&mut v).map_err(|e| e.to_string())?;
                alerts =
                    monitor::connection_alerts(&conns, &t, token_wallet_core::connection::now());
                done(&log, &mut v);
                v.info()
            } else {
                vault.info().map_err(|e| e.to_string())?
            };
            if let Ok(lines) = log.read() {
                alerts.extend(monitor::unlock_alert(&lines, &t));
            }
            if *json {
                let mut v = serde_json::to_value(&info).map_err(|e| e.to_string())?;
                v["profile"] = profile.name().into();
                v["alerts"] = serde_json::to_value(&alerts).map_err(|e| e.to_string())?;
                say(out, &v.to_string())
            } else {
                say(out, &status_text(&profile, &info))?;
                for a in &alerts {
                    say(out, &format!("ALERT:       {a}"))?;
                }
                Ok(())
            }
        }
        Command::Prune {
            inactive_days,
            dry_run,
            pass,
        } => {
            let mut v = unlock(&vault, sources(pass), &mut input, &log)?;
            let r = connections::prune(&mut v, *inactive_days, *dry_run, &log, out);
            done(&log, &mut v);
            r
        }
    };
    result.map_err(Fail::from)
}

pub(crate) fn unlock(
    vault: &Vault,
    src: passphrase::Sources,
    input: &mut impl BufRead,
    log: &AuditLog,
) -> Result<token_wallet_core::UnlockedVault, String> {
    // Say "no vault" before asking for a passphrase.
    vault.info().map_err(|e| e.to_string())?;
    let p = passphrase::current(&src, input)?;
    match vault.unlock(&p) {
        Ok(mut v) => {
            audit(log, Some(&mut v), Event::VaultUnlocked);
            Ok(v)
        }
        Err(e) => {
            if matches!(e, token_wallet_core::VaultError::WrongPassphrase) {
                audit(log, None, Event::UnlockFailed);
            }
            Err(e.to_string())
        }
    }
}

/// Appends to the audit log; a failure to write it is reported, not fatal.
pub(crate) fn audit(
    log: &AuditLog,
    vault: Option<&mut token_wallet_core::UnlockedVault>,
    e: Event,
) {
    if let Err(err) = log.append(e, vault) {
        eprintln!("warning: could not write the audit log: {err}");
    }
}

/// Anchors the audit log's head in the vault at the end of a command.
fn done(log: &AuditLog, v: &mut token_wallet_core::UnlockedVault) {
    if let Err(err) = log.anchor(v) {
        eprintln!("warning: could not anchor the audit log: {err}");
    }
}

pub(crate) fn say(out: &mut impl Write, text: &str) -> Result<(), String> {
    writeln!(out, "{text}").map_err(|e| e.to_string())
}

pub(crate) fn age(since: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let s = now.saturating_sub(since);
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        7200..=172_799 => format!("{} h", s / 3600),
        _ => format!("{} days", s / 86_400),
    }
}

fn status_text(profile: &Profile, i: &VaultInfo) -> String {
    let floor = if i.kdf_below_floor {
        " (BELOW RFC 9106 floor: test setting)"
    } else {
        ""
    };
    let records = match i.record_count {
        Some(n) => n.to_string(),
        None => "(locked; pass --unlock to count)".to_string(),
    };
    format!(
        "profile:     {}\nstore:       {} (service `{}`)\nvault id:    {}\nkdf:         {}{floor}\ndata key:    generation {}, {} old\npassphrase:  set {} ago\nrecords:     {records}",
        profile.name(),
        i.store,
        i.service,
        i.vault_id,
        i.kdf,
        i.generation,
        age(i.dek_created_at),
        age(i.passphrase_changed_at),
    )
}
