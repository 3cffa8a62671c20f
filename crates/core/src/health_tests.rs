use super::*;
use crate::connection::{ConnectionInfo, Status};

/// The shared vectors (`tests/vectors/health.json`), which the UI's `statusOf` is checked
/// against too.
const VECTORS: &str = include_str!("../../../tests/vectors/health.json");

fn info(case: &serde_json::Value, now: u64) -> ConnectionInfo {
    let mut i = ConnectionInfo::new(
        &"c".parse().unwrap(),
        crate::oauth::presets().remove(0),
        "client".into(),
        vec![],
        now - 60,
        case["expiresIn"]
            .as_i64()
            .map(|d| now.checked_add_signed(d).unwrap()),
    );
    i.has_refresh_token = case["hasRefreshToken"].as_bool().unwrap();
    if let Some(kind) = case["kind"].as_str() {
        i.kind = serde_json::from_value(kind.into()).unwrap();
    }
    i.check_error = case["checkError"].as_str().map(String::from);
    if let Some(s) = case["installationStatus"].as_str() {
        i.check
            .insert(crate::facts::INSTALLATION_STATUS.into(), s.into());
    }
    i.refresh_failures = case["refreshFailures"].as_u64().unwrap() as u32;
    i.refreshing_since = case["refreshing"].as_bool().unwrap().then_some(now - 5);
    i.status = match case["status"].as_str().unwrap() {
        "active" => Status::Active,
        "needsReauthorisation" => Status::NeedsReauthorisation {
            since: now,
            reason: "r".into(),
        },
        "revocationPending" => Status::RevocationPending {
            since: now,
            attempts: 1,
            last_error: "e".into(),
        },
        other => panic!("unknown status {other} in the vectors"),
    };
    i
}

#[test]
fn every_shared_vector() {
    let v: serde_json::Value = serde_json::from_str(VECTORS).unwrap();
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 20);
    let now = 1_800_000_000;
    for case in cases {
        let got = Health::of(&info(case, now), now);
        assert_eq!(
            got.key(),
            case["expect"].as_str().unwrap(),
            "{}",
            case["name"]
        );
    }
}

#[test]
fn a_connection_that_refreshes_itself_never_needs_attention_for_its_expiry() {
    let v: serde_json::Value = serde_json::from_str(VECTORS).unwrap();
    let now = 1_800_000_000;
    for case in v["cases"].as_array().unwrap() {
        let i = info(case, now);
        // (An installation in error needs attention whatever the tokens' expiry.)
        if i.has_refresh_token
            && i.status == Status::Active
            && i.refresh_failures == 0
            && !i.installation_broken()
            && i.installation_unknown().is_none()
        {
            assert!(!Health::of(&i, now).needs_attention(), "{}", case["name"]);
        }
    }
}

#[test]
fn warnings_come_at_30_7_and_1_days() {
    let now = 1_800_000_000;
    let day = 86_400;
    assert_eq!(days_left(now + 3600, now), 0);
    assert_eq!(days_left(now + day, now), 1);
    assert_eq!(days_left(now + 2 * day - 1, now), 1);
    assert_eq!(days_left(now - 5, now), 0);
    let levels: Vec<_> = [31 * day, 30 * day, 8 * day, 7 * day, 2 * day, day, 3600, 0]
        .map(|left| warning_level(now + left, now))
        .into();
    assert_eq!(
        levels,
        [
            None,
            Some(30),
            Some(30),
            Some(7),
            Some(7),
            Some(1),
            Some(1),
            None
        ]
    );
}

#[test]
fn until_names_the_next_change_by_the_clock_and_nothing_changes_before_it() {
    let v: serde_json::Value = serde_json::from_str(VECTORS).unwrap();
    let now = 1_800_000_000;
    for case in v["cases"].as_array().unwrap() {
        let i = info(case, now);
        let here = Health::of(&i, now);
        match Health::until(&i, now) {
            Some(at) => {
                assert!(at > now, "{}", case["name"]);
                assert_ne!(Health::of(&i, at), here, "{}", case["name"]);
                // Nothing in between (checked every minute and just before).
                for t in (now..at).step_by(60).chain([at - 1]) {
                    assert_eq!(Health::of(&i, t), here, "{} at {t}", case["name"]);
                }
            }
            // Nothing changes by the clock: not in the next 400 days.
            None => {
                for d in 0..400 {
                    assert_eq!(Health::of(&i, now + d * 86_400), here, "{}", case["name"]);
                }
            }
        }
    }
    // A key 40 days from its date: warned at 30 days, then counted down day by day.
    let mut k = info(
        &serde_json::json!({"status": "active", "hasRefreshToken": false,
        "kind": "api-key", "expiresIn": 40 * 86_400, "refreshFailures": 0, "refreshing": false}),
        now,
    );
    k.check_error = None;
    let first = Health::until(&k, now).unwrap();
    assert_eq!(first, now + 10 * 86_400);
    assert_eq!(Health::of(&k, first), Health::KeyExpiring(30));
    let next = Health::until(&k, first).unwrap();
    assert_eq!(
        (next, Health::of(&k, next)),
        (first + 1, Health::KeyExpiring(29))
    );
    let next = Health::until(&k, next).unwrap();
    assert_eq!(
        (next, Health::of(&k, next)),
        (first + 86_400 + 1, Health::KeyExpiring(28))
    );
}

#[test]
fn health_is_sent_as_a_key_and_its_count() {
    let j = |h: Health| serde_json::to_string(&h).unwrap();
    assert_eq!(j(Health::Active), r#"{"key":"active"}"#);
    assert_eq!(j(Health::KeyExpiring(5)), r#"{"key":"keyExpiring","n":5}"#);
    assert_eq!(j(Health::NeedsReauthorisation), r#"{"key":"needsReauth"}"#);
    assert_eq!(
        j(Health::RefreshFailing(2)),
        r#"{"key":"refreshFailing","n":2}"#
    );
    // The same words as `key()`, for every vector.
    let v: serde_json::Value = serde_json::from_str(VECTORS).unwrap();
    for case in v["cases"].as_array().unwrap() {
        let h = Health::of(&info(case, 1_800_000_000), 1_800_000_000);
        let sent: serde_json::Value = serde_json::from_str(&j(h)).unwrap();
        assert_eq!(sent["key"], h.key(), "{}", case["name"]);
    }
}
