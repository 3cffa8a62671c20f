//! The keystore adapter's tests: chunked values and their damage, the commit point,
//! reserved names, a store that never answers.

use super::*;

fn mem(cap: usize) -> Keystore {
    Keystore::open(
        "test",
        &KeystoreOptions {
            kind: StoreKind::Memory,
            chunk_cap: cap,
            timeout: Duration::from_secs(5),
        },
    )
    .unwrap()
}

#[test]
fn small_and_large_values_round_trip_and_clean_up() {
    let ks = mem(100);
    ks.set("x", b"small").unwrap();
    assert_eq!(ks.get("x").unwrap().unwrap(), b"small");
    let big: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
    ks.set("x", &big).unwrap();
    assert_eq!(ks.get("x").unwrap().unwrap(), big);
    assert_eq!(ks.raw_count().unwrap().unwrap(), 1 + 10);
    // Next large value goes to the other slot and the old slot is removed.
    let big2: Vec<u8> = vec![7; 450];
    ks.set("x", &big2).unwrap();
    assert_eq!(ks.get("x").unwrap().unwrap(), big2);
    let names = ks.list_raw().unwrap().unwrap();
    assert_eq!(names.len(), 1 + 5);
    assert!(names.iter().all(|n| n == "x" || n.starts_with("x~b")));
    ks.set("x", b"small again").unwrap();
    assert_eq!(ks.raw_count().unwrap().unwrap(), 1);
    ks.delete("x").unwrap();
    assert_eq!(ks.raw_count().unwrap().unwrap(), 0);
    assert!(ks.get("x").unwrap().is_none());
}

#[test]
fn fail_missing_chunk_is_reported() {
    let ks = mem(100);
    ks.set("x", &[1u8; 350]).unwrap();
    ks.delete_raw("x~a2").unwrap();
    match ks.get("x") {
        Err(KeystoreError::MissingChunk {
            index: 2, count: 4, ..
        }) => {}
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn fail_swapped_chunk_is_reported() {
    let ks = mem(100);
    ks.set("x", &[1u8; 350]).unwrap();
    ks.set_raw("x~a1", &[2u8; 100]).unwrap();
    assert!(matches!(ks.get("x"), Err(KeystoreError::Corrupt { .. })));
}

#[test]
fn crash_before_head_switch_keeps_old_value() {
    let ks = mem(100);
    ks.set("x", &[1u8; 350]).unwrap();
    // Simulate a crash after writing the new value's chunks to slot b but before the
    // head switch: the old value still reads whole, and the next write cleans slot b.
    for i in 0..6 {
        ks.set_raw(&chunk_name("x", b'b', i), &[9u8; 100]).unwrap();
    }
    assert_eq!(ks.get("x").unwrap().unwrap(), vec![1u8; 350]);
    ks.set("x", &[3u8; 250]).unwrap();
    assert_eq!(ks.get("x").unwrap().unwrap(), vec![3u8; 250]);
    let names = ks.list_raw().unwrap().unwrap();
    assert_eq!(names.len(), 1 + 3, "{names:?}");
}

#[test]
fn delete_removes_chunks_no_head_points_to() {
    let ks = mem(100);
    // A crash while writing a new value's chunks, before its first head existed.
    ks.set_raw(&chunk_name("x", b'a', 0), &[1u8; 100]).unwrap();
    ks.set_raw(&chunk_name("x", b'a', 1), &[1u8; 100]).unwrap();
    ks.delete("x").unwrap();
    assert_eq!(ks.raw_count().unwrap().unwrap(), 0);
}

#[test]
fn fail_reserved_names() {
    let ks = mem(100);
    assert!(matches!(
        ks.set("a~b", b"x"),
        Err(KeystoreError::InvalidName(_))
    ));
    assert!(matches!(ks.get(""), Err(KeystoreError::InvalidName(_))));
}

struct Hang;
impl Backend for Hang {
    fn get(&self, _: &str, _: &str) -> Result<Option<Vec<u8>>, BackendError> {
        std::thread::sleep(Duration::from_secs(3600));
        Ok(None)
    }
    fn set(&self, _: &str, _: &str, _: &[u8]) -> Result<(), BackendError> {
        std::thread::sleep(Duration::from_secs(3600));
        Ok(())
    }
    fn delete(&self, _: &str, _: &str) -> Result<(), BackendError> {
        Ok(())
    }
    fn list(&self, _: &str) -> Result<Option<Vec<String>>, BackendError> {
        Ok(None)
    }
}

#[test]
fn fail_a_store_that_never_answers_times_out() {
    let mut ks = mem(100);
    ks.backend = Arc::new(Hang);
    ks.timeout = Duration::from_millis(100);
    let t = std::time::Instant::now();
    let err = ks.get("x").unwrap_err();
    assert!(
        matches!(err, KeystoreError::Timeout { op: "read", .. }),
        "{err}"
    );
    assert!(t.elapsed() < Duration::from_secs(5));
}
