//! What the app tells the person and its own parts: the `wallet-changed` event (the window
//! re-reads its state; the tray rebuilds its menu, listening like the window does) and
//! desktop notifications. Everything that changes something calls [`changed`].

use tauri::{AppHandle, Emitter, Runtime};

/// The event the window and the tray listen to: re-read the state and the connections.
pub const CHANGED: &str = "wallet-changed";

/// Tells the window and the tray that something changed.
pub fn changed<R: Runtime>(app: &AppHandle<R>) {
    let _ = app.emit(CHANGED, ());
}

/// A desktop notification; without a notification service it is only logged.
#[cfg(feature = "desktop-notifications")]
pub fn notify<R: Runtime>(app: &AppHandle<R>, title: &str, body: &str) {
    use tauri_plugin_notification::NotificationExt;
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::info!(error = %e, "no desktop notification");
    }
}

/// Built without desktop notifications (the macOS type check): only logged.
#[cfg(not(feature = "desktop-notifications"))]
pub fn notify<R: Runtime>(_app: &AppHandle<R>, title: &str, _body: &str) {
    tracing::info!(title, "no desktop notification (built without them)");
}
