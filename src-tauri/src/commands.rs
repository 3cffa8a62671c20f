//! The webview's only door: thin `#[tauri::command]`s over [`Wallet`]. Each runs on a
//! blocking worker thread (Argon2 and keystore calls must not stall the window's event
//! loop). Passphrases arrive here and go no further than core; nothing returns them.

use crate::error::Error;
use crate::models::{VaultFacts, VaultState};
use crate::wallet::Wallet;
use std::sync::Arc;
use tauri::State;

type Shared<'a> = State<'a, Arc<Wallet>>;

async fn blocking<T: Send + 'static>(
    wallet: &Arc<Wallet>,
    f: impl FnOnce(&Wallet) -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    let w = Arc::clone(wallet);
    tauri::async_runtime::spawn_blocking(move || f(&w))
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
}

/// Where the lock screen is: no vault, locked, unlocked, or unavailable (and why).
#[tauri::command]
pub async fn vault_state(wallet: Shared<'_>) -> Result<VaultState, Error> {
    blocking(&wallet, |w| Ok(w.state())).await
}

/// Creates the vault (test-only KDF settings under `TOKEN_WALLET_INSECURE_KDF=1`) and leaves
/// it unlocked.
#[tauri::command]
pub async fn create_vault(
    wallet: Shared<'_>,
    passphrase: String,
    confirmation: String,
) -> Result<VaultState, Error> {
    blocking(&wallet, move |w| w.create(passphrase, confirmation)).await
}

/// Unlocks the vault. After a wrong passphrase the next attempt is refused for 1 s, then
/// 2 s, 4 s... (see [`crate::wallet::Throttle`]).
#[tauri::command]
pub async fn unlock(wallet: Shared<'_>, passphrase: String) -> Result<VaultState, Error> {
    blocking(&wallet, move |w| w.unlock(passphrase)).await
}

/// Locks the vault: its keys are dropped (and zeroized).
#[tauri::command]
pub async fn lock(wallet: Shared<'_>) -> Result<VaultState, Error> {
    blocking(&wallet, |w| Ok(w.lock())).await
}

/// The vault's public facts; the record count only while unlocked.
#[tauri::command]
pub async fn vault_info(wallet: Shared<'_>) -> Result<VaultFacts, Error> {
    blocking(&wallet, |w| w.info()).await
}
