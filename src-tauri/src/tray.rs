//! The tray icon: open the window, lock, copy a connection's access token, quit. Where
//! the desktop has no tray library (libayatana-appindicator3) the app runs without one.

use crate::wallet::Wallet;
use std::sync::Arc;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Listener, Manager, Runtime};

const ID: &str = "main";

/// Whether the tray library can be loaded (tray-icon panics without it on Linux).
fn available() -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    let names = ["libayatana-appindicator3.so.1", "libappindicator3.so.1"];
    let dirs = [
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/usr/lib64",
        "/usr/lib",
    ];
    dirs.iter().any(|d| {
        names
            .iter()
            .any(|n| std::path::Path::new(d).join(n).exists())
    })
}

fn menu<R: Runtime>(app: &AppHandle<R>, names: Option<Vec<String>>) -> tauri::Result<Menu<R>> {
    let copy = Submenu::with_id(app, "copy", "Copy access token", true)?;
    match names {
        None => copy.append(&MenuItem::with_id(
            app,
            "none",
            "Locked",
            false,
            None::<&str>,
        )?)?,
        Some(n) if n.is_empty() => copy.append(&MenuItem::with_id(
            app,
            "none",
            "No connections",
            false,
            None::<&str>,
        )?)?,
        Some(n) => {
            for name in n {
                copy.append(&MenuItem::with_id(
                    app,
                    format!("copy:{name}"),
                    &name,
                    true,
                    None::<&str>,
                )?)?;
            }
        }
    }
    Menu::with_items(
        app,
        &[
            &MenuItem::with_id(app, "open", "Open Token Wallet", true, None::<&str>)?,
            &MenuItem::with_id(app, "lock", "Lock", true, None::<&str>)?,
            &copy,
            &PredefinedMenuItem::separator(app)?,
            &MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?,
        ],
    )
}

/// Adds the tray icon (if the desktop can show one).
pub fn build<R: Runtime>(app: &AppHandle<R>) {
    if !available() {
        tracing::info!("no tray library (libayatana-appindicator3): running without a tray icon");
        return;
    }
    let built = menu(app, None).and_then(|m| {
        let mut b = TrayIconBuilder::with_id(ID)
            .tooltip("Token Wallet")
            .menu(&m)
            .on_menu_event(|app, ev| on_menu(app, ev.id().as_ref()));
        if let Some(icon) = app.default_window_icon() {
            b = b.icon(icon.clone());
        }
        b.build(app)
    });
    match built {
        Ok(_) => {
            // Rebuilt whenever the wallet changes, like the window re-reads.
            let handle = app.clone();
            app.listen_any(crate::events::CHANGED, move |_| update(&handle));
        }
        Err(e) => tracing::warn!(error = %e, "no tray icon"),
    }
}

/// Rebuilds the tray menu (connection names) off the calling thread.
fn update<R: Runtime>(app: &AppHandle<R>) {
    if app.tray_by_id(ID).is_none() {
        return;
    }
    let app = app.clone();
    std::thread::spawn(move || {
        let w = app.state::<Arc<Wallet>>();
        let names = w.connection_names().ok();
        if let (Some(tray), Ok(m)) = (app.tray_by_id(ID), menu(&app, names)) {
            let _ = tray.set_menu(Some(m));
        }
    });
}

fn on_menu<R: Runtime>(app: &AppHandle<R>, id: &str) {
    match id {
        "open" => {
            if let Some(w) = app.get_webview_window("main") {
                let _ = w.unminimize();
                let _ = w.show();
                let _ = w.set_focus();
            }
        }
        "lock" => {
            app.state::<Arc<Wallet>>().lock();
            crate::events::changed(app);
        }
        "quit" => app.exit(0),
        other => {
            if let Some(name) = other.strip_prefix("copy:") {
                let (app, name) = (app.clone(), name.to_string());
                std::thread::spawn(move || {
                    let w = app.state::<Arc<Wallet>>();
                    let r = w
                        .export(&name, token_wallet_core::audit::ExportVia::Clipboard)
                        .and_then(|(t, _)| crate::clipboard::copy(&app, t));
                    token_wallet_core::crypto::scrub_deep_stack();
                    let (title, body) = match r {
                        Ok(()) => (
                            "Access token copied",
                            format!(
                                "“{name}”: the clipboard is cleared in {} s.",
                                crate::clipboard::CLEAR_AFTER.as_secs()
                            ),
                        ),
                        Err(e) => ("Could not copy the token", e.to_string()),
                    };
                    crate::events::notify(&app, title, &body);
                });
            }
        }
    }
}
