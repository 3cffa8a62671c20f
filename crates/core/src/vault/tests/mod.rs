//! The vault's unit tests, by theme; the fixtures they share are here.

use super::index::{encode_index, INDEX_DEFLATE};
use super::*;
use crate::keystore::{KeystoreOptions, StoreKind};
use secrecy::ExposeSecret;
use sha2::Digest;
use std::collections::BTreeMap;
use std::time::Duration;

mod create_unlock;
mod damage;
mod format;
mod records;
mod rotation;

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
