//! The webview's only door: thin `#[tauri::command]`s over [`Wallet`]. Each runs on a
//! blocking worker thread (Argon2 and keystore calls must not stall the window's event
//! loop). Passphrases, API keys and client secrets never come from the page: the command
//! asks for them in the native dialog ([`secret_entry`]) and hands them to core; nothing
//! returns them.

use crate::error::Error;
use crate::models::{
    AddKeyForm, AuditView, BackupDone, Checked, ConnectForm, ConnectionView, Connections, Copied,
    Disconnect, Progress, ProviderView, ProxyView, RotateForm, Rotated, SettingsView, VaultFacts,
    VaultState,
};
use crate::secret_entry::{self, Ask, Field};
use crate::settings::Settings;
use crate::wallet::Wallet;
use secrecy::ExposeSecret;
use std::sync::Arc;
use tauri::{AppHandle, Emitter, Runtime, State};
use token_wallet_core::audit::ExportVia::{Clipboard, Window};

type Shared<'a> = State<'a, Arc<Wallet>>;

async fn blocking<T: Send + 'static>(
    wallet: &Arc<Wallet>,
    f: impl FnOnce(&Wallet) -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    let w = Arc::clone(wallet);
    tauri::async_runtime::spawn_blocking(move || {
        let r = f(&w);
        // The blocking workers are reused and their stacks kept: what the command left in
        // this one's (a key schedule, a token) is overwritten before the next.
        token_wallet_core::crypto::scrub_deep_stack();
        r
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}

/// Where the lock screen is: no vault, locked, unlocked, or unavailable (and why).
#[tauri::command]
pub async fn vault_state(wallet: Shared<'_>) -> Result<VaultState, Error> {
    blocking(&wallet, |w| Ok(w.state())).await
}

/// Asks the person in the native dialog ([`secret_entry`]): what they type goes from it
/// to core, never through the page. The `N` answers in field order; `Error::Cancelled`
/// if they cancel.
fn ask<R: Runtime, const N: usize>(app: &AppHandle<R>, a: Ask) -> Result<[String; N], Error> {
    secret_entry::ask(app, a)?
        .iter()
        .map(|s| s.expose_secret().to_string())
        .collect::<Vec<_>>()
        .try_into()
        .map_err(|_| Error::Internal("the dialog gave a different number of answers".into()))
}

/// A dialog with one secret field.
fn one_secret(
    title: &'static str,
    intro: String,
    label: &'static str,
    accept: &'static str,
) -> Ask {
    Ask {
        title,
        intro,
        fields: vec![Field::Secret(label)],
        accept,
    }
}

/// The dialog for a new passphrase, typed twice.
fn new_passphrase(title: &'static str, intro: &str, accept: &'static str) -> Ask {
    Ask {
        title,
        intro: intro.into(),
        fields: vec![
            Field::NewPassphrase("_Passphrase"),
            Field::Confirm("Passphrase _again"),
        ],
        accept,
    }
}

/// Creates the vault (test-only KDF settings under `TOKEN_WALLET_INSECURE_KDF=1`) with a
/// passphrase asked for in the native dialog, and leaves it unlocked.
#[tauri::command]
pub async fn create_vault<R: Runtime>(
    app: AppHandle<R>,
    wallet: Shared<'_>,
) -> Result<VaultState, Error> {
    blocking(&wallet, move |w| {
        let [p, c] = ask(
            &app,
            new_passphrase(
                "Token Wallet: choose a passphrase",
                "This passphrase opens your vault. Token Wallet cannot recover it: keep it somewhere safe. A few unrelated words make a strong one.",
                "Create vault",
            ),
        )?;
        w.create(p, c)
    })
    .await
}

/// Unlocks the vault with the passphrase asked for in the native dialog (a team vault: by
/// OpenBao identity). A wrong passphrase delays the next try ([`crate::wallet::Throttle`]).
#[tauri::command]
pub async fn unlock<R: Runtime>(
    app: AppHandle<R>,
    wallet: Shared<'_>,
) -> Result<VaultState, Error> {
    blocking(&wallet, move |w| {
        if w.unlocks_by_identity() {
            return w.unlock_by_identity(); // a team vault: no passphrase
        }
        w.check_throttle()?;
        let [p] = ask(
            &app,
            one_secret(
                "Token Wallet: unlock",
                "Enter the passphrase of your vault.".into(),
                "_Passphrase",
                "Unlock",
            ),
        )?;
        w.unlock(p)
    })
    .await
}

/// Locks the vault: its keys are dropped (and zeroized), and a token or key this app put
/// on the clipboard is cleared.
#[tauri::command]
pub async fn lock<R: Runtime>(app: AppHandle<R>, wallet: Shared<'_>) -> Result<VaultState, Error> {
    blocking(&wallet, move |w| {
        let st = w.lock();
        crate::clipboard::forget(&app);
        Ok(st)
    })
    .await
}

/// The vault's public facts; the record count only while unlocked.
#[tauri::command]
pub async fn vault_info(wallet: Shared<'_>) -> Result<VaultFacts, Error> {
    blocking(&wallet, |w| w.info()).await
}

/// Every connection's public facts (no token) and the alerts.
#[tauri::command]
pub async fn list_connections(wallet: Shared<'_>) -> Result<Connections, Error> {
    blocking(&wallet, |w| w.connections()).await
}

/// One connection's public facts.
#[tauri::command]
pub async fn connection(wallet: Shared<'_>, name: String) -> Result<ConnectionView, Error> {
    blocking(&wallet, move |w| w.connection(&name)).await
}

/// The providers the connect wizard offers.
#[tauri::command]
pub async fn providers(wallet: Shared<'_>) -> Result<Vec<ProviderView>, Error> {
    blocking(&wallet, |w| w.providers()).await
}

/// Signs in through the system browser and stores the new connection.
#[tauri::command]
pub async fn connect<R: Runtime>(
    app: AppHandle<R>,
    wallet: Shared<'_>,
    mut form: ConnectForm,
) -> Result<ConnectionView, Error> {
    let asker = app.clone();
    let r = blocking(&wallet, move |w| {
        if form.confidential {
            let intro = format!(
                "Paste the client secret of “{}” (Ctrl+V). It is kept in the vault; a client secret on a desktop can be copied from it, so Pleo advises public clients with PKCE.",
                form.name
            );
            let [s] = ask(
                &asker,
                one_secret("Token Wallet: client secret", intro, "Client _secret", "Continue"),
            )?;
            form.client_secret = s;
        }
        w.connect(form)
    })
    .await;
    crate::events::changed(&app);
    r
}

/// Signs in again for an existing connection.
#[tauri::command]
pub async fn reauthorise<R: Runtime>(
    app: AppHandle<R>,
    wallet: Shared<'_>,
    name: String,
) -> Result<ConnectionView, Error> {
    let r = blocking(&wallet, move |w| w.reauthorise(&name)).await;
    crate::events::changed(&app);
    r
}

/// Cancels the sign-in in progress.
#[tauri::command]
pub async fn cancel_connect(wallet: Shared<'_>) -> Result<(), Error> {
    wallet.cancel_connect();
    Ok(())
}

/// The page's first screen is in the document: show the window (it starts hidden, so a
/// blank one is never seen). Later calls change nothing.
#[tauri::command]
pub async fn window_drawn<R: Runtime>(window: tauri::WebviewWindow<R>) -> Result<(), Error> {
    if !window.is_visible().unwrap_or(true) {
        let _ = window.show();
        let _ = window.set_focus();
    }
    Ok(())
}

/// Opens the browser again for the sign-in in progress (a fresh one-time address).
#[tauri::command]
pub async fn reopen_sign_in(wallet: Shared<'_>) -> Result<(), Error> {
    wallet.reopen_sign_in();
    Ok(())
}

/// Copies the sign-in in progress's link, to open by hand (cleared like a token).
#[tauri::command]
pub async fn copy_sign_in_link<R: Runtime>(
    app: AppHandle<R>,
    wallet: Shared<'_>,
) -> Result<(), Error> {
    let link = wallet.sign_in_link()?;
    crate::clipboard::copy(&app, secrecy::SecretString::from(link))
}

/// Refreshes a connection's tokens now.
#[tauri::command]
pub async fn refresh_connection<R: Runtime>(
    app: AppHandle<R>,
    wallet: Shared<'_>,
    name: String,
) -> Result<ConnectionView, Error> {
    let r = blocking(&wallet, move |w| w.refresh(&name)).await;
    crate::events::changed(&app);
    r
}

/// Puts a live access token on the clipboard (marked secret for clipboard managers), and
/// clears it after [`crate::clipboard::CLEAR_AFTER`] if it still holds it. The token never
/// reaches the webview.
#[tauri::command]
pub async fn copy_token<R: Runtime>(
    app: AppHandle<R>,
    wallet: Shared<'_>,
    name: String,
) -> Result<Copied, Error> {
    let (token, expires_at) = blocking(&wallet, move |w| w.export(&name, Clipboard)).await?;
    crate::clipboard::copy(&app, token)?;
    Ok(Copied {
        expires_at,
        clears_in_secs: crate::clipboard::CLEAR_AFTER.as_secs(),
    })
}

/// The access token itself, for the reveal box: only because the user asked (audited as
/// an export), and only an OAuth access token (short-lived). Never the refresh token, never
/// an API key or a long-lived token.
#[tauri::command]
pub async fn reveal_token(wallet: Shared<'_>, name: String) -> Result<String, Error> {
    let (token, _) = blocking(&wallet, move |w| {
        // Only a short-lived access token is ever shown in the page (whose process another
        // process of the same user can read); a key stays out of it.
        if w.connection(&name)?.kind != token_wallet_core::connection::CredentialKind::Oauth {
            return Err(Error::Invalid(
                "a key or long-lived token is never shown in the window; Copy puts it on the clipboard for 30 s".into(),
            ));
        }
        w.export(&name, Window)
    })
    .await?;
    Ok(token.expose_secret().to_string())
}

/// Verifies a Pleo API key with Pleo and stores it (nothing stored if it does not verify).
#[tauri::command]
pub async fn add_api_key<R: Runtime>(
    app: AppHandle<R>,
    wallet: Shared<'_>,
    mut form: AddKeyForm,
) -> Result<ConnectionView, Error> {
    let asker = app.clone();
    let r = blocking(&wallet, move |w| {
        let intro = format!(
            "Paste the API key for “{}” (Ctrl+V), as Pleo's web app showed it. It is checked with Pleo before it is kept.",
            form.name
        );
        let [k] = ask(
            &asker,
            one_secret("Token Wallet: API key", intro, "API _key", "Check and save"),
        )?;
        form.key = k;
        w.add_api_key(form)
    })
    .await;
    crate::events::changed(&app);
    r
}

/// Replaces an API key or token with a new one, verified first.
#[tauri::command]
pub async fn rotate_secret<R: Runtime>(
    app: AppHandle<R>,
    wallet: Shared<'_>,
    mut form: RotateForm,
) -> Result<Rotated, Error> {
    let asker = app.clone();
    let r = blocking(&wallet, move |w| {
        let intro = format!(
            "Paste the new key for “{}” (Ctrl+V). It replaces the old one only once it checks out.",
            form.name
        );
        let [k] = ask(
            &asker,
            one_secret(
                "Token Wallet: new key",
                intro,
                "New _key",
                "Check and replace",
            ),
        )?;
        form.key = k;
        w.rotate_secret(form)
    })
    .await;
    crate::events::changed(&app);
    r
}

/// Checks a connection with its provider now (and Pleo's installation status).
#[tauri::command]
pub async fn check_connection<R: Runtime>(
    app: AppHandle<R>,
    wallet: Shared<'_>,
    name: String,
) -> Result<Checked, Error> {
    let r = blocking(&wallet, move |w| w.check_connection(&name)).await;
    crate::events::changed(&app);
    r
}

/// Revokes and deletes a connection (`force`: forget it even if revocation fails).
#[tauri::command]
pub async fn disconnect<R: Runtime>(
    app: AppHandle<R>,
    wallet: Shared<'_>,
    name: String,
    force: bool,
) -> Result<Disconnect, Error> {
    let r = blocking(&wallet, move |w| w.disconnect(&name, force)).await;
    crate::events::changed(&app);
    r
}

/// Re-encrypts every record under a new data key, reporting progress as it goes.
#[tauri::command]
pub async fn rotate_key<R: Runtime>(
    app: AppHandle<R>,
    wallet: Shared<'_>,
) -> Result<VaultFacts, Error> {
    let events = app.clone();
    let r = blocking(&wallet, move |w| {
        w.rotate_key(|done, total| {
            let _ = events.emit("rotation-progress", Progress { done, total });
        })
    })
    .await;
    crate::events::changed(&app);
    r
}

/// Changes the passphrase (the current one is checked first).
#[tauri::command]
pub async fn change_passphrase<R: Runtime>(
    app: AppHandle<R>,
    wallet: Shared<'_>,
) -> Result<VaultFacts, Error> {
    blocking(&wallet, move |w| {
        w.unlocked_agent()?;
        let [cur, new, again] = ask(
            &app,
            Ask {
                title: "Token Wallet: change the passphrase",
                intro: "Enter the current passphrase, then the new one twice. The data key is rotated with it.".into(),
                fields: vec![
                    Field::Secret("_Current passphrase"),
                    Field::NewPassphrase("_New passphrase"),
                    Field::Confirm("New passphrase _again"),
                ],
                accept: "Change passphrase",
            },
        )?;
        w.change_passphrase(cur, new, again)
    })
    .await
}

/// The audit log (newest first) and whether it verifies.
#[tauri::command]
pub async fn audit_log(wallet: Shared<'_>) -> Result<AuditView, Error> {
    blocking(&wallet, |w| w.audit(2_000)).await
}

/// The settings.
#[tauri::command]
pub async fn get_settings(wallet: Shared<'_>) -> Result<SettingsView, Error> {
    blocking(&wallet, |w| {
        let cfg = w.config()?;
        Ok(SettingsView {
            settings: w.settings(),
            problem: w.settings_problem(),
            data_dir: cfg.core.data_dir.display().to_string(),
            providers_file: cfg.core.providers.as_ref().map(|p| p.display().to_string()),
        })
    })
    .await
}

/// Writes every connection to a new backup file (under the vault's passphrase, or
/// `own` entered twice).
#[tauri::command]
pub async fn backup_vault<R: Runtime>(
    app: AppHandle<R>,
    wallet: Shared<'_>,
    path: String,
    own: bool,
) -> Result<BackupDone, Error> {
    blocking(&wallet, move |w| {
        w.unlocked_agent()?;
        let [p, c] = if own {
            ask(
                &app,
                new_passphrase(
                    "Token Wallet: backup passphrase",
                    "Choose a passphrase for this backup file. Whoever has the file and this passphrase has your connections.",
                    "Write backup",
                ),
            )?
        } else {
            Default::default()
        };
        w.backup(path, p, c)
    })
    .await
}

/// Brings a backup's connections into this (empty) vault.
#[tauri::command]
pub async fn restore_backup<R: Runtime>(
    app: AppHandle<R>,
    wallet: Shared<'_>,
    path: String,
    moved: bool,
) -> Result<BackupDone, Error> {
    let asker = app.clone();
    let r = blocking(&wallet, move |w| {
        w.unlocked_agent()?;
        let [p] = ask(
            &asker,
            one_secret(
                "Token Wallet: restore",
                "Enter the passphrase the backup was sealed under.".into(),
                "Backup _passphrase",
                "Restore",
            ),
        )?;
        w.restore(path, p, moved)
    })
    .await;
    crate::events::changed(&app);
    r
}

/// Saves and applies the settings.
#[tauri::command]
pub async fn save_settings(wallet: Shared<'_>, settings: Settings) -> Result<Settings, Error> {
    blocking(&wallet, move |w| w.save_settings(settings)).await
}

/// The person is using the window (keys, pointer): restarts the auto-lock count. The
/// window sends it at most every 20 s.
#[tauri::command]
pub async fn activity(wallet: Shared<'_>) -> Result<(), Error> {
    if let Ok(a) = wallet.unlocked_agent() {
        a.note_activity();
    }
    Ok(())
}

/// Starts a proxy for a connection (its `allow` rules, one per entry); where it listens.
/// Its capability goes only to the clipboard ([`copy_proxy_capability`]).
#[tauri::command]
pub async fn start_proxy<R: Runtime>(
    app: AppHandle<R>,
    wallet: Shared<'_>,
    name: String,
    allow: Vec<String>,
) -> Result<ProxyView, Error> {
    let r = blocking(&wallet, move |w| w.start_proxy(&name, allow)).await;
    crate::events::changed(&app);
    r
}

/// Stops a connection's proxy.
#[tauri::command]
pub async fn stop_proxy<R: Runtime>(
    app: AppHandle<R>,
    wallet: Shared<'_>,
    name: String,
) -> Result<(), Error> {
    let r = blocking(&wallet, move |w| w.stop_proxy(&name)).await;
    crate::events::changed(&app);
    r
}

/// A connection's running proxy, if any, with its live counts.
#[tauri::command]
pub async fn proxy_status(wallet: Shared<'_>, name: String) -> Result<Option<ProxyView>, Error> {
    blocking(&wallet, move |w| Ok(w.proxy_view(&name))).await
}

/// Puts a running proxy's capability on the clipboard (cleared like a copied token).
#[tauri::command]
pub async fn copy_proxy_capability<R: Runtime>(
    app: AppHandle<R>,
    wallet: Shared<'_>,
    name: String,
) -> Result<Copied, Error> {
    let cap = blocking(&wallet, move |w| w.proxy_capability(&name)).await?;
    crate::clipboard::copy(&app, cap)?;
    Ok(Copied {
        expires_at: None,
        clears_in_secs: crate::clipboard::CLEAR_AFTER.as_secs(),
    })
}
