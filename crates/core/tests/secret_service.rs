//! Round trips through the real Secret Service (gnome-keyring inside dbus-run-session).
//! Run under `tests/keyring-session.sh`; without a Secret Service these tests fail, they
//! do not skip.
#![cfg(all(unix, not(target_os = "macos")))]

use secrecy::ExposeSecret;
use std::time::{Duration, Instant};
use token_wallet_core::{
    open_vault, CreateOptions, Keystore, KeystoreOptions, Passphrase, Profile, Vault, VaultError,
};

const CAP: usize = 2560;

fn profile(tag: &str) -> Profile {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    Profile::new(&format!("it-{tag}-{}-{nanos}", std::process::id())).unwrap()
}

fn opts() -> KeystoreOptions {
    let mut o = KeystoreOptions::os();
    o.chunk_cap = CAP;
    o.timeout = Duration::from_secs(10);
    o
}

fn keystore(p: &Profile) -> Keystore {
    Keystore::open(&p.service(), &opts()).unwrap_or_else(|e| {
        panic!("no Secret Service: run the tests under tests/keyring-session.sh ({e})")
    })
}

fn vault(p: &Profile, dir: &std::path::Path) -> Vault {
    open_vault(p, &opts(), dir).unwrap()
}

fn weak() -> CreateOptions {
    CreateOptions::insecure_for_tests()
}

fn pw(s: &str) -> Passphrase {
    Passphrase::new(s.into()).unwrap()
}

#[test]
fn keystore_round_trip_small_and_chunked() {
    let p = profile("ks");
    let ks = keystore(&p);
    ks.set("small", b"hello").unwrap();
    assert_eq!(ks.get("small").unwrap().unwrap(), b"hello");
    let big: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
    ks.set("big", &big).unwrap();
    assert_eq!(ks.get("big").unwrap().unwrap(), big);
    let names = ks.list_raw().unwrap().unwrap();
    // small + big head + ceil(10000/2560) = 4 chunks
    assert_eq!(names.len(), 6, "{names:?}");
    for n in &names {
        let raw = ks.get_raw(n).unwrap().unwrap();
        assert!(raw.len() <= CAP, "{n} is {} bytes", raw.len());
    }
    // Overwrite with another large value: the other slot, then the old one is gone.
    let big2 = vec![3u8; 6000];
    ks.set("big", &big2).unwrap();
    assert_eq!(ks.get("big").unwrap().unwrap(), big2);
    assert_eq!(ks.list_raw().unwrap().unwrap().len(), 1 + 1 + 3);
    ks.delete("big").unwrap();
    ks.delete("small").unwrap();
    assert_eq!(ks.list_raw().unwrap().unwrap().len(), 0);
}

#[test]
fn vault_on_secret_service_full_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let p = profile("vault");
    let v = vault(&p, dir.path());
    let mut u = v.create(&pw("first passphrase"), &weak()).unwrap();
    let big_token = "B".repeat(7000);
    u.put("small", b"access-token-small").unwrap();
    u.put("large", big_token.as_bytes()).unwrap();
    u.rotate_data_key().unwrap();
    u.change_passphrase(&pw("second passphrase")).unwrap();
    drop(u);
    assert!(matches!(
        v.unlock(&pw("first passphrase")),
        Err(VaultError::WrongPassphrase)
    ));
    let mut u = v.unlock(&pw("second passphrase")).unwrap();
    assert_eq!(
        u.get("small").unwrap().expose_secret(),
        b"access-token-small"
    );
    assert_eq!(
        u.get("large").unwrap().expose_secret(),
        big_token.as_bytes()
    );
    assert_eq!(
        u.info().generation,
        3,
        "rotate-key and passwd each rotated the data key"
    );
    assert_eq!(u.info().store, "secret-service");
    // Every stored entry respects the cap and holds no plaintext.
    let ks = keystore(&p);
    for n in ks.list_raw().unwrap().unwrap() {
        let raw = ks.get_raw(&n).unwrap().unwrap();
        assert!(raw.len() <= CAP);
        let s = String::from_utf8_lossy(&raw);
        assert!(
            !s.contains("access-token-small") && !s.contains("BBBBBBBB"),
            "{n}"
        );
        assert!(
            n == "header"
                || n.starts_with("header~")
                || n.starts_with("idx.3")
                || n.starts_with("rec.3."),
            "{n}"
        );
    }
    // Clean up this profile's entries.
    for n in ks.list_raw().unwrap().unwrap() {
        ks.delete_raw(&n).unwrap();
    }
}

/// Not a timed test of speed: a check that a call returns at all. Figures are in the bench.
#[test]
fn one_put_and_get_through_secret_service_answers() {
    let p = profile("one");
    let ks = keystore(&p);
    let t = Instant::now();
    ks.set("x", &[1u8; 300]).unwrap();
    assert_eq!(ks.get("x").unwrap().unwrap(), vec![1u8; 300]);
    ks.delete("x").unwrap();
    assert!(t.elapsed() < Duration::from_secs(30));
}
