//! The background task: one thread that ticks the agent (idle auto-lock, periodic
//! flush), refreshes connections ahead of expiry through core's one refresher, retries
//! pending revocations, re-checks Pleo API keys now and then, notifies about failures,
//! keys near or past their date and installations in error, and tells the window (`wallet-changed`
//! event) and the tray when something changed, so neither has to poll.

use crate::events::{changed, notify};
use crate::wallet::Wallet;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tauri::{AppHandle, Runtime};

/// How often connections are checked for refresh.
pub const SWEEP_EVERY: Duration = Duration::from_secs(20);
/// The longest wait before retrying a connection whose background refresh failed.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// How often the list is looked at for Pleo API keys due a check.
pub const KEY_CHECK_SWEEP: Duration = Duration::from_secs(600);
/// How often pending revocations are retried.
pub const RETRY_EVERY: Duration = Duration::from_secs(60);

/// Starts the task; it runs until the process ends.
pub fn start<R: Runtime>(app: AppHandle<R>, wallet: Arc<Wallet>) {
    let spawned = std::thread::Builder::new()
        .name("tw-background".into())
        .spawn(move || run(&app, &wallet));
    if let Err(e) = spawned {
        tracing::error!(error = %e, "the background refresher could not start");
    }
}

fn run<R: Runtime>(app: &AppHandle<R>, w: &Wallet) {
    let mut was_unlocked = false;
    let mut last_sweep: Option<Instant> = None;
    let mut last_retry: Option<Instant> = None;
    // Connections already notified about, until they recover.
    let mut told: HashSet<String> = HashSet::new();
    // Key notices already sent (`books:expiring:7`...): each is sent once per unlock.
    let mut noticed: HashSet<String> = HashSet::new();
    let mut last_key_check: Option<Instant> = None;
    // After a failed background refresh: failures in a row and when to try again (the
    // wait doubles from one sweep to an hour), so a provider that is down is not hammered.
    let mut backoff: HashMap<String, (u32, Instant)> = HashMap::new();
    loop {
        std::thread::sleep(Duration::from_secs(1));
        // What the last round's refreshes and checks left in this thread's stack.
        token_wallet_core::crypto::scrub_deep_stack();
        if let Some(a) = w.any_agent() {
            a.tick(); // the idle lock happens here when the socket is not served
        }
        let unlocked = w.unlocked_agent().is_ok();
        if unlocked != was_unlocked {
            was_unlocked = unlocked;
            changed(app);
            if !unlocked {
                // However it locked (the button, the tray, idle): a copied token or key
                // leaves the clipboard, and this process, with the keys.
                crate::clipboard::forget(app);
                last_sweep = None;
                last_retry = None;
                told.clear();
                backoff.clear();
                noticed.clear();
                last_key_check = None;
            }
        }
        if !unlocked || last_sweep.is_some_and(|t| t.elapsed() < SWEEP_EVERY) {
            continue;
        }
        let retry = last_retry.is_none_or(|t| t.elapsed() >= RETRY_EVERY);
        last_sweep = Some(Instant::now());
        if retry {
            last_retry = last_sweep;
        }
        let now = Instant::now();
        match w.sweep(retry, |n| {
            backoff.get(n).is_some_and(|(_, next)| *next > now)
        }) {
            Ok(s) => {
                for n in &s.refreshed {
                    told.remove(n);
                    backoff.remove(n);
                }
                for (name, why) in &s.failed {
                    let n = backoff.get(name).map_or(1, |(n, _)| n + 1);
                    let wait = (SWEEP_EVERY * 2u32.saturating_pow(n.min(10))).min(MAX_BACKOFF);
                    backoff.insert(name.clone(), (n, now + wait));
                    tracing::warn!(connection = name, error = %why, "background refresh failed");
                    if told.insert(name.clone()) && w.settings().notifications {
                        notify(
                            app,
                            "A connection could not be refreshed",
                            &format!("“{name}”: {why}"),
                        );
                    }
                }
                for n in &s.revoked {
                    if w.settings().notifications {
                        notify(
                            app,
                            "Revocation went through",
                            &format!("“{n}” is now revoked and deleted."),
                        );
                    }
                }
                if !(s.refreshed.is_empty() && s.failed.is_empty() && s.revoked.is_empty()) {
                    changed(app);
                }
            }
            Err(e) => tracing::warn!(error = %e, "background sweep failed"),
        }
        // Pleo API keys are re-checked now and then (each at most every CHECK_EVERY), and
        // what keys need (an expiry near, a refusal, an installation in error) notified
        // once: looked at after unlock and every KEY_CHECK_SWEEP.
        if last_key_check.is_none_or(|t| t.elapsed() >= KEY_CHECK_SWEEP) {
            last_key_check = Some(Instant::now());
            match w.check_stale_keys() {
                Ok(checked) if !checked.is_empty() => changed(app),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "background key check failed"),
            }
            for n in w.key_notices().unwrap_or_default() {
                if noticed.insert(n.key) && w.settings().notifications {
                    notify(app, &n.title, &n.body);
                }
            }
        }
    }
}
