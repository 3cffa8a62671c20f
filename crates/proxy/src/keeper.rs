//! The proxy's token and audit batch, kept on the thread that owns the [`TokenSource`]:
//! requests read the current token without waiting; one that finds it due for a refresh
//! nudges the keeper, which fetches a new one in the background; only a request that finds
//! no usable token waits (and one fetch serves every waiter).

use crate::mask::Secrets;
use crate::{Credential, ProxiedRequests, Stats, TokenSource};
use http::HeaderValue;
use secrecy::ExposeSecret;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use token_wallet_core::clock;
use zeroize::Zeroizing;

/// A token is used on a request only with more than this left (seconds).
const USABLE_MARGIN: u64 = 3;
/// How often the keeper looks at the token's expiry when nothing nudges it.
const TICK: Duration = Duration::from_millis(50);
/// How long a failed fetch answers the fetches queued behind it.
const FAILED_FOR: Duration = Duration::from_secs(1);
/// How often the source is asked whether it still gives tokens.
const ALIVE_EVERY: Duration = Duration::from_secs(2);
/// The most distinct lines a batch holds; further requests count in one `(other)` line.
const MAX_BATCH_LINES: usize = 1000;

/// A token ready for requests.
pub(crate) struct Cred {
    pub header: HeaderValue,
    /// What is concealed in answers: the token, the whole header, its encoded part.
    pub secrets: Secrets,
    expires_at: Option<u64>,
    issued_at: Option<u64>,
}

impl Cred {
    fn from(c: Credential) -> Result<Self, String> {
        let value = c.header.expose_secret();
        let mut header = HeaderValue::from_str(value)
            .map_err(|_| "the token cannot be sent in a header".to_string())?;
        header.set_sensitive(true);
        let bytes = |s: &str| Zeroizing::new(s.as_bytes().to_vec());
        // `Basic <base64>` holds the key only encoded: that part is a secret too.
        let encoded = value
            .split_once(' ')
            .map(|(_, rest)| rest.trim())
            .unwrap_or("");
        Ok(Self {
            header,
            secrets: Secrets::new(vec![
                bytes(c.token.expose_secret()),
                bytes(value),
                bytes(encoded),
            ]),
            expires_at: c.expires_at,
            issued_at: c.issued_at,
        })
    }

    /// Whether a request may go with it at `now`.
    pub fn usable(&self, now: u64) -> bool {
        self.expires_at.is_none_or(|e| e > now + USABLE_MARGIN)
    }

    /// Half its lifetime (at least the usable margin and a second): the source is asked
    /// for a token with this much left, so it refreshes at half-life, as its policy does.
    fn half_life(&self) -> u64 {
        match (self.expires_at, self.issued_at) {
            (Some(e), Some(i)) => (e.saturating_sub(i) / 2).max(USABLE_MARGIN + 1),
            _ => USABLE_MARGIN + 1,
        }
    }

    /// Whether the keeper should fetch a new one at `now`: less than half its life left,
    /// the very rule by which the source, asked for half its life, refreshes (so the
    /// fetch brings a new token, not the same one again).
    pub fn due(&self, now: u64) -> bool {
        self.expires_at
            .is_some_and(|e| e.saturating_sub(now) < self.half_life())
    }
}

/// What requests tell the keeper.
pub(crate) enum Msg {
    /// No usable token: fetch one and say when done.
    Fetch(tokio::sync::oneshot::Sender<Result<(), String>>),
    /// The token is due: fetch one when you can.
    Nudge,
}

/// One batch line's key: method, path, status, client pid.
type Key = (String, String, u16, Option<u32>);
/// One batch line's counts: requests, bytes, and the client's executable.
type Tally = (u64, u64, Option<String>);

/// What requests and the keeper share.
pub(crate) struct Shared {
    current: RwLock<Option<Arc<Cred>>>,
    tx: Mutex<Sender<Msg>>,
    nudged: AtomicBool,
    batch: Mutex<HashMap<Key, Tally>>,
    pub stats: Arc<Stats>,
}

impl Shared {
    pub fn new(tx: Sender<Msg>) -> Self {
        Self {
            current: RwLock::new(None),
            tx: Mutex::new(tx),
            nudged: AtomicBool::new(false),
            batch: Mutex::new(HashMap::new()),
            stats: Arc::new(Stats::default()),
        }
    }

    fn current(&self) -> Option<Arc<Cred>> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn send(&self, m: Msg) -> bool {
        self.tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(m)
            .is_ok()
    }

    /// A usable token for a request: the current one (nudging the keeper when it is due),
    /// else one the keeper fetches now.
    pub async fn credential(&self) -> Result<Arc<Cred>, String> {
        let now = clock::now();
        if let Some(c) = self.current() {
            if c.usable(now) {
                if c.due(now) && !self.nudged.swap(true, Ordering::AcqRel) {
                    self.send(Msg::Nudge);
                }
                return Ok(c);
            }
        }
        self.stats.waited.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = tokio::sync::oneshot::channel();
        if !self.send(Msg::Fetch(tx)) {
            return Err("the proxy is stopping".into());
        }
        match tokio::time::timeout(Duration::from_secs(60), rx).await {
            Ok(Ok(Ok(()))) => self
                .current()
                .filter(|c| c.usable(clock::now()))
                .ok_or_else(|| "the token the wallet gave has expired".into()),
            Ok(Ok(Err(e))) => Err(e),
            Ok(Err(_)) => Err("the proxy is stopping".into()),
            Err(_) => Err("no token within 60 s".into()),
        }
    }

    /// Counts one request in the audit batch.
    pub fn count(
        &self,
        method: &str,
        path: &str,
        status: u16,
        bytes: u64,
        client: Option<&crate::client_process::Process>,
    ) {
        let mut b = self.batch.lock().unwrap_or_else(|p| p.into_inner());
        let path: String = path.chars().take(ProxiedRequests::MAX_TEXT).collect();
        let mut key = (
            method.chars().take(16).collect::<String>(),
            path,
            status,
            client.map(|c| c.0),
        );
        if b.len() >= MAX_BATCH_LINES && !b.contains_key(&key) {
            key = ("*".into(), "(other)".into(), status, None);
        }
        let e = b
            .entry(key)
            .or_insert_with(|| (0, 0, client.and_then(|c| c.1.clone())));
        e.0 += 1;
        e.1 += bytes;
    }

    /// Counts one request refused before its client was known (no or a wrong
    /// capability): under one line, whatever method and path it named, so that no one
    /// can write what they like into the audit log.
    pub fn count_unauthenticated(&self, status: u16) {
        let mut b = self.batch.lock().unwrap_or_else(|p| p.into_inner());
        let e = b
            .entry(("*".into(), "(not authenticated)".into(), status, None))
            .or_insert((0, 0, None));
        e.0 += 1;
    }

    /// Puts lines the source could not take back into the batch (their counts added to
    /// any counted since), to be handed over at the next flush.
    fn put_back(&self, lines: Vec<ProxiedRequests>) {
        let mut b = self.batch.lock().unwrap_or_else(|p| p.into_inner());
        for l in lines {
            let mut key = (l.method, l.path, l.status, l.pid);
            if b.len() >= MAX_BATCH_LINES && !b.contains_key(&key) {
                key = ("*".into(), "(other)".into(), l.status, None);
            }
            let e = b.entry(key).or_insert_with(|| (0, 0, l.process));
            e.0 += l.requests;
            e.1 += l.bytes;
        }
    }

    fn take_batch(&self) -> Vec<ProxiedRequests> {
        let b = std::mem::take(&mut *self.batch.lock().unwrap_or_else(|p| p.into_inner()));
        b.into_iter()
            .map(
                |((method, path, status, pid), (requests, bytes, process))| ProxiedRequests {
                    method,
                    path,
                    status,
                    requests,
                    bytes,
                    pid,
                    process,
                },
            )
            .collect()
    }
}

/// Fetches a token from `source` with `min_ttl` left into `shared`; whether it is a new
/// one.
pub(crate) fn fetch(
    shared: &Shared,
    source: &mut dyn TokenSource,
    min_ttl: u64,
) -> Result<bool, String> {
    let c = Cred::from(source.credential(Duration::from_secs(min_ttl))?)?;
    shared.stats.fetched.fetch_add(1, Ordering::Relaxed);
    let old = shared.current();
    let new = old
        .as_ref()
        .is_none_or(|o| o.header != c.header || o.expires_at != c.expires_at);
    *shared.current.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(c));
    Ok(new)
}

/// Drops the current token: requests wait for a fetch (which fails while the source is
/// locked).
fn forget(shared: &Shared) {
    *shared.current.write().unwrap_or_else(|p| p.into_inner()) = None;
}

/// Asks `source` whether it is locked or has locked since last asked; if so, the token
/// held is dropped (requests then wait for a fetch, which fails while it is locked).
/// Unknown (a busy agent) is not a lock: the token stays until its own expiry.
fn has_locked(shared: &Shared, source: &mut dyn TokenSource) -> bool {
    match source.locked() {
        Ok(true) => {
            if shared.current().is_some() {
                tracing::warn!("the proxy's source has locked: its token is dropped");
                forget(shared);
            }
            true
        }
        Ok(false) => false,
        Err(e) => {
            tracing::debug!(error = %e, "could not ask the proxy's source");
            false
        }
    }
}

/// Hands the batch to `source`, in frames the agent accepts. What it cannot take while
/// it is locked stays in the batch for the next flush, unless `last`; otherwise a batch
/// it refuses is lost, and the log says how many requests went unaudited.
fn flush(shared: &Shared, source: &mut dyn TokenSource, last: bool) {
    let mut all = shared.take_batch();
    while !all.is_empty() {
        let rest = all.split_off(
            all.len()
                .min(token_wallet_core::agent::protocol::MAX_PROXIED_BATCH),
        );
        let frame: Vec<ProxiedRequests> = all.clone();
        if let Err(e) = source.record(all) {
            let mut held = frame;
            held.extend(rest);
            let requests: u64 = held.iter().map(|l| l.requests).sum();
            // Only a lock is waited out: a batch refused for what it holds would be
            // refused again, and hold back every line after it.
            if !last && has_locked(shared, source) {
                tracing::warn!(error = %e, requests, "could not audit the proxy's requests while locked; kept for the next try");
                shared.put_back(held);
            } else {
                tracing::warn!(error = %e, requests, "could not audit the proxy's requests");
            }
            return;
        }
        all = rest;
    }
}

/// The keeper's loop, until `stop`: answers fetches, refreshes ahead, flushes the batch
/// every `flush_every` and at the end.
pub(crate) fn keep(
    shared: &Shared,
    source: &mut dyn TokenSource,
    rx: &Receiver<Msg>,
    stop: &AtomicBool,
    flush_every: Duration,
) {
    let mut last_flush = Instant::now();
    let mut last_alive = Instant::now();
    let mut quiet_until: Option<Instant> = None;
    let mut backoff = Duration::from_secs(1);
    // A failed fetch answers the fetches queued behind it too, for a second: a burst of
    // waiting requests makes one attempt, not one each.
    let mut failed: Option<(Instant, String)> = None;
    loop {
        let msg = rx.recv_timeout(TICK);
        if stop.load(Ordering::Acquire) {
            break;
        }
        let now = clock::now();
        let cur = shared.current();
        match msg {
            Ok(Msg::Fetch(reply)) => {
                if reply.is_closed() {
                    continue; // its request gave up
                }
                let r = match (&cur, &failed) {
                    (Some(c), _) if c.usable(now) => Ok(()),
                    (_, Some((at, why))) if at.elapsed() < FAILED_FOR => Err(why.clone()),
                    _ => fetch(shared, source, USABLE_MARGIN + 1).map(|_| ()),
                };
                failed = match (&r, failed.take()) {
                    (Ok(()), _) => None,
                    // Within the window: the same failure, from the same moment.
                    (Err(why), Some((at, _))) if at.elapsed() < FAILED_FOR => {
                        Some((at, why.clone()))
                    }
                    (Err(why), _) => Some((Instant::now(), why.clone())),
                };
                let _ = reply.send(r);
            }
            Ok(Msg::Nudge) | Err(RecvTimeoutError::Timeout) => {
                shared.nudged.store(false, Ordering::Release);
                let due = cur.as_ref().is_some_and(|c| c.due(now));
                let quiet = quiet_until.is_some_and(|t| Instant::now() < t);
                if due && !quiet {
                    let half = cur.as_ref().map_or(USABLE_MARGIN + 1, |c| c.half_life());
                    match fetch(shared, source, half) {
                        Ok(true) => {
                            quiet_until = None;
                            backoff = Duration::from_secs(1);
                        }
                        // The source kept its token (its policy refreshes later): ask
                        // again after a while, not at every tick.
                        Ok(false) => {
                            quiet_until = Some(Instant::now() + backoff);
                            backoff = (backoff * 2).min(Duration::from_secs(30));
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "could not refresh the proxy's token ahead of expiry");
                            quiet_until = Some(Instant::now() + backoff);
                            backoff = (backoff * 2).min(Duration::from_secs(30));
                        }
                    }
                }
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
        // The source has not locked meanwhile: else the token held here is dropped, and
        // requests are refused until it gives one again.
        if last_alive.elapsed() >= ALIVE_EVERY {
            last_alive = Instant::now();
            has_locked(shared, source);
        }
        if last_flush.elapsed() >= flush_every {
            flush(shared, source, false);
            last_flush = Instant::now();
        }
    }
    flush(shared, source, true);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source whose lock the test sets, keeping what it was given to audit, or
    /// refusing every batch while unlocked when `refusing` (no vault: this is the
    /// keeper's bookkeeping only).
    #[derive(Default)]
    struct Source {
        locked: bool,
        refusing: bool,
        asked: usize,
        recorded: Vec<ProxiedRequests>,
    }

    impl TokenSource for Source {
        fn credential(&mut self, _: Duration) -> Result<Credential, String> {
            Err("not asked here".into())
        }
        fn record(&mut self, requests: Vec<ProxiedRequests>) -> Result<(), String> {
            self.asked += 1;
            if self.locked {
                return Err("the agent is locked".into());
            }
            if self.refusing {
                return Err("refused".into());
            }
            self.recorded.extend(requests);
            Ok(())
        }
        fn locked(&mut self) -> Result<bool, String> {
            Ok(self.locked)
        }
    }

    fn shared() -> Shared {
        Shared::new(std::sync::mpsc::channel().0)
    }

    #[test]
    fn lines_a_locked_source_refuses_are_kept_until_it_unlocks() {
        let s = shared();
        let mut src = Source {
            locked: true,
            ..Source::default()
        };
        s.count("GET", "/v1/expenses", 503, 0, None);
        s.count("GET", "/v1/expenses", 503, 0, None);
        flush(&s, &mut src, false);
        assert!(src.recorded.is_empty());
        // Counted since: added to what was kept.
        s.count("GET", "/v1/expenses", 503, 0, None);
        src.locked = false;
        flush(&s, &mut src, false);
        assert_eq!(src.recorded.len(), 1, "{:?}", src.recorded);
        assert_eq!(src.recorded[0].requests, 3);
        assert_eq!(src.recorded[0].status, 503);
        flush(&s, &mut src, false);
        assert_eq!(src.recorded.len(), 1, "nothing twice");
    }

    #[test]
    fn fail_a_batch_refused_while_unlocked_is_not_kept() {
        // Refused for what it holds, it would be refused again and hold back every
        // line after it.
        let s = shared();
        let mut src = Source {
            refusing: true,
            ..Source::default()
        };
        s.count("GET", "/", 200, 1, None);
        flush(&s, &mut src, false);
        flush(&s, &mut src, false);
        assert_eq!(src.asked, 1, "asked once, then gone");
    }

    #[test]
    fn the_last_flush_keeps_nothing() {
        let s = shared();
        let mut src = Source {
            locked: true,
            ..Source::default()
        };
        s.count("GET", "/", 503, 0, None);
        flush(&s, &mut src, true);
        src.locked = false;
        flush(&s, &mut src, true);
        assert!(src.recorded.is_empty());
    }
}
