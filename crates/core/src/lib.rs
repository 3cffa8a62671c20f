//! Token Wallet core: the vault (key hierarchy, record encryption, rotation), the keystore
//! adapter, profiles and the vault lock. No GUI or terminal code lives here.
//!
//! ```text
//! passphrase --Argon2id--> KEK --AES-256-GCM wrap--> DEK --AES-256-GCM--> records
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod agent;
pub mod audit;
pub mod browser;
pub mod clock;
pub mod config;
pub mod connection;
pub mod crypto;
pub mod facts;
mod fault;
pub mod files;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzz;
pub mod health;
pub mod keystore;
pub mod lock;
pub mod logging;
pub mod monitor;
pub mod oauth;
pub mod ops;
pub mod profile;
pub mod refresh;
pub mod vault;

pub use crypto::{KdfParams, Passphrase};
pub use keystore::{Keystore, KeystoreError, KeystoreOptions, StoreKind};
pub use profile::Profile;
pub use vault::{CreateOptions, RecordInfo, UnlockedVault, Vault, VaultError, VaultInfo};

/// Locks `m`, carrying on after a panic elsewhere: core commits atomically, so a thread
/// that panicked while holding a lock leaves nothing half-written to skip.
pub(crate) fn guard<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Opens the vault of `profile` in the store `opts` names, with its lock file in
/// `data_dir`.
pub fn open_vault(
    profile: &Profile,
    opts: &KeystoreOptions,
    data_dir: &std::path::Path,
) -> Result<Vault, KeystoreError> {
    let ks = Keystore::open(&profile.service(), opts)?;
    Ok(Vault::new(ks, lock::lock_path(data_dir)))
}
