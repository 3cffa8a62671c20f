//! `agent`, `agent status|unlock|stop`, `lock`, and the agent route of `token`, `env`,
//! `exec` and `list`: thin calls into core's `agent`.

use crate::connections::Exported;
use crate::{base_dir, export, passphrase, say, sources, Cli, Command, Fail, PassArgs};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use token_wallet_core::agent::{self, client::Client, Agent, AgentError, AgentOptions, Issued};
use token_wallet_core::refresh::AccessToken;
use token_wallet_core::Profile;

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
    #[arg(long, default_value = "15m", value_parser = crate::parse_duration)]
    pub idle_timeout: Duration,
    /// Start in the background (log in the data directory's agent.log) and return once
    /// it answers.
    #[arg(long)]
    pub detach: bool,
    /// Seconds a client has to send a whole request.
    #[arg(long, default_value_t = 10, hide = true)]
    pub frame_timeout: u64,
    /// Clients served at once; more are told the agent is busy.
    #[arg(long, default_value_t = 1024, hide = true)]
    pub max_clients: usize,
    #[command(flatten)]
    pub pass: PassArgs,
}

fn fail(e: AgentError) -> Fail {
    Fail {
        code: e.exit_code(),
        msg: e.to_string(),
    }
}

/// The socket this profile's agent listens on, and whether it was named explicitly.
fn socket(cli: &Cli) -> Result<(PathBuf, bool), Fail> {
    if let Some(p) = &cli.agent_socket {
        return Ok((p.clone(), true));
    }
    let profile = Profile::new(&cli.profile)?;
    let data_dir = profile.data_dir(&base_dir(cli)?);
    Ok((
        agent::socket_path(&profile, &data_dir).map_err(fail)?,
        false,
    ))
}

/// A connection to the running agent; `None` if none runs (or `--no-agent`).
fn client(cli: &Cli) -> Result<Option<Client>, Fail> {
    if cli.no_agent {
        return Ok(None);
    }
    let (path, explicit) = socket(cli)?;
    match Client::connect(&path, !explicit) {
        Ok(c) => Ok(Some(c)),
        Err(AgentError::NotRunning(_)) => Ok(None),
        Err(e) => Err(fail(e)),
    }
}

fn given(p: &PassArgs) -> bool {
    p.passphrase_file.is_some() || p.passphrase_stdin
}

/// Asks the agent through `f`; `None` to unlock in this process instead (no agent, or a
/// locked agent while a passphrase source was given).
fn ask<T>(
    cli: &Cli,
    pass: &PassArgs,
    f: impl FnOnce(&mut Client) -> Result<T, AgentError>,
) -> Option<Result<T, Fail>> {
    let mut c = match client(cli) {
        Ok(Some(c)) => c,
        Ok(None) => return None,
        Err(f) => return Some(Err(f)),
    };
    match f(&mut c) {
        Ok(t) => Some(Ok(t)),
        Err(AgentError::Locked) if given(pass) => None,
        Err(e) => Some(Err(fail(e))),
    }
}

/// A token from the agent (see [`ask`]).
fn token(
    cli: &Cli,
    name: &str,
    min_ttl: Duration,
    pass: &PassArgs,
) -> Option<Result<Exported, Fail>> {
    ask(cli, pass, |c| {
        let Issued {
            token,
            expires_at,
            refreshed,
            info,
        } = c.token(name, min_ttl)?;
        Ok(Exported {
            token: AccessToken {
                token,
                expires_at,
                refreshed,
            },
            info: Some(info),
        })
    })
}

/// Runs `token`, `env`, `exec`, `list`, `lock` and `agent …` through the agent where
/// one runs. `None`: the command is not the agent's, or it should unlock itself.
pub fn route(cli: &Cli) -> Option<Result<(), Fail>> {
    let out = &mut std::io::stdout();
    match &cli.command {
        Command::Token {
            name,
            min_ttl,
            format,
            pass,
        } => token(cli, name, *min_ttl, pass)
            .map(|r| r.and_then(|t| export::print(&t, *format, out).map_err(Fail::from))),
        Command::Env {
            name,
            var,
            shell,
            min_ttl,
            pass,
        } => token(cli, name, *min_ttl, pass).map(|r| {
            r.and_then(|t| {
                say(out, &export::env_line(var.as_deref(), &t, *shell)).map_err(Fail::from)
            })
        }),
        Command::Exec {
            name,
            var,
            mask,
            min_ttl,
            pass,
            cmd,
        } => token(cli, name, *min_ttl, pass).map(|r| {
            r.and_then(|t| {
                let code = export::exec(&t, var.as_deref(), *mask, cmd)?;
                std::process::exit(code);
            })
        }),
        Command::List { json, pass } => ask(cli, pass, Client::list).map(|r| {
            r.and_then(|all| crate::connections::print_list(&all, *json, out).map_err(Fail::from))
        }),
        Command::Lock => Some(lock(cli)),
        Command::Agent {
            action: Some(a), ..
        } => Some(action(cli, a, out)),
        _ => None,
    }
}

fn lock(cli: &Cli) -> Result<(), Fail> {
    match client(cli)? {
        Some(mut c) => {
            c.lock().map_err(fail)?;
            eprintln!("agent locked");
            Ok(())
        }
        None => {
            eprintln!("no agent is running; nothing to lock");
            Ok(())
        }
    }
}

fn action(cli: &Cli, a: &AgentAction, out: &mut impl Write) -> Result<(), Fail> {
    let (path, _) = socket(cli)?;
    let running = |c: Option<Client>| {
        c.ok_or_else(|| fail(AgentError::NotRunning(path.display().to_string())))
    };
    match a {
        AgentAction::Status { json } => {
            let s = running(client(cli)?)?.status().map_err(fail)?;
            if *json {
                let mut v = serde_json::to_value(&s).map_err(|e| e.to_string())?;
                v["socket"] = path.display().to_string().into();
                say(out, &v.to_string())?;
            } else {
                let state = if s.unlocked { "unlocked" } else { "locked" };
                let mut text = format!(
                    "agent:       {state} (pid {}, profile {}, protocol {})\nsocket:      {}",
                    s.pid,
                    s.profile,
                    s.protocol,
                    path.display()
                );
                if let Some(n) = s.connections {
                    text.push_str(&format!("\nconnections: {n}"));
                }
                match (s.locks_in_secs, s.idle_timeout_secs) {
                    (Some(l), _) => text.push_str(&format!("\nauto-lock:   in {l} s if idle")),
                    (None, None) => text.push_str("\nauto-lock:   never"),
                    _ => {}
                }
                say(out, &text)?;
            }
            if s.unlocked {
                Ok(())
            } else {
                Err(Fail {
                    code: 3,
                    msg: "the agent is locked; unlock it with `token-wallet agent unlock`".into(),
                })
            }
        }
        AgentAction::Unlock { pass } => {
            let mut c = running(client(cli)?)?;
            let stdin = std::io::stdin();
            let p = passphrase::current(&sources(pass), &mut stdin.lock())?;
            c.unlock(&p).map_err(fail)?;
            eprintln!("agent unlocked");
            Ok(())
        }
        AgentAction::Stop => {
            running(client(cli)?)?.stop().map_err(fail)?;
            eprintln!("agent stopped");
            Ok(())
        }
    }
}

/// `token-wallet agent`: unlock, then serve in the foreground (or `--detach`).
pub fn run(cli: &Cli, a: &RunArgs) -> Result<(), Fail> {
    let (path, _) = socket(cli)?;
    if let Ok(Some(_)) = client(cli) {
        return Err(fail(AgentError::AlreadyRunning(path.display().to_string())));
    }
    if a.detach {
        return detach(cli, a, &path);
    }
    let (profile, vault) = crate::open(cli)?;
    let data_dir = profile.data_dir(&base_dir(cli)?);
    let log = token_wallet_core::audit::AuditLog::new(&data_dir);
    let stdin = std::io::stdin();
    let v = crate::unlock(&vault, sources(&a.pass), &mut stdin.lock(), &log)?;
    // The agent keeps its own audit log; this one's cached key must not outlive a lock.
    log.forget_key();
    drop(log);
    // What unlocking left in this thread's stack (Argon2's output, key schedules).
    token_wallet_core::crypto::scrub_stack();
    let opts = AgentOptions {
        profile: profile.name().to_string(),
        idle_timeout: (!a.idle_timeout.is_zero()).then_some(a.idle_timeout),
        frame_timeout: Duration::from_secs(a.frame_timeout.max(1)),
        max_clients: a.max_clients.max(1),
        ..AgentOptions::default()
    };
    let idle = opts.idle_timeout;
    let agent = Arc::new(Agent::new(
        vault,
        &data_dir,
        crate::refresher(cli, &data_dir),
        opts,
    ));
    agent.adopt(v, None);
    agent
        .serve(&path, || {
            eprintln!(
                "agent: listening on {} (pid {}); {}; stop with `token-wallet agent stop`",
                path.display(),
                std::process::id(),
                match idle {
                    Some(d) => format!("locks after {} s idle", d.as_secs()),
                    None => "never locks by itself".into(),
                }
            );
        })
        .map_err(fail)
}

/// Reads the passphrase here, starts `agent` again in the background with it on its
/// standard input, and waits until it answers.
fn detach(cli: &Cli, a: &RunArgs, path: &std::path::Path) -> Result<(), Fail> {
    use std::process::{Command as Proc, Stdio};
    let stdin = std::io::stdin();
    let p = passphrase::current(&sources(&a.pass), &mut stdin.lock())?;
    let profile = Profile::new(&cli.profile)?;
    let data_dir = profile.data_dir(&base_dir(cli)?);
    let log_path = data_dir.join("agent.log");
    let log = token_wallet_core::files::open_private(&log_path, true).map_err(|e| e.to_string())?;
    // The same global options and agent options, minus --detach and the passphrase
    // source (it comes on stdin).
    let mut args: Vec<std::ffi::OsString> = Vec::new();
    let mut skip = false;
    for arg in std::env::args_os().skip(1) {
        if skip {
            skip = false;
            continue;
        }
        match arg.to_str() {
            Some("--detach" | "--passphrase-stdin") => continue,
            Some("--passphrase-file") => {
                skip = true;
                continue;
            }
            Some(s) if s.starts_with("--passphrase-file=") => continue,
            _ => args.push(arg),
        }
    }
    args.push("--passphrase-stdin".into());
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = {
        let mut c = Proc::new(exe);
        c.args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(log.try_clone().map_err(|e| e.to_string())?);
        std::os::unix::process::CommandExt::process_group(&mut c, 0);
        c.spawn().map_err(|e| e.to_string())?
    };
    {
        use secrecy::ExposeSecret;
        let mut w = child.stdin.take().ok_or("no stdin for the agent")?;
        let mut line = zeroize::Zeroizing::new(p.secret().expose_secret().as_bytes().to_vec());
        line.push(b'\n');
        w.write_all(&line).map_err(|e| e.to_string())?;
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Err(format!("the agent exited ({status}); see {}", log_path.display()).into());
        }
        if let Ok(Some(mut c)) = client(cli) {
            if c.status().is_ok_and(|s| s.unlocked) {
                eprintln!(
                    "agent: started in the background (pid {}) on {}; log {}",
                    child.id(),
                    path.display(),
                    log_path.display()
                );
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err("the agent did not answer within 60 s".into())
}
