//! `cargo bench -p token-wallet-core` (run under `tests/keyring-session.sh` to include the
//! Secret Service figures). Prints, from one run, measured side by side (interleaved, so
//! machine noise hits both alike):
//! - Argon2id alone at the default parameters (m = 64 MiB, t = 3, p = 4);
//! - `unlock` of a vault with 1,000 connections at the same parameters, and the ratio
//!   (goal: unlock <= 1.05 x Argon2 alone);
//! - `unlock` then every connection's public facts listed (what the app's list shows; goal
//!   <= 1.2 x Argon2 alone), from the summaries in the index; beside it, a few rounds of
//!   the same list read record by record (as before the summaries);
//! - an idle re-list's keystore calls (goal: none);
//! - one connection saved (replaced) and one record read through the Secret Service.

use std::time::{Duration, Instant};
use token_wallet_core::connection::{self, Connection, ConnectionInfo, ConnectionName, Secrets};
use token_wallet_core::{
    open_vault, CreateOptions, KdfParams, KeystoreOptions, Passphrase, Profile, StoreKind,
};

const RECORDS: usize = 1000;
const ROUNDS: usize = 21;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn argon2_alone() -> Duration {
    let k = KdfParams::default();
    let params = argon2::Params::new(k.m_kib, k.t, k.p, Some(32)).unwrap();
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = [0u8; 32];
    let t = Instant::now();
    a.hash_password_into(b"bench passphrase", &[7u8; 16], &mut out)
        .unwrap();
    let d = t.elapsed();
    std::hint::black_box(out);
    d
}

/// A connection like a Pleo one: a preset provider, 1.5 kB tokens, a checked subject.
fn sample(i: usize) -> Connection {
    let name = ConnectionName::new(&format!("conn-{i:04}")).unwrap();
    let provider = token_wallet_core::oauth::presets().remove(0);
    let mut info = ConnectionInfo::new(
        &name,
        provider,
        "tw-bench-client".into(),
        vec!["users:read".into(), "expenses:read".into()],
        1_700_000_000 + i as u64,
        Some(1_700_003_600 + i as u64),
    );
    info.has_refresh_token = true;
    info.check
        .insert("subjectURN".into(), format!("urn:pleo:company:{i:08}"));
    Connection {
        info,
        secrets: Secrets {
            access_token: "a".repeat(1500),
            refresh_token: Some("r".repeat(64)),
            client_secret: None,
            sealed: None,
        },
    }
}

fn bench_store(label: &str, kind: StoreKind, dir: &std::path::Path) -> Option<()> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let profile = Profile::new(&format!("bench-{nanos}")).unwrap();
    let mut opts = KeystoreOptions::os();
    opts.kind = kind;
    let vault = match open_vault(&profile, &opts, dir) {
        Ok(v) => v,
        Err(e) => {
            println!("{label}: not available ({e})");
            return None;
        }
    };
    let pass = Passphrase::new("bench passphrase".into()).unwrap();
    let mut u = vault.create(&pass, &CreateOptions::default()).ok()?;
    let t = Instant::now();
    let token = vec![b'x'; 1500];
    let all: Vec<Connection> = (0..RECORDS).map(sample).collect();
    connection::save_all(&mut u, &all).unwrap();
    let idx = u.info().generation;
    let stored = vault
        .keystore()
        .get(&format!("idx.{idx}"))
        .unwrap()
        .unwrap();
    println!(
        "{label}: filled {RECORDS} connections in {} (one commit); the index is {} kB stored",
        ms(t.elapsed()),
        stored.len() / 1024
    );
    drop(u);
    // Cold: a fresh handle that has not read the header. Warm: a handle that has (the CLI
    // and the app's lock screen read it before asking for the passphrase).
    let lock_path = token_wallet_core::lock::lock_path(dir);
    let (mut a, mut cold, mut warm, mut listed) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut idle_calls = 0;
    for _ in 0..ROUNDS {
        a.push(argon2_alone());
        let fresh = token_wallet_core::Vault::new(vault.keystore().clone(), lock_path.clone());
        let t = Instant::now();
        let v = fresh.unlock(&pass).unwrap();
        cold.push(t.elapsed());
        assert_eq!(v.info().record_count, Some(RECORDS));
        drop(v);
        let seen = token_wallet_core::Vault::new(vault.keystore().clone(), lock_path.clone());
        seen.info().unwrap();
        let t = Instant::now();
        let v = seen.unlock(&pass).unwrap();
        warm.push(t.elapsed());
        assert_eq!(v.info().record_count, Some(RECORDS));
        drop(v);
        let seen = token_wallet_core::Vault::new(vault.keystore().clone(), lock_path.clone());
        seen.info().unwrap();
        let t = Instant::now();
        let mut v = seen.unlock(&pass).unwrap();
        let all = connection::list(&mut v).unwrap();
        listed.push(t.elapsed());
        assert_eq!(all.len(), RECORDS);
        let calls = vault.keystore().calls();
        assert_eq!(connection::list(&mut v).unwrap().len(), RECORDS);
        idle_calls = vault.keystore().calls() - calls;
    }
    // As before the summaries: every record read (a few rounds; it is slow).
    let mut by_record = Vec::new();
    for _ in 0..3 {
        let seen = token_wallet_core::Vault::new(vault.keystore().clone(), lock_path.clone());
        seen.info().unwrap();
        let t = Instant::now();
        let mut v = seen.unlock(&pass).unwrap();
        for n in connection::names(&v) {
            std::hint::black_box(connection::load(&mut v, &n).unwrap().info);
        }
        by_record.push(t.elapsed());
    }
    let min = |v: &Vec<Duration>| *v.iter().min().unwrap();
    let (amin, cmin, wmin, lmin) = (min(&a), min(&cold), min(&warm), min(&listed));
    let (a, cold, warm, listed) = (median(a), median(cold), median(warm), median(listed));
    let r = |x: Duration, y: Duration| x.as_secs_f64() / y.as_secs_f64();
    println!(
        "{label}: Argon2id alone (m=64 MiB, t=3, p=4): median {} (min {})",
        ms(a),
        ms(amin)
    );
    println!(
        "{label}: unlock, {RECORDS} records, header already seen: median {} (min {})  ratio to Argon2: {:.3} (of minimums {:.3})",
        ms(warm),
        ms(wmin),
        r(warm, a),
        r(wmin, amin)
    );
    println!(
        "{label}: unlock, {RECORDS} records, cold handle:        median {} (min {})  ratio to Argon2: {:.3} (of minimums {:.3})   [{ROUNDS} rounds, interleaved]",
        ms(cold),
        ms(cmin),
        r(cold, a),
        r(cmin, amin)
    );
    println!(
        "{label}: unlock + list {RECORDS} connections' facts:    median {} (min {})  ratio to Argon2: {:.3} (of minimums {:.3})  goal <= 1.2",
        ms(listed),
        ms(lmin),
        r(listed, a),
        r(lmin, amin)
    );
    let by_record = median(by_record);
    println!(
        "{label}: unlock + list, reading every record instead: median {}  ratio to Argon2: {:.3}   [3 rounds]",
        ms(by_record),
        r(by_record, a)
    );
    println!("{label}: an idle re-list: {idle_calls} keystore calls (goal 0)");
    let mut u = vault.unlock(&pass).unwrap();
    let (mut puts, mut gets, mut saves) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..20 {
        let t = Instant::now();
        u.put("plain-1", &token).unwrap();
        puts.push(t.elapsed());
        let t = Instant::now();
        connection::save_all(&mut u, &[sample(i * 7)]).unwrap();
        saves.push(t.elapsed());
        let t = Instant::now();
        let _ = u.get("plain-1").unwrap();
        gets.push(t.elapsed());
    }
    println!(
        "{label}: one record put (replace): {}   get: {}   one connection saved (replaced, with the index): {}  (median of 20, at {RECORDS} connections)",
        ms(median(puts)),
        ms(median(gets)),
        ms(median(saves))
    );
    // Remove the bench's entries.
    let ks = vault.keystore();
    if let Ok(Some(names)) = ks.list_raw() {
        for n in names {
            let _ = ks.delete_raw(&n);
        }
    }
    Some(())
}

fn main() {
    // `cargo test --benches` runs this with --bench absent; keep that cheap.
    // TW_BENCH_MEMORY_ONLY=1 skips the Secret Service part (about a minute to fill).
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    bench_store("memory store", StoreKind::Memory, dir.path());
    if std::env::var("TW_BENCH_MEMORY_ONLY").is_err() {
        bench_store("secret-service", StoreKind::Os, dir.path());
    }
}
