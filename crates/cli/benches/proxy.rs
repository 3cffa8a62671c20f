//! The proxy's cost, measured in one run on loopback against the test server's API: the
//! same `GET /v1/expenses?limit=1` sent directly with the key's `Authorization` and sent
//! through `token-wallet proxy` with the capability, interleaved one by one over kept-alive
//! connections (p50, p99, ratio); then 200 concurrent clients through the proxy (errors,
//! p50, p99) beside 200 sent directly; and the proxy's resident memory at rest and its peak
//! under that load (`VmRSS`, `VmHWM`). Goals: p50 <= 1.1x and <= +1 ms, p99 <= 1.5x, 200
//! concurrent clients with no error.
//!
//! `tests/keyring-session.sh cargo bench -p token-wallet-cli --bench proxy`
//! (rounds from TW_BENCH_ROUNDS, default 2000).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use token_wallet_test_support::oauth_server::OAuthServer;

const PASS: &str = "bench proxy passphrase";
const CLIENTS: usize = 200;
const PER_CLIENT: usize = 10;

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(60)))
            .max_idle_connections_per_host(4)
            .build(),
    )
}

fn get(a: &ureq::Agent, url: &str, auth: &str) -> (Duration, u16) {
    let t = Instant::now();
    let mut r = a
        .get(url)
        .header("Authorization", auth)
        .call()
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let _ = r.body_mut().read_to_vec();
    (t.elapsed(), r.status().as_u16())
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn cli(home: &std::path::Path, providers: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_token-wallet"));
    c.env("TOKEN_WALLET_HOME", home)
        .env("TOKEN_WALLET_PROFILE", "bench-proxy")
        .env("XDG_RUNTIME_DIR", home.join("run"))
        .env_remove("TOKEN_WALLET_LOG")
        .arg("--providers")
        .arg(providers);
    c
}

/// Runs `n` requests in each of `CLIENTS` threads at once; the latencies and the errors.
fn storm(url: &str, auth: &str) -> (Vec<Duration>, usize) {
    let url = Arc::new(url.to_string());
    let auth = Arc::new(auth.to_string());
    let gate = Arc::new(std::sync::Barrier::new(CLIENTS));
    let threads: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (url, auth, gate) = (url.clone(), auth.clone(), gate.clone());
            std::thread::spawn(move || {
                let a = agent();
                gate.wait();
                let mut out = Vec::new();
                let mut errors = 0;
                for _ in 0..PER_CLIENT {
                    let t = Instant::now();
                    match a
                        .get(url.as_str())
                        .header("Authorization", auth.as_str())
                        .call()
                    {
                        Ok(mut r) if r.status() == 200 => {
                            let _ = r.body_mut().read_to_vec();
                            out.push(t.elapsed());
                        }
                        _ => errors += 1,
                    }
                }
                (out, errors)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for t in threads {
        let (o, e) = t.join().unwrap();
        all.extend(o);
        errors += e;
    }
    (all, errors)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rounds = token_wallet_test_support::env_number("TW_BENCH_ROUNDS", 2000);
    let server = OAuthServer::start(3600);
    let i = &server.issuer;
    let mut r = agent()
        .post(format!("{i}/_test/api-keys"))
        .header("Content-Type", "application/json")
        .send(r#"{"scope":"users:read"}"#)
        .unwrap();
    let key: serde_json::Value =
        serde_json::from_slice(&r.body_mut().read_to_vec().unwrap()).unwrap();
    let key = key["key"].as_str().unwrap().to_string();
    let home = tempfile::tempdir().unwrap();
    let run = home.path().join("run");
    std::fs::create_dir(&run).unwrap();
    #[cfg(unix)]
    std::fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let providers = home.path().join("providers.toml");
    std::fs::write(
        &providers,
        format!("[providers.local-pleo]\ndisplay_name = \"Local Pleo\"\nauthorize_url = \"{i}/oauth/authorize\"\ntoken_url = \"{i}/oauth/token\"\napi_base = \"{i}\"\nrevocation = \"pleo\"\ncheck = \"pleo\"\nclient_id = \"tw-public\"\nscopes = [\"users:read\"]\n"),
    )
    .unwrap();
    let pass = home.path().join("pass");
    std::fs::write(&pass, PASS).unwrap();
    let pass = pass.to_str().unwrap();
    let o = cli(home.path(), &providers)
        .args([
            "init",
            "--passphrase-file",
            pass,
            "--kdf-memory-kib",
            "1024",
            "--kdf-iterations",
            "1",
            "--kdf-parallelism",
            "1",
            "--insecure-weak-kdf",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut c = cli(home.path(), &providers)
        .args([
            "add-key",
            "k",
            "--provider",
            "local-pleo",
            "--key-stdin",
            "--passphrase-file",
            pass,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(c.stdin.take().unwrap(), "{key}").unwrap();
    let o = c.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut proxy = cli(home.path(), &providers)
        .args([
            "proxy",
            "k",
            "--json",
            "--passphrase-file",
            pass,
            "--allow",
            "GET /v1/expenses*",
            "--allow",
            "GET /v1/slow",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = proxy.id();
    let mut line = String::new();
    BufReader::new(proxy.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).expect("the proxy's JSON line");
    let purl = format!("{}/v1/expenses?limit=1", v["urls"][0].as_str().unwrap());
    let cap = format!("Bearer {}", v["capability"].as_str().unwrap());
    let durl = format!("{i}/v1/expenses?limit=1");
    use base64::Engine as _;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
    );

    let rest_kib = kib(pid, "VmRSS:");
    let (da, pa) = (agent(), agent());
    for _ in 0..50 {
        assert_eq!(get(&da, &durl, &basic).1, 200);
        assert_eq!(get(&pa, &purl, &cap).1, 200);
    }
    let warm_kib = kib(pid, "VmRSS:");
    let (mut direct, mut proxied) = (Vec::new(), Vec::new());
    for n in 0..rounds {
        // Interleaved, alternating which goes first.
        if n % 2 == 0 {
            direct.push(get(&da, &durl, &basic).0);
            proxied.push(get(&pa, &purl, &cap).0);
        } else {
            proxied.push(get(&pa, &purl, &cap).0);
            direct.push(get(&da, &durl, &basic).0);
        }
    }
    // The same, for an answer the API takes 5 ms to make (a real API's are slower still).
    let (mut dslow, mut pslow) = (Vec::new(), Vec::new());
    let (ds, ps) = (
        format!("{i}/v1/slow?ms=5"),
        purl.replace("/v1/expenses?limit=1", "/v1/slow?ms=5"),
    );
    for _ in 0..(rounds / 5).max(20) {
        dslow.push(get(&da, &ds, &basic).0);
        pslow.push(get(&pa, &ps, &cap).0);
    }
    let (d50, p50) = (pct(&mut direct, 0.5), pct(&mut proxied, 0.5));
    let (d99, p99) = (pct(&mut direct, 0.99), pct(&mut proxied, 0.99));
    let (mut sd, derr) = storm(&durl, &basic);
    let (mut sp, perr) = storm(&purl, &cap);
    let peak_kib = kib(pid, "VmHWM:");
    let after_kib = kib(pid, "VmRSS:");
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = proxy.wait();

    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!("proxy bench: {rounds} interleaved GET /v1/expenses?limit=1, kept-alive, loopback");
    println!("| | direct | through the proxy | ratio / added | goal |");
    println!("|---|---|---|---|---|");
    println!(
        "| p50 | {} | {} | {:.2}x, +{} | <= 1.1x and <= +1 ms |",
        ms(d50),
        ms(p50),
        ratio(p50, d50),
        ms(p50.saturating_sub(d50))
    );
    println!(
        "| p99 | {} | {} | {:.2}x | <= 1.5x |",
        ms(d99),
        ms(p99),
        ratio(p99, d99)
    );
    let (s50, t50) = (pct(&mut dslow, 0.5), pct(&mut pslow, 0.5));
    let (s99, t99) = (pct(&mut dslow, 0.99), pct(&mut pslow, 0.99));
    println!(
        "| an answer the API takes 5 ms over: p50 / p99 | {} / {} | {} / {} | {:.2}x, +{} / {:.2}x | |",
        ms(s50),
        ms(s99),
        ms(t50),
        ms(t99),
        ratio(t50, s50),
        ms(t50.saturating_sub(s50)),
        ratio(t99, s99)
    );
    println!("| {CLIENTS} concurrent clients x {PER_CLIENT}: errors | {derr} | {perr} | | 0 |");
    println!(
        "| ... their p50 / p99 | {} / {} | {} / {} | {:.2}x / {:.2}x | |",
        ms(pct(&mut sd, 0.5)),
        ms(pct(&mut sd, 0.99)),
        ms(pct(&mut sp, 0.5)),
        ms(pct(&mut sp, 0.99)),
        ratio(pct(&mut sp, 0.5), pct(&mut sd, 0.5)),
        ratio(pct(&mut sp, 0.99), pct(&mut sd, 0.99))
    );
    println!(
        "proxy memory: {rest_kib} KiB at rest, {warm_kib} KiB after warm-up, peak {peak_kib} KiB under {CLIENTS} clients, {after_kib} KiB after"
    );
}
