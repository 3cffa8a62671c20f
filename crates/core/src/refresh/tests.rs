use super::*;
use crate::connection::Secrets;

fn conn(issued: u64, expires: Option<u64>) -> Connection {
    Connection {
        info: connection::sample_info("c", issued, expires),
        secrets: Secrets::default(),
    }
}

#[test]
fn refresh_window() {
    let p = Policy::default();
    // 10-minute token: window 60 s.
    let c = conn(1000, Some(1600));
    assert!(!needs_refresh(&c, &p, Duration::ZERO, 1539));
    assert!(needs_refresh(&c, &p, Duration::ZERO, 1541));
    // 2-hour token: window 10 % = 720 s.
    let c = conn(0, Some(7200));
    assert!(!needs_refresh(&c, &p, Duration::ZERO, 6479));
    assert!(needs_refresh(&c, &p, Duration::ZERO, 6481));
    // 4-second token: at most half its lifetime.
    let c = conn(100, Some(104));
    assert!(!needs_refresh(&c, &p, Duration::ZERO, 101));
    assert!(needs_refresh(&c, &p, Duration::ZERO, 103));
    // min_ttl wins when larger.
    let c = conn(1000, Some(1600));
    assert!(needs_refresh(&c, &p, Duration::from_secs(300), 1400));
    // No expiry known: never ahead of time.
    assert!(!needs_refresh(
        &conn(0, None),
        &p,
        Duration::ZERO,
        u64::MAX / 2
    ));
}

#[test]
fn backoff_doubles_with_jitter_and_honours_retry_after() {
    let r = Refresher::new(Http::new(), Policy::default(), PathBuf::from("."));
    for attempt in 1..4u32 {
        let b = r.backoff(attempt, None);
        let base = Duration::from_millis(500 * (1 << (attempt - 1)));
        assert!(b >= base && b <= base.mul_f64(1.5), "{attempt}: {b:?}");
    }
    assert_eq!(
        r.backoff(1, Some(Duration::from_secs(3))),
        Duration::from_secs(3)
    );
    assert_eq!(
        r.backoff(1, Some(Duration::from_secs(3600))),
        Duration::from_secs(30)
    );
}
