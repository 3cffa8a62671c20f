//! A command's vault, written once: the settings, the locked vault and its audit log;
//! once unlocked, the session the operations run on. Dropping an [`Unlocked`] anchors the
//! audit log's head in the vault and wipes the keys, whatever the command did.

use crate::cli::{Cli, PassArgs};
use crate::error::Result;
use crate::passphrase;
use std::io::BufRead;
use std::sync::{Mutex, MutexGuard};
use token_wallet_core::audit::AuditLog;
use token_wallet_core::config::Config;
use token_wallet_core::ops::{LogRecorder, Session};
use token_wallet_core::refresh::Refresher;
use token_wallet_core::{CreateOptions, Passphrase, UnlockedVault, Vault};

/// The profile's vault, locked, and its audit log.
pub struct Local {
    /// The settings.
    pub config: Config,
    /// The vault.
    pub vault: Vault,
    /// Its audit log.
    pub log: AuditLog,
}

/// The settings from the flags (and their variables).
pub fn config(cli: &Cli) -> Result<Config> {
    Ok(Config::from_lookup(|s| cli.setting(s))?)
}

impl Local {
    /// Opens the profile's vault (no passphrase yet).
    pub fn open(cli: &Cli) -> Result<Self> {
        let config = config(cli)?;
        let vault = config.open_vault()?;
        let log = config.audit_log();
        Ok(Self { config, vault, log })
    }

    /// Unlocks with the passphrase from `pass` (a prompt, a file or stdin); audited.
    /// Says "no vault" before asking for a passphrase.
    pub fn unlock(&self, pass: &PassArgs, input: &mut impl BufRead) -> Result<Unlocked<'_>> {
        Ok(self.adopt(self.unlock_vault(pass, input)?))
    }

    /// [`Self::unlock`], the vault handed over as it is (to the agent).
    /// A vault that unlocks by OpenBao identity (a Transit key) asks for no passphrase.
    pub fn unlock_vault(&self, pass: &PassArgs, input: &mut impl BufRead) -> Result<UnlockedVault> {
        let v = if self.unlocks_by_identity()? {
            Ok(token_wallet_core::ops::unlock_by_identity(
                &self.vault,
                &self.log,
            )?)
        } else {
            let p = passphrase::current(&passphrase::Sources::of(pass), input)?;
            self.open_with(&p)
        };
        // This log's cached key must not outlive the command (the agent has its own).
        self.log.forget_key();
        v
    }

    /// Whether the vault unlocks by OpenBao identity, with no passphrase (fails when there
    /// is no vault).
    pub fn unlocks_by_identity(&self) -> Result<bool> {
        Ok(matches!(
            self.vault.unlock_method()?,
            token_wallet_core::vault::UnlockMethod::Transit(_)
        ))
    }

    /// Creates the vault unlocked by OpenBao Transit key `t` (refresh tokens sealed for
    /// the identities that may use Transit key `refresher`, if given); audited.
    pub fn create_with_transit(
        &self,
        t: &token_wallet_core::vault::TransitRef,
        refresher: Option<&token_wallet_core::vault::TransitRef>,
    ) -> Result<Unlocked<'_>> {
        let v = token_wallet_core::ops::create_with_transit(&self.vault, &self.log, t, refresher)?;
        Ok(self.adopt(v))
    }

    /// Unlocks with `p`; audited (a wrong passphrase too).
    pub fn unlock_with(&self, p: &Passphrase) -> Result<Unlocked<'_>> {
        Ok(self.adopt(self.open_with(p)?))
    }

    fn open_with(&self, p: &Passphrase) -> Result<UnlockedVault> {
        Ok(token_wallet_core::ops::unlock(&self.vault, &self.log, p)?)
    }

    /// Creates the vault; audited.
    pub fn create(&self, p: &Passphrase, opts: &CreateOptions) -> Result<Unlocked<'_>> {
        let v = token_wallet_core::ops::create(&self.vault, &self.log, p, opts)?;
        Ok(self.adopt(v))
    }

    fn adopt(&self, v: UnlockedVault) -> Unlocked<'_> {
        Unlocked {
            local: self,
            vault: Mutex::new(v),
            refresher: self.config.refresher(),
        }
    }
}

/// The unlocked vault of one command.
pub struct Unlocked<'a> {
    local: &'a Local,
    vault: Mutex<UnlockedVault>,
    refresher: Refresher,
}

impl Unlocked<'_> {
    /// Runs `f` on the operations layer over this vault, auditing to the profile's log.
    pub fn run<T>(&self, f: impl FnOnce(&Session<'_>) -> T) -> T {
        let rec = LogRecorder::new(&self.local.log, &self.vault);
        f(&Session::new(&self.vault, &self.refresher, &rec))
    }

    /// The vault itself (its facts, the audit log's check).
    pub fn vault(&self) -> MutexGuard<'_, UnlockedVault> {
        self.vault.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The audit log.
    pub fn log(&self) -> &AuditLog {
        &self.local.log
    }
}

impl Drop for Unlocked<'_> {
    fn drop(&mut self) {
        let v = self.vault.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Err(err) = self.local.log.anchor(v) {
            eprintln!("warning: could not anchor the audit log: {err}");
        }
        // The vault's keys go with `vault`; the cached audit keys go now.
        self.local.log.forget_key();
        self.refresher.forget_keys();
    }
}
