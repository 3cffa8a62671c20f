//! `agent`, `agent status|unlock|stop`, `lock`, and the connection to a running agent
//! that `token`, `env`, `exec`, `list` and `show` use: thin calls into core's `agent`.

use super::Ctx;
use crate::cli::{AgentAction, AgentArgs, Cli, RunArgs};
use crate::context::Local;
use crate::error::{Error, Result};
use crate::passphrase::{self, Sources};
use crate::source::{client, socket};
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;
use token_wallet_core::agent::{client::Client, AgentError};
use token_wallet_core::agent::{Agent, AgentOptions};
use token_wallet_core::ops::MaintainOptions;

/// `agent`: run one, or talk to the running one.
pub fn agent(cx: &mut Ctx<'_>, a: &AgentArgs) -> Result {
    match &a.action {
        Some(action) => act(cx, action),
        None => run(cx, &a.run),
    }
}

/// `lock`.
pub fn lock(cx: &mut Ctx<'_>) -> Result {
    match client(cx.cli)? {
        Some(mut c) => {
            c.lock()?;
            eprintln!("agent locked");
            Ok(())
        }
        None => {
            eprintln!("no agent is running; nothing to lock");
            Ok(())
        }
    }
}

/// `agent status|unlock|stop`.
fn act(cx: &mut Ctx<'_>, a: &AgentAction) -> Result {
    let cli = cx.cli;
    let (path, _) = socket(cli)?;
    let not_running = || Error::from(AgentError::NotRunning(path.display().to_string()));
    let running = |c: Option<Client>| c.ok_or_else(not_running);
    match a {
        AgentAction::Status { json } => {
            // An agent that is going away (just stopped) counts as not running.
            let s = match client(cli) {
                Ok(Some(mut c)) => c.status().ok(),
                Ok(None) | Err(Error::Agent(AgentError::Io(_))) => None,
                Err(e) => return Err(e),
            };
            let Some(s) = s else {
                if *json {
                    cx.say(
                        &serde_json::json!({"running": false, "socket": path.display().to_string()})
                            .to_string(),
                    )?;
                }
                return Err(not_running());
            };
            if *json {
                let mut v = serde_json::to_value(&s).map_err(|e| e.to_string())?;
                v["running"] = true.into();
                v["socket"] = path.display().to_string().into();
                cx.say(&v.to_string())?;
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
                cx.say(&text)?;
            }
            if s.unlocked {
                Ok(())
            } else {
                Err(AgentError::Locked.into())
            }
        }
        AgentAction::Unlock { pass } => {
            let mut c = running(client(cli)?)?;
            if crate::context::Local::open(cli)?.unlocks_by_identity()? {
                c.unlock_by_identity()?;
            } else {
                let p = passphrase::current(&Sources::of(pass), &mut cx.input)?;
                c.unlock(&p)?;
            }
            eprintln!("agent unlocked");
            Ok(())
        }
        AgentAction::Stop => {
            running(client(cli)?)?.stop()?;
            eprintln!("agent stopped");
            Ok(())
        }
    }
}

/// `token-wallet agent`: unlock, then serve in the foreground (or `--detach`).
fn run(cx: &mut Ctx<'_>, a: &RunArgs) -> Result {
    let (cli, input) = (cx.cli, &mut cx.input);
    let (path, _) = socket(cli)?;
    if let Ok(Some(_)) = client(cli) {
        return Err(AgentError::AlreadyRunning(path.display().to_string()).into());
    }
    if a.detach {
        return detach(cli, a, &path, input);
    }
    let local = Local::open(cli)?;
    let v = local.unlock_vault(&a.pass, input)?;
    // What unlocking left in this thread's stack (Argon2's output, key schedules).
    token_wallet_core::crypto::scrub_deep_stack();
    let Local { config, vault, .. } = local;
    let opts = AgentOptions {
        profile: config.profile.name().to_string(),
        idle_timeout: (!a.idle_timeout.is_zero()).then_some(a.idle_timeout),
        frame_timeout: Duration::from_secs(a.frame_timeout.max(1)),
        max_clients: a.max_clients.max(1),
        maintain: Some(MaintainOptions {
            refresh_ahead: (!a.refresh_ahead.is_zero()).then_some(a.refresh_ahead),
            prune_unused_days: a.prune_unused_days,
            ..MaintainOptions::default()
        }),
        ..AgentOptions::default()
    };
    let idle = opts.idle_timeout;
    let agent = Arc::new(Agent::new(
        vault,
        &config.data_dir,
        config.refresher(),
        opts,
    ));
    agent.adopt(v);
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
        .map_err(Error::from)
}

/// Reads the passphrase here, starts `agent` again in the background with it on its
/// standard input, and waits until it answers.
fn detach(
    cli: &Cli,
    a: &RunArgs,
    path: &std::path::Path,
    input: &mut impl std::io::BufRead,
) -> Result {
    use std::process::{Command as Proc, Stdio};
    let p = passphrase::current(&Sources::of(&a.pass), input)?;
    let log_path = crate::context::config(cli)?.data_dir.join("agent.log");
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
        // Out of the terminal's process group (Ctrl-C there does not reach it); on
        // Windows, without a console of its own.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut c, 0);
        #[cfg(windows)]
        std::os::windows::process::CommandExt::creation_flags(
            &mut c,
            0x0000_0008 | 0x0000_0200, // DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP
        );
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
