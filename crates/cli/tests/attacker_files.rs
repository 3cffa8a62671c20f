//! A local attacker against the vault's files (`tw-attacker`, another user, as
//! `attacker.rs` explains): files made under `umask 000`, symlinks planted in an open data
//! directory and at the audit log, files an older build left open.
//! Needs root (CI runs as root) to act as those users.

#![cfg(unix)]
mod common;

use common::attacker::*;
use common::*;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

#[test]
fn another_user_can_neither_open_nor_lock_the_vaults_files_even_under_umask_000() {
    // Created under umask 000, with the file store.
    let (bin, env, pass) = victim_with_vault("files");
    let dir = env.data_dir();
    let mode = |p: &Path| std::fs::symlink_metadata(p).unwrap().mode() & 0o7777;
    assert_eq!(mode(&dir), 0o700, "the data directory");
    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(files.iter().any(|f| f.ends_with("vault.lock")), "{files:?}");
    assert!(
        files.iter().any(|f| f.ends_with("keystore.json")),
        "{files:?}"
    );
    for f in &files {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }
    // Even with the directory opened up, the attacker cannot open a lock file to flock it.
    chmod(env.home.path(), 0o755);
    chmod(&dir, 0o755);
    for f in &files {
        let o = run(as_user(ATTACKER, Path::new("/usr/bin/perl"))
            .args([
                "-e",
                r#"use Fcntl ':flock'; open(my $f, "<", $ARGV[0]) or die "open: $!\n"; flock($f, LOCK_EX|LOCK_NB) or die "flock: $!\n"; print "locked\n";"#,
            ])
            .arg(f));
        assert!(!stdout(&o).contains("locked"), "{}", f.display());
        assert_contains(&stderr(&o), "Permission denied");
    }
    // The victim's next run closes the directory again.
    let o = file_store_under_umask_000(
        &bin,
        &env,
        &["status", "--unlock", "--passphrase-file", path_str(&pass)],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(mode(&dir), 0o700, "the data directory is closed again");
}

#[test]
fn a_symlink_planted_in_an_open_data_directory_is_never_written_through() {
    let (bin, env, pass) = victim_with_vault("symlink");
    let tw = |args: &[&str]| file_store_under_umask_000(&bin, &env, args);
    // An older version left the directory 0777; the attacker plants the old fixed temp
    // name and the store itself as symlinks to a file of theirs.
    let dir = env.data_dir();
    chmod(env.home.path(), 0o755);
    chmod(&dir, 0o777);
    let (_t, target) = attackers_file();
    for name in ["keystore.json.tmp", "settings.json.tmp"] {
        let o = run(as_user(ATTACKER, Path::new("/bin/ln"))
            .arg("-s")
            .arg(&target)
            .arg(dir.join(name)));
        assert!(o.status.success(), "{}", stderr(&o));
    }
    // The victim writes (a passphrase change rewrites the store).
    let new = env.pass_file("new", "victim passphrase 2");
    let o = tw(&[
        "passwd",
        "--passphrase-file",
        path_str(&pass),
        "--new-passphrase-file",
        path_str(&new),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "attacker's file");
    let store = std::fs::symlink_metadata(dir.join("keystore.json")).unwrap();
    assert!(store.file_type().is_file(), "the store is a regular file");
    assert_eq!(store.uid(), 0);
    assert_eq!(store.mode() & 0o7777, 0o600);
    assert_eq!(
        std::fs::symlink_metadata(&dir).unwrap().mode() & 0o7777,
        0o700
    );
    let o = tw(&["status", "--unlock", "--passphrase-file", path_str(&new)]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// An older build left the data directory open; another user plants a symlink at
/// `audit.jsonl`. The old behaviour: a warning, then the command did its work unaudited
/// (and so did every later one). Now the command does nothing, nothing is written through
/// the link, the link is moved aside, and the next command audits to a new log.
#[test]
fn a_symlink_planted_at_the_audit_log_stops_the_command_and_is_never_written_through() {
    let (bin, env, pass) = victim_with_vault("auditlink");
    let tw = |args: &[&str]| file_store_under_umask_000(&bin, &env, args);
    let dir = env.data_dir();
    chmod(env.home.path(), 0o755);
    chmod(&dir, 0o777);
    let (_t, target) = attackers_file();
    chmod(&target, 0o666);
    let plant = || {
        let o = run(as_user(ATTACKER, Path::new("/bin/sh")).args([
            "-c",
            "rm -f \"$1\" && ln -s \"$2\" \"$1\"",
            "sh",
            path_str(&dir.join("audit.jsonl")),
            path_str(&target),
        ]));
        assert!(o.status.success(), "{}", stderr(&o));
    };
    plant();
    // Audited work (a passphrase change): refused, with what happened and what to do.
    let new = env.pass_file("new", "victim passphrase 2");
    let passwd = [
        "passwd",
        "--passphrase-file",
        path_str(&pass),
        "--new-passphrase-file",
        path_str(&new),
    ];
    let o = tw(&passwd);
    assert!(!o.status.success(), "{}", stdout(&o));
    let err = stderr(&o);
    assert_contains(&err, "was a symbolic link");
    assert_contains(&err, "moved aside");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "attacker's file");
    let log = dir.join("audit.jsonl");
    assert!(
        std::fs::symlink_metadata(&log).is_err(),
        "the link is gone from the log's name"
    );
    let aside: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("audit.jsonl.symlink-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert!(std::fs::symlink_metadata(&aside[0])
        .unwrap()
        .file_type()
        .is_symlink());
    // The passphrase did not change: the old one still unlocks (and the directory is
    // closed again).
    assert_eq!(
        std::fs::symlink_metadata(&dir).unwrap().mode() & 0o7777,
        0o700
    );
    let o = tw(&["status", "--unlock", "--passphrase-file", path_str(&pass)]);
    assert!(o.status.success(), "{}", stderr(&o));
    // That command audited to a new, private log, and the next work is audited too.
    let o = tw(&passwd);
    assert!(o.status.success(), "{}", stderr(&o));
    let m = std::fs::symlink_metadata(&log).unwrap();
    assert!(m.file_type().is_file());
    assert_eq!(m.mode() & 0o7777, 0o600);
    let text = std::fs::read_to_string(&log).unwrap();
    assert_contains(&text, "\"passphrase_changed\"");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "attacker's file");
}

/// Files an older build (or `umask 000`) left readable by others, and a directory it left
/// open: the next command closes each again (0600, 0700), so another user can no longer
/// open, read or flock them.
#[test]
fn files_an_older_build_left_open_are_closed_again_and_another_user_cannot_open_them() {
    let (bin, env, pass) = victim_with_vault("modes");
    let tw = |args: &[&str]| file_store_under_umask_000(&bin, &env, args);
    let dir = env.data_dir();
    let mode = |p: &Path| std::fs::symlink_metadata(p).unwrap().mode() & 0o7777;
    let files: Vec<PathBuf> = ["vault.lock", "keystore.json", "audit.jsonl", "audit.lock"]
        .iter()
        .map(|f| dir.join(f))
        .collect();
    chmod(env.home.path(), 0o755);
    chmod(&dir, 0o755);
    for f in &files {
        chmod(f, 0o666);
    }
    // The attack works on the opened-up files (the control).
    let read_as_attacker = |f: &Path| {
        run(as_user(ATTACKER, Path::new("/usr/bin/perl"))
            .args([
                "-e",
                r#"use Fcntl ':flock'; open(my $f, "<", $ARGV[0]) or die "open: $!\n"; flock($f, LOCK_EX|LOCK_NB) or die "flock: $!\n"; print "locked\n";"#,
            ])
            .arg(f))
    };
    assert_contains(&stdout(&read_as_attacker(&files[0])), "locked");
    let o = tw(&["status", "--unlock", "--passphrase-file", path_str(&pass)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(mode(&dir), 0o700, "the data directory");
    for f in &files {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }
    // Opened up again only at the directory: still no file another user may open.
    chmod(&dir, 0o755);
    for f in &files {
        let o = read_as_attacker(f);
        assert!(!stdout(&o).contains("locked"), "{}", f.display());
        assert_contains(&stderr(&o), "Permission denied");
    }
}
