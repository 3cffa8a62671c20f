//! `cargo bench -p token-wallet-core` (run under `tests/keyring-session.sh` to include the
//! Secret Service figures). Prints, from one run, measured side by side (interleaved, so
//! machine noise hits both alike):
//! - Argon2id alone at the default parameters (m = 64 MiB, t = 3, p = 4);
//! - `unlock` of a vault with 1,000 records at the same parameters, and the ratio
//!   (goal: unlock <= 1.05 x Argon2 alone);
//! - one record put and get through the Secret Service.

use std::time::{Duration, Instant};
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
    for i in 0..RECORDS {
        u.put(&format!("conn-{i}"), &token).unwrap();
    }
    println!(
        "{label}: filled {RECORDS} records of {} bytes in {}",
        token.len(),
        ms(t.elapsed())
    );
    drop(u);
    // Cold: a fresh handle that has not read the header. Warm: a handle that has (the CLI
    // and the app's lock screen read it before asking for the passphrase).
    let lock_path = token_wallet_core::lock::lock_path(dir);
    let (mut a, mut cold, mut warm) = (Vec::new(), Vec::new(), Vec::new());
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
    }
    let min = |v: &Vec<Duration>| *v.iter().min().unwrap();
    let (amin, cmin, wmin) = (min(&a), min(&cold), min(&warm));
    let (a, cold, warm) = (median(a), median(cold), median(warm));
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
    let mut u = vault.unlock(&pass).unwrap();
    let (mut puts, mut gets) = (Vec::new(), Vec::new());
    for i in 0..20 {
        let t = Instant::now();
        u.put("conn-1", &token).unwrap();
        puts.push(t.elapsed());
        let t = Instant::now();
        let _ = u.get(&format!("conn-{}", i * 7)).unwrap();
        gets.push(t.elapsed());
    }
    println!(
        "{label}: one record put (replace): {}   get: {}  (median of 20)",
        ms(median(puts)),
        ms(median(gets))
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
