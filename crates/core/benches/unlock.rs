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
const ROUNDS: usize = 7;

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
    let (mut a, mut un) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        a.push(argon2_alone());
        let t = Instant::now();
        let v = vault.unlock(&pass).unwrap();
        un.push(t.elapsed());
        assert_eq!(v.info().record_count, Some(RECORDS));
    }
    let (a, un) = (median(a), median(un));
    println!(
        "{label}: Argon2id alone (m=64 MiB, t=3, p=4): {}   unlock with {RECORDS} records: {}   ratio: {:.3}  (median of {ROUNDS}, interleaved)",
        ms(a),
        ms(un),
        un.as_secs_f64() / a.as_secs_f64()
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
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    bench_store("memory store", StoreKind::Memory, dir.path());
    bench_store("secret-service", StoreKind::Os, dir.path());
}
