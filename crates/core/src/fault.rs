//! Crash-test fault points (debug builds only).
//!
//! With `TOKEN_WALLET_FAULT_PAUSE_AT=N` set, the process stops at its N-th fault point
//! (one after every completed keystore mutation, and one where a refresh has the
//! provider's answer but has written nothing yet), prints `token-wallet: fault point N reached` to stderr and waits
//! forever, so a test can kill it with SIGKILL at exactly that step. A named point
//! (`TOKEN_WALLET_FAULT_PAUSE_AT=refresh-answered`) stops there whatever number it has.
//! Release builds compile this to nothing.

#[cfg(debug_assertions)]
mod imp {
    use std::sync::atomic::{AtomicU64, Ordering};

    static DONE: AtomicU64 = AtomicU64::new(0);

    pub(crate) fn point() {
        named("");
    }

    pub(crate) fn named(name: &str) {
        let n = DONE.fetch_add(1, Ordering::SeqCst) + 1;
        let Ok(at) = std::env::var("TOKEN_WALLET_FAULT_PAUSE_AT") else {
            return;
        };
        if at.parse::<u64>().ok() == Some(n) || (!name.is_empty() && at == name) {
            eprintln!("token-wallet: fault point {n} reached");
            loop {
                std::thread::park();
            }
        }
    }
}

#[cfg(debug_assertions)]
pub(crate) use imp::{named, point};

#[cfg(not(debug_assertions))]
#[inline(always)]
pub(crate) fn point() {}

#[cfg(not(debug_assertions))]
#[inline(always)]
pub(crate) fn named(_: &str) {}
