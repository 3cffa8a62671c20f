//! The app's Proxy action: one `token_wallet_proxy` per connection, each on its own
//! thread, its tokens from the embedded agent (the app's one session, which its background
//! refresh keeps fresh) and its audit lines written through it. The page sees a proxy's
//! address, rules and counts, never its capability (that goes to the clipboard only).
//! Every proxy stops when the vault locks and when the app quits.

use crate::connections::{conn_name, op, ops_err, session};
use crate::error::Error;
use crate::models::ProxyView;
use crate::wallet::Wallet;
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use token_wallet_core::agent::{Agent, LockWatch};
use token_wallet_core::connection::ConnectionName;
use token_wallet_core::ops::Requester;
use token_wallet_proxy::{Allow, Credential, ProxiedRequests, ProxyOptions, Stats, TokenSource};

/// A running proxy.
struct Running {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    urls: Vec<String>,
    allow: Vec<String>,
    capability: SecretString,
    stats: Arc<Stats>,
}

/// The running proxies, by connection name; one start at a time.
#[derive(Default)]
pub struct Proxies(Mutex<BTreeMap<String, Running>>, Mutex<()>);

/// The proxy's tokens and audit lines, through the agent.
struct Through {
    agent: Arc<Agent>,
    name: ConnectionName,
    /// The agent's lock count when last asked (see [`TokenSource::locked`]).
    locks: LockWatch,
}

impl TokenSource for Through {
    fn credential(&mut self, min_ttl: Duration) -> Result<Credential, String> {
        let t = self
            .agent
            .token(
                &self.name,
                min_ttl,
                Requester::of_process(std::process::id()),
            )
            .map_err(|e| e.to_string())?;
        let header = t
            .info
            .kind
            .authorization(&t.info.token_type, t.token.expose_secret());
        Ok(Credential {
            header: SecretString::from(header.as_str().to_string()),
            token: t.token,
            expires_at: t.expires_at,
            issued_at: Some(t.info.issued_at),
        })
    }

    fn record(&mut self, requests: Vec<ProxiedRequests>) -> Result<(), String> {
        // Tools calling through the proxy are use, as tools asking for tokens are: the
        // idle lock waits.
        if !requests.is_empty() {
            self.agent.note_activity();
        }
        session(&self.agent, |s| s.record_proxied(&self.name, requests))
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
    }

    fn locked(&mut self) -> Result<bool, String> {
        let since = self.locks.locked_since(self.agent.times_locked());
        Ok(!self.agent.is_unlocked() || since)
    }
}

impl Running {
    fn view(&self, name: &str) -> ProxyView {
        let s = self.stats.summary();
        ProxyView {
            name: name.into(),
            urls: self.urls.clone(),
            allow: self.allow.clone(),
            forwarded: s.forwarded,
            refused: s.refused,
            waited: s.waited,
        }
    }

    fn stop(mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Running {
    /// However it leaves the map, a proxy is told to stop.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

impl Wallet {
    fn proxies(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Running>> {
        self.proxies.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a proxy for `name` to its provider's API base, letting through what `allow`
    /// rules name (one per entry; none: everything the token can do).
    pub fn start_proxy(&self, name: &str, allow: Vec<String>) -> Result<ProxyView, Error> {
        // Two starts at once (a double click) would both find no proxy and both start.
        let _one = self.proxies.1.lock().unwrap_or_else(|p| p.into_inner());
        let a = self.unlocked_agent()?;
        let n = conn_name(name)?;
        if self.proxies().contains_key(name) {
            return Err(Error::Invalid(format!(
                "a proxy for “{name}” is running already"
            )));
        }
        let rules = allow
            .iter()
            .map(|r| r.trim())
            .filter(|r| !r.is_empty())
            .map(Allow::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(Error::Invalid)?;
        let info = session(&a, |s| s.show(&n))?.map_err(ops_err)?;
        let base = info.provider.api_base.clone().ok_or_else(|| {
            Error::Invalid(format!(
                "“{name}”’s provider has no API base: set `api_base` for it in the providers file"
            ))
        })?;
        let mut opts = ProxyOptions::new(base.parse().map_err(op)?);
        opts.allow = rules.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = {
            let stop = stop.clone();
            let mut through = Through {
                locks: LockWatch::from(a.times_locked()),
                agent: a,
                name: n,
            };
            std::thread::Builder::new()
                .name("proxy".into())
                .spawn(move || {
                    let ready_tx = tx.clone();
                    let r = token_wallet_proxy::serve(opts, &mut through, &stop, |r| {
                        let _ = ready_tx.send(Ok((
                            r.urls.clone(),
                            r.capability.clone(),
                            r.stats.clone(),
                        )));
                    });
                    if let Err(e) = r {
                        let _ = tx.send(Err(e.to_string()));
                    }
                })
                .map_err(op)?
        };
        let (urls, capability, stats) = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(Error::Op(e));
            }
            Err(_) => {
                stop.store(true, Ordering::Release);
                return Err(Error::Op("the proxy did not start within 30 s".into()));
            }
        };
        let running = Running {
            stop,
            thread: Some(thread),
            urls,
            allow: rules.iter().map(|r| r.to_string()).collect(),
            capability,
            stats,
        };
        let view = running.view(name);
        self.proxies().insert(name.to_string(), running);
        Ok(view)
    }

    /// Stops `name`'s proxy (its audit batch is written first).
    pub fn stop_proxy(&self, name: &str) -> Result<(), Error> {
        let running = self.proxies().remove(name);
        match running {
            Some(r) => {
                r.stop();
                Ok(())
            }
            None => Err(Error::Invalid(format!("no proxy for “{name}” is running"))),
        }
    }

    /// `name`'s proxy, if one runs: where, what it lets through, its counts.
    pub fn proxy_view(&self, name: &str) -> Option<ProxyView> {
        self.proxies().get(name).map(|r| r.view(name))
    }

    /// `name`'s proxy's capability, for the clipboard.
    pub fn proxy_capability(&self, name: &str) -> Result<SecretString, Error> {
        self.proxies()
            .get(name)
            .map(|r| r.capability.clone())
            .ok_or_else(|| Error::Invalid(format!("no proxy for “{name}” is running")))
    }

    /// Stops every proxy (the vault locks, the app quits).
    pub fn stop_proxies(&self) {
        let all = std::mem::take(&mut *self.proxies());
        for (_, r) in all {
            r.stop();
        }
    }
}
