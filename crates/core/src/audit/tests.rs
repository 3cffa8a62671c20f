use super::*;
use sha2::{Digest, Sha256};

#[test]
fn events_list_their_name_and_fields_as_text() {
    let e = Event::Export {
        connection: "pleo".into(),
        pid: Some(42),
        process: None,
        parent_pid: None,
        parent_process: None,
        via: None,
    };
    assert_eq!(
        e.name_and_fields(),
        (
            "export".to_string(),
            vec![
                ("connection".to_string(), Some("pleo".to_string())),
                ("pid".to_string(), Some("42".to_string())),
                ("process".to_string(), None),
            ]
        )
    );
    assert_eq!(
        Event::VaultLocked.name_and_fields(),
        ("vault_locked".into(), vec![])
    );
}

/// Lines of builds before the unlock's process and the export's `via` were written parse
/// to the same bytes (so their MACs still verify); new lines name the unlocking process and
/// where a token went.
#[test]
fn unlock_and_export_members_are_additive() {
    for old in [
        r#"{"event":"vault_unlocked"}"#,
        r#"{"event":"unlock_failed"}"#,
        r#"{"event":"export","connection":"c","pid":7,"process":"/usr/bin/curl"}"#,
    ] {
        let e: Event = serde_json::from_str(old).unwrap();
        assert_eq!(serde_json::to_string(&e).unwrap(), old);
    }
    let unlocked = serde_json::to_value(Event::vault_unlocked()).unwrap();
    assert_eq!(unlocked["pid"], std::process::id());
    let exe = std::env::current_exe().unwrap().display().to_string();
    assert_eq!(unlocked["process"], exe.as_str());
    assert!(Event::vault_unlocked().is_unlock());
    assert!(Event::unlock_failed().is_unlock_failure());
    let copied = Event::Export {
        connection: "c".into(),
        pid: Some(7),
        process: None,
        parent_pid: None,
        parent_process: None,
        via: Some(ExportVia::Clipboard),
    };
    assert_eq!(
        serde_json::to_string(&copied).unwrap(),
        r#"{"event":"export","connection":"c","pid":7,"process":null,"via":"clipboard"}"#
    );
    let (_, fields) = copied.name_and_fields();
    assert!(fields.contains(&("via".to_string(), Some("clipboard".to_string()))));
}

fn setup() -> (tempfile::TempDir, UnlockedVault, AuditLog) {
    let (dir, _, v) = crate::vault::memory_vault();
    let log = AuditLog::new(dir.path());
    (dir, v, log)
}

fn fill(log: &AuditLog, v: &mut UnlockedVault) {
    log.append(Event::VaultCreated, Some(v)).unwrap();
    log.append(Event::unlock_failed(), None).unwrap();
    log.append(Event::vault_unlocked(), Some(v)).unwrap();
    for i in 0..5 {
        log.append(
            Event::Export {
                connection: format!("c{i}"),
                pid: Some(42),
                process: Some("curl".into()),
                parent_pid: None,
                parent_process: None,
                via: None,
            },
            Some(v),
        )
        .unwrap();
    }
    log.anchor(v).unwrap();
}

fn lines(log: &AuditLog) -> Vec<String> {
    std::fs::read_to_string(log.path())
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn write(log: &AuditLog, l: &[String]) {
    std::fs::write(log.path(), l.join("\n") + "\n").unwrap();
}

#[test]
fn a_real_log_verifies() {
    let (_d, mut v, log) = setup();
    fill(&log, &mut v);
    let r = log.verify(&mut v).unwrap();
    assert_eq!(
        r,
        Verdict {
            lines: 8,
            authenticated: 7,
            broken: None
        }
    );
}

#[test]
fn fail_edited_line() {
    let (_d, mut v, log) = setup();
    fill(&log, &mut v);
    assert_eq!(log.chain_break().unwrap(), None);
    let mut l = lines(&log);
    let k = name_key(&mut v).unwrap();
    assert!(l[4].contains(&k.audit_label("c1")));
    l[4] = l[4].replace(&k.audit_label("c1"), &k.audit_label("c9"));
    write(&log, &l);
    let r = log.verify(&mut v).unwrap();
    assert_eq!(r.broken.unwrap().0, 5);
    // Without the key: the next line no longer follows it.
    let (n, why) = log.chain_break().unwrap().unwrap();
    assert_eq!(n, 6);
    assert!(why.contains("does not follow"), "{why}");
    let mut l = lines(&log);
    l.remove(2);
    write(&log, &l);
    assert!(log
        .chain_break()
        .unwrap()
        .unwrap()
        .1
        .contains("sequence number 4 where 3"));
}

#[test]
fn fail_deleted_line() {
    let (_d, mut v, log) = setup();
    fill(&log, &mut v);
    let mut l = lines(&log);
    l.remove(3);
    write(&log, &l);
    assert_eq!(log.verify(&mut v).unwrap().broken.unwrap().0, 4);
}

#[test]
fn fail_reordered_lines() {
    let (_d, mut v, log) = setup();
    fill(&log, &mut v);
    let mut l = lines(&log);
    l.swap(5, 6);
    write(&log, &l);
    assert_eq!(log.verify(&mut v).unwrap().broken.unwrap().0, 6);
}

#[test]
fn fail_truncated_tail() {
    let (_d, mut v, log) = setup();
    fill(&log, &mut v);
    let mut l = lines(&log);
    l.truncate(6);
    write(&log, &l);
    let b = log.verify(&mut v).unwrap().broken.unwrap();
    assert!(b.1.contains("anchored line 8"), "{b:?}");
}

#[test]
fn fail_rewritten_file() {
    // A whole new, self-consistent chain written without the vault's key.
    let (_d, mut v, log) = setup();
    fill(&log, &mut v);
    let (_d2, mut other, log2) = setup();
    fill(&log2, &mut other);
    std::fs::copy(log2.path(), log.path()).unwrap();
    let b = log.verify(&mut v).unwrap().broken.unwrap();
    assert_eq!(b.0, 1, "{b:?}");
    // Unauthenticated lines only: still refused.
    let only_locked: Vec<String> = (1..=3)
        .scan(String::new(), |prev, seq| {
            let l = Line {
                seq,
                ts: 1,
                event: Event::unlock_failed(),
                prev: prev.clone(),
                mac: None,
            };
            let s = serde_json::to_string(&l).unwrap();
            *prev = hex::encode(Sha256::digest(s.as_bytes()));
            Some(s)
        })
        .collect();
    write(&log, &only_locked);
    let b = log.verify(&mut v).unwrap().broken.unwrap();
    assert!(b.1.contains("anchored"), "{b:?}");
}

#[test]
fn no_secret_fields() {
    let (_d, mut v, log) = setup();
    fill(&log, &mut v);
    let text = std::fs::read_to_string(log.path()).unwrap();
    assert!(!text.contains("pw\""));
    let key = AuditLog::load_key(&mut v).unwrap();
    assert!(!text.contains(&hex::encode(&*key.0)));
}

#[test]
fn connection_names_are_keyed_labels_in_the_file_and_names_to_the_unlocked_vault() {
    let (d, mut v, log) = setup();
    fill(&log, &mut v);
    let text = std::fs::read_to_string(log.path()).unwrap();
    let k = name_key(&mut v).unwrap();
    for i in 0..5 {
        assert!(!text.contains(&format!("\"c{i}\"")), "{text}");
        assert!(text.contains(&format!("\"{}\"", k.audit_label(&format!("c{i}")))));
    }
    // Not a plain hash: a guess hashed without the key matches nothing.
    let unkeyed = hex::encode(&Sha256::digest(b"c1")[..8]);
    assert!(!text.contains(&unkeyed));
    // The writer (vault unlocked) reads names back; a reader without the vault sees
    // labels; one given the vault sees names of what the vault holds.
    let named = |lines: &[Line]| -> Vec<String> {
        lines
            .iter()
            .filter_map(|l| l.event.connection().map(str::to_string))
            .collect()
    };
    assert_eq!(named(&log.read().unwrap()), ["c0", "c1", "c2", "c3", "c4"]);
    let cold = AuditLog::new(d.path());
    assert!(named(&cold.read().unwrap())
        .iter()
        .all(|c| c.starts_with(LABEL_PREFIX) && c.len() == 17));
    let c2 = crate::connection::Connection {
        info: crate::connection::sample_info("c2", 1, None),
        secrets: crate::connection::Secrets {
            access_token: "t".into(),
            refresh_token: None,
            client_secret: None,
            sealed: None,
        },
    };
    crate::connection::save_all(&mut v, &[c2]).unwrap();
    let shown = named(&cold.read_named(&mut v).unwrap());
    assert_eq!(shown[2], "c2");
    assert_eq!(
        shown[1],
        k.audit_label("c1"),
        "a removed connection: its label"
    );
    // Lines of an older build, with the name in the clear, still verify and show.
    let (mac, _) = log.key(&mut v).unwrap();
    let last = lines(&log).pop().unwrap();
    let mut old = Line {
        seq: 9,
        ts: 1,
        event: Event::RefreshOk {
            connection: "legacy".into(),
        },
        prev: hex::encode(Sha256::digest(last.as_bytes())),
        mac: None,
    };
    old.mac = Some(mac.mac(&old));
    let mut l = lines(&log);
    l.push(serde_json::to_string(&old).unwrap());
    write(&log, &l);
    assert_eq!(log.verify(&mut v).unwrap().broken, None);
    assert_eq!(named(&cold.read().unwrap())[5], "legacy");
    // A line naming a connection is never written without the vault (no name in the
    // clear, no label without the key).
    assert!(matches!(
        log.append(
            Event::RefreshOk {
                connection: "x".into()
            },
            None
        ),
        Err(AuditError::Locked)
    ));
}

#[cfg(unix)]
#[test]
fn fail_closed_a_symlink_at_the_log_is_moved_aside_never_written_through() {
    let (d, mut v, log) = setup();
    fill(&log, &mut v);
    let target = d.path().join("elsewhere");
    std::fs::write(&target, b"keep").unwrap();
    std::fs::rename(log.path(), d.path().join("real")).unwrap();
    std::os::unix::fs::symlink(&target, log.path()).unwrap();
    // Every way in refuses it, writes nothing through it, and moves the link aside.
    for attempt in 0..4 {
        let r = match attempt {
            0 => log.append(Event::vault_unlocked(), Some(&mut v)),
            1 => log.anchor(&mut v),
            2 => log.ready(),
            _ => log.read().map(drop),
        };
        assert!(
            matches!(r, Err(AuditError::SymlinkSetAside { .. })),
            "{attempt}: {r:?}"
        );
        let msg = r.unwrap_err().to_string();
        assert!(
            msg.contains("moved aside") && msg.contains("elsewhere"),
            "{msg}"
        );
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        assert!(!log.path().exists(), "the link is gone from the log's name");
        std::os::unix::fs::symlink(&target, log.path()).unwrap();
    }
    let aside = std::fs::read_dir(d.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("audit.jsonl.symlink-")
        })
        .count();
    assert_eq!(aside, 4);
    // Once it is gone, the log starts anew.
    std::fs::remove_file(log.path()).unwrap();
    log.append(Event::vault_unlocked(), Some(&mut v)).unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"keep");
}

#[test]
fn fail_closed_a_recorder_that_cannot_write_says_so() {
    let (d, v, log) = setup();
    let v = std::sync::Mutex::new(v);
    let rec = LogRecorder::new(&log, &v);
    rec.ready().unwrap();
    // The log's name taken by a directory: nothing can be appended.
    std::fs::remove_file(log.path()).unwrap();
    std::fs::create_dir(d.path().join("audit.jsonl")).unwrap();
    assert!(rec.ready().is_err());
    assert!(rec.try_record(Event::VaultLocked).is_err());
}

#[test]
fn a_connection_made_elsewhere_is_named_once_the_log_learns_the_vaults_names() {
    let (_d, mut v, log) = setup();
    log.append(Event::vault_unlocked(), Some(&mut v)).unwrap();
    // Another process (its own log handle) makes `later` and audits it.
    let other = AuditLog::new(log.path().parent().unwrap());
    let later = crate::connection::Connection {
        info: crate::connection::sample_info("later", 1, None),
        secrets: crate::connection::Secrets {
            access_token: "t".into(),
            refresh_token: None,
            client_secret: None,
            sealed: None,
        },
    };
    crate::connection::save_all(&mut v, &[later]).unwrap();
    other
        .append(
            Event::RefreshOk {
                connection: "later".into(),
            },
            Some(&mut v),
        )
        .unwrap();
    let shown = |log: &AuditLog| {
        log.read().unwrap()[1]
            .event
            .connection()
            .unwrap()
            .to_string()
    };
    assert!(shown(&log).starts_with(LABEL_PREFIX));
    log.learn_names(&v);
    assert_eq!(shown(&log), "later");
    // Locked: the key and the labels it maps are forgotten.
    log.forget_key();
    assert!(shown(&log).starts_with(LABEL_PREFIX));
}
