//! `backup` and `restore` end to end: a real connection (the test OAuth server, rotating
//! refresh tokens) backed up from the Secret Service and restored into the file store as
//! another machine would; the file never holds a token in the clear; a wrong passphrase,
//! a tampered file and an existing vault are refused with nothing made; a restored
//! refresh token is marked as a copy until it is re-authorised (or `--moved`).

#![cfg(unix)]
mod common;

use common::oauth::*;
use common::*;
use std::os::unix::fs::PermissionsExt;

fn in_copy(
    w: &World,
    profile: &str,
    args: &[&str],
    pass: &std::path::Path,
) -> std::process::Output {
    let mut all = vec!["--profile", profile, "--store", "file"];
    all.extend_from_slice(args);
    all.extend(["--passphrase-file", path_str(pass)]);
    w.cli(&all, &[], "")
}

#[test]
fn a_backup_restores_into_another_store_and_marks_its_refresh_tokens_as_copies() {
    let w = World::connected("backup", 600, "r", "local");
    let (access, refresh) = w.tokens("r");
    let refresh = refresh.unwrap();
    let dir = w.env.home.path();
    let file = dir.join("wallet.twbackup");

    // Backed up under the vault's passphrase: a 0600 file with no token in any form.
    let o = w.with_pass(&["backup", path_str(&file)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stdout(&o), "wrote 1 connections");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(b"TWBACKUP\n"));
    assert_absent_in(
        &String::from_utf8_lossy(&bytes),
        &[&access, &refresh],
        "the backup file",
    );
    // Never over an existing file.
    let o = w.with_pass(&["backup", path_str(&file)]);
    assert!(!o.status.success());
    assert_contains(&stderr(&o), "exists; choose a new file name");
    assert_eq!(std::fs::read(&file).unwrap(), bytes, "untouched");

    // A wrong passphrase, or a tampered file: refused, no vault made.
    let wrong = w.env.pass_file("wrong", "not the passphrase");
    let o = in_copy(&w, "copy", &["restore", path_str(&file)], &wrong);
    assert!(!o.status.success());
    assert_contains(&stderr(&o), "wrong passphrase");
    let mut bad = bytes.clone();
    let at = bad.len() - 20;
    bad[at] = if bad[at] == b'A' { b'B' } else { b'A' };
    let tampered = dir.join("tampered.twbackup");
    std::fs::write(&tampered, &bad).unwrap();
    let o = in_copy(&w, "copy", &["restore", path_str(&tampered)], &w.pass_file);
    assert!(!o.status.success());
    assert_contains(&stderr(&o), "backup file");
    let o = in_copy(&w, "copy", &["status"], &w.pass_file);
    assert!(!o.status.success(), "no vault was made: {}", stdout(&o));

    // Restored into the file store under another profile, as on another machine.
    let o = in_copy(&w, "copy", &["restore", path_str(&file)], &w.pass_file);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stdout(&o), "restored 1 connections");
    assert_contains(&stdout(&o), "warning: the refresh tokens of r are copies");
    let o = in_copy(&w, "copy", &["token", "r"], &w.pass_file);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), access, "the same live token");
    assert_contains(
        &stdout(&in_copy(&w, "copy", &["status"], &w.pass_file)),
        "`r` was restored from a backup",
    );
    assert_contains(
        &stdout(&in_copy(&w, "copy", &["show", "r"], &w.pass_file)),
        "restored:",
    );
    // Not into a vault that exists.
    let o = in_copy(&w, "copy", &["restore", path_str(&file)], &w.pass_file);
    assert!(!o.status.success());
    assert_contains(&stderr(&o), "a vault already exists");
    // Its own sign-in: no longer a copy.
    let o = in_copy(
        &w,
        "copy",
        &["reauthorise", "r", "--timeout", "20"],
        &w.pass_file,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stdout(&in_copy(&w, "copy", &["status"], &w.pass_file)).contains("restored"));

    // Under a passphrase of its own, restored as moved: nothing marked.
    let own = w.env.pass_file("own", "a backup passphrase");
    let second = dir.join("second.twbackup");
    let o = w.cli(
        &[
            "backup",
            path_str(&second),
            "--backup-passphrase-file",
            path_str(&own),
            "--passphrase-file",
            path_str(&w.pass_file),
        ],
        &[],
        "",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = in_copy(&w, "moved", &["restore", path_str(&second)], &w.pass_file);
    assert!(
        !o.status.success(),
        "the vault's passphrase does not open it"
    );
    let o = in_copy(
        &w,
        "moved",
        &["restore", path_str(&second), "--moved"],
        &own,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stdout(&o).contains("copies"));
    assert!(!stdout(&in_copy(&w, "moved", &["status"], &own)).contains("restored"));

    // The audit logs say so, without a token; no refresh token was ever printed (the
    // access token was, by `token`, as asked).
    let log = std::fs::read_to_string(w.env.data_dir().join("audit.jsonl")).unwrap();
    assert_contains(&log, "\"event\":\"backup_written\"");
    let copy_log =
        std::fs::read_to_string(w.env.home.path().join("copy").join("audit.jsonl")).unwrap();
    assert_contains(&copy_log, "\"event\":\"vault_restored\"");
    assert_absent_in(&log, &[&access, &refresh], "the audit log");
    assert_absent_in(
        &copy_log,
        &[&access, &refresh],
        "the restored vault's audit log",
    );
    assert_secrets_absent(&[&refresh]);
    w.env.wipe();
}
