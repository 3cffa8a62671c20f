//! Where tokens and connection facts come from: the running agent, or the vault unlocked
//! in this process. The commands that can use either (`token`, `env`, `exec`, `list`,
//! `show`, `refresh`, `check`, `disconnect`) are written once against [`Source`]: with an
//! agent unlocked they need no passphrase.

use crate::cli::{Cli, PassArgs};
use crate::context::{config, Local, Unlocked};
use crate::error::{Error, Result};
use crate::passphrase::Sources;
use std::io::BufRead;
use std::path::PathBuf;
use std::time::Duration;
use token_wallet_core::agent::client::Client;
use token_wallet_core::agent::{self, AgentError, Issued};
use token_wallet_core::connection::{ConnectionInfo, ConnectionName};
use token_wallet_core::ops::{CheckOutcome, Disconnected, Exported, Requester};
use token_wallet_core::refresh::AccessToken;

/// Tokens and connection facts.
pub trait Source {
    /// An access token for `name` with at least `min_ttl` left; audited as an export.
    fn token(&mut self, name: &ConnectionName, min_ttl: Duration) -> Result<Exported>;
    /// Refreshes `name` now (rotates its tokens); its facts after.
    fn refresh(&mut self, name: &ConnectionName) -> Result<ConnectionInfo>;
    /// Every connection's public facts.
    fn list(&mut self) -> Result<Vec<ConnectionInfo>>;
    /// Checks `name` with its provider now: how it went, and its facts as saved.
    fn check(&mut self, name: &ConnectionName) -> Result<(CheckOutcome, ConnectionInfo)>;
    /// Revokes and deletes `name` (`force`: forgets it if it cannot be revoked).
    fn disconnect(&mut self, name: &ConnectionName, force: bool) -> Result<Disconnected>;
}

struct AgentSource(Client);

impl Source for AgentSource {
    fn token(&mut self, name: &ConnectionName, min_ttl: Duration) -> Result<Exported> {
        let Issued {
            token,
            expires_at,
            refreshed,
            info,
        } = self.0.token(name, min_ttl)?;
        Ok(Exported {
            token: AccessToken {
                token,
                expires_at,
                refreshed,
                refresh_error: None,
            },
            info,
        })
    }

    fn refresh(&mut self, name: &ConnectionName) -> Result<ConnectionInfo> {
        Ok(self.0.refresh(name)?)
    }

    fn list(&mut self) -> Result<Vec<ConnectionInfo>> {
        Ok(self.0.list()?)
    }

    fn check(&mut self, name: &ConnectionName) -> Result<(CheckOutcome, ConnectionInfo)> {
        Ok(self.0.check(name)?)
    }

    fn disconnect(&mut self, name: &ConnectionName, force: bool) -> Result<Disconnected> {
        Ok(self.0.disconnect(name, force)?)
    }
}

struct LocalSource<'a>(&'a Unlocked<'a>);

impl Source for LocalSource<'_> {
    fn token(&mut self, name: &ConnectionName, min_ttl: Duration) -> Result<Exported> {
        Ok(self.0.run(|s| s.export(name, min_ttl, requester()))?)
    }

    fn refresh(&mut self, name: &ConnectionName) -> Result<ConnectionInfo> {
        Ok(self.0.run(|s| s.refresh(name))?)
    }

    fn list(&mut self) -> Result<Vec<ConnectionInfo>> {
        self.0.run(|s| {
            retry_pending(s);
            Ok(s.list()?)
        })
    }

    fn check(&mut self, name: &ConnectionName) -> Result<(CheckOutcome, ConnectionInfo)> {
        let c = self.0.run(|s| s.check(name))?;
        Ok((c.outcome, c.info))
    }

    fn disconnect(&mut self, name: &ConnectionName, force: bool) -> Result<Disconnected> {
        Ok(self.0.run(|s| s.disconnect(name, force))?)
    }
}

/// Retries revocations left pending by earlier disconnects, and says how they went.
pub fn retry_pending(s: &token_wallet_core::ops::Session<'_>) {
    use token_wallet_core::ops::Disconnected;
    match s.retry_pending() {
        Ok(done) => {
            for r in done {
                match r.outcome {
                    Ok(Disconnected::Revoked | Disconnected::NoRevocation) => eprintln!(
                        "note: the pending revocation of `{}` went through; it is now disconnected",
                        r.name
                    ),
                    Ok(_) => {}
                    Err(e) => eprintln!("warning: {e}"),
                }
            }
        }
        Err(e) => eprintln!("warning: could not retry pending revocations: {e}"),
    }
}

/// The process that asked (this CLI's parent), where the OS tells it.
fn requester() -> Requester {
    #[cfg(unix)]
    {
        Requester::of_process(std::os::unix::process::parent_id())
    }
    #[cfg(not(unix))]
    {
        Requester::default()
    }
}

/// Runs `f` against the running agent, or (no agent, `--no-agent`, or a locked agent
/// while a passphrase source was given) against the vault unlocked here. Everything
/// unlocked here is locked again, and the audit log anchored, before this returns.
pub fn with_source<T>(
    cli: &Cli,
    pass: &PassArgs,
    input: &mut impl BufRead,
    mut f: impl FnMut(&mut dyn Source) -> Result<T>,
) -> Result<T> {
    if let Some(c) = client(cli)? {
        match f(&mut AgentSource(c)) {
            Err(Error::Agent(AgentError::Locked)) if Sources::of(pass).given() => {}
            r => return r,
        }
    }
    let local = Local::open(cli)?;
    let v = local.unlock(pass, input)?;
    let r = f(&mut LocalSource(&v));
    drop(v);
    r
}

/// The socket this profile's agent listens on, and whether it was named explicitly.
pub fn socket(cli: &Cli) -> Result<(PathBuf, bool)> {
    if let Some(p) = &cli.global.agent_socket {
        return Ok((p.clone(), true));
    }
    let c = config(cli)?;
    Ok((agent::socket_path(&c.profile, &c.data_dir)?, false))
}

/// A connection to the running agent; `None` if none runs (or `--no-agent`).
pub fn client(cli: &Cli) -> Result<Option<Client>> {
    if cli.global.no_agent {
        return Ok(None);
    }
    let (path, explicit) = socket(cli)?;
    match Client::connect(&path, !explicit) {
        Ok(c) => Ok(Some(c)),
        Err(AgentError::NotRunning(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
