//! P1: the wall time of a whole `token-wallet token NAME` process with the agent
//! unlocked, against `secret-tool lookup` of one item in the same Secret Service and
//! `gh auth token` (which reads a plaintext hosts.yml), measured interleaved in one run;
//! and the same `token` without an agent (Argon2id at the default 64 MiB / t=3 / p=4).
//! Goals: <= 0.5x `secret-tool lookup`, <= 0.2x `gh auth token`, <= 2x a bare process
//! start (`/bin/true`): the floor any command-line answer pays.
//!
//! `tests/keyring-session.sh cargo bench -p token-wallet-cli --bench export`
//! (rounds from TW_BENCH_ROUNDS, default 60).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use token_wallet_core::connection::{self, Connection, ConnectionInfo, Secrets};
use token_wallet_core::{open_vault, CreateOptions, KeystoreOptions, Passphrase, Profile};

const PASS: &str = "bench export passphrase";
const TOKEN: &str = "bench-access-token-0123456789abcdefghijklmnopqrstuv";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_token-wallet")
}

fn time(cmd: &mut Command, expect: &str) -> Duration {
    let t = Instant::now();
    let o = cmd.stdin(Stdio::null()).output().unwrap();
    let d = t.elapsed();
    assert!(
        o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == expect,
        "{cmd:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    d
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn tw(home: &Path) -> Command {
    let mut c = Command::new(bin());
    c.env("TOKEN_WALLET_HOME", home)
        .env("TOKEN_WALLET_PROFILE", "bench-export")
        .env_remove("TOKEN_WALLET_LOG");
    c
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return; // `cargo test --benches` runs this without --bench: nothing to do
    }
    let rounds = token_wallet_test_support::env_number("TW_BENCH_ROUNDS", 60);
    let home = tempfile::tempdir().unwrap();
    let profile = Profile::new("bench-export").unwrap();
    let data = profile.data_dir(home.path());
    let vault = open_vault(&profile, &KeystoreOptions::os(), &data)
        .expect("no Secret Service: run under tests/keyring-session.sh");
    let pass = Passphrase::new(PASS.into()).unwrap();
    let mut v = vault.create(&pass, &CreateOptions::default()).unwrap();
    let now = connection::now();
    let info = ConnectionInfo::new(
        &"bench".parse().unwrap(),
        token_wallet_core::oauth::presets().remove(0),
        "bench".into(),
        vec!["users:read".into()],
        now,
        Some(now + 3600),
    );
    connection::create(
        &mut v,
        &Connection {
            info,
            secrets: Secrets {
                access_token: TOKEN.into(),
                refresh_token: None,
                client_secret: None,
                sealed: None,
            },
        },
    )
    .unwrap();
    drop(v);
    let pass_file = home.path().join("pass");
    std::fs::write(&pass_file, format!("{PASS}\n")).unwrap();

    // The same token as one Secret Service item, for secret-tool.
    let mut st = Command::new("secret-tool")
        .args([
            "store",
            "--label=tw-bench",
            "service",
            "tw-bench",
            "account",
            "a",
        ])
        .stdin(Stdio::piped())
        .spawn()
        .expect("secret-tool (libsecret-tools)");
    st.stdin
        .take()
        .unwrap()
        .write_all(TOKEN.as_bytes())
        .unwrap();
    assert!(st.wait().unwrap().success());

    // gh reads its token from a plaintext hosts.yml.
    let gh_dir = home.path().join("gh");
    std::fs::create_dir_all(&gh_dir).unwrap();
    std::fs::write(
        gh_dir.join("hosts.yml"),
        format!(
            "github.com:\n    oauth_token: {TOKEN}\n    user: bench\n    git_protocol: https\n"
        ),
    )
    .unwrap();
    let gh = || {
        let mut c = Command::new("gh");
        c.args(["auth", "token"])
            .env("GH_CONFIG_DIR", &gh_dir)
            .env("GH_NO_UPDATE_NOTIFIER", "1")
            .env_remove("GH_TOKEN")
            .env_remove("GITHUB_TOKEN");
        c
    };
    let have_gh = Command::new("gh").arg("--version").output().is_ok();

    let mut agent = tw(home.path())
        .args(["agent", "--idle-timeout", "0", "--passphrase-file"])
        .arg(&pass_file)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !tw(home.path())
        .args(["agent", "status"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
    {
        assert!(Instant::now() < deadline, "the agent did not start");
        std::thread::sleep(Duration::from_millis(50));
    }

    let (mut t_agent, mut t_st, mut t_gh, mut t_true) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds + 5 {
        let t = time(&mut Command::new("/bin/true"), "");
        let a = time(tw(home.path()).args(["token", "bench"]), TOKEN);
        let s = time(
            Command::new("secret-tool").args(["lookup", "service", "tw-bench", "account", "a"]),
            TOKEN,
        );
        let g = have_gh.then(|| time(&mut gh(), TOKEN));
        if round >= 5 {
            t_true.push(t);
            t_agent.push(a);
            t_st.push(s);
            if let Some(g) = g {
                t_gh.push(g);
            }
        }
    }
    let no_agent: Vec<Duration> = (0..7)
        .map(|_| {
            time(
                tw(home.path())
                    .args(["--no-agent", "token", "bench", "--passphrase-file"])
                    .arg(&pass_file),
                TOKEN,
            )
        })
        .collect();

    let _ = tw(home.path()).args(["agent", "stop"]).status();
    let _ = agent.wait();
    let _ = Command::new("secret-tool")
        .args(["clear", "service", "tw-bench", "account", "a"])
        .status();
    if let Ok(Some(names)) = vault.keystore().list_raw() {
        for n in names {
            let _ = vault.keystore().delete_raw(&n);
        }
    }

    let (a, s, t) = (median(t_agent), median(t_st), median(t_true));
    let ratio = |x: Duration, y: Duration| x.as_secs_f64() / y.as_secs_f64();
    println!("P1: whole-process wall time, median of {rounds} interleaved rounds");
    println!("  token-wallet token NAME (agent unlocked)   {}", ms(a));
    println!("  /bin/true (a bare process start)           {}", ms(t));
    println!(
        "  ratio to /bin/true                         {:.3}  (goal <= 2: {})",
        ratio(a, t),
        if ratio(a, t) <= 2.0 { "met" } else { "MISSED" }
    );
    println!("  secret-tool lookup (same Secret Service)   {}", ms(s));
    println!(
        "  ratio to secret-tool lookup                {:.3}  (goal <= 0.5: {})",
        ratio(a, s),
        if ratio(a, s) <= 0.5 { "met" } else { "MISSED" }
    );
    if t_gh.is_empty() {
        println!("  gh auth token                              (gh not installed)");
    } else {
        let g = median(t_gh);
        println!("  gh auth token (plaintext hosts.yml)        {}", ms(g));
        println!(
            "  ratio to gh auth token                     {:.3}  (goal <= 0.2: {})",
            ratio(a, g),
            if ratio(a, g) <= 0.2 { "met" } else { "MISSED" }
        );
    }
    let n = median(no_agent);
    println!(
        "  token-wallet --no-agent token NAME (Argon2id 64 MiB, t=3, p=4)  {}  ({:.1}x the agent path)",
        ms(n),
        ratio(n, a)
    );
}
