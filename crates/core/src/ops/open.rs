//! Opening a vault, audited: the one place that records `VaultUnlocked`, `UnlockFailed`
//! and `VaultCreated`, for the CLI, the agent and the app alike. Fail closed: no vault is
//! handed out whose opening could not be written to the audit log.

use super::Session;
use crate::audit::{AuditLog, Event};
use crate::vault::{UnlockedVault, Vault, VaultError};
use crate::{CreateOptions, Passphrase};

fn unwritable(e: crate::audit::AuditError) -> VaultError {
    VaultError::AuditUnwritable(e.to_string())
}

/// Unlocks `vault` with `p`, audited in `log`: `VaultUnlocked`, or `UnlockFailed` for a
/// wrong passphrase (a failure to write that line is logged: nothing was unlocked).
pub fn unlock(vault: &Vault, log: &AuditLog, p: &Passphrase) -> Result<UnlockedVault, VaultError> {
    audited(log, || vault.unlock(p))
}

/// Unlocks `vault` by this machine's OpenBao identity (its Transit key), audited in `log`
/// like [`unlock`]: a refused identity is a failed unlock.
pub fn unlock_by_identity(vault: &Vault, log: &AuditLog) -> Result<UnlockedVault, VaultError> {
    audited(log, || vault.unlock_by_identity())
}

fn audited(
    log: &AuditLog,
    open: impl FnOnce() -> Result<UnlockedVault, VaultError>,
) -> Result<UnlockedVault, VaultError> {
    log.ready().map_err(unwritable)?;
    match open() {
        Ok(mut v) => {
            log.append(Event::vault_unlocked(), Some(&mut v))
                .map_err(unwritable)?;
            Ok(v)
        }
        Err(e) => {
            if matches!(
                e,
                VaultError::WrongPassphrase | VaultError::IdentityRefused { .. }
            ) {
                failed(log);
            }
            Err(e)
        }
    }
}

/// Creates `vault` with `p`, audited in `log` (`VaultCreated`).
pub fn create(
    vault: &Vault,
    log: &AuditLog,
    p: &Passphrase,
    opts: &CreateOptions,
) -> Result<UnlockedVault, VaultError> {
    created(log, || vault.create(p, opts))
}

/// Creates `vault` unlocked by OpenBao Transit key `t` (and, with `refresher`, refresh
/// tokens sealed for refreshers: [`Vault::create_with_transit`]), audited in `log`
/// (`VaultCreated`).
pub fn create_with_transit(
    vault: &Vault,
    log: &AuditLog,
    t: &crate::vault::TransitRef,
    refresher: Option<&crate::vault::TransitRef>,
) -> Result<UnlockedVault, VaultError> {
    created(log, || vault.create_with_transit(t, refresher))
}

fn created(
    log: &AuditLog,
    make: impl FnOnce() -> Result<UnlockedVault, VaultError>,
) -> Result<UnlockedVault, VaultError> {
    log.ready().map_err(unwritable)?;
    let mut v = make()?;
    log.append(Event::VaultCreated, Some(&mut v))
        .map_err(unwritable)?;
    Ok(v)
}

fn failed(log: &AuditLog) {
    if let Err(e) = log.append(Event::unlock_failed(), None) {
        tracing::error!(error = %e, "could not write the audit log");
    }
}

impl Session<'_> {
    /// Checks that `p` opens this vault (one Argon2 run), before an operation a person
    /// confirms with the current passphrase (changing it); a wrong one is audited as a
    /// failed unlock.
    pub fn confirm_passphrase(&self, p: &Passphrase) -> Result<(), super::OpError> {
        // On a handle of its own: the session's vault keeps serving during Argon2.
        let handle = self.lock().handle();
        let checked = handle.check_passphrase(p);
        crate::crypto::scrub_stack();
        match checked {
            Err(VaultError::WrongPassphrase) => {
                self.audit.record(Event::unlock_failed());
                Err(VaultError::WrongPassphrase.into())
            }
            other => Ok(other?),
        }
    }
}
