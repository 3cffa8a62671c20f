//! The contract with the UI (see `models`): one sample of every model, pinned.
use super::*;
use token_wallet_core::connection::ConnectionInfo;

fn samples() -> serde_json::Value {
    let facts = VaultFacts {
        vault_id: "00".into(),
        store: "file".into(),
        service: "token-wallet".into(),
        kdf: Kdf {
            m_kib: 65536,
            t: 3,
            p: 4,
        },
        kdf_below_floor: false,
        generation: 1,
        created_at: 1,
        dek_created_at: 1,
        passphrase_changed_at: 1,
        record_count: Some(1),
        unlock: "transit:transit/token-wallet".into(),
        refresher_key: Some("transit:transit/token-wallet-refresher".into()),
        consume_only: true,
    };
    let state = VaultState {
        status: Status::Unlocked,
        profile: "default".into(),
        store: Some("file".into()),
        vault: Some(facts),
        message: Some("m".into()),
        retry_after_ms: 0,
        failed_attempts: 0,
        insecure_kdf: false,
        min_passphrase_chars: 8,
        locked_because: Some(
            "Locked after 15 minutes without use (Settings → Lock after idle).".into(),
        ),
    };
    let mut info = ConnectionInfo::new(
        &"c".parse().unwrap(),
        token_wallet_core::oauth::presets().remove(0),
        "client".into(),
        vec!["users:read".into()],
        1,
        Some(2),
    );
    info.has_refresh_token = true;
    info.last_refresh = Some(1);
    info.last_export = Some(1);
    info.last_refresh_error = Some("e".into());
    info.check_error = Some("e".into());
    info.checked_at = Some(1);
    let alert = AlertView {
        kind: token_wallet_core::monitor::AlertKind::Inactive,
        connection: Some("c".into()),
        text: "t".into(),
    };
    let audit = AuditView {
        lines: vec![AuditLine {
            seq: 1,
            ts: 1,
            event: "connected".into(),
            fields: vec![("connection".into(), "c".into())],
            authenticated: true,
        }],
        intact: true,
        authenticated: 1,
        broken: Some("b".into()),
        path: "p".into(),
    };
    serde_json::json!({
        "VaultState": state,
        "Connections": Connections {
            connections: vec![ConnectionView::from_info(info.clone(), 60, 1)],
            alerts: vec![alert],
            now: 1,
        },
        "Rotated": Rotated { connection: ConnectionView::from_info(info.clone(), 60, 1), message: "m".into() },
        "Checked": Checked { connection: ConnectionView::from_info(info, 60, 1), outcome: CheckResult::Ok, message: "m".into() },
        "Provider": ProviderView {
            name: "pleo".into(),
            display_name: "Pleo".into(),
            default_client_id: Some("c".into()),
            default_scopes: vec!["users:read".into()],
            source: "s".into(),
            pleo: true,
        },
        "Disconnect": Disconnect { outcome: DisconnectOutcome::Revoked, message: "m".into() },
        "Copied": Copied { expires_at: Some(1), clears_in_secs: 30 },
        "AuditView": audit,
        "SettingsView": SettingsView {
            settings: crate::settings::Settings::default(),
            problem: Some("p".into()),
            data_dir: "d".into(),
            providers_file: Some("f".into()),
        },
        "Progress": Progress { done: 1, total: 2 },
        "BackupDone": BackupDone { records: 1, message: "m".into() },
        "ProxyView": ProxyView {
            name: "c".into(),
            urls: vec!["http://127.0.0.1:1".into()],
            allow: vec!["GET /v1/expenses*".into()],
            forwarded: 1,
            refused: 1,
            waited: 0,
        },
    })
}

#[test]
fn contract_is_what_the_ui_expects() {
    token_wallet_test_support::pinned(
        "ui/src/contract.json",
        &(serde_json::to_string_pretty(&samples()).unwrap() + "\n"),
        "UPDATE_CONTRACT",
        "cargo test -p token-wallet-app --lib contract",
    );
}
