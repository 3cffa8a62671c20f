//! The commands as the webview calls them: JSON through Tauri's IPC, checked against the
//! app's real configuration and capability, on the mock runtime (no display needed).

use super::*;
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{Manager, WebviewWindow};

const GOOD: &str = "correct horse battery staple";

fn invoke(w: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    get_ipc_response(
        w,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|b| b.deserialize::<Value>().unwrap())
}

/// The app on the mock runtime with `wallet`, and its main window (made if the
/// config's was not).
fn app_window(wallet: wallet::Wallet) -> (tauri::App<MockRuntime>, WebviewWindow<MockRuntime>) {
    let app = with_commands(mock_builder(), Arc::new(wallet))
        .build(tauri::generate_context!())
        .unwrap();
    let w = match app.get_webview_window("main") {
        Some(w) => w,
        None => tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .unwrap(),
    };
    (app, w)
}

#[test]
fn lock_screen_commands_over_ipc() {
    let _dialogs = crate::secret_entry::tests::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let providers = dir.path().join("ipc/no-such-providers.toml");
    let wallet = wallet::Wallet::new(wallet::Config::for_tests(
        dir.path(),
        "ipc",
        Some(&providers),
    ));
    let (_app, w) = app_window(wallet);

    let st = invoke(&w, "vault_state", json!({})).unwrap();
    assert_eq!(st["status"], "noVault");
    assert_eq!(st["insecureKdf"], true);
    // Errors arrive as plain strings.
    crate::secret_entry::tests::will_answer(Some(&[GOOD, "nope"]));
    assert_eq!(
        invoke(&w, "create_vault", json!({})),
        Err(json!("the two passphrases do not match"))
    );
    crate::secret_entry::tests::will_answer(None);
    assert_eq!(
        invoke(&w, "create_vault", json!({})),
        Err(json!("cancelled; nothing was changed"))
    );
    crate::secret_entry::tests::will_answer(Some(&[GOOD, GOOD]));
    let st = invoke(&w, "create_vault", json!({})).unwrap();
    assert_eq!(st["status"], "unlocked");
    assert_eq!(st["vault"]["generation"], 1);
    assert_eq!(st["vault"]["recordCount"], 0);
    assert!(!st.to_string().contains(GOOD), "the passphrase came back");
    let info = invoke(&w, "vault_info", json!({})).unwrap();
    assert_eq!(info["vaultId"], st["vault"]["vaultId"]);

    assert_eq!(invoke(&w, "lock", json!({})).unwrap()["status"], "locked");
    crate::secret_entry::tests::will_answer(Some(&["wrong one"]));
    assert_eq!(
        invoke(&w, "unlock", json!({})),
        Err(json!("wrong passphrase"))
    );
    // Refused before the dialog opens (no answer is taken).
    let throttled = invoke(&w, "unlock", json!({})).unwrap_err();
    assert!(
        throttled
            .as_str()
            .unwrap()
            .starts_with("too many failed attempts"),
        "{throttled}"
    );
    let st = invoke(&w, "vault_state", json!({})).unwrap();
    assert_eq!(st["failedAttempts"], 1);
    let wait = st["retryAfterMs"].as_u64().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(wait + 20));
    crate::secret_entry::tests::will_answer(Some(&[GOOD]));
    let st = invoke(&w, "unlock", json!({})).unwrap();
    assert_eq!(st["status"], "unlocked");
    assert_eq!(st["failedAttempts"], 0);
    // A command the app does not have is refused.
    assert!(invoke(&w, "delete_everything", json!({})).is_err());
}

#[test]
fn unlocked_commands_over_ipc() {
    let _dialogs = crate::secret_entry::tests::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let wallet = wallet::Wallet::new(wallet::Config::for_tests(dir.path(), "ipc2", None));
    let (_app, w) = app_window(wallet);
    crate::secret_entry::tests::will_answer(Some(&[GOOD, GOOD]));
    invoke(&w, "create_vault", json!({})).unwrap();
    let list = invoke(&w, "list_connections", json!({})).unwrap();
    assert_eq!(
        (&list["connections"], &list["alerts"]),
        (&json!([]), &json!([]))
    );
    assert!(
        list["now"].as_u64().unwrap() > 1_700_000_000,
        "the wallet's clock"
    );
    // The Add API key form is checked before anything is sent: a bad name, date or an
    // empty key is refused in plain words, the key never in them, nothing stored.
    let key = "pleo_test_never_sent_0123456789";
    for (form, given, says) in [
        (
            json!({"name": "a b", "provider": "pleo"}),
            key,
            "not a usable connection name",
        ),
        (
            json!({"name": "k", "provider": "pleo", "expires": "31/12/2027"}),
            key,
            "is not a date like",
        ),
        (
            json!({"name": "k", "provider": "pleo"}),
            "  ",
            "paste the API key",
        ),
        (json!({"name": "k", "provider": "no-such"}), key, "no-such"),
    ] {
        crate::secret_entry::tests::will_answer(Some(&[given]));
        let e = invoke(&w, "add_api_key", json!({ "form": form })).unwrap_err();
        let e = e.as_str().unwrap();
        assert!(e.contains(says), "{e}");
        assert!(!e.contains(key), "the key came back in an error");
    }
    // A key sent by the page is refused: it is never taken from there.
    assert!(invoke(
        &w,
        "add_api_key",
        json!({"form": {"name": "k", "provider": "pleo", "key": key}})
    )
    .unwrap_err()
    .as_str()
    .unwrap()
    .contains("unknown field `key`"));
    crate::secret_entry::tests::will_answer(Some(&[key]));
    assert!(
        invoke(&w, "rotate_secret", json!({"form": {"name": "nope"}}))
            .unwrap_err()
            .as_str()
            .unwrap()
            .contains("no connection named “nope”")
    );
    assert_eq!(
        invoke(&w, "list_connections", json!({})).unwrap()["connections"],
        json!([])
    );
    let providers = invoke(&w, "providers", json!({})).unwrap();
    assert!(providers
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "pleo" && p["pleo"] == true));
    assert_eq!(
        invoke(&w, "connection", json!({"name": "nope"})),
        Err(json!("no connection named “nope”"))
    );
    // The wizard's form is checked before any browser opens.
    let form = |extra: Value| {
        let mut f = json!({"name": "x", "provider": "custom", "clientId": "cid",
            "authorizeUrl": "http://example.com/authorize", "tokenUrl": "https://example.com/token"});
        f.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({ "form": f })
    };
    let e = invoke(&w, "connect", form(json!({}))).unwrap_err();
    assert!(e.as_str().unwrap().contains("authorize_url"), "{e}");
    let e = invoke(&w, "connect", form(json!({"provider": "nope"}))).unwrap_err();
    assert!(e.as_str().unwrap().contains("nope"), "{e}");
    let e = invoke(&w, "connect", form(json!({"surprise": 1}))).unwrap_err();
    assert!(e.as_str().unwrap().contains("surprise"), "{e}");
    // Keys: rotate and change the passphrase (a wrong current one is refused).
    let f = invoke(&w, "rotate_key", json!({})).unwrap();
    assert_eq!(f["generation"], 2);
    crate::secret_entry::tests::will_answer(Some(&[
        "wrong one",
        "a new passphrase",
        "a new passphrase",
    ]));
    let e = invoke(&w, "change_passphrase", json!({})).unwrap_err();
    assert_eq!(e, json!("wrong passphrase; nothing was changed"));
    // Audit: the log verifies and shows what happened, newest first.
    let a = invoke(&w, "audit_log", json!({})).unwrap();
    assert_eq!(a["intact"], true, "{a}");
    let events: Vec<&str> = a["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        ["unlock_failed", "data_key_rotated", "vault_created"]
    );
    // Settings: saved, applied, and nonsense refused.
    let s = invoke(&w, "get_settings", json!({})).unwrap();
    assert_eq!(s["settings"]["autoLockMinutes"], 15);
    assert_eq!(s["settings"]["keepRunningInTray"], true);
    let new = json!({"autoLockMinutes": 0, "refreshAheadMinutes": 10, "notifications": false, "keepRunningInTray": false});
    assert_eq!(
        invoke(&w, "save_settings", json!({ "settings": new })).unwrap(),
        new
    );
    assert_eq!(
        invoke(&w, "get_settings", json!({})).unwrap()["settings"],
        new
    );
    let bad = json!({"autoLockMinutes": 5, "refreshAheadMinutes": 0, "notifications": true});
    assert!(invoke(&w, "save_settings", json!({ "settings": bad })).is_err());
    // A page that does not know the newer setting leaves it at its default.
    let older = json!({"autoLockMinutes": 5, "refreshAheadMinutes": 5, "notifications": true});
    let saved = invoke(&w, "save_settings", json!({ "settings": older })).unwrap();
    assert_eq!(saved["keepRunningInTray"], true);
    // Locked: everything but the lock screen is refused.
    invoke(&w, "lock", json!({})).unwrap();
    for cmd in ["list_connections", "rotate_key", "audit_log"] {
        assert_eq!(
            invoke(&w, cmd, json!({})),
            Err(json!("the vault is locked; unlock it first")),
            "{cmd}"
        );
    }
    assert_eq!(
        invoke(&w, "reveal_token", json!({"name": "x"})),
        Err(json!("the vault is locked; unlock it first"))
    );
}

/// Backup and restore from Settings, over IPC: a backup made elsewhere (core, another
/// vault) restores into this empty vault once, with its copy warning; a wrong
/// passphrase, a relative path and an existing file are refused; no token comes back.
#[test]
fn backup_and_restore_over_ipc() {
    let _dialogs = crate::secret_entry::tests::exclusive();
    use token_wallet_core::connection::{self, Connection, ConnectionInfo, Secrets};
    use token_wallet_core::ops::{Recorder, Session};
    struct Quiet;
    impl Recorder for Quiet {
        fn record(&self, _: token_wallet_core::audit::Event) {}
    }
    const TOKEN: &str = "made-up-refresh-token-for-the-ipc-test";
    let dir = tempfile::tempdir().unwrap();
    // The backup, made from another vault through core.
    let ks = token_wallet_core::Keystore::open(
        "token-wallet:elsewhere",
        &token_wallet_core::KeystoreOptions {
            kind: token_wallet_core::StoreKind::File(dir.path().join("elsewhere.json")),
            chunk_cap: 64 * 1024,
            timeout: std::time::Duration::from_secs(10),
        },
    )
    .unwrap();
    let vault = token_wallet_core::Vault::new(ks, dir.path().join("elsewhere.lock"));
    let pass = token_wallet_core::Passphrase::new("the other vault's passphrase".into()).unwrap();
    let mut v = vault
        .create(
            &pass,
            &token_wallet_core::CreateOptions::insecure_for_tests(),
        )
        .unwrap();
    let info = ConnectionInfo {
        has_refresh_token: true,
        ..ConnectionInfo::new(
            &"books".parse().unwrap(),
            token_wallet_core::oauth::presets().remove(0),
            "client".into(),
            vec![],
            1,
            Some(2),
        )
    };
    connection::create(
        &mut v,
        &Connection {
            info,
            secrets: Secrets {
                access_token: "made-up-access-token-for-the-ipc-test".into(),
                refresh_token: Some(TOKEN.into()),
                client_secret: None,
                sealed: None,
            },
        },
    )
    .unwrap();
    let file = dir.path().join("from-elsewhere.twbackup");
    let v = std::sync::Mutex::new(v);
    let refresher = token_wallet_core::refresh::Refresher::new(
        token_wallet_core::oauth::http::Http::new(),
        Default::default(),
        dir.path().to_path_buf(),
    );
    Session::new(&v, &refresher, &Quiet)
        .backup(None, |b| std::fs::write(&file, b))
        .unwrap()
        .unwrap();

    let wallet = wallet::Wallet::new(wallet::Config::for_tests(dir.path(), "restore", None));
    let (_app, w) = app_window(wallet);
    crate::secret_entry::tests::will_answer(Some(&[GOOD, GOOD]));
    invoke(&w, "create_vault", json!({})).unwrap();
    let path = file.display().to_string();
    crate::secret_entry::tests::will_answer(Some(&[GOOD]));
    let e = invoke(&w, "restore_backup", json!({"path": path, "moved": false})).unwrap_err();
    assert!(
        e.as_str().unwrap().contains("does not open this backup"),
        "{e}"
    );
    crate::secret_entry::tests::will_answer(Some(&[GOOD]));
    let e = invoke(
        &w,
        "restore_backup",
        json!({"path": "relative.twbackup", "moved": false}),
    )
    .unwrap_err();
    assert!(e.as_str().unwrap().contains("full path"), "{e}");
    crate::secret_entry::tests::will_answer(Some(&["the other vault's passphrase"]));
    let done = invoke(&w, "restore_backup", json!({"path": path, "moved": false})).unwrap();
    assert_eq!(done["records"], 1);
    assert!(
        done["message"]
            .as_str()
            .unwrap()
            .contains("refresh tokens of books are copies"),
        "{done}"
    );
    let list = invoke(&w, "list_connections", json!({})).unwrap();
    assert_eq!(list["connections"][0]["name"], "books");
    assert!(
        list["alerts"]
            .to_string()
            .contains("restored from a backup"),
        "{list}"
    );
    crate::secret_entry::tests::will_answer(Some(&["the other vault's passphrase"]));
    let again = invoke(&w, "restore_backup", json!({"path": path, "moved": false})).unwrap_err();
    assert!(
        again
            .as_str()
            .unwrap()
            .contains("already holds connections"),
        "{again}"
    );

    // And back out again, under its own passphrase: a new file only.
    let out = dir.path().join("out.twbackup").display().to_string();
    crate::secret_entry::tests::will_answer(Some(&["own backup pass", "typo"]));
    let e = invoke(&w, "backup_vault", json!({"path": out, "own": true})).unwrap_err();
    assert_eq!(e, json!("the two passphrases do not match"));
    crate::secret_entry::tests::will_answer(Some(&["own backup pass", "own backup pass"]));
    let done = invoke(&w, "backup_vault", json!({"path": out, "own": true})).unwrap();
    assert_eq!(done["records"], 1);
    let e = invoke(&w, "backup_vault", json!({"path": out, "own": false})).unwrap_err();
    assert!(
        e.as_str()
            .unwrap()
            .contains("exists; choose a new file name"),
        "{e}"
    );
    let bytes = std::fs::read(dir.path().join("out.twbackup")).unwrap();
    assert!(!String::from_utf8_lossy(&bytes).contains(TOKEN));
    assert!(token_wallet_core::vault::open_backup(
        &bytes,
        &token_wallet_core::Passphrase::new("own backup pass".into()).unwrap()
    )
    .is_ok());
    assert!(!done.to_string().contains(TOKEN) && !list.to_string().contains(TOKEN));
}
