use super::*;

#[test]
fn events_list_their_name_and_fields_as_text() {
    let e = Event::Export {
        connection: "pleo".into(),
        pid: Some(42),
        process: None,
        parent_pid: None,
        parent_process: None,
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

fn setup() -> (tempfile::TempDir, UnlockedVault, AuditLog) {
    let (dir, _, v) = crate::vault::memory_vault();
    let log = AuditLog::new(dir.path());
    (dir, v, log)
}

fn fill(log: &AuditLog, v: &mut UnlockedVault) {
    log.append(Event::VaultCreated, Some(v)).unwrap();
    log.append(Event::UnlockFailed, None).unwrap();
    log.append(Event::VaultUnlocked, Some(v)).unwrap();
    for i in 0..5 {
        log.append(
            Event::Export {
                connection: format!("c{i}"),
                pid: Some(42),
                process: Some("curl".into()),
                parent_pid: None,
                parent_process: None,
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
    l[4] = l[4].replace("\"c1\"", "\"c9\"");
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
                event: Event::UnlockFailed,
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
