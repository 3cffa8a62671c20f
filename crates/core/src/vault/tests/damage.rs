//! A tampered, moved, truncated or missing entry, and a header that asks too much: each
//! refused as damage.

use super::*;

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

#[test]
fn fail_unknown_format_version() {
    let f = fixture();
    f.vault.create(&pw("pw"), &weak()).unwrap();
    rewrite_header(&f.ks, |b| b.replace("\"format\":3", "\"format\":7"));
    let e = f.vault.unlock(&pw("pw")).unwrap_err();
    assert!(
        matches!(
            e,
            VaultError::NewerFormat {
                found: 7,
                oldest: 1,
                newest: 3
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
