//! For the desktop benchmark (`tests/bench/unlock-list.mjs`): fills the vault of the profile
//! the environment names (`TOKEN_WALLET_HOME`, `TOKEN_WALLET_PROFILE`, as the CLI and the
//! app read them) with made-up connections, or times Argon2 alone at that vault's settings.
//! The passphrase is the first line of standard input.
//!
//! ```text
//! seed_connections fill N      # N connections, tokens valid for 30 days (nothing is due)
//! seed_connections argon2 K    # Argon2id at the vault's parameters, K times: one ms figure a line
//! ```

use std::io::BufRead;
use std::time::Instant;
use token_wallet_core::config::Config;
use token_wallet_core::connection::{self, Connection, ConnectionInfo, ConnectionName, Secrets};
use token_wallet_core::oauth::{ClientAuth, Provider, RedirectMode, Revocation};
use token_wallet_core::Passphrase;

fn provider() -> Provider {
    // Never called: no token is due, and nothing is revoked.
    Provider {
        name: "bench".into(),
        display_name: "Bench provider".into(),
        authorize_url: "http://127.0.0.1:9/oauth/authorize".into(),
        token_url: "http://127.0.0.1:9/oauth/token".into(),
        api_base: None,
        default_scopes: vec!["users:read".into()],
        redirect: RedirectMode::Loopback,
        client_auth: ClientAuth::None,
        client_id: None,
        revocation: Revocation::None,
        check: token_wallet_core::oauth::Check::None,
        kind: None,
    }
}

fn sample(i: usize, now: u64) -> Connection {
    let name = ConnectionName::new(&format!("seed-{i:04}")).expect("a valid name");
    let mut info = ConnectionInfo::new(
        &name,
        provider(),
        "tw-bench-client".into(),
        vec!["users:read".into(), "expenses:read".into()],
        now,
        Some(now + 30 * 86_400 + i as u64),
    );
    info.has_refresh_token = true;
    Connection {
        info,
        secrets: Secrets {
            access_token: format!("{i:04}{}", "a".repeat(1500)),
            refresh_token: Some("r".repeat(64)),
            client_secret: None,
            sealed: None,
        },
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (what, n) = match args.as_slice() {
        [w, n] => (w.as_str(), n.parse::<usize>()?),
        _ => return Err("usage: seed_connections fill N | argon2 K".into()),
    };
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let pass = Passphrase::new(line.trim_end_matches(['\r', '\n']).to_string())
        .ok_or("an empty passphrase")?;
    let vault = Config::from_env()?.open_vault()?;
    match what {
        "fill" => {
            let mut v = vault.unlock(&pass)?;
            let now = connection::now();
            let t = Instant::now();
            let all: Vec<Connection> = (0..n).map(|i| sample(i, now)).collect();
            connection::save_all(&mut v, &all)?;
            eprintln!(
                "{n} connections saved in {:.1} s",
                t.elapsed().as_secs_f64()
            );
        }
        "argon2" => {
            let k = vault.info()?.kdf;
            let params = argon2::Params::new(k.m_kib, k.t, k.p, Some(32))?;
            let a =
                argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
            let mut out = [0u8; 32];
            for _ in 0..n {
                let t = Instant::now();
                a.hash_password_into(b"bench passphrase", &[7u8; 16], &mut out)?;
                println!("{:.1}", t.elapsed().as_secs_f64() * 1e3);
            }
        }
        _ => return Err("usage: seed_connections fill N | argon2 K".into()),
    }
    Ok(())
}
