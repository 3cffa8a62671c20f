//! The background task: one thread that ticks the agent (idle auto-lock, periodic
//! flush), runs core's step that keeps connections fresh ([`Agent::maintain`]: refresh
//! ahead of expiry with back-off, pending revocations, API key re-checks), turns what it
//! reports into notifications, notifies about keys near or past their date and
//! installations in error, and tells the window (`wallet-changed` event) and the tray
//! when something changed, so neither has to poll.
//!
//! [`Agent::maintain`]: token_wallet_core::agent::Agent::maintain

use crate::events::{changed, notify};
use crate::wallet::Wallet;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tauri::{AppHandle, Runtime};
use token_wallet_core::agent::LockWatch;
use token_wallet_core::ops::Maintained;

/// How often the list is looked at for key notices.
pub const KEY_NOTICE_SWEEP: Duration = Duration::from_secs(600);

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
    // The agent's lock count when last looked at: a lock between two looks (an unlock
    // and a passphrase changed elsewhere within a second, say) is seen by it even when
    // the vault looks unlocked, or locked, both times.
    let mut locks = LockWatch::from(0);
    // Connections already notified about, until they recover.
    let mut told: HashSet<String> = HashSet::new();
    // Key notices already sent (`books:expiring:7`...): each is sent once per unlock.
    let mut noticed: HashSet<String> = HashSet::new();
    let mut last_notices: Option<Instant> = None;
    loop {
        std::thread::sleep(Duration::from_secs(1));
        // What the last round's refreshes and checks left in this thread's stack.
        token_wallet_core::crypto::scrub_deep_stack();
        let Some(a) = w.any_agent() else {
            continue;
        };
        a.tick(); // the idle lock happens here when the socket is not served
        let unlocked = a.is_unlocked();
        let locked_since = locks.locked_since(a.times_locked()) || (was_unlocked && !unlocked);
        if unlocked != was_unlocked || locked_since {
            was_unlocked = unlocked;
            changed(app);
            if locked_since {
                // However it locked (the button, the tray, idle): a copied token or key
                // leaves the clipboard, and this process, with the keys.
                crate::clipboard::forget(app);
                // A proxy gives tools the vault's tokens: it stops with the keys.
                w.stop_proxies();
                told.clear();
                noticed.clear();
                last_notices = None;
            }
        }
        if !unlocked {
            continue;
        }
        let done = w.maintain(&w.maintain_options()).unwrap_or_default();
        let notifications = w.settings().notifications;
        for d in &done {
            match d {
                Maintained::Refreshed { name } => {
                    told.remove(name.as_str());
                }
                Maintained::RefreshFailed { name, error, .. }
                    if told.insert(name.to_string()) && notifications =>
                {
                    notify(
                        app,
                        "A connection could not be refreshed",
                        &format!("“{name}”: {error}"),
                    );
                }
                Maintained::Revoked { name } if notifications => notify(
                    app,
                    "Revocation went through",
                    &format!("“{name}” is now revoked and deleted."),
                ),
                _ => {}
            }
        }
        if !done.is_empty() {
            changed(app);
        }
        // What keys need (an expiry near, a refusal, an installation in error), notified
        // once: looked at after unlock and every KEY_NOTICE_SWEEP.
        if last_notices.is_none_or(|t| t.elapsed() >= KEY_NOTICE_SWEEP) {
            last_notices = Some(Instant::now());
            for n in w.key_notices().unwrap_or_default() {
                if noticed.insert(n.key) && notifications {
                    notify(app, &n.title, &n.body);
                }
            }
        }
    }
}
