//! The tray icon: whether the vault is locked (the menu's first line and the tooltip),
//! open the window, lock, copy a connection's access token, quit. Where the desktop has no
//! tray library (libayatana-appindicator3) the app runs without one.

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

/// The menu's first, disabled line: the vault's lock state.
fn status_text(locked: bool) -> &'static str {
    if locked {
        "Locked"
    } else {
        "Unlocked"
    }
}

/// The icon's tooltip (where the desktop shows one: Linux's app indicators have none, so
/// the menu's first line says it there).
fn tooltip(locked: bool) -> &'static str {
    if locked {
        "Token Wallet — locked"
    } else {
        "Token Wallet — unlocked"
    }
}

/// The menu: the lock state, Open, Lock (only while unlocked), the connections' names to
/// copy a token from (`None`: locked), Quit.
fn menu<R: Runtime>(
    app: &AppHandle<R>,
    locked: bool,
    names: Option<Vec<String>>,
) -> tauri::Result<Menu<R>> {
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
            &MenuItem::with_id(app, "status", status_text(locked), false, None::<&str>)?,
            &PredefinedMenuItem::separator(app)?,
            &MenuItem::with_id(app, "open", "Open Token Wallet", true, None::<&str>)?,
            &MenuItem::with_id(app, "lock", "Lock", !locked, None::<&str>)?,
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
    // The app starts locked.
    let built = menu(app, true, None).and_then(|m| {
        let mut b = TrayIconBuilder::with_id(ID)
            .tooltip(tooltip(true))
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

/// Whether the tray icon was made: closing the window can then leave the app running.
pub fn exists<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.tray_by_id(ID).is_some()
}

/// Rebuilds the tray menu (lock state, connection names) and the tooltip off the calling
/// thread.
fn update<R: Runtime>(app: &AppHandle<R>) {
    if !exists(app) {
        return;
    }
    let app = app.clone();
    std::thread::spawn(move || {
        let w = app.state::<Arc<Wallet>>();
        let locked = w.unlocked_agent().is_err();
        let names = if locked {
            None
        } else {
            w.connection_names().ok()
        };
        if let (Some(tray), Ok(m)) = (app.tray_by_id(ID), menu(&app, locked, names)) {
            let _ = tray.set_menu(Some(m));
            let _ = tray.set_tooltip(Some(tooltip(locked)));
        }
    });
}

fn on_menu<R: Runtime>(app: &AppHandle<R>, id: &str) {
    match id {
        "open" => crate::window::show(app),
        "lock" => {
            app.state::<Arc<Wallet>>().lock();
            crate::events::changed(app);
        }
        "quit" => {
            app.state::<Arc<Wallet>>().stop_proxies();
            app.exit(0)
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use tauri::menu::MenuItemKind;

    #[test]
    fn the_words_say_the_lock_state() {
        assert_eq!(status_text(true), "Locked");
        assert_eq!(status_text(false), "Unlocked");
        assert_eq!(tooltip(true), "Token Wallet — locked");
        assert_eq!(tooltip(false), "Token Wallet — unlocked");
    }

    /// Each item's id, text and whether it can be clicked.
    fn items(m: &Menu<tauri::test::MockRuntime>) -> Vec<(String, String, bool)> {
        m.items()
            .unwrap()
            .iter()
            .filter_map(|i| match i {
                MenuItemKind::MenuItem(i) => {
                    Some((i.id().0.clone(), i.text().unwrap(), i.is_enabled().unwrap()))
                }
                MenuItemKind::Submenu(s) => {
                    Some((s.id().0.clone(), s.text().unwrap(), s.is_enabled().unwrap()))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_menu_shows_the_lock_state_and_locks_only_when_unlocked() {
        let app = tauri::test::mock_app();
        let own = |v: &[(&str, &str, bool)]| {
            v.iter()
                .map(|(a, b, c)| (a.to_string(), b.to_string(), *c))
                .collect::<Vec<_>>()
        };
        let locked = menu(app.handle(), true, None).unwrap();
        assert_eq!(
            items(&locked),
            own(&[
                ("status", "Locked", false),
                ("open", "Open Token Wallet", true),
                ("lock", "Lock", false),
                ("copy", "Copy access token", true),
                ("quit", "Quit", true),
            ])
        );
        let unlocked = menu(app.handle(), false, Some(vec!["books".into()])).unwrap();
        assert_eq!(
            items(&unlocked),
            own(&[
                ("status", "Unlocked", false),
                ("open", "Open Token Wallet", true),
                ("lock", "Lock", true),
                ("copy", "Copy access token", true),
                ("quit", "Quit", true),
            ])
        );
        let Some(MenuItemKind::Submenu(copy)) = unlocked.get("copy") else {
            panic!("no copy submenu");
        };
        let names: Vec<String> = copy
            .items()
            .unwrap()
            .iter()
            .filter_map(|i| i.as_menuitem().map(|i| i.text().unwrap()))
            .collect();
        assert_eq!(names, ["books"]);
    }
}
