//! The UI's TypeScript types, generated (see `models`).
use super::*;
use ts_rs::{Config, TS};

fn typescript() -> String {
    let cfg = Config::new().with_large_int("number");
    let mut out = String::from(
        "// Generated from the Rust types the app sends and receives (src-tauri/src/models/\n\
         // and the core types they hold) by the app's test `models::generated`. Do not\n\
         // edit: change the Rust, then `UPDATE_CONTRACT=1 cargo test -p token-wallet-app --lib generated`.\n",
    );
    macro_rules! decl {
        ($($t:ty),* $(,)?) => {
            $(
                out.push_str(&format!("\nexport {}\n", <$t as TS>::decl(&cfg)));
            )*
        };
    }
    decl!(
        Status,
        Kdf,
        VaultFacts,
        VaultState,
        ConnectionStatus,
        token_wallet_core::connection::CredentialKind,
        token_wallet_core::health::Health,
        ConnectionView,
        ProviderView,
        ConnectForm,
        DisconnectOutcome,
        Disconnect,
        Copied,
        AuditLine,
        AuditView,
        token_wallet_core::monitor::AlertKind,
        AlertView,
        Progress,
        crate::settings::Settings,
        SettingsView,
        Connections,
        AddKeyForm,
        RotateForm,
        Rotated,
        CheckResult,
        Checked,
        BackupDone,
        ProxyView,
    );
    out
}

#[test]
fn generated_typescript_is_current() {
    token_wallet_test_support::pinned(
        "ui/src/generated.ts",
        &typescript(),
        "UPDATE_CONTRACT",
        "cargo test -p token-wallet-app --lib generated",
    );
}
