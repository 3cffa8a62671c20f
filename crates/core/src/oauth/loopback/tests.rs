use super::*;
use secrecy::ExposeSecret;
use std::io::{Read, Write};
use std::net::TcpStream;

fn send(uri: &str, host: &str, path_and_query: &str) -> String {
    let u = Url::parse(uri).unwrap();
    let mut s = TcpStream::connect((u.host_str().unwrap(), u.port().unwrap())).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path_and_query} HTTP/1.1\r\nHost: {host}\r\n\r\n").unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

fn get(uri: &str, path_and_query: &str) -> String {
    let port = Url::parse(uri).unwrap().port().unwrap();
    send(uri, &format!("127.0.0.1:{port}"), path_and_query)
}

/// The start address's path in the private page at `page` (a `file://` URL), as a
/// browser would follow it; also checks the page is this user's only.
fn start_path(page: &str) -> String {
    let path = Url::parse(page).unwrap().to_file_path().unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
    }
    let html = std::fs::read_to_string(&path).unwrap();
    let at = html.find("/start/").unwrap();
    html[at..at + "/start/".len() + 32].to_string()
}

/// Waits on `l` for the callback with state `st4te`, at most `secs` seconds.
fn wait(l: &Listener, secs: u64) -> Result<Callback, OAuthError> {
    l.wait(
        "st4te",
        Duration::from_secs(secs),
        &AtomicBool::new(false),
        None,
        None,
    )
}

fn run(requests: Vec<&'static str>) -> (Result<Callback, OAuthError>, Vec<String>) {
    let l = Listener::bind(None).unwrap();
    let uri = l.redirect_uri().to_string();
    let t = std::thread::spawn(move || {
        requests
            .into_iter()
            .map(|r| get(&uri, r))
            .collect::<Vec<_>>()
    });
    let r = wait(&l, 5);
    (r, t.join().unwrap())
}

#[test]
fn ignores_strays_then_accepts_the_right_callback() {
    let (r, answers) = run(vec![
        "/favicon.ico",
        "/",
        "/callback",
        "/callback?code=c0de&state=st4te",
    ]);
    assert_eq!(r.unwrap().code.expose_secret(), "c0de");
    assert!(answers[0].starts_with("HTTP/1.1 404"));
    assert!(answers[1].starts_with("HTTP/1.1 404"));
    assert!(answers[2].starts_with("HTTP/1.1 400"));
    assert!(answers[3].starts_with("HTTP/1.1 200"));
    assert!(!answers[3].contains("c0de"), "nothing reflected");
}

#[test]
fn fail_wrong_or_missing_state_is_ignored_and_the_sign_in_goes_on() {
    let (r, answers) = run(vec![
        "/callback?code=attacker&state=other",
        "/callback?code=attacker",
        "/callback?error=access_denied&state=other",
        "/callback?code=c0de&state=st4te",
    ]);
    assert_eq!(r.unwrap().code.expose_secret(), "c0de");
    for a in &answers[..3] {
        assert!(a.starts_with("HTTP/1.1 400"), "{a}");
    }
}

#[test]
fn fail_foreign_host_is_ignored() {
    let l = Listener::bind(None).unwrap();
    let uri = l.redirect_uri().to_string();
    let t = std::thread::spawn(move || {
        let a = send(&uri, "evil.example:80", "/callback?code=x&state=st4te");
        let b = get(&uri, "/callback?code=c0de&state=st4te");
        (a, b)
    });
    let r = wait(&l, 5);
    assert_eq!(r.unwrap().code.expose_secret(), "c0de");
    assert!(t.join().unwrap().0.starts_with("HTTP/1.1 400"));
}

#[test]
fn fail_slow_client_holds_no_one_up() {
    let l = Listener::bind(None).unwrap();
    let uri = l.redirect_uri().to_string();
    let port = Url::parse(&uri).unwrap().port().unwrap();
    // One byte every 1.5 s, for longer than the whole wait.
    let slow = std::thread::spawn(move || {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            for b in b"GET /callback?code=slow&state=st4te HTTP/1.1\r\n" {
                if s.write_all(&[*b]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1500));
            }
        }
    });
    std::thread::sleep(Duration::from_millis(100));
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        get(&uri, "/callback?code=c0de&state=st4te")
    });
    let began = Instant::now();
    let r = wait(&l, 20);
    assert_eq!(r.unwrap().code.expose_secret(), "c0de");
    assert!(began.elapsed() < Duration::from_secs(10));
    t.join().unwrap();
    drop(slow);
}

#[test]
fn start_address_redirects_once() {
    let l = Listener::bind(None).unwrap();
    let start = l
        .start_url("http://127.0.0.1:9/oauth/authorize?state=s&code_challenge=c")
        .unwrap();
    assert!(start.starts_with("file:///"), "{start}");
    let page = Url::parse(&start).unwrap().to_file_path().unwrap();
    let uri = l.redirect_uri().to_string();
    let path = start_path(&start);
    let t = std::thread::spawn(move || {
        let a = get(&uri, &path);
        let b = get(&uri, &path);
        let c = get(&uri, "/start/00");
        get(&uri, "/callback?code=c0de&state=st4te");
        (a, b, c)
    });
    wait(&l, 5).unwrap();
    let (a, b, c) = t.join().unwrap();
    assert!(
        !page.exists(),
        "the page is deleted once the browser used it"
    );
    assert!(!page.parent().unwrap().exists());
    assert!(a.starts_with("HTTP/1.1 302"), "{a}");
    assert!(a.contains("Location: http://127.0.0.1:9/oauth/authorize?state=s&code_challenge=c\r\n"));
    assert!(b.starts_with("HTTP/1.1 404"), "used once: {b}");
    assert!(c.starts_with("HTTP/1.1 404"));
}

#[test]
fn opening_again_mints_a_fresh_one_time_address_and_kills_the_old_one() {
    use std::sync::{Arc, Mutex};
    let l = Listener::bind(None).unwrap();
    let first = l
        .start_url("http://127.0.0.1:9/oauth/authorize?state=s")
        .unwrap();
    let first_path = start_path(&first);
    let uri = l.redirect_uri().to_string();
    let asked = AtomicBool::new(true);
    let opened = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = opened.clone();
    let open = move |u: &str| -> Result<(), String> {
        seen.lock().unwrap().push(u.to_string());
        Ok(())
    };
    let client = {
        let opened = opened.clone();
        std::thread::spawn(move || {
            // The browser given the fresh address: it redirects, once; the first is dead.
            let fresh = loop {
                if let Some(u) = opened.lock().unwrap().first().cloned() {
                    break u;
                }
                std::thread::sleep(Duration::from_millis(10));
            };
            let fresh_path = start_path(&fresh);
            let a = get(&uri, &fresh_path);
            let old = get(&uri, &first_path);
            get(&uri, "/callback?code=c0de&state=st4te");
            (fresh, a, old)
        })
    };
    let waited = l.wait(
        "st4te",
        Duration::from_secs(10),
        &AtomicBool::new(false),
        None,
        Some(Reopen {
            asked: &asked,
            open: &open,
        }),
    );
    assert!(waited.is_ok());
    assert!(!asked.load(Ordering::SeqCst), "the wait clears the request");
    let (fresh, a, old) = client.join().unwrap();
    assert_ne!(fresh, first);
    assert!(a.starts_with("HTTP/1.1 302"), "{a}");
    assert!(
        old.starts_with("HTTP/1.1 404"),
        "the first address died: {old}"
    );
    assert_eq!(opened.lock().unwrap().len(), 1, "opened once per request");
}

#[test]
fn missing_code_with_the_right_state_ends_the_wait() {
    let (r, _) = run(vec!["/callback?state=st4te"]);
    assert!(matches!(r, Err(OAuthError::MissingCode)));
}

#[test]
fn fail_access_denied() {
    let (r, a) = run(vec![
        "/callback?error=access_denied&error_description=no%0A%1Bway&state=st4te",
    ]);
    match r {
        Err(OAuthError::Denied { error, description }) => {
            assert_eq!(error, "access_denied");
            assert_eq!(description.as_deref(), Some("noway"));
        }
        _ => panic!(),
    }
    assert!(!a[0].contains("noway"));
}

#[test]
fn fail_timeout_and_cancel() {
    let l = Listener::bind(None).unwrap();
    let r = l.wait(
        "s",
        Duration::from_millis(100),
        &AtomicBool::new(false),
        None,
        None,
    );
    assert!(matches!(r, Err(OAuthError::Timeout(_))));
    let r = l.wait(
        "s",
        Duration::from_secs(5),
        &AtomicBool::new(true),
        None,
        None,
    );
    assert!(matches!(r, Err(OAuthError::Cancelled)));
}

#[test]
fn fail_pinned_port_taken() {
    let busy = TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = busy.local_addr().unwrap().port();
    let p = Pinned::parse(&format!("http://localhost:{port}/callback")).unwrap();
    assert!(matches!(Listener::bind(Some(&p)), Err(OAuthError::PortInUse(x)) if x == port));
}

#[test]
fn fail_pinned_localhost_with_ipv6_loopback_squatted() {
    // Someone holds [::1]:PORT: a browser resolving localhost to it would hand them
    // the code, so the sign-in refuses to start.
    let Ok(squat) = TcpListener::bind(("::1", 0)) else {
        return; // no IPv6 loopback on this machine: nobody can squat it either
    };
    let port = squat.local_addr().unwrap().port();
    if TcpListener::bind(("127.0.0.1", port)).is_err() {
        return; // the port is taken on IPv4 too; not the case under test
    }
    let p = Pinned::parse(&format!("http://localhost:{port}/callback")).unwrap();
    assert!(matches!(Listener::bind(Some(&p)), Err(OAuthError::PortInUse(x)) if x == port));
    // Free: both addresses are ours.
    drop(squat);
    let l = Listener::bind(Some(&p)).unwrap();
    assert_eq!(l.sockets.len(), 2);
}

#[test]
fn pasted_redirect_url_is_accepted() {
    let l = Listener::bind(None).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    tx.send("not a url".to_string()).unwrap();
    tx.send(format!("{}?code=pasted&state=st4te", l.redirect_uri()))
        .unwrap();
    let r = l.wait(
        "st4te",
        Duration::from_secs(5),
        &AtomicBool::new(false),
        Some(&rx),
        None,
    );
    assert_eq!(r.unwrap().code.expose_secret(), "pasted");
}

#[test]
fn heads_parse_and_hostile_ones_do_not_panic() {
    let h = parse_head(b"GET /callback?a=b HTTP/1.1\r\nHOST: LocalHost:80\r\n\r\n");
    assert_eq!(h.path, "/callback");
    assert_eq!(h.query, "a=b");
    assert_eq!(h.host.as_deref(), Some("localhost:80"));
    for bad in [
        &b""[..],
        b"\xff\xfe",
        b"GET",
        b"\r\n\r\n",
        b"GET  HTTP/1.1\r\nHost\r\n",
    ] {
        let h = parse_head(bad);
        assert!(h.host.is_none() || bad.is_empty());
    }
}

#[test]
fn pinned_parse() {
    assert!(
        Pinned::parse("http://localhost:8976/callback")
            .unwrap()
            .localhost
    );
    assert!(
        !Pinned::parse("http://127.0.0.1:8976/callback")
            .unwrap()
            .localhost
    );
    assert!(Pinned::parse("https://localhost:8976/callback").is_err());
    assert!(Pinned::parse("http://example.com:8976/callback").is_err());
    assert!(Pinned::parse("http://localhost/callback").is_err());
}
