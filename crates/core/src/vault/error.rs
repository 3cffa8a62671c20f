//! Vault errors: one enum for the vault's operations. Each message says what happened and
//! what to do; none carries a secret.

use crate::crypto::KdfParams;
use crate::keystore::KeystoreError;

/// What went wrong with a vault operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// There is no vault under this profile.
    #[error("no vault found in the {store} keystore under `{service}`")]
    NoVault {
        /// Store name.
        store: &'static str,
        /// Service name.
        service: String,
    },
    /// `create` found a vault already there.
    #[error("a vault already exists in the {store} keystore under `{service}`")]
    AlreadyExists {
        /// Store name.
        store: &'static str,
        /// Service name.
        service: String,
    },
    /// The passphrase does not open the vault. Nothing was changed.
    #[error("wrong passphrase; nothing was changed")]
    WrongPassphrase,
    /// OpenBao refused this identity the Transit key that wraps the vault's data key.
    #[error("OpenBao refused this identity the vault's key {key} ({why}); ask the team vault's admin for the member or consumer policy (nothing was changed)")]
    IdentityRefused {
        /// The Transit key, `mount/name`.
        key: String,
        /// OpenBao's words.
        why: String,
    },
    /// A passphrase operation on a vault that unlocks by identity (OpenBao Transit).
    #[error("this vault has no passphrase: it unlocks with an OpenBao Transit key (this identity's policy); nothing was changed")]
    NoPassphrase,
    /// A backup of a team vault whose refresh tokens are sealed for refreshers.
    #[error("backups of a team vault with a refresher key are not supported: its refresh tokens are sealed for refreshers only (back up OpenBao itself instead); nothing was written")]
    RefresherBackup,
    /// An unlock by identity of a vault that has a passphrase.
    #[error("this vault unlocks with its passphrase, not by an OpenBao identity")]
    PassphraseNeeded,
    /// A vault that unlocks with a Transit key, opened on a store that is not OpenBao.
    #[error("a vault that unlocks with an OpenBao Transit key lives in OpenBao: open it with --store openbao")]
    TransitNeedsOpenBao,
    /// An empty passphrase was given.
    #[error("the passphrase is empty; choose a non-empty passphrase")]
    EmptyPassphrase,
    /// Something stored is not what the vault wrote.
    #[error("the vault is damaged: {what} {why}; restore the keystore from a backup (nothing was changed)")]
    Damaged {
        /// Which part.
        what: String,
        /// What is wrong.
        why: &'static str,
    },
    /// The vault was made (or upgraded) by a newer Token Wallet.
    #[error("the vault was made by a newer Token Wallet (format {found}); this build reads formats {oldest} to {newest}: upgrade Token Wallet (nothing was changed)")]
    NewerFormat {
        /// The vault's format.
        found: u64,
        /// The oldest format this build reads.
        oldest: u64,
        /// The newest format this build reads (and writes for new vaults).
        newest: u64,
    },
    /// A backup file that is not one, or was damaged or modified.
    #[error("the backup file {0}; nothing was changed")]
    BadBackup(&'static str),
    /// A backup file written by a newer Token Wallet.
    #[error("the backup was made by a newer Token Wallet (backup format {found}); this build reads backup format {newest}: upgrade Token Wallet (nothing was changed)")]
    NewerBackup {
        /// The file's backup format.
        found: u64,
        /// The newest this build reads.
        newest: u64,
    },
    /// The header asks for more Argon2 work than we accept.
    #[error("the vault header asks for {0}, over the cap of 1 GiB, 64 passes, 64 lanes; refusing to run it (the header is damaged or hostile)")]
    KdfTooExpensive(KdfParams),
    /// Creating a vault below RFC 9106's floor without the explicit test setting.
    #[error("{0} is below RFC 9106's second recommendation (m=64 MiB, t=3, p=4); weaker settings are for tests only and must be asked for explicitly")]
    WeakKdf(KdfParams),
    /// A record failed authentication.
    #[error("record `{0}` failed authentication: it was modified, moved from another entry, or copied from another vault; restore it from a backup or delete it")]
    RecordTampered(String),
    /// No record of that name.
    #[error("no connection named `{0}`")]
    NotFound(String),
    /// A record of that name exists already.
    #[error("a connection named `{0}` already exists; choose another name")]
    Exists(String),
    /// Another process changed the passphrase while this one was unlocked.
    #[error(
        "the vault was changed by another process (passphrase changed); lock and unlock again"
    )]
    Stale,
    /// A record name that the vault does not accept.
    #[error("invalid record name `{0}`: use 1-64 characters from A-Z a-z 0-9 . _ -")]
    InvalidName(String),
    /// A connection name that does not follow the rule ([`crate::connection::ConnectionName`]).
    #[error("`{0}` is not a usable connection name: use 1 to {max} letters, digits, dots, dashes and underscores", max = crate::connection::MAX_NAME_CHARS)]
    InvalidConnectionName(String),
    /// The audit log could not be written, so the vault was not unlocked (fail closed).
    #[error("the audit log could not be written, so the vault was not unlocked: {0}")]
    AuditUnwritable(String),
    /// The vault's file lock could not be taken.
    #[error("could not take the vault lock: {0}")]
    Lock(#[from] crate::lock::LockError),
    /// The keystore failed.
    #[error(transparent)]
    Keystore(#[from] KeystoreError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_to_do() {
        assert!(VaultError::WrongPassphrase
            .to_string()
            .contains("nothing was changed"));
        let newer = VaultError::NewerFormat {
            found: 9,
            oldest: 1,
            newest: 2,
        }
        .to_string();
        assert!(
            newer.contains("made by a newer Token Wallet (format 9)"),
            "{newer}"
        );
        assert!(newer.contains("reads formats 1 to 2"), "{newer}");
        let e = VaultError::KdfTooExpensive(KdfParams {
            m_kib: 4 << 20,
            t: 3,
            p: 4,
        });
        assert!(e.to_string().contains("4194304 KiB"), "{e}");
        assert!(VaultError::RecordTampered("a".into())
            .to_string()
            .contains("restore"));
    }
}
