//! Shared helpers for the CLI's end-to-end tests. They run the real `token-wallet` binary
//! against the real Secret Service; run them under `tests/keyring-session.sh`.
#![allow(dead_code)]

#[cfg(unix)]
pub mod agent;
#[cfg(unix)]
pub mod attacker;
pub mod keys;
pub mod oauth;
#[cfg(unix)]
pub mod proxy;
#[allow(unused_imports)]
pub use oauth::deadline;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::Duration;
use token_wallet_core::{open_vault, CreateOptions, KeystoreOptions, Profile, Vault};

pub const CAP: usize = 2560;

/// Every CLI this test process starts keeps its vault in the OpenBao at `addr` (a node,
/// or every node comma-separated), logged in with `token`. Process-wide: for a test
/// file's only test.
pub fn use_openbao(addr: &str, token: &str) {
    std::env::set_var("TOKEN_WALLET_STORE", "openbao");
    std::env::set_var("BAO_ADDR", addr);
    std::env::set_var("BAO_TOKEN", token);
    std::env::remove_var("BAO_CACERT");
}

/// Keystore options for the OpenBao at `addr` (KV v2 at `secret`, folder `token-wallet`),
/// logged in with `token`.
pub fn bao_options(addr: &str, token: &str) -> KeystoreOptions {
    use token_wallet_core::keystore::{BaoAuth, BaoToken, OpenBaoOptions};
    let mut o = KeystoreOptions::os();
    o.kind = token_wallet_core::StoreKind::OpenBao(OpenBaoOptions {
        addr: addr.into(),
        mount: "secret".into(),
        prefix: "token-wallet".into(),
        auth: BaoAuth::Token(BaoToken::new(token.into())),
        ca_file: None,
    });
    o
}

/// The OS keystore's name as `status` prints it, on the platform the tests run on.
pub const STORE: &str = if cfg!(windows) {
    "windows-credential-manager"
} else {
    "secret-service"
};

/// Everything any child printed, for the no-secret-in-output checks.
pub static TRANSCRIPT: Mutex<String> = Mutex::new(String::new());

pub fn record(text: &str) {
    TRANSCRIPT
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push_str(text);
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_token-wallet"))
}

pub struct Env {
    pub home: tempfile::TempDir,
    pub profile: String,
}

impl Env {
    pub fn new(tag: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        Self {
            home: tempfile::tempdir().unwrap(),
            profile: format!("{tag}-{:x}", nanos ^ (std::process::id() << 8)),
        }
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(bin());
        // Each test its own runtime directory, so its agent's socket directory is its
        // own: a test that opens that directory up (to see clients refuse it) cannot
        // disturb another test's agent.
        let run = self.home.path().join("run");
        if !run.exists() {
            std::fs::create_dir(&run).unwrap();
            chmod(&run, 0o700);
        }
        c.env("XDG_RUNTIME_DIR", &run)
            .env("TOKEN_WALLET_HOME", self.home.path())
            .env("TOKEN_WALLET_PROFILE", &self.profile)
            .env("TOKEN_WALLET_CHUNK_SIZE", CAP.to_string())
            .env("TOKEN_WALLET_KEYSTORE_TIMEOUT", "10")
            .env(
                "TOKEN_WALLET_LOG",
                "token_wallet_core=trace,token_wallet=trace,debug",
            )
            .env_remove("TOKEN_WALLET_FAULT_PAUSE_AT");
        c
    }

    /// Runs the CLI with `stdin` as input; records its output.
    pub fn run(&self, args: &[&str], stdin: &str) -> Output {
        run_recorded(self.cmd().args(args), stdin)
    }

    /// `init` with the test KDF settings and `stdin` (the passphrase line).
    pub fn init(&self, stdin: &str) -> Output {
        let mut args = vec!["init", "--passphrase-stdin"];
        args.extend_from_slice(WEAK_INIT);
        self.run(&args, stdin)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.home.path().join(&self.profile)
    }

    pub fn pass_file(&self, name: &str, pass: &str) -> PathBuf {
        let p = self.home.path().join(name);
        std::fs::write(&p, format!("{pass}\n")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        p
    }

    /// The same vault the CLI uses, opened in this process through core.
    pub fn vault(&self) -> Vault {
        let mut o = KeystoreOptions::os();
        o.chunk_cap = CAP;
        o.timeout = Duration::from_secs(10);
        open_vault(&Profile::new(&self.profile).unwrap(), &o, &self.data_dir())
            .expect("no Secret Service: run the tests under tests/keyring-session.sh")
    }

    /// Removes every entry this profile left in the Secret Service.
    pub fn wipe(&self) {
        let v = self.vault();
        let ks = v.keystore();
        if let Ok(Some(names)) = ks.list_raw() {
            for n in names {
                let _ = ks.delete_raw(&n);
            }
        }
    }
}

/// Runs `cmd` with `stdin` as input and records everything it prints; a call that has not
/// ended within [`oauth::deadline::CLI`] is killed and fails the test.
pub fn run_recorded(cmd: &mut Command, stdin: &str) -> Output {
    let what = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let out = oauth::deadline::output(cmd, stdin.as_bytes(), oauth::deadline::CLI, &what);
    record(&String::from_utf8_lossy(&out.stdout));
    record(&String::from_utf8_lossy(&out.stderr));
    out
}

pub fn weak_create() -> CreateOptions {
    CreateOptions::insecure_for_tests()
}

pub const WEAK_INIT: &[&str] = &[
    "--kdf-memory-kib",
    "1024",
    "--kdf-iterations",
    "1",
    "--kdf-parallelism",
    "1",
    "--insecure-weak-kdf",
];

/// Fails, showing `text`, unless it contains `want`.
#[track_caller]
pub fn assert_contains(text: &str, want: &str) {
    assert!(text.contains(want), "wanted `{want}` in:\n{text}");
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every raw entry of the profile, for "nothing changed" checks.
pub fn snapshot(env: &Env) -> std::collections::BTreeMap<String, Vec<u8>> {
    let v = env.vault();
    let ks = v.keystore();
    ks.list_raw()
        .unwrap()
        .unwrap()
        .into_iter()
        .map(|n| {
            let val = ks.get_raw(&n).unwrap().unwrap();
            (n, val)
        })
        .collect()
}

/// Asserts none of `secrets` appears in anything the CLI printed so far.
pub fn assert_no_secret_printed(secrets: &[&str]) {
    let t = TRANSCRIPT.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert!(!t.is_empty());
    for s in secrets {
        assert!(
            !t.contains(s),
            "secret `{}…` appeared in CLI output",
            &s[..4]
        );
    }
}

/// Whether this process runs as root (read from /proc rather than calling libc: the
/// effective uid is the second field of `Uid:`).
pub fn euid_is_root() -> bool {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let uid = s.lines().find(|l| l.starts_with("Uid:")).unwrap();
    uid.split_whitespace().nth(2) == Some("0")
}

/// Fails the test unless it runs as root, saying `why` it needs to.
pub fn require_root(why: &str) {
    assert!(euid_is_root(), "{why}, which needs root (CI runs as root)");
}

/// Sets `p`'s permission bits (Unix; Windows has none).
pub fn chmod(p: &Path, m: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    }
    #[cfg(not(unix))]
    let _ = (p, m);
}

/// The repository's `tests/keyring-session.sh`.
pub fn keyring_session() -> PathBuf {
    oauth::repo().join("tests/keyring-session.sh")
}
