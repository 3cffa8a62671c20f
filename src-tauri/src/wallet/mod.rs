//! The shell's state: the configuration, the vault handle, the embedded agent (which holds
//! the unlocked vault and, in the running app, serves it to the CLI over its socket) and
//! the unlock throttle, behind one mutex. The commands call these methods; they are
//! plain Rust, so they are tested without a window.

use crate::error::Error;
use crate::models::{Status, VaultFacts, VaultState};
use crate::settings::{self, Settings};
use crate::throttle::Throttle;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use token_wallet_core::agent::{Agent, AgentOptions};
use token_wallet_core::config::Config as CoreConfig;
use token_wallet_core::ops::{self, MIN_NEW_PASSPHRASE_CHARS};
use token_wallet_core::{CreateOptions, Vault, VaultError};
use zeroize::Zeroizing;

/// Where the vault is, read from the environment: core's settings (the same
/// `TOKEN_WALLET_*` variables and rules as the CLI), and one the app alone has.
#[derive(Clone, Debug)]
pub struct Config {
    /// Profile, data directory, keystore, providers file, refresh policy.
    pub core: CoreConfig,
    /// `TOKEN_WALLET_INSECURE_KDF=1`: new vaults use [`CreateOptions::insecure_for_tests`].
    /// Tests only; the vault header records it and the UI shows a warning.
    pub insecure_kdf: bool,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the settings through `get` (the environment, or a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let core = CoreConfig::from_lookup(|s| get(s.env_var())).map_err(|e| e.to_string())?;
        let insecure_kdf = match get("TOKEN_WALLET_INSECURE_KDF")
            .filter(|v| !v.is_empty())
            .as_deref()
        {
            None | Some("0") => false,
            // Debug builds only (the tests'), like the test clock: a release build never
            // makes a weak vault because of the environment.
            Some("1") => cfg!(debug_assertions),
            Some(other) => {
                return Err(format!(
                    "TOKEN_WALLET_INSECURE_KDF is `{other}`; use 1 (tests only) or leave it unset"
                ))
            }
        };
        Ok(Self { core, insecure_kdf })
    }

    /// For tests: profile `profile` under `home`, the file store, the test KDF, and the
    /// providers file `providers` (else the platform's).
    pub fn for_tests(
        home: &std::path::Path,
        profile: &str,
        providers: Option<&std::path::Path>,
    ) -> Self {
        let env: std::collections::HashMap<&str, String> = [
            ("TOKEN_WALLET_PROFILE", profile.to_string()),
            ("TOKEN_WALLET_HOME", home.display().to_string()),
            ("TOKEN_WALLET_STORE", "file".to_string()),
            ("TOKEN_WALLET_INSECURE_KDF", "1".to_string()),
            (
                "TOKEN_WALLET_PROVIDERS",
                providers
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            ),
        ]
        .into();
        // Invariant: every value above is valid.
        Self::from_lookup(|k| env.get(k).cloned()).expect("valid test settings")
    }

    fn create_options(&self) -> CreateOptions {
        if self.insecure_kdf {
            CreateOptions::insecure_for_tests()
        } else {
            CreateOptions::default()
        }
    }
}

struct Inner {
    /// The locked handle, opened on first use (so a keystore that was down can come back).
    vault: Option<Vault>,
    /// The agent, made with the handle; it holds the unlocked vault.
    agent: Option<Arc<Agent>>,
    throttle: Throttle,
}

/// The app's state: one per process, shared by the commands.
pub struct Wallet {
    config: Result<Config, String>,
    inner: Mutex<Inner>,
    /// Serve the agent's socket (the running app; not unit tests).
    serve: bool,
    /// The user's settings (auto-lock, refresh lead, notifications).
    settings: Mutex<Settings>,
    /// Why the settings file could not be read, if it could not (shown in Settings).
    settings_problem: Mutex<Option<String>>,
    /// One sign-in at a time; the flag cancels it.
    pub(crate) connecting: Mutex<()>,
    /// Set to cancel the sign-in in progress.
    pub(crate) cancel_connect: std::sync::atomic::AtomicBool,
    /// Set to open the browser again for the sign-in in progress.
    pub(crate) reopen_connect: std::sync::atomic::AtomicBool,
    /// The sign-in in progress's authorisation URL, for a person to copy and open by hand.
    pub(crate) sign_in_link: Mutex<Option<String>>,
    /// The running proxies (the Proxy action).
    pub(crate) proxies: crate::proxies::Proxies,
}

impl Wallet {
    /// Configured from the environment; an invalid setting is reported by every call.
    pub fn from_env() -> Self {
        let mut w = Self::with_config(Config::from_env());
        w.serve = true;
        w
    }

    /// Configured explicitly.
    pub fn new(config: Config) -> Self {
        Self::with_config(Ok(config))
    }

    fn with_config(config: Result<Config, String>) -> Self {
        let (settings, problem) = match &config {
            Ok(c) => match settings::load(&c.core.data_dir) {
                Ok(s) => (s, None),
                Err(e) => (Settings::default(), Some(e)),
            },
            Err(_) => (Settings::default(), None),
        };
        Self {
            config,
            inner: Mutex::new(Inner {
                vault: None,
                agent: None,
                throttle: Throttle::default(),
            }),
            serve: false,
            settings: Mutex::new(settings),
            settings_problem: Mutex::new(problem),
            connecting: Mutex::new(()),
            cancel_connect: std::sync::atomic::AtomicBool::new(false),
            reopen_connect: std::sync::atomic::AtomicBool::new(false),
            sign_in_link: Mutex::new(None),
            proxies: crate::proxies::Proxies::default(),
        }
    }

    /// The current settings.
    pub fn settings(&self) -> Settings {
        *self.settings.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Why the settings file could not be read, if so.
    pub fn settings_problem(&self) -> Option<String> {
        self.settings_problem
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Saves new settings and applies them (the auto-lock at once).
    pub fn save_settings(&self, s: Settings) -> Result<Settings, Error> {
        let cfg = self.config()?;
        settings::save(&cfg.core.data_dir, &s).map_err(Error::Invalid)?;
        *self.settings.lock().unwrap_or_else(|p| p.into_inner()) = s;
        *self
            .settings_problem
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = None;
        if let Some(a) = &self.inner().agent {
            a.set_idle_timeout(s.idle_timeout());
        }
        Ok(s)
    }

    /// The agent, only while the vault is unlocked.
    pub(crate) fn unlocked_agent(&self) -> Result<Arc<Agent>, Error> {
        match &self.inner().agent {
            Some(a) if a.is_unlocked() => Ok(a.clone()),
            _ => Err(Error::Locked),
        }
    }

    /// How many keystore calls this wallet's vault handle has made (each a D-Bus round
    /// trip on the Secret Service), if a vault was opened: for the scale checks.
    pub fn keystore_calls(&self) -> Option<u64> {
        let inner = self.inner();
        inner.vault.as_ref().map(|v| v.keystore().calls())
    }

    /// The agent if one was made (locked or not): the background task ticks it.
    pub(crate) fn any_agent(&self) -> Option<Arc<Agent>> {
        self.inner().agent.clone()
    }

    /// A wrong passphrase given for something other than unlock (changing it) counts
    /// towards the same throttle; returns the error to show.
    pub(crate) fn check_throttle(&self) -> Result<(), Error> {
        self.inner().throttle.check(Instant::now())
    }

    /// Records a wrong passphrase in the throttle.
    pub(crate) fn failed_attempt(&self) {
        self.inner().throttle.failed(Instant::now());
    }

    pub(crate) fn config(&self) -> Result<&Config, Error> {
        self.config.as_ref().map_err(|e| Error::Config(e.clone()))
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves nothing half-written here (core commits
        // atomically); carry on with what is there.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn vault<'a>(&self, cfg: &Config, inner: &'a mut Inner) -> Result<&'a Vault, Error> {
        if inner.vault.is_none() {
            let v = cfg.core.open_vault()?;
            inner.agent = Some(self.start_agent(cfg, v.clone()));
            inner.vault = Some(v);
        }
        // Invariant: set just above if it was not.
        Ok(inner.vault.as_ref().expect("just opened"))
    }

    /// The embedded agent; in the running app it serves the CLI on the profile's socket
    /// (unless another agent already does).
    fn start_agent(&self, cfg: &Config, v: Vault) -> Arc<Agent> {
        let agent = Arc::new(Agent::new(
            v,
            &cfg.core.data_dir,
            cfg.core.refresher(),
            AgentOptions {
                profile: cfg.core.profile.name().to_string(),
                idle_timeout: self.settings().idle_timeout(),
                // The background task runs the step itself, to notify what it did.
                maintain: None,
                ..AgentOptions::default()
            },
        ));
        if self.serve {
            let a = agent.clone();
            let path = token_wallet_core::agent::socket_path(&cfg.core.profile, &cfg.core.data_dir);
            std::thread::spawn(move || match path {
                Ok(p) => {
                    if let Err(e) = a.serve(&p, || {}) {
                        tracing::warn!(error = %e, "the agent socket is not served");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "the agent socket is not served"),
            });
        }
        agent
    }

    /// The unlocked vault's facts; its "records" are the connections (the audit key and
    /// anchor the vault also holds are not the user's).
    fn unlocked_facts(inner: &Inner) -> Option<token_wallet_core::VaultInfo> {
        let a = inner.agent.as_ref()?;
        let mut info = a.vault_info()?;
        info.record_count = a.status().connections;
        Some(info)
    }

    /// The agent (made with the vault handle, opened here if need be).
    fn agent(&self, cfg: &Config, inner: &mut Inner) -> Result<Arc<Agent>, Error> {
        self.vault(cfg, inner)?;
        // Invariant: `vault` makes the agent together with the handle.
        Ok(inner.agent.clone().expect("made with the vault handle"))
    }

    fn is_unlocked(inner: &Inner) -> bool {
        inner.agent.as_ref().is_some_and(|a| a.is_unlocked())
    }

    /// Where the lock screen is.
    pub fn state(&self) -> VaultState {
        let mut inner = self.inner();
        self.state_of(&mut inner)
    }

    fn state_of(&self, inner: &mut Inner) -> VaultState {
        let mut st = VaultState {
            status: Status::Unavailable,
            profile: String::new(),
            store: None,
            vault: None,
            message: None,
            retry_after_ms: inner.throttle.remaining(Instant::now()).as_millis() as u64,
            failed_attempts: inner.throttle.failures(),
            insecure_kdf: false,
            min_passphrase_chars: MIN_NEW_PASSPHRASE_CHARS,
            locked_because: None,
        };
        let cfg = match self.config() {
            Ok(c) => c,
            Err(e) => {
                st.message = Some(e.to_string());
                return st;
            }
        };
        st.profile = cfg.core.profile.name().to_string();
        st.insecure_kdf = cfg.insecure_kdf;
        if let Some(info) = Self::unlocked_facts(inner) {
            let facts = VaultFacts::from(info);
            st.store = Some(facts.store.clone());
            st.vault = Some(facts);
            st.status = Status::Unlocked;
            return st;
        }
        let vault = match self.vault(cfg, inner) {
            Ok(v) => v,
            Err(e) => {
                st.message = Some(e.to_string());
                return st;
            }
        };
        st.store = Some(vault.keystore().store_name().to_string());
        match vault.info() {
            Ok(i) => {
                st.status = Status::Locked;
                st.vault = Some(i.into());
                st.locked_because = inner
                    .agent
                    .as_ref()
                    .and_then(|a| a.locked_because())
                    .and_then(lock_reason_text);
            }
            Err(VaultError::NoVault { .. }) => st.status = Status::NoVault,
            Err(e) => st.message = Some(Error::from(e).to_string()),
        }
        st
    }

    /// Creates the vault and leaves it unlocked.
    pub fn create(&self, passphrase: String, confirmation: String) -> Result<VaultState, Error> {
        let passphrase = Zeroizing::new(passphrase);
        let confirmation = Zeroizing::new(confirmation);
        if passphrase.is_empty() {
            return Err(Error::EmptyPassphrase);
        }
        if *passphrase != *confirmation {
            return Err(Error::Mismatch);
        }
        let p = ops::new_passphrase(passphrase.to_string())?;
        let cfg = self.config()?;
        let mut inner = self.inner();
        if Self::is_unlocked(&inner) {
            return Err(Error::AlreadyExists);
        }
        self.agent(cfg, &mut inner)?
            .create(&p, &cfg.create_options())?;
        inner.throttle.succeeded();
        Ok(self.state_of(&mut inner))
    }

    /// Unlocks the vault, unless the throttle says to wait. A wrong passphrase makes the
    /// next attempt wait longer; any other failure does not count.
    pub fn unlock(&self, passphrase: String) -> Result<VaultState, Error> {
        let cfg = self.config()?;
        let mut inner = self.inner();
        if Self::is_unlocked(&inner) {
            return Ok(self.state_of(&mut inner));
        }
        inner.throttle.check(Instant::now())?;
        let p = token_wallet_core::Passphrase::new(passphrase).ok_or(Error::EmptyPassphrase)?;
        // The agent unlocks, audits the outcome and keeps the unlocked vault.
        let result = self.agent(cfg, &mut inner)?.unlock(&p);
        match result {
            Ok(()) => {
                inner.throttle.succeeded();
                Ok(self.state_of(&mut inner))
            }
            Err(VaultError::WrongPassphrase) => {
                inner.throttle.failed(Instant::now());
                Err(Error::WrongUnlockPassphrase)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Whether the locked vault is a team vault that unlocks by this machine's OpenBao
    /// identity (no passphrase to ask for).
    pub fn unlocks_by_identity(&self) -> bool {
        self.info().is_ok_and(|f| f.unlock.starts_with("transit:"))
    }

    /// Unlocks a team vault with this machine's OpenBao identity (its Transit key);
    /// audited like a passphrase unlock. No throttle: there is nothing to guess.
    pub fn unlock_by_identity(&self) -> Result<VaultState, Error> {
        let cfg = self.config()?;
        let mut inner = self.inner();
        if !Self::is_unlocked(&inner) {
            self.agent(cfg, &mut inner)?.unlock_by_identity()?;
        }
        Ok(self.state_of(&mut inner))
    }

    /// Locks: the unlocked vault's keys are dropped (zeroized). Locking a locked vault does
    /// nothing.
    pub fn lock(&self) -> VaultState {
        // A proxy's tokens come from the vault: it stops first (its audit batch written).
        self.stop_proxies();
        let mut inner = self.inner();
        if let Some(a) = &inner.agent {
            a.lock(); // audited and anchored; keys and cached tokens dropped
        }
        self.state_of(&mut inner)
    }

    /// The vault's public facts (the record count only while unlocked).
    pub fn info(&self) -> Result<VaultFacts, Error> {
        let cfg = self.config()?;
        let mut inner = self.inner();
        if let Some(info) = Self::unlocked_facts(&inner) {
            return Ok(info.into());
        }
        Ok(self.vault(cfg, &mut inner)?.info()?.into())
    }
}

/// Why the vault locked by itself, for the lock screen; `None` when the person locked it.
fn lock_reason_text(why: token_wallet_core::agent::LockReason) -> Option<String> {
    use token_wallet_core::agent::LockReason;
    match why {
        LockReason::Idle(d) => {
            let m = d.as_secs().div_ceil(60).max(1);
            Some(format!(
                "Locked after {} without use (Settings → Lock after idle).",
                if m == 1 { "1 minute".into() } else { format!("{m} minutes") }
            ))
        }
        LockReason::PassphraseChanged => Some(
            "Locked: the passphrase was changed elsewhere (by the command line); unlock with the new one.".into(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
