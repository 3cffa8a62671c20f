//! Connection records and names: checked names, listing from summaries, updates that
//! never lose a write.

use super::*;
use crate::vault::{UnlockedVault, VaultError};

#[test]
fn a_name_is_checked_once_and_reads_back_as_text() {
    for ok in ["a", "payroll-prod", "A.b_c-1", &"x".repeat(62)] {
        assert_eq!(ConnectionName::new(ok).unwrap().as_str(), ok);
    }
    for bad in ["", "a b", "a/b", "ä", &"x".repeat(63)] {
        assert!(ConnectionName::new(bad).is_err(), "{bad:?}");
    }
    // Stored as plain text: records written before the type existed read the same.
    let n: ConnectionName = serde_json::from_str("\"payroll\"").unwrap();
    assert_eq!(serde_json::to_string(&n).unwrap(), "\"payroll\"");
    assert!(serde_json::from_str::<ConnectionName>("\"a/b\"").is_err());
    let info = sample_info("payroll", 1, Some(2));
    let back: ConnectionInfo =
        serde_json::from_str(&serde_json::to_string(&info).unwrap()).unwrap();
    assert_eq!(back.name, "payroll");
}

use crate::vault::memory_vault;

fn stored(name: &str, expires: u64) -> Connection {
    Connection {
        info: sample_info(name, 1, Some(expires)),
        secrets: Secrets {
            access_token: format!("access-{name}"),
            refresh_token: None,
            client_secret: None,
            sealed: None,
        },
    }
}

#[test]
fn listing_reads_the_summaries_and_no_record() {
    let (_dir, vault, mut v) = memory_vault();
    for i in 0..50 {
        create(&mut v, &stored(&format!("c{i}"), 100 + i)).unwrap();
    }
    let ks = vault.keystore().clone();
    let calls = ks.calls();
    let all = list(&mut v).unwrap();
    assert_eq!(ks.calls(), calls, "an idle list makes no keystore call");
    assert_eq!(all.len(), 50);
    assert_eq!(all[0], load(&mut v, &all[0].name).unwrap().info);
    // Another process refreshes one: the next list sees it from the index alone.
    let pass = crate::Passphrase::new("pw".into()).unwrap();
    let mut other = vault.unlock(&pass).unwrap();
    update(&mut other, &"c7".parse().unwrap(), |c| {
        c.info.expires_at = Some(9_999);
        Ok::<_, VaultError>(())
    })
    .unwrap();
    let index_entries = ks.list_raw().unwrap().unwrap();
    let index_entries = index_entries.iter().filter(|n| n.starts_with("idx."));
    let calls = ks.calls();
    let all = list(&mut v).unwrap();
    assert_eq!(
        ks.calls() - calls,
        1 + index_entries.count() as u64,
        "the header and the index (in chunks), no record"
    );
    let c7 = all.iter().find(|i| i.name == "c7").unwrap();
    assert_eq!(c7.expires_at, Some(9_999));
}

#[test]
fn a_record_saved_before_summaries_is_read() {
    let (_dir, _vault, mut v) = memory_vault();
    let old = stored("legacy", 5);
    v.put(&old.info.name.record(), &serde_json::to_vec(&old).unwrap())
        .unwrap();
    create(&mut v, &stored("new", 6)).unwrap();
    let all = list(&mut v).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0], old.info);
    // A summary that names another connection is not believed.
    let mut wrong = stored("swapped", 7);
    let lie = serde_json::to_string(&sample_info("new", 1, Some(6))).unwrap();
    v.put_with_summary(
        &wrong.info.name.record(),
        &serde_json::to_vec(&wrong).unwrap(),
        Some(&lie),
    )
    .unwrap();
    wrong.info.expires_at = Some(7);
    let all = list(&mut v).unwrap();
    assert_eq!(
        all.iter().find(|i| i.name == "swapped").unwrap(),
        &wrong.info
    );
}

/// What one writer does to the vault in the interleaving tests.
#[derive(Clone, Debug)]
enum Op {
    /// Handle `h` adds one to connection `k`'s failure count.
    Count { h: usize, k: usize },
    /// Handle `h` moves connection `k`'s export time on by one.
    Export { h: usize, k: usize },
    /// Handle `h` rotates its access token (a refresh): a new, numbered token.
    Refresh { h: usize, k: usize },
    /// Handle `h` reads connection `k` (and may keep a stale copy around).
    Read { h: usize, k: usize },
    /// Handle `h` rotates the data key.
    Rotate { h: usize },
}

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    use proptest::prelude::*;
    prop_oneof![
        4 => (0..3usize, 0..2usize).prop_map(|(h, k)| Op::Count { h, k }),
        4 => (0..3usize, 0..2usize).prop_map(|(h, k)| Op::Export { h, k }),
        4 => (0..3usize, 0..2usize).prop_map(|(h, k)| Op::Refresh { h, k }),
        3 => (0..3usize, 0..2usize).prop_map(|(h, k)| Op::Read { h, k }),
        1 => (0..3usize).prop_map(|h| Op::Rotate { h }),
    ]
}

fn bump(v: &mut UnlockedVault, k: usize, change: impl FnOnce(&mut Connection)) {
    update(v, &ConnectionName::new(&format!("k{k}")).unwrap(), |c| {
        change(c);
        Ok::<_, VaultError>(())
    })
    .unwrap();
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config { cases: 48, ..Default::default() })]
    /// Three handles (as three processes would hold) read, change and rotate in any
    /// order; every change lands, none undoes another: the counts add up and the
    /// access token is the last one written, whoever read what before.
    #[test]
    fn interleaved_writers_never_lose_a_write(ops in proptest::collection::vec(op(), 1..40)) {
        let (_dir, vault, first) = memory_vault();
        let pass = crate::Passphrase::new("pw".into()).unwrap();
        let mut hs = [first, vault.unlock(&pass).unwrap(), vault.unlock(&pass).unwrap()];
        for k in 0..2 {
            create(&mut hs[0], &stored(&format!("k{k}"), 10)).unwrap();
        }
        let (mut counts, mut exports, mut tokens) = ([0u32; 2], [0u64; 2], [0u32; 2]);
        let mut stale = Vec::new();
        for op in ops {
            match op {
                Op::Count { h, k } => {
                    bump(&mut hs[h], k, |c| c.info.refresh_failures += 1);
                    counts[k] += 1;
                }
                Op::Export { h, k } => {
                    bump(&mut hs[h], k, |c| {
                        c.info.last_export = Some(c.info.last_export.unwrap_or(0) + 1)
                    });
                    exports[k] += 1;
                }
                Op::Refresh { h, k } => {
                    tokens[k] += 1;
                    let t = tokens[k];
                    bump(&mut hs[h], k, move |c| {
                        c.secrets.access_token = format!("access-{t}");
                        c.secrets.refresh_token = Some(format!("refresh-{t}"));
                    });
                }
                Op::Read { h, k } => {
                    stale.push(load(&mut hs[h], &format!("k{k}").parse().unwrap()).unwrap());
                }
                Op::Rotate { h } => hs[h].rotate_data_key().unwrap(),
            }
        }
        for (h, v) in hs.iter_mut().enumerate() {
            for k in 0..2 {
                let c = load(v, &format!("k{k}").parse().unwrap()).unwrap();
                proptest::prop_assert_eq!(c.info.refresh_failures, counts[k], "handle {} k{}", h, k);
                proptest::prop_assert_eq!(c.info.last_export.unwrap_or(0), exports[k]);
                if tokens[k] > 0 {
                    proptest::prop_assert_eq!(&c.secrets.access_token, &format!("access-{}", tokens[k]));
                    proptest::prop_assert_eq!(c.secrets.refresh_token.clone(), Some(format!("refresh-{}", tokens[k])));
                }
                let listed = list(v).unwrap();
                proptest::prop_assert_eq!(&listed[k], &c.info, "the summary agrees with the record");
            }
        }
        drop(stale);
    }
}

/// The same with real threads, each with its own handle (the file lock excludes them
/// as it excludes processes): 4 writers x 25 changes, none lost.
#[test]
fn concurrent_handles_never_lose_a_write() {
    let (_dir, vault, mut first) = memory_vault();
    create(&mut first, &stored("k0", 10)).unwrap();
    let pass = crate::Passphrase::new("pw".into()).unwrap();
    std::thread::scope(|s| {
        for i in 0..4 {
            let mut h = vault.unlock(&pass).unwrap();
            s.spawn(move || {
                for j in 0..25 {
                    bump(&mut h, 0, |c| {
                        c.info.refresh_failures += 1;
                        if j % 5 == 0 {
                            c.secrets.access_token = format!("access-{i}-{j}");
                        }
                    });
                }
            });
        }
    });
    let c = load(&mut first, &"k0".parse().unwrap()).unwrap();
    assert_eq!(c.info.refresh_failures, 100);
}

#[test]
fn create_refuses_a_taken_name_and_update_a_missing_one() {
    let (_dir, _vault, mut v) = memory_vault();
    create(&mut v, &stored("a", 1)).unwrap();
    assert!(matches!(
        create(&mut v, &stored("a", 2)),
        Err(VaultError::Exists(n)) if n == "a"
    ));
    let missing = update(&mut v, &"b".parse().unwrap(), |_| Ok::<_, VaultError>(()));
    assert!(matches!(missing, Err(VaultError::NotFound(n)) if n == "b"));
    assert_eq!(
        load(&mut v, &"a".parse().unwrap()).unwrap().info.expires_at,
        Some(1)
    );
}
