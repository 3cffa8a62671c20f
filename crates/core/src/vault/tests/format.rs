//! The index's format: format 1 and 2, compression, the upgrade.

use super::*;

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
    rewrite_header(&f.ks, |b| b.replace("\"format\":3", "\"format\":1"));
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
