//! Creating, unlocking and naming: the round trip, refusals, a stale KDF hint.

use super::*;

#[test]
fn create_put_get_list_delete_round_trip() {
    let f = fixture();
    let mut v = f.vault.create(&pw("correct horse"), &weak()).unwrap();
    v.put("pleo-prod", b"token-1").unwrap();
    v.put("other", b"token-2").unwrap();
    v.put("pleo-prod", b"token-3").unwrap();
    assert_eq!(read(&mut v, "pleo-prod"), b"token-3");
    let names: Vec<_> = v.list().into_iter().map(|r| r.name).collect();
    assert_eq!(names, ["other", "pleo-prod"]);
    v.delete("other").unwrap();
    assert!(matches!(v.get("other"), Err(VaultError::NotFound(_))));
    let _ = v.lock();
    let mut v = f.vault.unlock(&pw("correct horse")).unwrap();
    assert_eq!(read(&mut v, "pleo-prod"), b"token-3");
    assert_eq!(v.info().record_count, Some(1));
    // header + index + one record, nothing else.
    assert_eq!(f.ks.raw_count().unwrap(), Some(3));
}

#[test]
fn nothing_plaintext_in_the_store() {
    let f = fixture();
    let mut v = f.vault.create(&pw("pw"), &weak()).unwrap();
    v.put("conn-name-xyz", b"SECRET-TOKEN-VALUE").unwrap();
    for (name, bytes) in snapshot(&f.ks) {
        let hay = String::from_utf8_lossy(&bytes);
        assert!(!hay.contains("SECRET-TOKEN-VALUE"), "{name}");
        assert!(!hay.contains("conn-name-xyz"), "{name}");
        assert!(!name.contains("conn-name-xyz"));
    }
}

#[test]
fn fail_create_twice() {
    let f = fixture();
    f.vault.create(&pw("pw"), &weak()).unwrap();
    assert!(matches!(
        f.vault.create(&pw("pw"), &weak()),
        Err(VaultError::AlreadyExists { .. })
    ));
}

#[test]
fn fail_weak_kdf_without_the_explicit_setting() {
    let f = fixture();
    let opts = CreateOptions {
        kdf: WEAK,
        allow_weak_kdf: false,
    };
    assert!(matches!(
        f.vault.create(&pw("pw"), &opts),
        Err(VaultError::WeakKdf(_))
    ));
    assert!(!f.vault.exists().unwrap());
    // With it, the header records it.
    f.vault.create(&pw("pw"), &weak()).unwrap();
    assert!(f.vault.info().unwrap().kdf_below_floor);
}

#[test]
fn fail_wrong_passphrase_changes_nothing() {
    let f = fixture();
    let mut v = f.vault.create(&pw("right"), &weak()).unwrap();
    v.put("a", b"x").unwrap();
    let before = snapshot(&f.ks);
    assert!(matches!(
        f.vault.unlock(&pw("wrong")),
        Err(VaultError::WrongPassphrase)
    ));
    assert_eq!(before, snapshot(&f.ks));
}

#[test]
fn fail_no_vault() {
    let f = fixture();
    assert!(matches!(
        f.vault.unlock(&pw("pw")),
        Err(VaultError::NoVault { .. })
    ));
}

#[test]
fn fail_invalid_names() {
    let f = fixture();
    let mut v = f.vault.create(&pw("pw"), &weak()).unwrap();
    for bad in ["", "a b", "a/b", "é", &"x".repeat(65)] {
        assert!(
            matches!(v.put(bad, b"x"), Err(VaultError::InvalidName(_))),
            "{bad}"
        );
    }
}

#[test]
fn unlock_after_another_handle_changed_the_passphrase() {
    // The handle's KDF hint is stale: unlock must notice and derive again.
    let f = fixture();
    let mut v = f.vault.create(&pw("one"), &weak()).unwrap();
    v.put("a", b"x").unwrap();
    assert!(f.vault.info().is_ok()); // primes the hint
    let other = Vault::new(f.ks.clone(), f._dir.path().join("vault.lock"));
    other
        .unlock(&pw("one"))
        .unwrap()
        .change_passphrase(&pw("two"))
        .unwrap();
    assert!(matches!(
        f.vault.unlock(&pw("one")),
        Err(VaultError::WrongPassphrase)
    ));
    let mut u = f.vault.unlock(&pw("two")).unwrap();
    assert_eq!(read(&mut u, "a"), b"x");
}
