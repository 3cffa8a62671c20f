//! The clipboard: a copied access token is marked secret (clipboard managers skip it) and
//! cleared after [`CLEAR_AFTER`], unless something else was copied meanwhile.

use crate::error::Error;
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;
use tauri::{AppHandle, Runtime};
use tauri_plugin_clipboard_manager::ClipboardExt;

/// How long a copied token stays on the clipboard.
pub const CLEAR_AFTER: Duration = Duration::from_secs(30);

/// Copies `token`, then clears it after [`CLEAR_AFTER`] if the clipboard still holds it.
pub fn copy<R: Runtime>(app: &AppHandle<R>, token: SecretString) -> Result<(), Error> {
    app.clipboard()
        .write_secret(token.expose_secret())
        .map_err(|e| Error::Op(format!("could not use the clipboard: {e}")))?;
    let app = app.clone();
    std::thread::spawn(move || {
        std::thread::sleep(CLEAR_AFTER);
        // Read off the main thread (the plugin warns it can deadlock there).
        let still = app
            .clipboard()
            .read_text()
            .is_ok_and(|t| zeroize::Zeroizing::new(t).as_str() == token.expose_secret());
        if still {
            if let Err(e) = app.clipboard().clear() {
                tracing::warn!(error = %e, "could not clear the clipboard");
            }
        }
    });
    Ok(())
}
