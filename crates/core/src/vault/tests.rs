use super::*;
use crate::keystore::{KeystoreOptions, StoreKind};
use secrecy::ExposeSecret;
use sha2::Digest;
use std::time::Duration;

const WEAK: KdfParams = KdfParams {
    m_kib: 64,
    t: 1,
    p: 1,
};

struct Fixture {
    _dir: tempfile::TempDir,
    ks: Keystore,
    vault: Vault,
}

fn fixture_with(service: &str, cap: usize) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let ks = Keystore::open(
        service,
        &KeystoreOptions {
            kind: StoreKind::Memory,
            chunk_cap: cap,
            timeout: Duration::from_secs(5),
        },
    )
    .unwrap();
    let vault = Vault::new(ks.clone(), dir.path().join("vault.lock"));
    Fixture {
        _dir: dir,
        ks,
        vault,
    }
}

fn fixture() -> Fixture {
    fixture_with("t", 4096)
}

fn pw(s: &str) -> Passphrase {
    Passphrase::new(s.into()).unwrap()
}

fn weak() -> CreateOptions {
    CreateOptions {
        kdf: WEAK,
        allow_weak_kdf: true,
    }
}

fn snapshot(ks: &Keystore) -> BTreeMap<String, Vec<u8>> {
    ks.list_raw()
        .unwrap()
        .unwrap()
        .into_iter()
        .map(|n| {
            let v = ks.get_raw(&n).unwrap().unwrap();
            (n, v)
        })
        .collect()
}

fn record_entry(ks: &Keystore) -> String {
    ks.list_raw()
        .unwrap()
        .unwrap()
        .into_iter()
        .find(|n| n.starts_with("rec."))
        .unwrap()
}

fn read(v: &mut UnlockedVault, name: &str) -> Vec<u8> {
    v.get(name).unwrap().expose_secret().to_vec()
}

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

fn tamper_record(region: &str) {
    let f = fixture();
    let mut v = f.vault.create(&pw("pw"), &weak()).unwrap();
    v.put("a", b"some token").unwrap();
    let entry = record_entry(&f.ks);
    let mut raw = f.ks.get_raw(&entry).unwrap().unwrap();
    // Stored head: 'I' + nonce(12) + ciphertext + tag(16).
    let at = match region {
        "nonce" => 1 + 3,
        "ciphertext" => 1 + 12 + 2,
        "tag" => raw.len() - 3,
        _ => unreachable!(),
    };
    raw[at] ^= 0x40;
    f.ks.set_raw(&entry, &raw).unwrap();
    let before = snapshot(&f.ks);
    assert!(
        matches!(v.get("a"), Err(VaultError::RecordTampered(ref n)) if n == "a"),
        "{region}"
    );
    assert_eq!(before, snapshot(&f.ks));
}

#[test]
fn fail_tampered_nonce() {
    tamper_record("nonce");
}

#[test]
fn fail_tampered_ciphertext() {
    tamper_record("ciphertext");
}

#[test]
fn fail_tampered_tag() {
    tamper_record("tag");
}

#[test]
fn fail_record_copied_into_another_entry() {
    let f = fixture();
    let mut v = f.vault.create(&pw("pw"), &weak()).unwrap();
    v.put("a", b"token a").unwrap();
    v.put("b", b"token b").unwrap();
    let recs: Vec<String> =
        f.ks.list_raw()
            .unwrap()
            .unwrap()
            .into_iter()
            .filter(|n| n.starts_with("rec."))
            .collect();
    let a_blob = f.ks.get_raw(&recs[0]).unwrap().unwrap();
    f.ks.set_raw(&recs[1], &a_blob).unwrap();
    let errs: Vec<_> = ["a", "b"].iter().filter_map(|n| v.get(n).err()).collect();
    assert_eq!(errs.len(), 1);
    assert!(matches!(errs[0], VaultError::RecordTampered(_)));
}

#[test]
fn fail_record_from_another_vault() {
    // Two vaults under the same service name in two stores, with the same passphrase.
    let f1 = fixture();
    let f2 = fixture();
    let mut v1 = f1.vault.create(&pw("pw"), &weak()).unwrap();
    let mut v2 = f2.vault.create(&pw("pw"), &weak()).unwrap();
    v1.put("a", b"vault one").unwrap();
    v2.put("a", b"vault two").unwrap();
    let e1 = record_entry(&f1.ks);
    let e2 = record_entry(&f2.ks);
    let blob2 = f2.ks.get_raw(&e2).unwrap().unwrap();
    f1.ks.set_raw(&e1, &blob2).unwrap();
    assert!(matches!(v1.get("a"), Err(VaultError::RecordTampered(_))));
}

#[test]
fn fail_truncated_header() {
    let f = fixture();
    f.vault.create(&pw("pw"), &weak()).unwrap();
    let raw = f.ks.get_raw("header").unwrap().unwrap();
    f.ks.set_raw("header", &raw[..raw.len() / 2]).unwrap();
    let before = snapshot(&f.ks);
    let e = f.vault.unlock(&pw("pw")).unwrap_err();
    assert!(matches!(e, VaultError::Damaged { .. }), "{e}");
    assert_eq!(before, snapshot(&f.ks));
}

#[test]
fn fail_missing_header_with_records_left() {
    let f = fixture();
    let mut v = f.vault.create(&pw("pw"), &weak()).unwrap();
    v.put("a", b"x").unwrap();
    f.ks.delete_raw("header").unwrap();
    let e = f.vault.unlock(&pw("pw")).unwrap_err();
    assert!(matches!(e, VaultError::Damaged { .. }), "{e}");
}

#[test]
fn fail_missing_chunk() {
    let f = fixture_with("t", 100);
    let mut v = f.vault.create(&pw("pw"), &weak()).unwrap();
    v.put("big", &[5u8; 1000]).unwrap();
    let chunk =
        f.ks.list_raw()
            .unwrap()
            .unwrap()
            .into_iter()
            .find(|n| n.starts_with("rec.") && n.ends_with("~a3"))
            .unwrap();
    f.ks.delete_raw(&chunk).unwrap();
    let e = v.get("big").unwrap_err();
    assert!(
        matches!(
            e,
            VaultError::Keystore(crate::KeystoreError::MissingChunk { index: 3, .. })
        ),
        "{e}"
    );
}

/// Rewrites the header body with a valid checksum, as someone who knows the format would.
fn rewrite_header(ks: &Keystore, f: impl Fn(String) -> String) {
    let raw = String::from_utf8(ks.get_raw("header").unwrap().unwrap()).unwrap();
    // Stored head: 'I' + "TWVAULT\n" + body + "\n" + sum
    let inner = &raw[1..];
    let mut lines = inner.lines();
    let magic = lines.next().unwrap();
    let body = f(lines.next().unwrap().to_string());
    let sum = hex::encode(sha2::Sha256::digest(body.as_bytes()));
    let new = format!("I{magic}\n{body}\n{sum}");
    ks.set_raw("header", new.as_bytes()).unwrap();
}

#[test]
fn fail_unknown_format_version() {
    let f = fixture();
    f.vault.create(&pw("pw"), &weak()).unwrap();
    rewrite_header(&f.ks, |b| b.replace("\"format\":2", "\"format\":7"));
    let e = f.vault.unlock(&pw("pw")).unwrap_err();
    assert!(
        matches!(
            e,
            VaultError::NewerFormat {
                found: 7,
                oldest: 1,
                newest: 2
            }
        ),
        "{e}"
    );
    assert!(
        f.vault.info().is_err(),
        "status says so too, before the passphrase"
    );
}

#[test]
fn fail_header_asking_for_4_gib() {
    let f = fixture();
    f.vault.create(&pw("pw"), &weak()).unwrap();
    rewrite_header(&f.ks, |b| b.replace("\"m_kib\":64,", "\"m_kib\":4194304,"));
    let t = std::time::Instant::now();
    let e = f.vault.unlock(&pw("pw")).unwrap_err();
    assert!(matches!(e, VaultError::KdfTooExpensive(_)), "{e}");
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "refused before any work"
    );
}

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

/// Stores `plain` as `v`'s current index, sealed as the vault seals it.
fn store_index_plaintext(f: &Fixture, v: &UnlockedVault, plain: &[u8]) {
    let name = idx_name(v.header.generation);
    let place = RecordPlace {
        vault: v.header.vault_id,
        generation: v.header.generation,
        entry: &name,
    };
    f.ks.set(&name, &v.dek.seal(&place, plain)).unwrap();
}

/// A format-1 vault holding record `a` (summary `facts`), its index stored as `plain`
/// makes of the index JSON.
fn format_1_vault(f: &Fixture, plain: impl Fn(&[u8]) -> Vec<u8>) {
    let mut v = f.vault.create(&pw("pw"), &weak()).unwrap();
    v.put_with_summary("a", b"x", Some("facts")).unwrap();
    rewrite_header(&f.ks, |b| b.replace("\"format\":2", "\"format\":1"));
    store_index_plaintext(f, &v, &plain(&serde_json::to_vec(&v.index).unwrap()));
}

fn index_plaintext(f: &Fixture, v: &UnlockedVault) -> Vec<u8> {
    let name = idx_name(v.header.generation);
    let place = RecordPlace {
        vault: v.header.vault_id,
        generation: v.header.generation,
        entry: &name,
    };
    v.dek
        .open(&place, &f.ks.get(&name).unwrap().unwrap())
        .unwrap()
        .to_vec()
}

#[test]
fn a_format_1_vault_is_read_in_either_index_form_and_written_as_format_1() {
    for compressed in [false, true] {
        let f = fixture();
        format_1_vault(&f, |json| {
            if compressed {
                let index: Index = serde_json::from_slice(json).unwrap();
                encode_index(&index, 2).to_vec()
            } else {
                json.to_vec()
            }
        });
        let mut u = f.vault.unlock(&pw("pw")).unwrap();
        assert_eq!(u.info().format, 1);
        assert_eq!(u.summary("a"), Some("facts"));
        assert_eq!(read(&mut u, "a"), b"x");
        // Written as it is: a format-1 index is plain JSON, which version-1 readers read.
        u.put_with_summary("b", b"y", Some("more")).unwrap();
        let plain = index_plaintext(&f, &u);
        assert!(plain.starts_with(b"{"), "compressed={compressed}");
        assert_eq!(f.vault.info().unwrap().format, 1);
    }
}

#[test]
fn fail_a_format_2_index_without_its_prefix() {
    let f = fixture();
    let v = f.vault.create(&pw("pw"), &weak()).unwrap();
    store_index_plaintext(&f, &v, &serde_json::to_vec(&v.index).unwrap());
    let e = f.vault.unlock(&pw("pw")).unwrap_err();
    assert!(matches!(e, VaultError::Damaged { .. }), "{e}");
}

#[test]
fn upgrade_brings_a_format_1_vault_to_2_and_keeps_every_record() {
    let f = fixture();
    format_1_vault(&f, |json| json.to_vec());
    let mut u = f.vault.unlock(&pw("pw")).unwrap();
    let g = u.info().generation;
    assert_eq!(u.upgrade_format().unwrap(), 1);
    assert_eq!(u.info().format, FORMAT_VERSION);
    assert_eq!(u.info().generation, g + 1, "through a data-key rotation");
    assert!(index_plaintext(&f, &u).starts_with(INDEX_DEFLATE));
    let mut again = f.vault.unlock(&pw("pw")).unwrap();
    assert_eq!(read(&mut again, "a"), b"x");
    assert_eq!(again.summary("a"), Some("facts"));
    assert_eq!(
        again.upgrade_format().unwrap(),
        FORMAT_VERSION,
        "nothing to do"
    );
    assert_eq!(again.info().generation, g + 1);
    // The old generation is gone.
    let left = f.ks.list_raw().unwrap().unwrap();
    assert!(
        !left
            .iter()
            .any(|n| n.starts_with(&format!("rec.{g}.")) || *n == format!("idx.{g}")),
        "{left:?}"
    );
}

#[test]
fn an_upgrade_interrupted_before_its_commit_leaves_a_whole_format_1_vault() {
    let f = fixture();
    format_1_vault(&f, |json| json.to_vec());
    let mut u = f.vault.unlock(&pw("pw")).unwrap();
    let g = u.info().generation;
    // As a crash after the new generation was written and before the header commit:
    // the intent recorded, generation g+1 written in format 2, the header still format 1.
    u.header.rotating_to = Some(g + 1);
    u.write_header().unwrap();
    let new = Dek::generate();
    u.write_index(g + 1, &new, &u.index.clone(), 2).unwrap();
    drop(u);
    let mut v = f.vault.unlock(&pw("pw")).unwrap();
    assert_eq!(v.info().format, 1);
    assert_eq!(v.info().generation, g);
    assert_eq!(read(&mut v, "a"), b"x");
    assert!(f.ks.get(&idx_name(g + 1)).unwrap().is_none(), "rolled back");
}

#[test]
fn the_index_is_compressed_and_many_records_commit_at_once() {
    let f = fixture_with("t", 64 * 1024);
    let mut v = f.vault.create(&pw("pw"), &weak()).unwrap();
    let summary = |i: usize| {
        format!(
            r#"{{"name":"conn-{i:04}","provider":{{"name":"pleo","authorize_url":"https://auth.pleo.io/oauth/authorize","token_url":"https://auth.pleo.io/oauth/token"}},"expires_at":{}}}"#,
            1_700_000_000 + i
        )
    };
    let names: Vec<String> = (0..1000).map(|i| format!("conn-{i:04}")).collect();
    let summaries: Vec<String> = (0..1000).map(summary).collect();
    let items: Vec<_> = (0..1000)
        .map(|i| {
            (
                names[i].as_str(),
                b"v".as_slice(),
                Some(summaries[i].as_str()),
            )
        })
        .collect();
    let calls = f.ks.calls();
    v.put_all(&items).unwrap();
    // Two calls a record (the store looks for an old value before it writes), then one
    // index write: no index written per record.
    assert!(
        f.ks.calls() - calls <= 2 * 1000 + 4,
        "{}",
        f.ks.calls() - calls
    );
    let json_len: usize = summaries.iter().map(|s| s.len() + 40).sum();
    let stored =
        f.ks.get_raw(&idx_name(v.header.generation))
            .unwrap()
            .unwrap();
    assert!(
        stored.len() * 4 < json_len,
        "index of {} bytes for {json_len} bytes of JSON",
        stored.len()
    );
    let u = f.vault.unlock(&pw("pw")).unwrap();
    assert_eq!(u.list().len(), 1000);
    assert_eq!(u.summary("conn-0999"), Some(summaries[999].as_str()));
}

#[test]
fn fail_a_damaged_compressed_index() {
    let f = fixture();
    let mut v = f.vault.create(&pw("pw"), &weak()).unwrap();
    v.put("a", b"x").unwrap();
    let mut plain = INDEX_DEFLATE.to_vec();
    plain.extend_from_slice(b"not a deflate stream");
    store_index_plaintext(&f, &v, &plain);
    assert!(matches!(
        f.vault.unlock(&pw("pw")),
        Err(VaultError::Damaged { .. })
    ));
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
