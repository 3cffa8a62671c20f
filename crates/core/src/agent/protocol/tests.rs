use super::*;
use crate::agent::AgentError;
use crate::connection::{ConnectionName, CredentialKind};
use secrecy::{ExposeSecret, SecretString};
use std::io::Read;
use std::time::Duration;

fn parse(s: &str) -> Result<Request, AgentError> {
    Request::parse(s.as_bytes())
}

#[test]
fn requests_round_trip() {
    for r in [
        Request::Token {
            name: "acme".parse().unwrap(),
            min_ttl: Duration::from_secs(300),
        },
        Request::List,
        Request::Status,
        Request::Lock,
        Request::Stop,
        Request::Unlock {
            passphrase: SecretString::from("pass phrase"),
        },
    ] {
        let f = r.encode();
        let back = Request::parse(&f[..f.len() - 1]).unwrap();
        assert!(!format!("{back:?}").contains("pass phrase"));
        assert_eq!(std::mem::discriminant(&back), std::mem::discriminant(&r));
    }
    match parse(r#"{"v":1,"op":"token","name":"a","min_ttl_secs":60}"#).unwrap() {
        Request::Token { name, min_ttl } => {
            assert_eq!(name, "a");
            assert_eq!(min_ttl, Duration::from_secs(60));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn fail_bad_requests_say_what_is_wrong() {
    let cases = [
        ("{nope", "bad_request", "invalid JSON"),
        ("[]", "bad_request", "not a request"),
        (
            r#"{"op":"status"}"#,
            "bad_request",
            "missing protocol version",
        ),
        (
            r#"{"v":2,"op":"status"}"#,
            "unsupported_version",
            "version 2",
        ),
        (r#"{"v":1}"#, "bad_request", "missing `op`"),
        (r#"{"v":1,"op":"fly"}"#, "bad_request", "unknown op `fly`"),
        (r#"{"v":1,"op":"token"}"#, "bad_request", "needs `name`"),
        (
            r#"{"v":1,"op":"token","name":"../x"}"#,
            "bad_request",
            "invalid connection name",
        ),
        (
            r#"{"v":1,"op":"status","name":"a"}"#,
            "bad_request",
            "unexpected field",
        ),
        (
            r#"{"v":1,"op":"status","extra":1}"#,
            "bad_request",
            "unknown field",
        ),
        (
            r#"{"v":1,"op":"token","name":"a","min_ttl_secs":"x"}"#,
            "bad_request",
            "wrong type",
        ),
        (
            r#"{"v":1,"op":"token","name":"a","min_ttl_secs":99999999999}"#,
            "bad_request",
            "more than a year",
        ),
        (
            r#"{"v":1,"op":"unlock"}"#,
            "bad_request",
            "needs `passphrase`",
        ),
    ];
    for (input, kind, text) in cases {
        let e = parse(input).unwrap_err();
        assert_eq!(e.kind(), kind, "{input}");
        assert!(e.to_string().contains(text), "{input}: {e}");
    }
}

#[test]
fn fail_a_wrongly_typed_passphrase_is_not_echoed() {
    let e = parse(r#"{"v":1,"op":"unlock","passphrase":["hunter2-secret"]}"#).unwrap_err();
    assert!(!e.to_string().contains("hunter2"), "{e}");
    let e =
        parse(r#"{"v":1,"op":"token","name":"a","min_ttl_secs":"hunter2-secret"}"#).unwrap_err();
    assert!(!e.to_string().contains("hunter2"), "{e}");
}

#[test]
fn replies_round_trip() {
    let info = crate::connection::sample_info("a", 1, Some(100));
    let r = Reply::Token(Box::new(Issued {
        token: SecretString::from("tok"),
        expires_at: Some(100),
        refreshed: true,
        info: info.clone(),
    }));
    let f = r.encode();
    let req = Request::Token {
        name: "a".parse().unwrap(),
        min_ttl: Duration::ZERO,
    };
    match Reply::parse(&f[..f.len() - 1], &req).unwrap() {
        Reply::Token(t) => {
            assert_eq!(t.token.expose_secret(), "tok");
            assert!(t.refreshed);
            assert_eq!(t.info, info);
        }
        _ => panic!("not a token"),
    }
    let f = Reply::Error(AgentError::Locked).encode();
    match Reply::parse(&f[..f.len() - 1], &req).unwrap() {
        Reply::Error(e) => assert_eq!(e, AgentError::Locked),
        _ => panic!("not an error"),
    }
}

struct Bytes<'a>(&'a [u8], usize);
impl Read for Bytes<'_> {
    fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.len().min(self.1).min(b.len());
        b[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}
impl Timed for Bytes<'_> {
    fn set_timeout(&self, _: Option<Duration>) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn frames_split_and_joined() {
    let mut r = FrameReader::new(Bytes(b"{\"a\":1}\n{\"b\":2}\r\n", 3));
    let t = Duration::from_secs(1);
    assert!(matches!(r.next(t).unwrap(), Frame::Line(l) if &l[..] == b"{\"a\":1}"));
    assert!(matches!(r.next(t).unwrap(), Frame::Line(l) if &l[..] == b"{\"b\":2}"));
    assert!(matches!(r.next(t).unwrap(), Frame::Closed));
}

#[test]
fn replies_may_be_larger_than_requests() {
    // A `list` of a thousand connections is far over a request's limit.
    let mut big = vec![b'x'; 900 * 1024];
    big.push(b'\n');
    let mut r = FrameReader::replies(Bytes(&big, 4096));
    assert!(
        matches!(r.next(Duration::from_secs(5)).unwrap(), Frame::Line(l) if l.len() == 900 * 1024)
    );
    let mut r = FrameReader::new(Bytes(&big, 4096));
    assert_eq!(
        r.next(Duration::from_secs(5)).unwrap_err(),
        AgentError::TooLarge(MAX_FRAME)
    );
}

#[test]
fn fail_a_reply_over_its_limit() {
    let big = vec![b'x'; MAX_REPLY + 10];
    let mut r = FrameReader::replies(Bytes(&big, 1 << 16));
    assert_eq!(
        r.next(Duration::from_secs(30)).unwrap_err(),
        AgentError::TooLarge(MAX_REPLY)
    );
}

#[test]
fn fail_oversized_and_truncated_frames() {
    let big = vec![b'x'; MAX_FRAME + 10];
    let mut r = FrameReader::new(Bytes(&big, 4096));
    assert_eq!(
        r.next(Duration::from_secs(1)).unwrap_err(),
        AgentError::TooLarge(MAX_FRAME)
    );
    let mut r = FrameReader::new(Bytes(b"{\"v\":1", 100));
    assert_eq!(
        r.next(Duration::from_secs(1)).unwrap_err().kind(),
        "bad_request"
    );
}

#[test]
fn the_secret_bearing_requests_round_trip_and_never_show_their_secret() {
    let provider = crate::connection::sample_info("a", 1, None).provider;
    let name: ConnectionName = "k".parse().unwrap();
    for r in [
        Request::AddKey {
            name: name.clone(),
            provider: Box::new(provider.clone()),
            secret: SecretString::from("pasted-api-key-secret"),
            expires_at: Some(1_900_000_000),
            verify: false,
        },
        Request::AddToken {
            name: name.clone(),
            kind: CredentialKind::StaticBasic,
            label: "ci".into(),
            secret: SecretString::from("pasted-api-key-secret"),
            expires_at: None,
        },
        Request::RotateSecret {
            name: name.clone(),
            secret: SecretString::from("pasted-api-key-secret"),
            expires_at: None,
            verify: true,
        },
        Request::Prune {
            inactive_days: 30,
            dry_run: true,
        },
        Request::Audit { since: Some(5) },
    ] {
        let f = r.encode();
        let back = Request::parse(&f[..f.len() - 1]).unwrap();
        assert!(!format!("{back:?}").contains("pasted-api-key"));
        assert_eq!(std::mem::discriminant(&back), std::mem::discriminant(&r));
        match (&r, back) {
            (
                Request::AddKey { provider: p, .. },
                Request::AddKey {
                    provider,
                    secret,
                    expires_at,
                    verify,
                    ..
                },
            ) => {
                assert_eq!(*provider, **p);
                assert_eq!(secret.expose_secret(), "pasted-api-key-secret");
                assert_eq!((expires_at, verify), (Some(1_900_000_000), false));
            }
            (_, Request::AddToken { kind, label, .. }) => {
                assert_eq!((kind, label.as_str()), (CredentialKind::StaticBasic, "ci"));
            }
            (
                _,
                Request::Prune {
                    inactive_days,
                    dry_run,
                },
            ) => {
                assert_eq!((inactive_days, dry_run), (30, true));
            }
            (_, Request::Audit { since }) => assert_eq!(since, Some(5)),
            _ => {}
        }
    }
}

#[test]
fn fail_each_op_takes_only_its_own_fields() {
    let cases = [
        (
            r#"{"v":1,"op":"token","name":"a","secret":"s"}"#,
            "unexpected field `secret` for `token`",
        ),
        (
            r#"{"v":1,"op":"prune","name":"a","inactive_days":1}"#,
            "unexpected field `name` for `prune`",
        ),
        (r#"{"v":1,"op":"prune"}"#, "`prune` needs `inactive_days`"),
        (
            r#"{"v":1,"op":"add_key","name":"a","secret":"s"}"#,
            "`add_key` needs `provider`",
        ),
        (
            r#"{"v":1,"op":"add_token","name":"a","label":"l","kind":"static-raw"}"#,
            "`add_token` needs `secret`",
        ),
        (
            r#"{"v":1,"op":"rotate_secret","name":"a"}"#,
            "`rotate_secret` needs `secret`",
        ),
        (
            r#"{"v":1,"op":"audit","passphrase":"p"}"#,
            "unexpected field `passphrase` for `audit`",
        ),
    ];
    for (input, text) in cases {
        let e = parse(input).unwrap_err();
        assert_eq!(e.kind(), "bad_request", "{input}");
        assert!(e.to_string().contains(text), "{input}: {e}");
    }
}

#[test]
fn the_new_replies_round_trip() {
    use crate::ops::{Disconnected, Pruned, Replaced, Rotated};
    let info = crate::connection::sample_info("a", 1, Some(100));
    let req = Request::Prune {
        inactive_days: 1,
        dry_run: false,
    };
    let pruned = vec![
        Pruned {
            name: "a".parse().unwrap(),
            reason: crate::audit::PruneReason::Unused(3),
            outcome: None,
        },
        Pruned {
            name: "b".parse().unwrap(),
            reason: crate::audit::PruneReason::RefreshTokenDead,
            outcome: Some(Ok(Disconnected::Pending("down".into()))),
        },
        Pruned {
            name: "c".parse().unwrap(),
            reason: crate::audit::PruneReason::Unused(9),
            outcome: Some(Err("refused".into())),
        },
    ];
    let f = Reply::Pruned(pruned).encode();
    match Reply::parse(&f[..f.len() - 1], &req).unwrap() {
        Reply::Pruned(p) => {
            assert_eq!(p.len(), 3);
            assert!(p[0].outcome.is_none());
            assert_eq!(p[1].outcome, Some(Ok(Disconnected::Pending("down".into()))));
            assert_eq!(p[1].reason, crate::audit::PruneReason::RefreshTokenDead);
            assert_eq!(p[2].outcome, Some(Err("refused".into())));
        }
        _ => panic!("not pruned"),
    }
    let old = Replaced {
        client_id: Some("cid".into()),
        application: None,
        added_at: 7,
        expires_at: Some(9),
    };
    let f = Reply::Rotated(Box::new(Rotated {
        info: info.clone(),
        old: old.clone(),
    }))
    .encode();
    let req = Request::RotateSecret {
        name: "a".parse().unwrap(),
        secret: SecretString::from("x"),
        expires_at: None,
        verify: true,
    };
    match Reply::parse(&f[..f.len() - 1], &req).unwrap() {
        Reply::Rotated(r) => assert_eq!((r.info, r.old), (info, old)),
        _ => panic!("not rotated"),
    }
    let verdict = crate::audit::Verdict {
        lines: 3,
        authenticated: 2,
        broken: Some((3, "bad mac".into())),
    };
    let f = Reply::Audit(Vec::new(), verdict).encode();
    match Reply::parse(&f[..f.len() - 1], &Request::Audit { since: None }).unwrap() {
        Reply::Audit(l, v) => {
            assert!(l.is_empty());
            assert_eq!(v.broken, Some((3, "bad mac".into())));
        }
        _ => panic!("not audit"),
    }
}
