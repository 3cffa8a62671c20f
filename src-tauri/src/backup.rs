//! Backup and restore from the app's Settings: the same core operations as the CLI's
//! `backup` and `restore` (`Session::backup`, `ops::restored_connections`,
//! `Session::restore`), a file the person names.

use crate::connections::{confirmed, ops_err, session};
use crate::error::Error;
use crate::models::BackupDone;
use crate::wallet::Wallet;
use std::path::PathBuf;
use token_wallet_core::{vault, Passphrase};
use zeroize::Zeroizing;

/// A path the person typed: absolute, `~/` meaning the home directory.
fn file_path(text: &str) -> Result<PathBuf, Error> {
    let t = text.trim();
    let p = match t.strip_prefix("~/") {
        Some(rest) => dirs::home_dir()
            .ok_or_else(|| Error::Invalid("no home directory to put `~/` in".into()))?
            .join(rest),
        None => PathBuf::from(t),
    };
    if t.is_empty() || !p.is_absolute() {
        return Err(Error::Invalid(
            "give the file's full path (for example ~/token-wallet.twbackup)".into(),
        ));
    }
    Ok(p)
}

impl Wallet {
    /// Writes every connection to a new backup file at `path`, sealed under the vault's
    /// passphrase, or under `own` (entered twice) when one is given.
    pub fn backup(
        &self,
        path: String,
        own: String,
        confirmation: String,
    ) -> Result<BackupDone, Error> {
        let (own, confirmation) = (Zeroizing::new(own), Zeroizing::new(confirmation));
        let path = file_path(&path)?;
        let a = self.unlocked_agent()?;
        a.note_activity();
        let own = (!own.is_empty())
            .then(|| confirmed(own.to_string(), &confirmation))
            .transpose()?;
        // A backup passphrase costs what the vault's does.
        let kdf = {
            let v = a.unlocked()?;
            let kdf = v.lock().unwrap_or_else(|p| p.into_inner()).info().kdf;
            kdf
        };
        let written = session(&a, |s| {
            s.backup(own.as_ref().map(|p| (p, kdf)), |b| {
                token_wallet_core::files::write_new_private(&path, b)
            })
        })?
        .map_err(ops_err)?
        .map_err(|e| Error::Invalid(e.to_string()))?;
        a.flush_now();
        Ok(BackupDone {
            records: written,
            message: format!(
                "Wrote {written} connection{} to {}, sealed under {}. It holds refresh tokens: keep it as you keep the vault.",
                if written == 1 { "" } else { "s" },
                path.display(),
                if own.is_some() { "the backup passphrase" } else { "the vault's passphrase" }
            ),
        })
    }

    /// Brings a backup's connections into this vault, which must hold none. Unless
    /// `moved`, their refresh tokens are marked as copies (and say so).
    pub fn restore(
        &self,
        path: String,
        passphrase: String,
        moved: bool,
    ) -> Result<BackupDone, Error> {
        let passphrase = Zeroizing::new(passphrase);
        let path = file_path(&path)?;
        let a = self.unlocked_agent()?;
        a.note_activity();
        let bytes = vault::read_backup_file(&path)
            .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
        let p = Passphrase::new(passphrase.to_string()).ok_or(Error::EmptyPassphrase)?;
        let backup = vault::open_backup(&bytes, &p).map_err(|e| match e {
            token_wallet_core::VaultError::WrongPassphrase => Error::Invalid(
                "that passphrase does not open this backup (or the file was modified); nothing was changed".into(),
            ),
            other => Error::Vault(other),
        })?;
        let all = token_wallet_core::ops::restored_connections(&backup, moved).map_err(ops_err)?;
        drop(backup);
        let restored = session(&a, |s| s.restore(all))?.map_err(ops_err)?;
        a.flush_now();
        let copied: Vec<String> = restored
            .iter()
            .filter(|c| c.is_restored_copy())
            .map(|c| c.name.to_string())
            .collect();
        let mut message = format!(
            "Restored {} connection{}.",
            restored.len(),
            if restored.len() == 1 { "" } else { "s" }
        );
        if !copied.is_empty() {
            message.push_str(&format!(
                " The refresh tokens of {} are copies: if the vault the backup came from still refreshes them, a refresh here too makes the provider revoke the grant. Use one copy only, or Re-authorise them here.",
                copied.join(", ")
            ));
        }
        Ok(BackupDone {
            records: restored.len() as u64,
            message,
        })
    }
}
