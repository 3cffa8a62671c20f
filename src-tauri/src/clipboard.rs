//! The clipboard: a copied access token is marked secret (clipboard managers skip it) and
//! cleared after [`CLEAR_AFTER`] or when the vault locks, unless something else was copied
//! meanwhile.

use crate::error::Error;
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;
use tauri::{AppHandle, Runtime};
use tauri_plugin_clipboard_manager::ClipboardExt;

/// How long a copied token stays on the clipboard.
pub const CLEAR_AFTER: Duration = Duration::from_secs(30);

/// What this app last put on the clipboard, until it is cleared or replaced: the clearing
/// thread and [`forget`] compare against it, and nothing else keeps a copy.
static COPIED: std::sync::Mutex<Option<SecretString>> = std::sync::Mutex::new(None);

/// Copies `token`, then clears it after [`CLEAR_AFTER`] (or at [`forget`], on lock) if
/// the clipboard still holds it.
pub fn copy<R: Runtime>(app: &AppHandle<R>, token: SecretString) -> Result<(), Error> {
    app.clipboard()
        .write_secret(token.expose_secret())
        .map_err(|e| Error::Op(format!("could not use the clipboard: {e}")))?;
    *COPIED.lock().unwrap_or_else(|p| p.into_inner()) = Some(token);
    let app = app.clone();
    std::thread::spawn(move || {
        std::thread::sleep(CLEAR_AFTER);
        forget(&app);
    });
    Ok(())
}

/// Clears the clipboard if it still holds what this app copied, and forgets that. Called
/// when the clearing time comes and when the vault locks. Off the main thread only (the
/// plugin warns a read can deadlock there).
pub fn forget<R: Runtime>(app: &AppHandle<R>) {
    let Some(token) = COPIED.lock().unwrap_or_else(|p| p.into_inner()).take() else {
        return;
    };
    let still = app
        .clipboard()
        .read_text()
        .is_ok_and(|t| zeroize::Zeroizing::new(t).as_str() == token.expose_secret());
    if still {
        if let Err(e) = app.clipboard().clear() {
            tracing::warn!(error = %e, "could not clear the clipboard");
        }
    }
}
