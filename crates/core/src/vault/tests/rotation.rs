//! Passphrase changes and data-key rotation: records kept, old headers useless,
//! interrupted rotations finished or rolled back, unreachable entries swept.

use super::*;

#[test]
fn change_passphrase_keeps_records() {
    let f = fixture();
    let mut v = f.vault.create(&pw("old"), &weak()).unwrap();
    v.put("a", b"x").unwrap();
    v.change_passphrase(&pw("new")).unwrap();
    assert!(matches!(
        f.vault.unlock(&pw("old")),
        Err(VaultError::WrongPassphrase)
    ));
    let mut v = f.vault.unlock(&pw("new")).unwrap();
    assert_eq!(read(&mut v, "a"), b"x");
}

/// Everything in `ks`, but with `header` as given: what an attacker who kept an old header
/// sees, in a store of its own (so nothing there touches the real one).
fn copy_with_header(ks: &Keystore, header: &[u8], service: &str) -> Fixture {
    let copy = fixture_with(service, 4096);
    for (n, v) in snapshot(ks) {
        copy.ks.set_raw(&n, &v).unwrap();
    }
    copy.ks.set_raw("header", header).unwrap();
    copy
}

#[test]
fn fail_an_old_header_and_the_old_passphrase_open_nothing_written_after_passwd() {
    let f = fixture();
    let mut v = f.vault.create(&pw("old"), &weak()).unwrap();
    v.put("a", b"before").unwrap();
    // The attacker keeps a copy of the header and learns the old passphrase.
    let old_header = f.ks.get_raw("header").unwrap().unwrap();
    v.change_passphrase(&pw("new")).unwrap();
    v.put("b", b"after").unwrap();
    let stolen = copy_with_header(&f.ks, &old_header, "t-stolen");
    match stolen.vault.unlock(&pw("old")) {
        Err(_) => {}
        Ok(mut u) => {
            assert!(u.get("b").is_err(), "a record written after passwd opened");
            assert!(
                u.get("a").is_err(),
                "a record re-encrypted by passwd opened"
            );
        }
    }
    assert_eq!(read(&mut v, "a"), b"before");
    assert_eq!(read(&mut v, "b"), b"after");

    // The fast path keeps the data key: there the old header still opens the records.
    let old_header = f.ks.get_raw("header").unwrap().unwrap();
    v.change_passphrase_keep_data_key(&pw("newer")).unwrap();
    v.put("c", b"later").unwrap();
    let stolen = copy_with_header(&f.ks, &old_header, "t-stolen-2");
    let mut u = stolen.vault.unlock(&pw("new")).unwrap();
    assert_eq!(read(&mut u, "c"), b"later");
}

#[test]
fn rotate_reencrypts_and_removes_old_generation() {
    let f = fixture_with("t", 200);
    let mut v = f.vault.create(&pw("pw"), &weak()).unwrap();
    v.put("a", b"x").unwrap();
    v.put("big", &[1u8; 900]).unwrap();
    let before = snapshot(&f.ks);
    let mut seen = Vec::new();
    v.rotate_data_key_with_progress(|d, t| seen.push((d, t)))
        .unwrap();
    assert_eq!(seen, [(1, 2), (2, 2)]);
    assert_eq!(v.info().generation, 2);
    let after = snapshot(&f.ks);
    assert!(after
        .keys()
        .all(|n| n.starts_with("header") || n.starts_with("idx.2") || n.starts_with("rec.2.")));
    assert_eq!(after.len(), before.len());
    let mut v = f.vault.unlock(&pw("pw")).unwrap();
    assert_eq!(read(&mut v, "a"), b"x");
    assert_eq!(read(&mut v, "big"), vec![1u8; 900]);
}

#[test]
fn another_handle_follows_a_rotation_but_not_a_passphrase_change() {
    let f = fixture();
    let mut v1 = f.vault.create(&pw("pw"), &weak()).unwrap();
    v1.put("a", b"x").unwrap();
    let mut v2 = f.vault.unlock(&pw("pw")).unwrap();
    v1.rotate_data_key().unwrap();
    assert_eq!(read(&mut v2, "a"), b"x");
    v2.put("b", b"y").unwrap();
    assert_eq!(read(&mut v1, "b"), b"y");
    v1.change_passphrase(&pw("pw2")).unwrap();
    assert!(matches!(v2.put("c", b"z"), Err(VaultError::Stale)));
}

#[test]
fn interrupted_rotation_is_rolled_back_or_finished() {
    let f = fixture();
    let mut v = f.vault.create(&pw("pw"), &weak()).unwrap();
    v.put("a", b"x").unwrap();
    let id = v.index.records["a"].id.clone();
    // A rotation that wrote its intent and one new-generation record, then died.
    v.header.rotating_to = Some(2);
    v.write_header().unwrap();
    f.ks.set_raw(&rec_name(2, &id), b"Igarbage").unwrap();
    drop(v);
    let mut v = f.vault.unlock(&pw("pw")).unwrap();
    assert_eq!(read(&mut v, "a"), b"x");
    assert_eq!(v.info().generation, 1);
    assert!(f.ks.get_raw(&rec_name(2, &id)).unwrap().is_none());
    assert!(v.header.rotating_to.is_none());
}

#[test]
fn sweep_removes_unreachable_entries() {
    let f = fixture();
    let mut v = f.vault.create(&pw("pw"), &weak()).unwrap();
    v.put("a", b"x").unwrap();
    f.ks.set_raw("rec.1.deadbeef", b"Iorphan").unwrap();
    f.ks.set_raw("rec.1.deadbeef~a0", b"orphan chunk").unwrap();
    v.rotate_data_key().unwrap();
    assert_eq!(f.ks.raw_count().unwrap(), Some(3));
}
