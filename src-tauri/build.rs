fn main() {
    // The app's own commands get `allow-*` permissions, so the capability file can name
    // exactly the ones the webview may call (nothing is allowed by default).
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(
        tauri_build::AppManifest::new().commands(&[
            "vault_state",
            "create_vault",
            "unlock",
            "lock",
            "vault_info",
            "list_connections",
            "connection",
            "providers",
            "connect",
            "cancel_connect",
            "reopen_sign_in",
            "copy_sign_in_link",
            "reauthorise",
            "refresh_connection",
            "copy_token",
            "reveal_token",
            "disconnect",
            "add_api_key",
            "rotate_secret",
            "check_connection",
            "rotate_key",
            "change_passphrase",
            "audit_log",
            "get_settings",
            "save_settings",
            "backup_vault",
            "restore_backup",
            "activity",
            "start_proxy",
            "stop_proxy",
            "proxy_status",
            "copy_proxy_capability",
            "window_drawn",
            "quit_app",
        ]),
    ))
    .expect("failed to run tauri-build");
}
