//! The main window's close: with "keep running in the tray" on (the default) and a tray
//! icon, closing hides the window and the app keeps running (its agent keeps serving the
//! CLI, the auto-lock still applies, a sign-in keeps waiting); the tray's Open Token Wallet
//! or a second launch shows it again. Otherwise closing quits, after asking in the page
//! while a sign-in waits for the browser (quitting stops it).

use crate::wallet::Wallet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tauri::{AppHandle, Emitter, Manager, Runtime, State, Window, WindowEvent};

/// The event that asks the page to confirm quitting (a sign-in is running).
pub const CLOSE_REQUESTED: &str = "close-requested";

/// What closing the window does.
#[derive(Debug, PartialEq, Eq)]
enum Close {
    /// Hide the window; the app keeps running in the tray.
    Hide,
    /// Keep the window and ask the page (a sign-in would be lost).
    Ask,
    /// Close it: the app quits.
    Quit,
}

fn decide(keep_in_tray: bool, tray: bool, sign_in: bool) -> Close {
    if keep_in_tray && tray {
        Close::Hide
    } else if sign_in {
        Close::Ask
    } else {
        Close::Quit
    }
}

/// Whether the person was told, this run, that closing left the app in the tray.
static TOLD: AtomicBool = AtomicBool::new(false);

/// The builder's window-event handler: the main window's close request.
pub fn on_event<R: Runtime>(window: &Window<R>, event: &WindowEvent) {
    let WindowEvent::CloseRequested { api, .. } = event else {
        return;
    };
    if window.label() != "main" {
        return;
    }
    let app = window.app_handle();
    let wallet = app.state::<Arc<Wallet>>();
    let settings = wallet.settings();
    match decide(
        settings.keep_running_in_tray,
        crate::tray::exists(app),
        wallet.sign_in_running(),
    ) {
        Close::Hide => {
            api.prevent_close();
            let _ = window.hide();
            if settings.notifications && !TOLD.swap(true, Ordering::SeqCst) {
                // Off the event loop: the notification service is a D-Bus call away.
                let app = app.clone();
                std::thread::spawn(move || {
                    crate::events::notify(
                        &app,
                        "Token Wallet is still running",
                        "Open it from its tray icon, or start it again; Quit in the tray menu stops it. (Settings: Keep running in the tray.)",
                    )
                });
            }
        }
        Close::Ask => {
            api.prevent_close();
            let _ = window.emit(CLOSE_REQUESTED, ());
        }
        Close::Quit => {}
    }
}

/// Shows the main window again (the tray's Open Token Wallet, a second launch).
pub fn show<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}

/// Quits the app (the page's answer to [`CLOSE_REQUESTED`]): a sign-in in progress stops
/// and stores nothing.
#[tauri::command]
pub async fn quit_app<R: Runtime>(
    app: AppHandle<R>,
    wallet: State<'_, Arc<Wallet>>,
) -> Result<(), crate::error::Error> {
    wallet.cancel_connect();
    // Each proxy writes its audit batch before the process goes.
    wallet.stop_proxies();
    app.exit(0);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_hides_asks_or_quits() {
        // The setting on and a tray icon: hidden, sign-in or not.
        assert_eq!(decide(true, true, false), Close::Hide);
        assert_eq!(decide(true, true, true), Close::Hide);
        // No tray icon to come back through, or the setting off: the app would quit.
        for (keep, tray) in [(true, false), (false, true), (false, false)] {
            assert_eq!(decide(keep, tray, true), Close::Ask, "{keep} {tray}");
            assert_eq!(decide(keep, tray, false), Close::Quit, "{keep} {tray}");
        }
    }
}
