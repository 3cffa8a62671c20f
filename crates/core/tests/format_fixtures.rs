//! Every format version's fixture (`tests/format/fixtures/`, made once by the build that
//! wrote that format, never changed) opens in this build, holds what its `expected.json`
//! says (the record's kinds and the SHA-256 of its tokens, as the independent Python
//! reader found them), and a format-1 vault upgrades to the newest format keeping every
//! token. A fixture is worked on as a copy: the committed files are never written.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Duration;
use token_wallet_core::{
    connection, Keystore, KeystoreOptions, Passphrase, StoreKind, UnlockedVault, Vault,
};

fn fixtures() -> Vec<PathBuf> {
    let dir = token_wallet_test_support::oauth_server::repo().join("tests/format/fixtures");
    let mut all: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    all.sort();
    assert!(
        all.len() >= 3,
        "fixtures of formats 1 (both index forms) and 2: {all:?}"
    );
    all
}

/// A copy of `fixture`'s store in a fresh directory, opened as the CLI opens a file store.
fn open(fixture: &Path) -> (tempfile::TempDir, Vault, Passphrase) {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("keystore.json");
    std::fs::copy(fixture.join("store.json"), &store).unwrap();
    let ks = Keystore::open(
        "token-wallet:fixture",
        &KeystoreOptions {
            kind: StoreKind::File(store),
            chunk_cap: 2560,
            timeout: Duration::from_secs(10),
        },
    )
    .unwrap();
    let pass = std::fs::read_to_string(fixture.join("passphrase.txt")).unwrap();
    let vault = Vault::new(ks, dir.path().join("vault.lock"));
    (dir, vault, Passphrase::new(pass).unwrap())
}

fn sha256(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Checks the connections in `v` against `expected.json`'s `records`.
fn check_records(v: &mut UnlockedVault, expected: &serde_json::Value, what: &str) {
    let want = expected["records"].as_object().unwrap();
    let names = connection::names(v);
    assert_eq!(names.len(), want.len(), "{what}: {names:?}");
    for name in names {
        let c = connection::load(v, &name).unwrap();
        let w = &want[name.as_str()];
        assert_eq!(
            serde_json::to_value(c.info.kind).unwrap(),
            w["kind"],
            "{what} {name}"
        );
        assert_eq!(c.info.provider.name, w["provider"], "{what} {name}");
        assert_eq!(
            c.info.has_refresh_token, w["has_refresh_token"],
            "{what} {name}"
        );
        assert_eq!(
            sha256(&c.secrets.access_token),
            w["access_token_sha256"],
            "{what} {name}: the access token"
        );
        let refresh = c.secrets.refresh_token.as_deref().map(sha256);
        assert_eq!(
            serde_json::to_value(refresh).unwrap(),
            w["refresh_token_sha256"],
            "{what} {name}: the refresh token"
        );
    }
}

fn expected(fixture: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(fixture.join("expected.json")).unwrap()).unwrap()
}

#[test]
fn every_fixture_opens_and_holds_what_the_second_reader_found() {
    for fixture in fixtures() {
        let what = fixture.file_name().unwrap().to_string_lossy().into_owned();
        let expected = expected(&fixture);
        let (_dir, vault, pass) = open(&fixture);
        // The facts, before any passphrase.
        let info = vault.info().unwrap();
        assert_eq!(info.format, expected["format"].as_u64().unwrap(), "{what}");
        assert_eq!(info.vault_id, expected["vault_id"], "{what}");
        let mut v = vault.unlock(&pass).unwrap();
        check_records(&mut v, &expected, &what);
        let other: Vec<String> = v
            .list()
            .into_iter()
            .map(|r| r.name)
            .filter(|n| !n.starts_with("c."))
            .collect();
        assert_eq!(
            serde_json::to_value(&other).unwrap(),
            expected["other_records"],
            "{what}"
        );
    }
}

#[test]
fn a_format_1_fixture_upgrades_to_the_newest_format_keeping_every_token() {
    for fixture in fixtures()
        .into_iter()
        .filter(|f| f.file_name().unwrap().to_string_lossy().starts_with("v1"))
    {
        let what = fixture.file_name().unwrap().to_string_lossy().into_owned();
        let expected = expected(&fixture);
        let (_dir, vault, pass) = open(&fixture);
        let mut v = vault.unlock(&pass).unwrap();
        // Written as it is first: a format-1 vault stays format 1 until upgraded.
        let name = connection::names(&v)[0].clone();
        let before = connection::load(&mut v, &name).unwrap();
        connection::update(&mut v, &name, |c| {
            c.info.last_export = Some(1);
            Ok::<_, token_wallet_core::VaultError>(())
        })
        .unwrap();
        assert_eq!(vault.info().unwrap().format, 1, "{what}");
        assert_eq!(v.upgrade_format().unwrap(), 1, "{what}");
        assert_eq!(
            vault.info().unwrap().format,
            token_wallet_core::vault::FORMAT_VERSION
        );
        let mut again = vault.unlock(&pass).unwrap();
        check_records(&mut again, &expected, &format!("{what} upgraded"));
        let after = connection::load(&mut again, &name).unwrap();
        assert_eq!(
            after.secrets.access_token.as_str(),
            before.secrets.access_token.as_str()
        );
        assert_eq!(after.info.last_export, Some(1), "{what}");
    }
}
