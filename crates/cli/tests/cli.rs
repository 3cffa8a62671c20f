//! The CLI end to end against the real Secret Service: every command, its errors, and
//! that nothing secret is ever printed (logging at trace level throughout).

mod common;

use common::*;

use std::time::{Duration, Instant};

const P1: &str = "cli-secret-passphrase-one";
const P2: &str = "cli-secret-passphrase-two";
const P3: &str = "cli-secret-passphrase-three";

#[test]
fn init_unlock_passwd_rotate_status() {
    let env = Env::new("cycle");
    let o = env.init(&format!("{P1}\n"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("created vault"));
    assert!(stdout(&o).contains(STORE));

    // Wrong passphrase: a clear error and nothing stored changes.
    let before = snapshot(&env);
    let o = env.run(&["unlock", "--passphrase-stdin"], "not the passphrase\n");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("wrong passphrase; nothing was changed"));
    assert_eq!(before, snapshot(&env));

    let o = env.run(&["unlock", "--passphrase-stdin"], &format!("{P1}\n"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("passphrase OK"));

    // passwd with two lines on stdin, then with files.
    let o = env.run(&["passwd", "--passphrase-stdin"], &format!("{P1}\n{P2}\n"));
    assert!(o.status.success(), "{}", stderr(&o));
    let f2 = env.pass_file("p2", P2);
    let f3 = env.pass_file("p3", P3);
    let o = env.run(
        &[
            "passwd",
            "--passphrase-file",
            path_str(&f2),
            "--new-passphrase-file",
            path_str(&f3),
            "--keep-data-key",
        ],
        "",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stdout(&o), "data key kept");
    let o = env.run(&["unlock", "--passphrase-stdin"], &format!("{P2}\n"));
    assert!(!o.status.success());

    // The first passwd rotated the data key (generation 2); the second kept it.
    let o = env.run(&["rotate-key", "--passphrase-file", path_str(&f3)], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stdout(&o), "generation 2 -> 3");

    let o = env.run(&["status"], "");
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stdout(&o);
    let store = format!("store:       {STORE}");
    for want in [
        store.as_str(),
        "generation 3",
        "m=1024 KiB, t=1, p=1 (BELOW RFC 9106 floor: test setting)",
        "(locked; pass --unlock to count)",
    ] {
        assert!(s.contains(want), "missing `{want}` in\n{s}");
    }
    let o = env.run(
        &["status", "--json", "--passphrase-stdin"],
        &format!("{P3}\n"),
    );
    let j: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(j["generation"], 3);
    // The audit log's key and anchor; no connections.
    assert_eq!(j["record_count"], 2);
    assert_eq!(j["store"], STORE);
    assert_eq!(j["kdf"]["m_kib"], 1024);
    assert_eq!(j["profile"], env.profile.as_str());

    // The audit log saw it all, verifies, and holds no passphrase.
    let o = env.run(&["audit"], "");
    let log = stdout(&o);
    for e in [
        "vault_created",
        "unlock_failed",
        "vault_unlocked",
        "passphrase_changed",
        "data_key_rotated",
    ] {
        assert!(log.contains(e), "missing {e} in\n{log}");
    }
    assert!(log.contains("(written while locked)"));
    let o = env.run(
        &["audit", "verify", "--passphrase-stdin"],
        &format!("{P3}\n"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stdout(&o), "audit log OK");
    let file = std::fs::read_to_string(env.data_dir().join("audit.jsonl")).unwrap();
    for p in [P1, P2, P3] {
        assert!(!file.contains(p));
    }
    // Edit one line: verify names it.
    let edited = file.replacen("\"generation\":3", "\"generation\":7", 1);
    assert_ne!(edited, file, "the rotation line is in the log");
    std::fs::write(env.data_dir().join("audit.jsonl"), edited).unwrap();
    let o = env.run(
        &["audit", "verify", "--passphrase-stdin"],
        &format!("{P3}\n"),
    );
    assert_eq!(o.status.code(), Some(1));
    assert_contains(&stderr(&o), "audit log BROKEN at line");
    assert_no_secret_printed(&[P1, P2, P3]);
    env.wipe();
}

#[test]
fn fail_empty_passphrase_creates_nothing() {
    let env = Env::new("empty");
    let o = env.init("\n");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("the passphrase is empty"));
    assert!(snapshot(&env).is_empty());
}

#[test]
fn fail_no_vault_and_second_init() {
    let env = Env::new("novault");
    let o = env.run(&["status"], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no vault found"));
    assert!(stderr(&o).contains("token-wallet init"));
    assert!(env.init(&format!("{P1}\n")).status.success());
    let before = snapshot(&env);
    let o = env.init(&format!("{P2}\n"));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("already exists"));
    assert_eq!(before, snapshot(&env));
    env.wipe();
}

#[test]
fn fail_weak_kdf_needs_the_explicit_flag() {
    let env = Env::new("weak");
    let o = env.run(
        &["init", "--passphrase-stdin", "--kdf-memory-kib", "1024"],
        &format!("{P1}\n"),
    );
    assert_eq!(o.status.code(), Some(1));
    assert_contains(&stderr(&o), "below RFC 9106");
    assert!(snapshot(&env).is_empty());
}

#[test]
fn fail_damaged_and_hostile_headers() {
    let env = Env::new("header");
    assert!(env.init(&format!("{P1}\n")).status.success());
    let v = env.vault();
    let ks = v.keystore();
    let good = ks.get_raw("header").unwrap().unwrap();

    // Truncated.
    ks.set_raw("header", &good[..good.len() / 2]).unwrap();
    let before = snapshot(&env);
    let o = env.run(&["unlock", "--passphrase-stdin"], &format!("{P1}\n"));
    assert_eq!(o.status.code(), Some(1));
    assert_contains(&stderr(&o), "the vault is damaged: the header");
    assert_eq!(before, snapshot(&env));

    // Asking for 4 GiB of Argon2 memory, checksum recomputed: refused at once.
    let text = String::from_utf8(good.clone()).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[1] = lines[1].replace("\"m_kib\":1024,", "\"m_kib\":4194304,");
    use sha2::Digest;
    lines[2] = hex::encode(sha2::Sha256::digest(lines[1].as_bytes()));
    ks.set_raw("header", lines.join("\n").as_bytes()).unwrap();
    let t = Instant::now();
    let o = env.run(&["unlock", "--passphrase-stdin"], &format!("{P1}\n"));
    assert_eq!(o.status.code(), Some(1));
    assert_contains(&stderr(&o), "4194304 KiB");
    assert!(t.elapsed() < Duration::from_secs(5));

    // Missing header with the index still there.
    ks.delete_raw("header").unwrap();
    let o = env.run(&["status"], "");
    assert!(stderr(&o).contains("header is missing while other vault entries remain"));
    assert_no_secret_printed(&[P1]);
    env.wipe();
}

#[test]
fn file_store_is_opt_in_0600_and_encrypted() {
    let env = Env::new("file");
    let mut args = vec!["--store", "file", "init", "--passphrase-stdin"];
    args.extend_from_slice(WEAK_INIT);
    let o = env.run(&args, &format!("{P1}\n"));
    assert!(o.status.success(), "{}", stderr(&o));
    let path = env.data_dir().join("keystore.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let o = env.run(
        &["--store", "file", "rotate-key", "--passphrase-stdin"],
        &format!("{P1}\n"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = env.run(&["--store", "file", "status"], "");
    assert!(stdout(&o).contains("store:       file"));
    // The OS store holds nothing for this profile: no silent mixing of stores.
    assert!(snapshot(&env).is_empty());
    assert!(!std::fs::read_to_string(&path).unwrap().contains(P1));
}

#[test]
#[cfg(unix)] // the Secret Service
fn fail_locked_collection_is_a_clear_error_not_a_hang() {
    // A private Secret Service whose login collection we lock.
    let env = Env::new("locked");
    let script = format!(
        "dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets \
         org.freedesktop.Secret.Service.Lock array:objpath:/org/freedesktop/secrets/collection/login >/dev/null && \
         printf '%s\\n' '{P1}' | '{}' --keystore-timeout 5 init --passphrase-stdin {}",
        bin().display(),
        WEAK_INIT.join(" ")
    );
    let t = Instant::now();
    let o = oauth::deadline::output(
        std::process::Command::new(keyring_session())
            .args(["sh", "-c", &script])
            .env("TOKEN_WALLET_HOME", env.home.path())
            .env("TOKEN_WALLET_PROFILE", &env.profile),
        b"",
        oauth::deadline::CLI,
        "init against a locked Secret Service",
    );
    let elapsed = t.elapsed();
    let err = stderr(&o);
    record(&err);
    assert!(!o.status.success());
    assert!(
        err.contains("error: the secret-service keystore"),
        "no clear error: {err}"
    );
    assert!(err.contains("unlock its default collection") || err.contains("did not answer"));
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}");
    assert_no_secret_printed(&[P1]);
}

#[test]
fn repeated_failed_unlocks_are_flagged() {
    let env = Env::new("unlocks");
    assert!(env.init(&format!("{P1}\n")).status.success());
    for _ in 0..3 {
        assert!(!env
            .run(&["unlock", "--passphrase-stdin"], "nope\n")
            .status
            .success());
    }
    let o = env.run(&["status"], "");
    assert_contains(&stdout(&o), "ALERT:       3 failed unlocks");
    assert!(env
        .run(&["unlock", "--passphrase-stdin"], &format!("{P1}\n"))
        .status
        .success());
    let o = env.run(&["status"], "");
    assert!(!stdout(&o).contains("failed unlocks"), "{}", stdout(&o));
    env.wipe();
}
