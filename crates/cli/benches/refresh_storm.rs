//! Refresh storm: N processes x M threads ask for the same connection's token at once,
//! just after it entered its refresh window. Prints the token-endpoint calls the server
//! saw (goal: exactly 1) and request latency percentiles relative to one bare refresh
//! round trip, measured in the same run.
//!
//! `tests/keyring-session.sh cargo bench -p token-wallet-cli --bench refresh_storm`
//! (needs `npm ci` in tests/oauth-server; N and M from TW_STORM_N / TW_STORM_M, default
//! 50 x 20).

use secrecy::ExposeSecret;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use token_wallet_core::audit::Event;
use token_wallet_core::oauth::{self, http::Http, Provider};
use token_wallet_core::ops::{self, Session};
use token_wallet_core::refresh::{Policy, Refresher};
use token_wallet_core::{open_vault, CreateOptions, KeystoreOptions, Passphrase, Profile, Vault};

/// The bench audits nothing: it measures refreshes, not the log.
struct NoAudit;

impl ops::Recorder for NoAudit {
    fn record(&self, _: Event) {}
}

const PASS: &str = "storm passphrase";

fn vault(home: &Path, profile: &str) -> (Vault, PathBuf) {
    let p = Profile::new(profile).unwrap();
    let data = p.data_dir(home);
    (open_vault(&p, &KeystoreOptions::os(), &data).unwrap(), data)
}

fn worker() {
    let home = PathBuf::from(std::env::var("TW_STORM_HOME").unwrap());
    let profile = std::env::var("TW_STORM_PROFILE").unwrap();
    let m: usize = std::env::var("TW_STORM_M").unwrap().parse().unwrap();
    let (v, data) = vault(&home, &profile);
    let v = Arc::new(Mutex::new(
        v.unlock(&Passphrase::new(PASS.into()).unwrap()).unwrap(),
    ));
    let r = Arc::new(Refresher::new(Http::new(), Policy::default(), data));
    println!("READY");
    std::io::stdout().flush().unwrap();
    let go = home.join("go");
    while !go.exists() {
        std::thread::sleep(Duration::from_millis(1));
    }
    let threads: Vec<_> = (0..m)
        .map(|_| {
            let (v, r) = (v.clone(), r.clone());
            std::thread::spawn(move || {
                let t = Instant::now();
                let tok = r
                    .access_token(&v, &"storm".parse().unwrap(), Duration::ZERO)
                    .unwrap();
                std::hint::black_box(tok.token.expose_secret().len());
                t.elapsed()
            })
        })
        .collect();
    for t in threads {
        println!("LAT {}", t.join().unwrap().as_micros());
    }
}

fn pct(sorted: &[u128], p: f64) -> u128 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    if std::env::var("TW_STORM_WORKER").is_ok() {
        return worker();
    }
    if !std::env::args().any(|a| a == "--bench") {
        return; // `cargo test --benches` runs this without --bench: nothing to do
    }
    let n = token_wallet_test_support::env_number("TW_STORM_N", 50);
    let m = token_wallet_test_support::env_number("TW_STORM_M", 20);
    let repo = token_wallet_test_support::oauth_server::repo();
    let mut server = Command::new("node")
        .arg(repo.join("tests/oauth-server/server.mjs"))
        .env("PORT", "0")
        .env("ACCESS_TTL", "6")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node");
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let issuer = serde_json::from_str::<serde_json::Value>(&line).unwrap()["issuer"]
        .as_str()
        .unwrap()
        .to_string();

    let home = tempfile::tempdir().unwrap();
    let profile = format!("storm-{:x}", std::process::id());
    let (v, data) = vault(home.path(), &profile);
    let vault_m = Mutex::new(
        v.create(
            &Passphrase::new(PASS.into()).unwrap(),
            &CreateOptions::insecure_for_tests(),
        )
        .unwrap(),
    );
    let provider = Provider {
        name: "local".into(),
        display_name: "Local".into(),
        authorize_url: format!("{issuer}/oauth/authorize"),
        token_url: format!("{issuer}/oauth/token"),
        api_base: None,
        default_scopes: vec!["offline_access".into(), "users:read".into()],
        redirect: oauth::RedirectMode::Loopback,
        client_auth: oauth::ClientAuth::None,
        client_id: Some("tw-public".into()),
        revocation: oauth::Revocation::None,
        check: oauth::Check::None,
        kind: None,
    };
    let browser = repo.join("tests/oauth-server/browser");
    let open = |link: &oauth::SignInLink<'_>| -> Result<(), String> {
        Command::new(&browser)
            .arg(link.start)
            .spawn()
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    let setup = Refresher::new(Http::new(), Policy::default(), data.clone());
    for name in ["storm", "probe"] {
        Session::new(&vault_m, &setup, &NoAudit)
            .connect(
                ops::ConnectRequest {
                    name: &name.parse().unwrap(),
                    provider: &provider,
                    client_id: None,
                    client_secret: None,
                    scopes: vec![],
                },
                oauth::Interaction {
                    open: &open,
                    pasted: None,
                    cancel: &AtomicBool::new(false),
                    reopen: None,
                    timeout: Duration::from_secs(30),
                },
            )
            .unwrap();
    }
    drop(setup);
    // One bare refresh round trip (median of 5), on the probe connection.
    let r = Refresher::new(Http::new(), Policy::default(), data.clone());
    let mut bare: Vec<u128> = (0..5)
        .map(|_| {
            let t = Instant::now();
            r.force(&vault_m, &"probe".parse().unwrap()).unwrap();
            t.elapsed().as_micros()
        })
        .collect();
    bare.sort();
    let bare = bare[2];

    // Start the workers; release them together once the token is in its refresh window
    // (3 s of a 6 s token).
    let workers: Vec<_> = (0..n)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .env("TW_STORM_WORKER", "1")
                .env("TW_STORM_HOME", home.path())
                .env("TW_STORM_PROFILE", &profile)
                .env("TW_STORM_M", m.to_string())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut readers: Vec<_> = workers
        .into_iter()
        .map(|mut w| {
            let mut r = BufReader::new(w.stdout.take().unwrap());
            let mut l = String::new();
            r.read_line(&mut l).unwrap();
            assert_eq!(l.trim(), "READY");
            (w, r)
        })
        .collect();
    std::thread::sleep(Duration::from_millis(3300));
    ureq::post(format!("{issuer}/_test/reset-stats"))
        .send_empty()
        .unwrap();
    std::fs::write(home.path().join("go"), b"").unwrap();
    let mut lat: Vec<u128> = Vec::new();
    for (w, r) in readers.iter_mut() {
        for l in r.lines() {
            let l = l.unwrap();
            if let Some(x) = l.strip_prefix("LAT ") {
                lat.push(x.parse().unwrap());
            }
        }
        assert!(w.wait().unwrap().success());
    }
    let stats: serde_json::Value = serde_json::from_slice(
        &ureq::get(format!("{issuer}/_test/stats"))
            .call()
            .unwrap()
            .body_mut()
            .read_to_vec()
            .unwrap(),
    )
    .unwrap();
    lat.sort();
    let rel = |x: u128| x as f64 / bare as f64;
    println!("refresh storm: {n} processes x {m} threads = {} requests just after the refresh window opened", lat.len());
    println!(
        "token-endpoint refreshes seen by the server: {} (goal: exactly 1); failures: {}",
        stats["refreshes"], stats["refresh_failures"]
    );
    println!(
        "one bare refresh round trip (median of 5): {:.1} ms",
        bare as f64 / 1000.0
    );
    for (label, p) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0)] {
        let v = pct(&lat, p);
        println!(
            "request latency {label}: {:.1} ms = {:.2} x one bare refresh",
            v as f64 / 1000.0,
            rel(v)
        );
    }
    let ks = v.keystore();
    if let Ok(Some(names)) = ks.list_raw() {
        for name in names {
            let _ = ks.delete_raw(&name);
        }
    }
    let _ = server.kill();
    let _ = server.wait();
}
