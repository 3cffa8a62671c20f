//! Records and their summaries: one commit each, followed cheaply by other handles,
//! and a writer killed mid-write noticed.

use super::*;

#[test]
fn a_summary_is_kept_with_its_record_and_replaced_in_one_commit() {
    let f = fixture();
    let mut v = f.vault.create(&pw("pw"), &weak()).unwrap();
    v.put_with_summary("a", b"one", Some("facts one")).unwrap();
    let first = v.index.records["a"].id.clone();
    v.put_with_summary("a", b"two", Some("facts two")).unwrap();
    // A new entry for the new value, the old one deleted: header, index, one record.
    assert_ne!(v.index.records["a"].id, first);
    assert_eq!(f.ks.raw_count().unwrap(), Some(3));
    assert_eq!(v.summary("a"), Some("facts two"));
    // A plain put drops the summary rather than leave one that no longer describes it.
    v.put("a", b"three").unwrap();
    assert_eq!(v.summary("a"), None);
    v.put_with_summary("a", b"four", Some("facts four"))
        .unwrap();
    let mut u = f.vault.unlock(&pw("pw")).unwrap();
    assert_eq!(u.summary("a"), Some("facts four"));
    assert_eq!(read(&mut u, "a"), b"four");
    // Nothing of the summary is in the store in the clear.
    for (name, value) in snapshot(&f.ks) {
        assert!(!value.windows(5).any(|w| w == b"facts"), "{name}");
    }
    // A rotation keeps the summaries.
    u.rotate_data_key().unwrap();
    let u = f.vault.unlock(&pw("pw")).unwrap();
    assert_eq!(u.summary("a"), Some("facts four"));
}

#[test]
fn follow_makes_no_keystore_call_until_another_handle_writes() {
    let f = fixture();
    let mut v = f.vault.create(&pw("pw"), &weak()).unwrap();
    v.put_with_summary("a", b"x", Some("1")).unwrap();
    let mut other = f.vault.unlock(&pw("pw")).unwrap();
    // Its own writes and unlock leave a handle current: following costs nothing.
    let calls = f.ks.calls();
    v.follow().unwrap();
    other.follow().unwrap();
    assert_eq!(f.ks.calls(), calls, "nothing was written: no keystore call");
    other.put_with_summary("a", b"y", Some("2")).unwrap();
    other.put_with_summary("b", b"z", Some("3")).unwrap();
    assert_eq!(v.summary("a"), Some("1"), "not yet followed");
    let calls = f.ks.calls();
    v.follow().unwrap();
    assert_eq!(f.ks.calls() - calls, 2, "the header and the index");
    assert_eq!(v.summary("a"), Some("2"));
    assert_eq!(v.summary("b"), Some("3"));
    let calls = f.ks.calls();
    v.follow().unwrap();
    assert_eq!(f.ks.calls(), calls);
    // A delete elsewhere is followed too.
    other.delete("b").unwrap();
    v.follow().unwrap();
    assert_eq!(v.summary("b"), None);
    assert_eq!(v.list().len(), 1);
}

#[test]
fn a_writer_killed_mid_write_is_noticed_by_the_next_writer() {
    let f = fixture();
    let mut h = f.vault.create(&pw("pw"), &weak()).unwrap();
    h.put_with_summary("a", b"1", Some("a")).unwrap();
    // Another process commits a new record, then dies before it releases the lock.
    let mut p = f.vault.unlock(&pw("pw")).unwrap();
    let l = crate::lock::VaultLock::acquire_stamping(&p.lock_path).unwrap();
    p.write_all(&[("b", b"2", Some("b"))]).unwrap();
    l.die();
    // This handle's next write re-reads the index first, and keeps `b`.
    h.put_with_summary("c", b"3", Some("c")).unwrap();
    let names: Vec<_> = h.list().into_iter().map(|r| r.name).collect();
    assert_eq!(names, ["a", "b", "c"]);
    let mut u = f.vault.unlock(&pw("pw")).unwrap();
    assert_eq!(read(&mut u, "b"), b"2");
}
