//! `token-wallet proxy` against the real test OAuth server and its small Pleo-like API
//! (which checks the bearer token it issued), attacked as a local attacker would: no or a
//! wrong capability, another user on the Unix socket, requests outside `--allow`, a path
//! that means another path, a redirect to another host, request smuggling (CL+TE), CR in a
//! header, a foreign `Host`, an absolute URL, a slow-loris client, and an API that echoes
//! the request. The token is searched for in every answer, the proxy's log at trace and
//! the audit log; `run` resolves `tw://proxy/NAME`.
#![cfg(unix)]

mod common;

use common::agent::{audit_log, AgentProc};
use common::keys::{add_key, base64_of};
use common::oauth::*;
use common::proxy::*;
use common::*;
use std::io::Write;
use std::time::{Duration, Instant};

fn api_calls(w: &World) -> u64 {
    w.server.stats()["api_calls"].as_u64().unwrap_or(0)
}

#[test]
fn the_proxy_forwards_with_the_token_and_refuses_every_attack() {
    let w = World::connected("proxy", 3600, "r", "local-api");
    let (access, refresh) = w.tokens("r");
    let refresh = refresh.unwrap();
    // The socket in a directory any user may enter: only the peer check keeps others out.
    let sock_dir = tempfile::tempdir().unwrap();
    common::chmod(sock_dir.path(), 0o755);
    let sock = sock_dir.path().join("proxy.sock");
    let p = ProxyProc::start(
        &w,
        "r",
        &[
            "--allow",
            "GET /v1/expenses*",
            "--allow",
            "POST /v1/export-jobs",
            "--allow",
            "* /v1/echo",
            "--allow",
            "GET /v1/moved",
            "--socket",
            path_str(&sock),
        ],
        true,
    );
    let mut answers: Vec<Answer> = Vec::new();
    let cap = format!("Bearer {}", p.capability);
    assert!(p.capability.starts_with("twp_"));
    assert_ne!(p.capability, access);

    // Allowed: a GET with a query, a POST with a body.
    let a = p.get("/v1/expenses?limit=5");
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.json()["data"].as_array().unwrap().len(), 5);
    answers.push(a);
    let a = p.send(
        "POST",
        "/v1/export-jobs",
        &[
            ("Authorization", &cap),
            ("Content-Type", "application/json"),
        ],
        br#"{"format":"csv"}"#,
    );
    assert_eq!(a.status, 201, "{}", a.text());
    assert_eq!(a.json()["data"]["format"], "csv");
    answers.push(a);
    // The capability as Proxy-Authorization works too.
    let a = p.send("GET", "/v1/expenses", &[("Proxy-Authorization", &cap)], b"");
    assert_eq!(a.status, 200, "{}", a.text());
    answers.push(a);
    let served = api_calls(&w);

    // Refused before the API, each with the proxy's own answer.
    let other_cap = "Bearer twp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let refused: Vec<(&str, Answer, u16)> = vec![
        ("no capability", p.send("GET", "/v1/expenses", &[], b""), 401),
        (
            "a wrong capability",
            p.send("GET", "/v1/expenses", &[("Authorization", other_cap)], b""),
            401,
        ),
        (
            "the provider's own token instead of the capability",
            p.send("GET", "/v1/expenses", &[("Authorization", &format!("Bearer {access}"))], b""),
            401,
        ),
        (
            "a method outside --allow",
            p.send("DELETE", "/v1/expenses/exp-001", &[("Authorization", &cap)], b""),
            403,
        ),
        (
            "a path outside --allow",
            p.send("GET", "/v1/installations/me", &[("Authorization", &cap)], b""),
            403,
        ),
        (
            "a dot segment",
            p.send("GET", "/v1/expenses/../installations/me", &[("Authorization", &cap)], b""),
            400,
        ),
        (
            "an encoded dot segment",
            p.send("GET", "/v1/expenses/%2e%2e/installations/me", &[("Authorization", &cap)], b""),
            400,
        ),
        (
            "an encoded slash",
            p.send("GET", "/v1/expenses%2f..%2finstallations", &[("Authorization", &cap)], b""),
            400,
        ),
        (
            "a foreign Host (DNS rebinding)",
            raw(
                p.addr,
                format!("GET /v1/expenses HTTP/1.1\r\nHost: evil.example:{}\r\nAuthorization: {cap}\r\nConnection: close\r\n\r\n", p.addr.port()).as_bytes(),
            ),
            421,
        ),
        (
            "an absolute URL (forward-proxy use)",
            raw(
                p.addr,
                format!("GET http://127.0.0.1:9/v1/expenses HTTP/1.1\r\nHost: {}\r\nAuthorization: {cap}\r\nConnection: close\r\n\r\n", p.addr).as_bytes(),
            ),
            400,
        ),
        (
            "CONNECT",
            raw(
                p.addr,
                format!("CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\nAuthorization: {cap}\r\n\r\n").as_bytes(),
            ),
            0,
        ),
        (
            "Content-Length with Transfer-Encoding (smuggling)",
            raw(
                p.addr,
                format!("POST /v1/export-jobs HTTP/1.1\r\nHost: {}\r\nAuthorization: {cap}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\nGET /v1/installations/me HTTP/1.1\r\nHost: {}\r\n\r\n", p.addr, p.addr).as_bytes(),
            ),
            411,
        ),
        (
            "CR inside a header value",
            raw(
                p.addr,
                format!("GET /v1/expenses HTTP/1.1\r\nHost: {}\r\nAuthorization: {cap}\r\nX-Injected: a\rInjected: b\r\nConnection: close\r\n\r\n", p.addr).as_bytes(),
            ),
            400,
        ),
        (
            "an obsolete folded header",
            raw(
                p.addr,
                format!("GET /v1/expenses HTTP/1.1\r\nHost: {}\r\nAuthorization: {cap}\r\nX-Folded: a\r\n b\r\nConnection: close\r\n\r\n", p.addr).as_bytes(),
            ),
            400,
        ),
    ];
    for (what, a, want) in refused {
        if want == 0 {
            // Refused at any status of 4xx (hyper or the proxy), or the connection closed.
            assert!(
                a.status == 0 || (400..500).contains(&a.status),
                "{what}: {}",
                a.status
            );
        } else {
            assert_eq!(
                a.status,
                want,
                "{what}: {}",
                String::from_utf8_lossy(&a.raw)
            );
        }
        answers.push(a);
    }
    assert_eq!(api_calls(&w), served, "no refused request reached the API");

    // A redirect to another host comes back to the client; the proxy does not follow it.
    let a = p.get("/v1/moved");
    assert_eq!(a.status, 302);
    assert_eq!(a.header("location"), Some("http://127.0.0.2:9/steal"));
    answers.push(a);

    // An API that echoes its request: it saw the header (the proxy added it) and neither
    // the client's own Authorization nor its cookie; the token is concealed in the echo's
    // body and headers, and the session cookie it set is dropped.
    let a = p.send(
        "POST",
        "/v1/echo",
        &[
            ("Authorization", &cap),
            ("Cookie", "sid=client-cookie"),
            ("Connection", "close, X-Hop"),
            ("X-Hop", "hop-by-hop"),
        ],
        b"{}",
    );
    assert_eq!(a.status, 200, "{}", a.text());
    let echo = a.json();
    let seen_auth = echo["headers"]["authorization"].as_str().unwrap();
    assert!(
        seen_auth.starts_with("<concealed by token-wallet>"),
        "{seen_auth}"
    );
    assert!(
        echo["headers"].get("cookie").is_none(),
        "the client's cookie was dropped"
    );
    assert!(
        echo["headers"].get("x-hop").is_none(),
        "a header Connection names was dropped"
    );
    assert!(echo["headers"].get("proxy-authorization").is_none());
    assert!(
        a.header("set-cookie").is_none(),
        "the API's cookie was dropped"
    );
    assert!(a
        .header("x-echo-authorization")
        .unwrap()
        .contains("<concealed"));
    answers.push(a);

    // The Unix socket: this user needs no capability; another user is refused by the
    // peer's uid even when the socket's mode lets them connect.
    let via_socket = |bytes: &[u8]| {
        let mut s = std::os::unix::net::UnixStream::connect(&sock).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.write_all(bytes).unwrap();
        read_answer(&mut s)
    };
    let a = via_socket(
        b"GET /v1/expenses?limit=2 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(a.status, 200, "{}", a.text());
    answers.push(a);
    common::chmod(&sock, 0o777);
    let other_tcp = other_user_tcp(p.addr);
    assert!(
        other_tcp.starts_with("HTTP/1.1 401"),
        "another user over TCP: {other_tcp}"
    );
    let other = other_user_request(&sock);
    assert!(
        !other.contains("HTTP/1.1 200") && !other.contains("exp-0"),
        "another user was served: {other}"
    );

    // A slow-loris client holds a connection open sending a byte at a time: others are
    // still served at once, and the proxy closes the slow one after its header deadline.
    let mut slow = std::net::TcpStream::connect(p.addr).unwrap();
    slow.write_all(b"GET /v1/expenses HTTP/1.1\r\nHo").unwrap();
    let started = Instant::now();
    for _ in 0..5 {
        let t = Instant::now();
        let a = p.get("/v1/expenses?limit=1");
        assert_eq!(a.status, 200);
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "served while a client is slow"
        );
        let _ = slow.write_all(b"s");
        std::thread::sleep(Duration::from_millis(300));
    }
    slow.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut buf = Vec::new();
    let _ = std::io::Read::read_to_end(&mut slow, &mut buf);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the slow client was cut off within the header deadline ({:?})",
        started.elapsed()
    );

    // `run` hands the running proxy's address and capability to a tool.
    let o = w.cli(
        &[
            "run",
            "--",
            "sh",
            "-c",
            "printf '%s %s' \"$TW_CAP\" \"$TW_URL\"",
        ],
        &[("TW_CAP", "tw://proxy/r"), ("TW_URL", "tw://proxy/r/url")],
        "",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), format!("{} {}", p.capability, p.url));
    let o = w.cli(&["run", "--", "true"], &[("TW_CAP", "tw://proxy/nope")], "");
    assert!(!o.status.success());
    assert_contains(
        &stderr(&o),
        "`TW_CAP` refers to the proxy of `nope`, which is not running",
    );

    let capability = p.capability.clone();
    let log = p.stop();
    assert_contains(&log, "proxy stopped:");
    assert_contains(&log, "refused a proxy client of another user");
    // The state file `run` read is gone with the proxy.
    let o = w.cli(&["run", "--", "true"], &[("TW_CAP", "tw://proxy/r")], "");
    assert!(!o.status.success(), "no proxy runs now");

    // The token in no answer, the log at trace, the audit log.
    let secrets = [access.as_str(), refresh.as_str()];
    for a in &answers {
        assert_absent_in(
            &String::from_utf8_lossy(&a.raw),
            &secrets,
            "an answer of the proxy",
        );
    }
    assert_absent_in(&log, &secrets, "the proxy's log (trace)");
    let audit = audit_log(&w);
    assert_absent_in(&audit, &secrets, "the audit log");
    assert_absent_in(
        &audit,
        &[capability.as_str()],
        "the audit log (the capability)",
    );
    assert_absent_in(
        &log,
        &[capability.as_str()],
        "the proxy's log (the capability)",
    );

    // Audited: the requests by method, path (no query) and status, with the client.
    let lines: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|l: &serde_json::Value| l["event"] == "proxied")
        .collect();
    let find = |m: &str, path: &str, status: u64| {
        lines
            .iter()
            .filter(|l| l["method"] == m && l["path"] == path && l["status"] == status)
            .map(|l| l["requests"].as_u64().unwrap())
            .sum::<u64>()
    };
    assert!(find("GET", "/v1/expenses", 200) >= 8, "{lines:?}");
    assert_eq!(find("POST", "/v1/export-jobs", 201), 1);
    assert_eq!(find("DELETE", "/v1/expenses/exp-001", 403), 1);
    // Refusals before the capability is checked name no method or path (their client
    // could be anyone): one line.
    assert!(find("*", "(not authenticated)", 401) >= 3, "{lines:?}");
    assert_eq!(find("GET", "/v1/expenses", 401), 0);
    assert_eq!(find("GET", "/v1/moved", 302), 1);
    assert!(
        lines
            .iter()
            .any(|l| l["process"].as_str().is_some_and(|p| p.contains("proxy-"))),
        "a client's process is named: {lines:?}"
    );
    assert!(lines
        .iter()
        .all(|l| !l["path"].as_str().unwrap().contains('?')));
    let o = w.with_pass(&["audit", "verify"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
}

/// A request to `sock` by the attacker user; what came back.
fn other_user_request(sock: &std::path::Path) -> String {
    use common::attacker::*;
    require_root(AS_OTHERS);
    let script = format!(
        "import socket\ns=socket.socket(socket.AF_UNIX)\ns.settimeout(20)\ntry:\n  s.connect({:?})\n  s.sendall(b'GET /v1/expenses HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n')\n  print(s.recv(65536).decode('latin1'))\nexcept Exception as e:\n  print('refused:', e)\n",
        sock.display().to_string()
    );
    let mut c = as_user(ATTACKER, std::path::Path::new("/usr/bin/python3"));
    c.args(["-c", &script]);
    let o = run_recorded(&mut c, "");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A TCP request by the attacker user, without the capability; what came back.
fn other_user_tcp(addr: std::net::SocketAddr) -> String {
    use common::attacker::*;
    let script = format!(
        "import socket\ns=socket.create_connection(('127.0.0.1',{}),20)\ns.sendall(b'GET /v1/expenses HTTP/1.1\\r\\nHost: 127.0.0.1:{}\\r\\nConnection: close\\r\\n\\r\\n')\nprint(s.recv(65536).decode('latin1'))\n",
        addr.port(),
        addr.port()
    );
    let mut c = as_user(ATTACKER, std::path::Path::new("/usr/bin/python3"));
    c.args(["-c", &script]);
    let o = run_recorded(&mut c, "");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// An HTTPS API with a certificate of its own CA: refused unless `--ca-file` names that
/// CA, then answered; the token reaches it over the verified connection only.
#[test]
fn the_upstreams_tls_is_verified_against_the_platform_or_the_given_ca() {
    let w = World::connected("proxytls", 3600, "r", "local-api");
    let dir = w.env.home.path();
    let (key, cert, ca) = (dir.join("tls.key"), dir.join("tls.pem"), dir.join("ca.pem"));
    // A private CA, and the API's certificate issued by it.
    let ext = dir.join("ext.cnf");
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    let p = |s: &std::path::PathBuf| s.display().to_string();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut steps: Vec<Vec<String>> = Vec::new();
    let mut step = |a: &[&str]| steps.push(a.iter().map(|s| s.to_string()).collect());
    let (ca_key, csr) = (p(&dir.join("ca.key")), p(&dir.join("tls.csr")));
    step(
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-subj",
                "/CN=token-wallet test CA",
                "-days",
                "1",
                "-keyout",
                &ca_key,
                "-out",
                &p(&ca),
            ],
        ]
        .concat(),
    );
    step(
        &[
            &["req"][..],
            &ec,
            &["-subj", "/CN=127.0.0.1", "-keyout", &p(&key), "-out", &csr],
        ]
        .concat(),
    );
    step(&[
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        &p(&ca),
        "-CAkey",
        &ca_key,
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        &p(&ext),
        "-out",
        &p(&cert),
    ]);
    for a in steps {
        let o = std::process::Command::new("openssl")
            .args(&a)
            .output()
            .expect("openssl (scripts/setup installs it)");
        assert!(
            o.status.success(),
            "openssl {a:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    // A tiny HTTPS API that says whether a token came, never the token itself.
    let script = format!(
        "const https=require('node:https'),fs=require('node:fs');\
         const s=https.createServer({{key:fs.readFileSync({:?}),cert:fs.readFileSync({:?})}},(q,r)=>{{r.setHeader('content-type','application/json');r.end(JSON.stringify({{bearer:/^Bearer ./.test(q.headers.authorization||''),path:q.url}}))}});\
         s.listen(0,'127.0.0.1',()=>console.log(s.address().port));",
        key.display().to_string(),
        cert.display().to_string()
    );
    let mut node = Killed(
        std::process::Command::new("node")
            .args(["-e", &script])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let port = deadline::read_line(node.0.stdout.take().unwrap(), Duration::from_secs(30))
        .expect("the HTTPS API's port")
        .trim()
        .to_string();
    let upstream = format!("https://127.0.0.1:{port}/api");

    let p = ProxyProc::start(&w, "r", &["--upstream", &upstream], true);
    let a = p.get("/v1/anything");
    assert_eq!(a.status, 502, "{}", a.text());
    assert_contains(&a.text().to_lowercase(), "certificate");
    p.stop();

    let p = ProxyProc::start(
        &w,
        "r",
        &["--upstream", &upstream, "--ca-file", path_str(&ca)],
        true,
    );
    let a = p.get("/v1/anything?x=1");
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.json()["bearer"], true);
    assert_eq!(
        a.json()["path"],
        "/api/v1/anything?x=1",
        "the base path is kept"
    );
    p.stop();

    // A plain-HTTP upstream off this machine is refused before anything listens.
    let o = w.with_pass(&["proxy", "r", "--upstream", "http://10.0.0.1/"]);
    assert!(!o.status.success());
    assert_contains(&stderr(&o), "must be https://");
}

/// A child killed when the test ends, passed or not.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = deadline::wait(&mut self.0, Duration::from_secs(30), "the HTTPS API");
    }
}

/// A Pleo API key through the proxy (its header is `Basic base64(key:)`, which never holds
/// the key as typed): an API that echoes the request shows neither the key nor its
/// base64, whatever the client asks for (gzip, a range, a method override); an answer
/// compressed anyway is not passed on; `TRACE` is refused; a lock and unlock between the
/// proxy's asks still drops the key it held; once the agent locks, the proxy stops handing
/// the key on within seconds, and its refusals meanwhile are audited once it unlocks.
#[test]
fn a_key_is_concealed_in_every_form_and_a_locked_agent_stops_the_proxy() {
    let w = World::new("proxykey");
    let key = w.server.mint_api_key(serde_json::json!({}))["key"]
        .as_str()
        .unwrap()
        .to_string();
    let o = add_key(&w, "k", &key, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    // An agent that hangs up on a client silent for 2 s: the proxy's connection to it,
    // idle between its asks, connects again each time.
    let agent = AgentProc::start(&w, &["--frame-timeout", "2"]);
    let p = ProxyProc::start(&w, "k", &[], false);
    let cap = format!("Bearer {}", p.capability);
    let basic = base64_of(&format!("{key}:"));
    let a = p.send(
        "POST",
        "/v1/echo",
        &[
            ("Authorization", &cap),
            ("Accept-Encoding", "gzip"),
            ("Range", "bytes=0-20"),
            ("X-HTTP-Method-Override", "DELETE"),
        ],
        b"{}",
    );
    assert_eq!(a.status, 200, "{}", a.text());
    let echo = a.json();
    assert_eq!(echo["headers"]["accept-encoding"], "identity");
    assert!(echo["headers"].get("range").is_none());
    assert!(echo["headers"].get("x-http-method-override").is_none());
    assert!(
        echo["headers"]["authorization"]
            .as_str()
            .unwrap()
            .starts_with("<concealed"),
        "{echo}"
    );
    let raw = String::from_utf8_lossy(&a.raw).into_owned();
    assert_absent_in(&raw, &[&key, &basic], "the echo through the proxy");
    let t = raw_trace(&p);
    assert_eq!(t.status, 405, "{}", t.text());
    // An API that compresses although asked not to: the proxy cannot look into the
    // answer, so it passes none of it on (the gzip here holds the key's header).
    let z = p.send("POST", "/v1/echo?gzip=1", &[("Authorization", &cap)], b"{}");
    assert_eq!(z.status, 502, "{}", z.text());
    assert_contains(&z.text(), "Content-Encoding: gzip although asked for none");
    let raw = String::from_utf8_lossy(&z.raw).into_owned();
    assert_absent_in(
        &raw,
        &[&key, &basic],
        "a compressed answer through the proxy",
    );
    let head = raw.split("\r\n\r\n").next().unwrap_or_default();
    assert!(
        !head.to_ascii_lowercase().contains("content-encoding"),
        "{raw}"
    );

    // Idle past the agent's frame deadline: still served, and still told of a lock.
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(p.get("/v1/expenses").status, 200);

    // Locked and unlocked again between two of the proxy's asks (2 s apart): the key it
    // held is still dropped (the agent's lock count moved), and taken again afterwards.
    let o = w.cli(&["lock"], &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    let o = w.with_pass(&["agent", "unlock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !p.log_now().contains("its token is dropped") {
        assert!(
            Instant::now() < deadline,
            "the key was not dropped after a lock and unlock: {}",
            p.log_now()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(p.get("/v1/expenses").status, 200);

    // The agent locks: within a few seconds the proxy holds no key and refuses.
    let o = w.cli(&["lock"], &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    let calls = w.server.stats()["api_key_uses"].as_u64().unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(15);
    let refused = loop {
        let a = p.get("/v1/expenses");
        if a.status == 503 {
            break a;
        }
        assert!(
            Instant::now() < deadline,
            "still forwarding after the lock: {}",
            a.status
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_contains(&refused.text(), "no token");
    let after = w.server.stats()["api_key_uses"].as_u64().unwrap_or(0);
    let again = p.get("/v1/expenses");
    assert_eq!(again.status, 503);
    assert_eq!(
        w.server.stats()["api_key_uses"].as_u64().unwrap_or(0),
        after,
        "nothing reached the API once refused"
    );
    assert!(after >= calls);
    // The refusals while locked could not be audited then: they are kept, and written
    // once the agent is unlocked (here, at the proxy's stop).
    let o = w.with_pass(&["agent", "unlock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let log = p.stop();
    assert_absent_in(&log, &[&key, &basic], "the proxy's log");
    assert_eq!(
        log.matches("its token is dropped").count(),
        2,
        "dropped after the lock and unlock, and after the lock: {log}"
    );
    agent.stop(&w);
    let refusals: u64 = audit_log(&w)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["event"] == "proxied" && l["path"] == "/v1/expenses" && l["status"] == 503)
        .map(|l| l["requests"].as_u64().unwrap())
        .sum();
    assert!(
        refusals >= 2,
        "the refusals while locked are audited: {log}"
    );
}

fn raw_trace(p: &ProxyProc) -> Answer {
    p.send(
        "TRACE",
        "/v1/echo",
        &[("Authorization", &format!("Bearer {}", p.capability))],
        b"",
    )
}
