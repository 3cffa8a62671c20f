//! Unit tests of [`Wallet`] and [`Config`]: configuration from the environment, creating,
//! locking and unlocking a vault (with the wrong-passphrase throttle), and the state the
//! webview is sent.

use super::*;
use std::path::PathBuf;
use std::time::Duration;

const GOOD: &str = "correct horse battery staple";

fn pass(p: &str) -> token_wallet_core::Passphrase {
    token_wallet_core::Passphrase::new(p.into()).unwrap()
}

fn config(dir: &std::path::Path) -> Config {
    Config::for_tests(dir, "unit", None)
}

#[test]
fn config_defaults_and_rejects_nonsense() {
    let c = Config::from_lookup(|k| (k == "TOKEN_WALLET_HOME").then(|| "/h".into())).unwrap();
    assert_eq!(c.core.profile.name(), "default");
    assert_eq!(c.core.data_dir, PathBuf::from("/h/default"));
    assert_eq!(c.core.keystore.kind, token_wallet_core::StoreKind::Os);
    assert!(!c.insecure_kdf);
    assert_eq!(
        c.create_options().kdf,
        token_wallet_core::KdfParams::RFC9106_SECOND
    );
    let bad = |k: &'static str, v: &'static str| {
        Config::from_lookup(move |q| (q == k).then(|| v.to_string())).unwrap_err()
    };
    assert!(bad("TOKEN_WALLET_STORE", "cloud").contains("`os`, `file` or `openbao`"));
    assert!(bad("TOKEN_WALLET_PROFILE", "Bad/Name").contains("invalid profile"));
    assert!(bad("TOKEN_WALLET_INSECURE_KDF", "yes").contains("use 1"));
}

/// The state after `failures` wrong passphrases: the wait before the next attempt
/// is within `ms` (and not zero).
fn waits(w: &Wallet, failures: u32, ms: std::ops::RangeInclusive<u64>) -> VaultState {
    let s = w.state();
    assert_eq!(s.failed_attempts, failures);
    assert!(
        s.retry_after_ms > 0 && ms.contains(&s.retry_after_ms),
        "{}",
        s.retry_after_ms
    );
    s
}

#[test]
fn create_lock_unlock_with_throttle() {
    let dir = tempfile::tempdir().unwrap();
    let w = Wallet::new(config(dir.path()));
    let s = w.state();
    assert_eq!(s.status, Status::NoVault);
    assert_eq!(
        (s.profile.as_str(), s.store.as_deref()),
        ("unit", Some("file"))
    );
    assert!(s.insecure_kdf);
    assert!(matches!(w.unlock(GOOD.into()), Err(Error::NoVault)));

    assert!(matches!(
        w.create("".into(), "".into()),
        Err(Error::EmptyPassphrase)
    ));
    assert!(matches!(
        w.create("short".into(), "short".into()),
        Err(Error::TooShort(8))
    ));
    assert!(matches!(
        w.create(GOOD.into(), "other one".into()),
        Err(Error::Mismatch)
    ));
    let s = w.create(GOOD.into(), GOOD.into()).unwrap();
    assert_eq!(s.status, Status::Unlocked);
    let v = s.vault.unwrap();
    assert_eq!((v.generation, v.record_count), (1, Some(0)));
    assert!(v.kdf_below_floor);
    assert_eq!((v.kdf.m_kib, v.kdf.t, v.kdf.p), (1024, 1, 1));
    assert_eq!(w.info().unwrap().vault_id, v.vault_id);
    assert!(matches!(
        w.create(GOOD.into(), GOOD.into()),
        Err(Error::AlreadyExists)
    ));

    let s = w.lock();
    assert_eq!(s.status, Status::Locked);
    assert_eq!(s.vault.as_ref().unwrap().record_count, None);
    assert_eq!(w.info().unwrap().record_count, None);

    // A wrong passphrase: refused, and the next attempt must wait 1 s.
    assert!(matches!(
        w.unlock("wrong passphrase".into()),
        Err(Error::WrongUnlockPassphrase)
    ));
    let s = waits(&w, 1, 0..=1000);
    // Even the right passphrase is refused while the throttle holds.
    assert!(matches!(w.unlock(GOOD.into()), Err(Error::Throttled(1))));
    std::thread::sleep(Duration::from_millis(s.retry_after_ms + 20));
    assert!(matches!(
        w.unlock("wrong again".into()),
        Err(Error::WrongUnlockPassphrase)
    ));
    let s = waits(&w, 2, 1001..=2000);
    // An empty passphrase does not count as an attempt.
    std::thread::sleep(Duration::from_millis(s.retry_after_ms + 20));
    assert!(matches!(
        w.unlock(String::new()),
        Err(Error::EmptyPassphrase)
    ));
    assert_eq!(w.state().failed_attempts, 2);

    let s = w.unlock(GOOD.into()).unwrap();
    assert_eq!(s.status, Status::Unlocked);
    assert_eq!((s.failed_attempts, s.retry_after_ms), (0, 0));
    assert_eq!(s.vault.unwrap().vault_id, v.vault_id);
}

#[test]
fn state_serialises_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let w = Wallet::new(config(dir.path()));
    let s = w.create(GOOD.into(), GOOD.into()).unwrap();
    let json = serde_json::to_string(&s).unwrap();
    assert!(!json.contains(GOOD));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["status"], "unlocked");
    assert_eq!(v["vault"]["kdf"]["mKib"], 1024);
    assert_eq!(v["vault"]["recordCount"], 0);
    assert_eq!(v["minPassphraseChars"], 8);
}

#[test]
fn bad_config_is_reported_not_panicked() {
    let w = Wallet::with_config(Err("TOKEN_WALLET_STORE is `x`".into()));
    let s = w.state();
    assert_eq!(s.status, Status::Unavailable);
    assert!(s.message.unwrap().contains("TOKEN_WALLET_STORE"));
    assert!(matches!(w.unlock(GOOD.into()), Err(Error::Config(_))));
}

#[test]
fn the_lock_screen_says_why_it_locked_by_itself_and_not_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let w = Wallet::new(config(dir.path()));
    w.create(GOOD.into(), GOOD.into()).unwrap();
    // Locked by the person: nothing to explain.
    let s = w.lock();
    assert_eq!(s.status, Status::Locked);
    assert_eq!(s.locked_because, None);
    let locks = w.any_agent().unwrap().times_locked();
    assert!(locks >= 1, "the lock is counted");
    // Locked by the idle timer: said, in minutes.
    w.unlock(GOOD.into()).unwrap();
    assert_eq!(w.state().locked_because, None, "unlocked: no reason shown");
    let a = w.any_agent().unwrap();
    a.set_idle_timeout(Some(Duration::from_millis(1)));
    std::thread::sleep(Duration::from_millis(20));
    a.tick();
    let s = w.state();
    assert_eq!(s.status, Status::Locked);
    assert_eq!(
        s.locked_because.as_deref(),
        Some("Locked after 1 minute without use (Settings → Lock after idle).")
    );
    // Unlocked again: the reason goes.
    a.set_idle_timeout(None);
    w.unlock(GOOD.into()).unwrap();
    assert_eq!(w.state().locked_because, None);
    // The passphrase changed by another process (as the CLI's `passwd` does): the next
    // tick notices, with nothing else asked of the app.
    let mut other = config(dir.path())
        .core
        .open_vault()
        .unwrap()
        .unlock(&pass(GOOD))
        .unwrap();
    other
        .change_passphrase(&pass("a new horse battery staple"))
        .unwrap();
    a.tick();
    let s = w.state();
    assert_eq!(s.status, Status::Locked);
    assert_eq!(
        s.locked_because.as_deref(),
        Some("Locked: the passphrase was changed elsewhere (by the command line); unlock with the new one.")
    );
    // A data key rotated with the same passphrase is followed, not a reason to lock.
    w.unlock("a new horse battery staple".into()).unwrap();
    other.rotate_data_key().unwrap();
    a.tick();
    assert_eq!(w.state().status, Status::Unlocked);
    // Every lock is counted, so a watcher that looks now and then (the app's background
    // task, which tells the window) sees a lock even when the vault is unlocked again
    // by the time it looks.
    assert_eq!(
        a.times_locked(),
        locks + 2,
        "the idle lock and the passphrase's"
    );
}

/// A sign-in holds `connecting` while it waits for the browser: closing the window asks
/// then (quitting would stop it).
#[test]
fn a_waiting_sign_in_is_seen() {
    let dir = tempfile::tempdir().unwrap();
    let w = Wallet::new(config(dir.path()));
    assert!(!w.sign_in_running());
    let held = w.connecting.lock().unwrap();
    assert!(w.sign_in_running());
    drop(held);
    assert!(!w.sign_in_running());
}
