//! A team vault that unlocks by OpenBao identity (format 3): its data key wrapped by a
//! Transit key, on a real OpenBao dev server started by the test. The policies used are
//! the ones shipped in `docs/openbao-policies/`. Covers: create and unlock with no
//! passphrase, a second member, an identity without the key refused (and audited as a
//! failed unlock by the callers), passphrase operations refused, a wrapped key moved
//! between generations refused, and removing a member (policy gone + `rotate-key`): their
//! token and their open vault read nothing written after. Needs the `bao` binary.
#![cfg(unix)]

use secrecy::ExposeSecret;
use std::path::{Path, PathBuf};
use std::time::Duration;
use token_wallet_core::connection::{self, Connection, ConnectionInfo, ConnectionName, Secrets};
use token_wallet_core::keystore::{BaoAuth, BaoToken, OpenBaoOptions};
use token_wallet_core::vault::{TransitRef, UnlockMethod};
use token_wallet_core::{
    open_vault, Keystore, KeystoreOptions, Passphrase, Profile, StoreKind, VaultError,
};
use token_wallet_test_support::bao::Bao;

fn options(bao: &Bao, token: &str) -> KeystoreOptions {
    let mut o = KeystoreOptions::os();
    o.kind = StoreKind::OpenBao(OpenBaoOptions {
        addr: bao.addr.clone(),
        mount: "secret".into(),
        prefix: "token-wallet".into(),
        auth: BaoAuth::Token(BaoToken::new(token.into())),
        ca_file: None,
    });
    o.timeout = Duration::from_secs(20);
    o
}

fn policy_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/openbao-policies")
        .join(name)
}

/// An OpenBao with Transit key `token-wallet` and the shipped policies: `admin`,
/// `member`, and `member-bob` (the member policy under a name of its own, so that it can
/// be taken from one person).
fn team() -> Bao {
    let bao = Bao::start();
    bao.transit_key("token-wallet");
    bao.policy("tw-admin", &policy_file("admin.hcl"));
    bao.policy("tw-member", &policy_file("member.hcl"));
    bao.policy("tw-member-bob", &policy_file("member.hcl"));
    // Someone who may read the KV entries but not use the Transit key (an OpenBao
    // operator's view of the ciphertext).
    let dir = tempfile::tempdir().unwrap();
    let kv_only = dir.path().join("kv-only.hcl");
    let text = std::fs::read_to_string(policy_file("member.hcl")).unwrap();
    let cut = text.find("path \"transit/").unwrap();
    std::fs::write(&kv_only, &text[..cut]).unwrap();
    bao.policy("tw-kv-only", &kv_only);
    bao
}

/// OpenBao refused this identity (the key, or the entries).
fn refused(e: &VaultError) -> bool {
    matches!(
        e,
        VaultError::IdentityRefused { .. } | VaultError::Keystore(_)
    ) && e.to_string().contains("permission denied")
}

fn profile(tag: &str) -> Profile {
    Profile::new(&format!("transit-{tag}-{}", std::process::id())).unwrap()
}

#[test]
fn a_team_vault_unlocks_by_identity_and_a_removed_member_reads_nothing_new() {
    let bao = team();
    let (admin, alice, bob, outsider) = (
        bao.token_with(&["tw-admin"]),
        bao.token_with(&["tw-member"]),
        bao.token_with(&["tw-member-bob"]),
        bao.token_with(&["tw-kv-only"]),
    );
    let p = profile("team");
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let machine =
        |i: usize, token: &str| open_vault(&p, &options(&bao, token), dirs[i].path()).unwrap();
    let t = TransitRef::parse("transit:token-wallet").unwrap();

    // The admin sets it up: no passphrase anywhere.
    let mut a = machine(0, &admin).create_with_transit(&t, None).unwrap();
    a.put("pleo", b"access-token-ONE").unwrap();
    assert_eq!(a.info().unlock, "transit:transit/token-wallet");
    assert_eq!(a.info().format, 3);

    // Members unlock with their identity.
    let va = machine(1, &alice);
    assert_eq!(
        va.unlock_method().unwrap(),
        UnlockMethod::Transit(t.clone())
    );
    let mut ua = va.unlock_by_identity().unwrap();
    assert_eq!(ua.get("pleo").unwrap().expose_secret(), b"access-token-ONE");
    ua.put("from-alice", b"written by alice").unwrap();
    let mut ub = machine(2, &bob).unlock_by_identity().unwrap();
    assert_eq!(
        ub.get("from-alice").unwrap().expose_secret(),
        b"written by alice"
    );

    // An identity that may read the entries but not use the key: refused, saying which
    // key; its ciphertext opens nothing.
    let vo = machine(3, &outsider);
    let e = vo.unlock_by_identity().unwrap_err();
    assert!(matches!(e, VaultError::IdentityRefused { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("transit/token-wallet") && text.contains("permission denied"),
        "{text}"
    );
    let raw = Keystore::open(&p.service(), &options(&bao, &outsider))
        .unwrap()
        .get("header")
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&raw).contains("\"wrapped_dek\""));

    // Passphrase operations have nothing to work on.
    let pw = Passphrase::new("any passphrase".into()).unwrap();
    assert!(matches!(va.unlock(&pw), Err(VaultError::NoPassphrase)));
    assert!(matches!(
        va.check_passphrase(&pw),
        Err(VaultError::NoPassphrase)
    ));
    assert!(matches!(
        ua.change_passphrase(&pw),
        Err(VaultError::NoPassphrase)
    ));
    assert!(matches!(
        ua.backup("b", None),
        Err(VaultError::NoPassphrase)
    ));
    assert_eq!(ua.info().generation, 1, "nothing was changed");

    // Removing bob: his policy goes, then the admin rotates the data key.
    bao.root(&["policy", "delete", "tw-member-bob"]);
    a.rotate_data_key().unwrap();
    a.put("after-bob", b"access-token-TWO").unwrap();
    assert_eq!(a.info().generation, 2);
    // His token no longer opens the vault (OpenBao refuses it the entries and the key)...
    let e = machine(2, &bob).unlock_by_identity().unwrap_err();
    assert!(refused(&e), "{e}");
    // ...and the vault he held open (generation 1's data key in memory) reads nothing
    // written since: following the new header needs the Transit key.
    let e = ub.get("after-bob").unwrap_err();
    assert!(refused(&e), "{e}");
    // Alice, still a member, follows the rotation.
    assert_eq!(
        ua.get("after-bob").unwrap().expose_secret(),
        b"access-token-TWO"
    );
}

#[test]
fn fail_a_wrapped_key_moved_to_another_generation() {
    let bao = team();
    let admin = bao.token_with(&["tw-admin"]);
    let p = profile("moved");
    let dir = tempfile::tempdir().unwrap();
    let v = open_vault(&p, &options(&bao, &admin), dir.path()).unwrap();
    let t = TransitRef::parse("transit:token-wallet").unwrap();
    let mut u = v.create_with_transit(&t, None).unwrap();
    u.put("pleo", b"x").unwrap();
    let ks = Keystore::open(&p.service(), &options(&bao, &admin)).unwrap();
    let first = ks.get("header").unwrap().unwrap();
    u.rotate_data_key().unwrap();
    drop(u);
    // Generation 1's wrapped key in generation 2's header, re-framed with a valid
    // checksum (what an OpenBao operator with write access could do).
    let field = |raw: &[u8]| {
        let s = String::from_utf8(raw.to_vec()).unwrap();
        let start = s.find("\"wrapped_dek\":\"").unwrap() + 15;
        let end = start + s[start..].find('"').unwrap();
        s[start..end].to_string()
    };
    let second = ks.get("header").unwrap().unwrap();
    let body = String::from_utf8(second.clone()).unwrap();
    let json = body
        .lines()
        .nth(1)
        .unwrap()
        .replace(&field(&second), &field(&first));
    let sum = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(json.as_bytes()))
    };
    ks.set("header", format!("TWVAULT\n{json}\n{sum}").as_bytes())
        .unwrap();
    let e = v.unlock_by_identity().unwrap_err();
    assert!(matches!(e, VaultError::Damaged { .. }), "{e}");
}

#[test]
fn fail_transit_on_a_store_that_is_not_openbao() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = KeystoreOptions::os();
    o.kind = StoreKind::File(dir.path().join("keystore.json"));
    let v = open_vault(&profile("file"), &o, dir.path()).unwrap();
    let e = v
        .create_with_transit(&TransitRef::parse("transit:token-wallet").unwrap(), None)
        .unwrap_err();
    assert!(matches!(e, VaultError::TransitNeedsOpenBao), "{e}");
    assert!(!v.exists().unwrap(), "nothing was written");
}

fn connection(name: &str, refresh: &str, client_secret: &str) -> Connection {
    let n = ConnectionName::new(name).unwrap();
    let now = connection::now();
    let mut info = ConnectionInfo::new(
        &n,
        token_wallet_core::oauth::presets().remove(0),
        "client".into(),
        vec![],
        now,
        Some(now + 3600),
    );
    info.has_refresh_token = true;
    info.has_client_secret = true;
    Connection {
        info,
        secrets: Secrets {
            access_token: format!("ACCESS-{name}"),
            refresh_token: Some(refresh.into()),
            client_secret: Some(client_secret.into()),
            sealed: None,
        },
    }
}

#[test]
fn refresh_tokens_are_sealed_for_refreshers_and_a_moved_seal_is_refused() {
    let bao = team();
    bao.root(&["write", "-f", "transit/keys/token-wallet-refresher"]);
    bao.policy("tw-consumer", &policy_file("consumer.hcl"));
    let (admin, member, consumer) = (
        bao.token_with(&["tw-admin"]),
        bao.token_with(&["tw-member"]),
        bao.token_with(&["tw-consumer"]),
    );
    let p = profile("sealed");
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let machine =
        |i: usize, token: &str| open_vault(&p, &options(&bao, token), dirs[i].path()).unwrap();
    let t = TransitRef::parse("transit:token-wallet").unwrap();
    let r = TransitRef::parse("transit:token-wallet-refresher").unwrap();
    let mut a = machine(0, &admin)
        .create_with_transit(&t, Some(&r))
        .unwrap();
    assert_eq!(
        a.info().refresher_key.as_deref(),
        Some("transit:transit/token-wallet-refresher")
    );
    for (n, rt, cs) in [
        ("one", "REFRESH-ONE", "SECRET-ONE"),
        ("two", "REFRESH-TWO", "SECRET-TWO"),
    ] {
        connection::create(&mut a, &connection(n, rt, cs)).unwrap();
    }
    // The record's plaintext holds the access token, and the refresher secrets only
    // sealed: a consumer's view.
    let mut c = machine(2, &consumer).unlock_by_identity().unwrap();
    assert!(c.consume_only() && c.info().consume_only);
    let plain = c.get("c.one").unwrap();
    let text = String::from_utf8_lossy(plain.expose_secret()).into_owned();
    assert!(
        text.contains("ACCESS-one") && text.contains("\"sealed\":"),
        "{text}"
    );
    for secret in ["REFRESH-ONE", "SECRET-ONE"] {
        assert!(!text.contains(secret), "{secret} in the consumer's view");
    }
    let seen = connection::load(&mut c, &ConnectionName::new("one").unwrap()).unwrap();
    assert_eq!(seen.secrets.access_token, "ACCESS-one");
    assert!(seen.secrets.refresh_token.is_none() && seen.secrets.client_secret.is_none());
    // A consumer may not write (OpenBao refuses it), so nothing of its can undo a refresh.
    let e = c.put("c.three", b"x").unwrap_err();
    assert!(e.to_string().contains("permission denied"), "{e}");

    // A member (refresher) reads them, through a data-key rotation too.
    let mut m = machine(1, &member).unlock_by_identity().unwrap();
    assert!(!m.consume_only());
    a.rotate_data_key().unwrap();
    let one = connection::load(&mut m, &ConnectionName::new("one").unwrap()).unwrap();
    assert_eq!(one.secrets.refresh_token.as_deref(), Some("REFRESH-ONE"));
    assert_eq!(one.secrets.client_secret.as_deref(), Some("SECRET-ONE"));

    // Record two's seal moved into record one (an OpenBao operator with write access and
    // the data key could do it): refused as tampering, not read as one's.
    let raw_two = String::from_utf8(m.get("c.two").unwrap().expose_secret().to_vec()).unwrap();
    let raw_one = String::from_utf8(m.get("c.one").unwrap().expose_secret().to_vec()).unwrap();
    let seal = |s: &str| {
        let at = s.find("\"sealed\":\"").unwrap() + 10;
        s[at..at + s[at..].find('"').unwrap()].to_string()
    };
    m.put(
        "c.one",
        raw_one.replace(&seal(&raw_one), &seal(&raw_two)).as_bytes(),
    )
    .unwrap();
    let e = connection::load(&mut m, &ConnectionName::new("one").unwrap()).unwrap_err();
    assert!(matches!(e, VaultError::RecordTampered(_)), "{e}");
}
