//! Where tokens and connection facts come from: the running agent, or the vault unlocked
//! in this process. The commands that can use either (`token`, `env`, `exec`, `list`,
//! `show`, `refresh`, `check`, `disconnect`, `prune`, `add-key`, `add-token`,
//! `rotate-secret`, `connect`, `reauthorise`) are written once against [`Source`]: with an
//! agent unlocked they need no passphrase (a sign-in then runs in the agent, the browser
//! is opened from here).

use crate::cli::{Cli, PassArgs};
use crate::context::{config, Local, Unlocked};
use crate::error::{Error, Result};
use crate::passphrase::Sources;
use std::io::BufRead;
use std::path::PathBuf;
use std::time::Duration;
use token_wallet_core::agent::client::Client;
use token_wallet_core::agent::protocol::{Reply, Request};
use token_wallet_core::agent::{self, AgentError, Issued, LockWatch};
use token_wallet_core::connection::CredentialKind;
use token_wallet_core::connection::{ConnectionInfo, ConnectionName};
use token_wallet_core::oauth::Provider;
use token_wallet_core::oauth::{Interaction, SignInLink};
use token_wallet_core::ops::{
    CheckOutcome, ConnectRequest, Disconnected, Exported, Pasted, ProxiedRequests, Pruned,
    ReplacedGrant, Requester, Rotated,
};
use token_wallet_core::refresh::AccessToken;

/// Tokens and connection facts.
pub trait Source {
    /// An access token for `name` with at least `min_ttl` left; audited as an export.
    fn token(&mut self, name: &ConnectionName, min_ttl: Duration) -> Result<Exported>;
    /// Refreshes `name` now (rotates its tokens); its facts after.
    fn refresh(&mut self, name: &ConnectionName) -> Result<ConnectionInfo>;
    /// Every connection's public facts.
    fn list(&mut self) -> Result<Vec<ConnectionInfo>>;
    /// Audits requests a local proxy forwarded with `name`'s token.
    fn proxied(&mut self, name: &ConnectionName, requests: Vec<ProxiedRequests>) -> Result<()>;
    /// Whether it is locked, or has locked since it was last asked (an agent can; the
    /// vault unlocked here cannot).
    fn locked(&mut self) -> Result<bool> {
        Ok(false)
    }
    /// Checks `name` with its provider now: how it went, and its facts as saved.
    fn check(&mut self, name: &ConnectionName) -> Result<(CheckOutcome, ConnectionInfo)>;
    /// Revokes and deletes `name` (`force`: forgets it if it cannot be revoked).
    fn disconnect(&mut self, name: &ConnectionName, force: bool) -> Result<Disconnected>;
    /// Disconnects what is dead or unused for `inactive_days` (`dry_run`: says which).
    fn prune(&mut self, inactive_days: u64, dry_run: bool) -> Result<Vec<Pruned>>;
    /// Stores a key or token: `Added::Key` verified with its provider unless told not to.
    fn add(&mut self, what: Added<'_>) -> Result<ConnectionInfo>;
    /// Replaces a key or token with `new` (verified first where the provider can).
    fn rotate_secret(
        &mut self,
        name: &ConnectionName,
        new: &Pasted,
        expires_at: Option<u64>,
        verify: bool,
    ) -> Result<Rotated>;
    /// Signs in (`ui`: how the person is shown the link) and stores a new connection.
    fn connect(&mut self, req: ConnectRequest<'_>, ui: Interaction<'_>) -> Result<ConnectionInfo>;
    /// Signs in again for `name` (the same account only): its facts, and what became of
    /// the grant it replaced.
    fn reauthorise(
        &mut self,
        name: &ConnectionName,
        ui: Interaction<'_>,
    ) -> Result<(ConnectionInfo, ReplacedGrant)>;
}

/// A key or token to store.
pub enum Added<'a> {
    /// A Pleo API key.
    Key {
        /// Its name.
        name: &'a ConnectionName,
        /// Its provider.
        provider: Box<Provider>,
        /// The key.
        key: &'a Pasted,
        /// Its expiry date.
        expires_at: Option<u64>,
        /// Ask Pleo first.
        verify: bool,
    },
    /// Another tool's token.
    Token {
        /// Its name.
        name: &'a ConnectionName,
        /// How it is presented.
        kind: CredentialKind,
        /// Where it comes from.
        label: &'a str,
        /// The token.
        token: &'a Pasted,
        /// Its expiry date.
        expires_at: Option<u64>,
    },
}

/// The agent's client, and its lock count when last asked (see [`Source::locked`]).
struct AgentSource(Client, LockWatch);

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

    fn proxied(&mut self, name: &ConnectionName, requests: Vec<ProxiedRequests>) -> Result<()> {
        Ok(self.0.proxied(name, requests)?)
    }

    fn locked(&mut self) -> Result<bool> {
        let s = self.0.status()?;
        // Locked and unlocked again between two asks counts as locked (once).
        let since = self.1.locked_since(s.times_locked);
        Ok(!s.unlocked || since)
    }

    fn check(&mut self, name: &ConnectionName) -> Result<(CheckOutcome, ConnectionInfo)> {
        Ok(self.0.check(name)?)
    }

    fn disconnect(&mut self, name: &ConnectionName, force: bool) -> Result<Disconnected> {
        Ok(self.0.disconnect(name, force)?)
    }

    fn prune(&mut self, inactive_days: u64, dry_run: bool) -> Result<Vec<Pruned>> {
        Ok(self.0.prune(inactive_days, dry_run)?)
    }

    fn add(&mut self, what: Added<'_>) -> Result<ConnectionInfo> {
        let req = match what {
            Added::Key {
                name,
                provider,
                key,
                expires_at,
                verify,
            } => Request::AddKey {
                name: name.clone(),
                provider,
                secret: key.secret().clone(),
                expires_at,
                verify,
            },
            Added::Token {
                name,
                kind,
                label,
                token,
                expires_at,
            } => Request::AddToken {
                name: name.clone(),
                kind,
                label: label.to_string(),
                secret: token.secret().clone(),
                expires_at,
            },
        };
        Ok(self.0.add(&req)?)
    }

    fn rotate_secret(
        &mut self,
        name: &ConnectionName,
        new: &Pasted,
        expires_at: Option<u64>,
        verify: bool,
    ) -> Result<Rotated> {
        Ok(self.0.rotate_secret(name, new, expires_at, verify)?)
    }

    fn connect(&mut self, req: ConnectRequest<'_>, ui: Interaction<'_>) -> Result<ConnectionInfo> {
        let r = Request::Connect {
            name: req.name.clone(),
            provider: Box::new(req.provider.clone()),
            client_id: req.client_id,
            scopes: req.scopes,
            client_secret: req.client_secret,
            timeout: ui.timeout,
        };
        match self.sign_in(&r, ui)? {
            Reply::Added(c) => Ok(*c),
            _ => Err(AgentError::Other("unexpected reply".into()).into()),
        }
    }

    fn reauthorise(
        &mut self,
        name: &ConnectionName,
        ui: Interaction<'_>,
    ) -> Result<(ConnectionInfo, ReplacedGrant)> {
        let r = Request::Reauthorise {
            name: name.clone(),
            timeout: ui.timeout,
        };
        match self.sign_in(&r, ui)? {
            Reply::Reauthorised(c, replaced) => Ok((*c, replaced)),
            _ => Err(AgentError::Other("unexpected reply".into()).into()),
        }
    }
}

impl AgentSource {
    /// A sign-in the agent runs: each link it sends is opened as `ui` says; an address
    /// pasted here goes to the agent's waiting listener, as a browser would take it.
    fn sign_in(&mut self, r: &Request, ui: Interaction<'_>) -> Result<Reply> {
        if let Some(pasted) = ui.pasted {
            std::thread::spawn(move || {
                for line in pasted.iter().filter(|l| !l.trim().is_empty()) {
                    if let Err(e) = token_wallet_core::oauth::relay::deliver(&line) {
                        eprintln!("warning: {e}");
                    }
                }
            });
        }
        let mut open = |start: &str, direct: &str| {
            if let Err(e) = (ui.open)(&SignInLink { start, direct }) {
                eprintln!("warning: could not open the browser: {e}");
            }
        };
        Ok(self.0.sign_in(r, &mut open)?)
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

    fn proxied(&mut self, name: &ConnectionName, requests: Vec<ProxiedRequests>) -> Result<()> {
        Ok(self.0.run(|s| s.record_proxied(name, requests))?)
    }

    fn check(&mut self, name: &ConnectionName) -> Result<(CheckOutcome, ConnectionInfo)> {
        let c = self.0.run(|s| s.check(name))?;
        Ok((c.outcome, c.info))
    }

    fn disconnect(&mut self, name: &ConnectionName, force: bool) -> Result<Disconnected> {
        Ok(self.0.run(|s| s.disconnect(name, force))?)
    }

    fn prune(&mut self, inactive_days: u64, dry_run: bool) -> Result<Vec<Pruned>> {
        Ok(self.0.run(|s| s.prune(inactive_days, dry_run))?)
    }

    fn add(&mut self, what: Added<'_>) -> Result<ConnectionInfo> {
        Ok(self.0.run(|s| match what {
            Added::Key {
                name,
                provider,
                key,
                expires_at,
                verify,
            } => s.add_api_key(name, &provider, key, expires_at, verify),
            Added::Token {
                name,
                kind,
                label,
                token,
                expires_at,
            } => s.add_static(name, kind, label, token, expires_at),
        })?)
    }

    fn rotate_secret(
        &mut self,
        name: &ConnectionName,
        new: &Pasted,
        expires_at: Option<u64>,
        verify: bool,
    ) -> Result<Rotated> {
        Ok(self
            .0
            .run(|s| s.rotate_secret(name, new, expires_at, verify))?)
    }

    fn connect(&mut self, req: ConnectRequest<'_>, ui: Interaction<'_>) -> Result<ConnectionInfo> {
        Ok(self.0.run(|s| s.connect(req, ui))?)
    }

    fn reauthorise(
        &mut self,
        name: &ConnectionName,
        ui: Interaction<'_>,
    ) -> Result<(ConnectionInfo, ReplacedGrant)> {
        let r = self.0.run(|s| s.reauthorise(name, false, ui))?;
        Ok((r.info, r.replaced))
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
        match f(&mut AgentSource(c, LockWatch::default())) {
            Err(Error::Agent(AgentError::Locked)) if Sources::of(pass).given() => {}
            r => return r,
        }
    }
    unlocked_here(cli, pass, input, |s, _| f(s))
}

/// [`with_source`] for a command that reads more from standard input after the passphrase
/// (a pasted secret, by `read`): the source is chosen first, a running agent only while it
/// is unlocked, so that a passphrase read here comes first, as the help says.
pub fn with_source_reading<I: BufRead, S, T>(
    cli: &Cli,
    pass: &PassArgs,
    input: &mut I,
    read: impl FnOnce(&mut I) -> Result<S>,
    f: impl FnOnce(&mut dyn Source, S) -> Result<T>,
) -> Result<T> {
    if let Some(mut c) = client(cli)? {
        if c.status()?.unlocked {
            let s = read(input)?;
            return f(&mut AgentSource(c, LockWatch::default()), s);
        }
        if !Sources::of(pass).given() {
            return Err(AgentError::Locked.into());
        }
    }
    unlocked_here(cli, pass, input, |s, input| f(s, read(input)?))
}

/// Runs `f` against the vault unlocked here (the passphrase from `pass` or `input`); it is
/// locked again, and the audit log anchored, before this returns.
fn unlocked_here<I: BufRead, T>(
    cli: &Cli,
    pass: &PassArgs,
    input: &mut I,
    f: impl FnOnce(&mut dyn Source, &mut I) -> Result<T>,
) -> Result<T> {
    let local = Local::open(cli)?;
    let v = local.unlock(pass, input)?;
    let r = f(&mut LocalSource(&v), input);
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
