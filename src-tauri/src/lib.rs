//! Token Wallet's desktop shell. The webview talks only to the commands in [`commands`],
//! which are thin calls into [`wallet::Wallet`], which calls `token_wallet_core`. No crypto
//! or keystore detail lives here.
//!
//! Configuration comes from the environment, so tests never touch a person's real vault:
//! `TOKEN_WALLET_PROFILE`, `TOKEN_WALLET_HOME`, `TOKEN_WALLET_STORE` (`os` or `file`) and, for
//! tests only, `TOKEN_WALLET_INSECURE_KDF=1` (see [`wallet::Config`]).
#![forbid(unsafe_code)]

mod background;
pub mod backup;
mod clipboard;
mod commands;
pub mod connections;
pub mod error;
mod events;
pub mod keys;
pub mod models;
mod proxies;
mod secret_entry;
pub mod settings;
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
mod strength;
pub mod throttle;
mod tray;
pub mod wallet;
mod window;

use std::sync::Arc;
use tauri::Manager;

/// The app's state and commands on `builder` (the real runtime, or a mock one in tests).
fn with_commands<R: tauri::Runtime>(
    builder: tauri::Builder<R>,
    wallet: Arc<wallet::Wallet>,
) -> tauri::Builder<R> {
    builder
        .manage(wallet)
        .invoke_handler(tauri::generate_handler![
            commands::vault_state,
            commands::create_vault,
            commands::unlock,
            commands::lock,
            commands::vault_info,
            commands::list_connections,
            commands::connection,
            commands::providers,
            commands::connect,
            commands::cancel_connect,
            commands::reopen_sign_in,
            commands::copy_sign_in_link,
            commands::reauthorise,
            commands::refresh_connection,
            commands::copy_token,
            commands::reveal_token,
            commands::disconnect,
            commands::add_api_key,
            commands::rotate_secret,
            commands::check_connection,
            commands::rotate_key,
            commands::change_passphrase,
            commands::audit_log,
            commands::get_settings,
            commands::save_settings,
            commands::backup_vault,
            commands::restore_backup,
            commands::activity,
            commands::start_proxy,
            commands::stop_proxy,
            commands::proxy_status,
            commands::copy_proxy_capability,
            commands::window_drawn,
            window::quit_app,
        ])
}

/// Logs to stderr, `TOKEN_WALLET_LOG` (default `warn`) choosing what; never a secret
/// (see `token_wallet_core::logging`).
fn init_log() {
    token_wallet_core::logging::init(tracing::Level::WARN, false);
}

/// The web view's engine settings, each unless the environment already sets it. On Linux:
/// - WebKitGTK's shared-memory renderer instead of its DMABUF one. Measured side by side
///   under a software-GL X server, the DMABUF renderer's web process held 176 MiB against
///   99 MiB and drew the first frame in 1.1 s against 0.6 s; this window shows rows of
///   text and needs no GPU path.
/// - No GL in GTK's own start (`GDK_GL=disable`), with that renderer: GTK otherwise makes
///   GLX contexts as it opens the display, to choose visuals that only a GL-drawn window
///   needs, loading the whole GL driver first. The shared-memory renderer's frames are
///   drawn without GL. Measured under a software-GL X server: about 40 ms less from launch
///   to the unlock screen drawn.
/// - No JavaScript JIT (`JSC_useJIT=false`): the page is this app's own small UI, which
///   the interpreter runs fast enough, and a web process that compiles no code has less to
///   attack (the reasoning behind Lockdown Mode and Edge's JIT-less mode); it also holds
///   less memory.
///
/// Call first in `main`, while no other thread exists: it sets environment variables (the
/// web view's processes inherit them).
pub fn renderer_defaults() {
    #[cfg(target_os = "linux")]
    {
        let set = |name: &str, value: &str| {
            if std::env::var_os(name).is_none() {
                std::env::set_var(name, value);
            }
        };
        // GTK's GL only when someone chose the DMABUF renderer, which presents through it.
        if std::env::var_os("WEBKIT_DISABLE_DMABUF_RENDERER").is_none() {
            set("WEBKIT_DISABLE_DMABUF_RENDERER", "1");
            set("GDK_GL", "disable");
        }
        set("JSC_useJIT", "false");
    }
}

/// How long the hidden window waits for its page to say it has drawn (`window_drawn`)
/// before it is shown anyway: a page that failed to load still shows its window.
const SHOW_ANYWAY: std::time::Duration = std::time::Duration::from_secs(3);

/// The window starts hidden (`"visible": false`), so no blank frame is ever seen; the page
/// shows it once its first screen is in the document. Should that never come, this shows
/// it after [`SHOW_ANYWAY`].
fn show_window_anyway<R: tauri::Runtime>(app: tauri::AppHandle<R>) {
    std::thread::spawn(move || {
        std::thread::sleep(SHOW_ANYWAY);
        if let Some(w) = app.get_webview_window("main") {
            if !w.is_visible().unwrap_or(true) {
                tracing::warn!(
                    "the page did not report its first screen; showing the window anyway"
                );
                let _ = w.show();
            }
        }
    });
}

/// Builds and runs the app; returns when it quits (the last window closed, or Quit).
pub fn run() {
    // Before anything secret is read: no core dumps, no same-user memory reads.
    for failed in token_wallet_harden::harden_process() {
        eprintln!("warning: {failed}");
    }
    init_log();
    let wallet = Arc::new(wallet::Wallet::from_env());
    let bg = wallet.clone();
    // The single-instance plugin goes first: a second launch shows this window (also when
    // closing it left the app in the tray).
    let builder = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            window::show(app)
        }))
        .plugin(tauri_plugin_clipboard_manager::init())
        .on_window_event(window::on_event);
    #[cfg(feature = "desktop-notifications")]
    let builder = builder.plugin(tauri_plugin_notification::init());
    let builder = builder.setup(move |app| {
        // The window's page asks for the vault's state first thing: opening the keystore
        // and reading the header now, while the web view's processes start, takes that
        // off the way to the first screen. (Here, not earlier: a second launch has handed
        // over to this one and exited before setup, without touching the vault.)
        let first = bg.clone();
        std::thread::spawn(move || drop(first.state()));
        tray::build(app.handle());
        background::start(app.handle().clone(), bg);
        show_window_anyway(app.handle().clone());
        Ok(())
    });
    with_commands(builder, wallet)
        .run(tauri::generate_context!())
        // Invariant: only fails when the webview cannot start; nothing to recover.
        .expect("Token Wallet could not start its window");
}

#[cfg(test)]
mod tests;
