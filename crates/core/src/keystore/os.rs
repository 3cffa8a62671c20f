//! The platform keystore through `keyring-core` and the store crate named explicitly for
//! this platform: Secret Service (Linux/BSD), Keychain (macOS), Credential Manager
//! (Windows). There is no fallback: if the store does not answer, the caller gets an error.

use super::backend::{Backend, BackendError};
use keyring_core::{CredentialPersistence, CredentialStore, Error as KrError};
use std::collections::HashMap;
use std::sync::Arc;

/// The OS keystore's name on this platform, and what to tell a user whose OS keystore
/// does not answer.
const OS_STORE: (&str, &str) = if cfg!(target_os = "macos") {
    (
        "keychain",
        "Unlock your login keychain, or choose the file store explicitly",
    )
} else if cfg!(windows) {
    (
        "windows-credential-manager",
        "Check that the Credential Manager service is running, or choose the file store explicitly",
    )
} else {
    (
        "secret-service",
        "Start a Secret Service and unlock its default collection (a desktop session does this; headless, run gnome-keyring-daemon --unlock --components=secrets inside dbus-run-session), or choose the file store explicitly",
    )
};
pub(crate) const OS_STORE_NAME: &str = OS_STORE.0;
pub(crate) const OS_STORE_HINT: &str = OS_STORE.1;

pub(crate) struct OsBackend {
    store: Arc<CredentialStore>,
}

impl OsBackend {
    pub(crate) fn new() -> Result<Self, BackendError> {
        let store = platform_store().map_err(map_err)?;
        match store.persistence() {
            CredentialPersistence::UntilDelete | CredentialPersistence::Unspecified => {}
            _ => {
                return Err(BackendError::Other(format!(
                    "store `{}` does not persist credentials",
                    store.vendor()
                )))
            }
        }
        Ok(Self { store })
    }

    fn entry(&self, service: &str, name: &str) -> Result<keyring_core::Entry, BackendError> {
        self.store.build(service, name, None).map_err(map_err)
    }
}

#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    let s: Arc<CredentialStore> = zbus_secret_service_keyring_store::Store::new()?;
    Ok(s)
}

#[cfg(target_os = "macos")]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    let s: Arc<CredentialStore> = apple_native_keyring_store::keychain::Store::new()?;
    Ok(s)
}

#[cfg(target_os = "windows")]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    let s: Arc<CredentialStore> = windows_native_keyring_store::Store::new()?;
    Ok(s)
}

#[cfg(not(any(unix, windows)))]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Err(KrError::NotSupportedByStore(
        "no OS keystore on this platform".into(),
    ))
}

/// Maps a `keyring` error to ours without ever carrying the bytes some variants embed.
fn map_err(e: KrError) -> BackendError {
    match e {
        KrError::NoStorageAccess(p) => BackendError::Unavailable(p.to_string()),
        KrError::PlatformFailure(p) => {
            let s = p.to_string();
            let lower = s.to_lowercase();
            if lower.contains("locked")
                || lower.contains("dbus")
                || lower.contains("d-bus")
                || lower.contains("org.freedesktop")
                || lower.contains("no such")
                || lower.contains("connection")
            {
                BackendError::Unavailable(s)
            } else {
                BackendError::Other(s)
            }
        }
        KrError::NoDefaultStore => BackendError::Unavailable("no keystore configured".into()),
        KrError::BadEncoding(_) | KrError::BadDataFormat(..) => {
            BackendError::Other("the stored value has an unexpected encoding".into())
        }
        KrError::TooLong(what, max) => BackendError::Other(format!(
            "{what} is longer than this keystore allows ({max}); lower the chunk size"
        )),
        KrError::Invalid(what, why) => BackendError::Other(format!("invalid {what}: {why}")),
        KrError::Ambiguous(v) => BackendError::Other(format!(
            "{} keystore items match one entry; remove the duplicates",
            v.len()
        )),
        other => BackendError::Other(other.to_string()),
    }
}

/// Whether the item the store found was deleted (by another process) before it could be
/// read or written: the Secret Service then answers that the object has no item
/// interface; Wine's Credential Manager, which keeps credentials in its registry, that
/// the key was marked for deletion (`ERROR_KEY_DELETED`, 1018). Looking again finds what
/// is there now.
fn vanished(e: &KrError) -> bool {
    let s = match e {
        KrError::PlatformFailure(p) | KrError::NoStorageAccess(p) => p.to_string(),
        _ => return false,
    };
    s.contains("UnknownObject")
        || (s.contains("UnknownMethod")
            && (s.contains("org.freedesktop.Secret.Item") || s.contains("Object does not exist")))
        || (cfg!(windows) && s.contains("error code 1018"))
}

/// Runs `f` again (up to three times in all) while the item it found vanished meanwhile
/// (a record another process replaced and deleted between this one's search and its
/// read; under many writers that can happen twice running).
fn again_if_vanished<T>(mut f: impl FnMut() -> Result<T, KrError>) -> Result<T, KrError> {
    let mut tries = 1;
    loop {
        match f() {
            Err(e) if vanished(&e) && tries < 3 => {
                tracing::debug!("a keystore item was deleted while it was read; looking again");
                tries += 1;
            }
            other => return other,
        }
    }
}

/// What to ask the store's search for every entry of `service`. Credential Manager
/// searches by a regular expression over target names, which it writes as
/// `<name>.<service>`; the others by the `service` attribute.
fn search_spec(service: &str) -> Vec<(&'static str, String)> {
    if cfg!(windows) {
        let mut pattern = String::from("\\.");
        for c in service.chars() {
            if "\\.+*?()|[]{}^$#&-~".contains(c) {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('$');
        vec![("pattern", pattern)]
    } else {
        vec![("service", service.to_string())]
    }
}

impl Backend for OsBackend {
    fn get(&self, service: &str, name: &str) -> Result<Option<Vec<u8>>, BackendError> {
        let entry = self.entry(service, name)?;
        match again_if_vanished(|| entry.get_secret()) {
            Ok(v) => Ok(Some(v)),
            Err(KrError::NoEntry) => Ok(None),
            Err(e) => Err(map_err(e)),
        }
    }

    fn set(&self, service: &str, name: &str, value: &[u8]) -> Result<(), BackendError> {
        let entry = self.entry(service, name)?;
        again_if_vanished(|| entry.set_secret(value)).map_err(map_err)
    }

    fn delete(&self, service: &str, name: &str) -> Result<(), BackendError> {
        let entry = self.entry(service, name)?;
        match again_if_vanished(|| entry.delete_credential()) {
            Ok(()) | Err(KrError::NoEntry) => Ok(()),
            Err(e) => Err(map_err(e)),
        }
    }

    fn list(&self, service: &str) -> Result<Option<Vec<String>>, BackendError> {
        let spec = search_spec(service);
        let spec: HashMap<&str, &str> = spec.iter().map(|(k, v)| (*k, v.as_str())).collect();
        match again_if_vanished(|| self.store.search(&spec)) {
            Ok(entries) => Ok(Some(
                entries
                    .iter()
                    .filter_map(|e| e.get_specifiers())
                    .filter(|(s, _)| s == service)
                    .map(|(_, u)| u)
                    .collect(),
            )),
            Err(KrError::NotSupportedByStore(_)) => Ok(None),
            Err(e) => Err(map_err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_names_the_service_in_the_stores_own_terms() {
        let spec = search_spec("token-wallet:w2");
        if cfg!(windows) {
            assert_eq!(spec, [("pattern", r"\.token\-wallet:w2$".to_string())]);
        } else {
            assert_eq!(spec, [("service", "token-wallet:w2".to_string())]);
        }
    }

    /// The Secret Service's words for an item deleted between a search and its read, as
    /// seen under many writers; each is looked for again, up to three tries in all.
    #[test]
    fn an_item_deleted_mid_read_is_looked_for_again() {
        let gone = || {
            KrError::PlatformFailure(
                "zbus error: org.freedesktop.DBus.Error.UnknownMethod: Object does not exist at path \u{201c}/org/freedesktop/secrets/collection/login/378\u{201d}"
                    .into(),
            )
        };
        assert!(vanished(&gone()));
        assert!(!vanished(&KrError::PlatformFailure(
            "the bus is down".into()
        )));
        let mut calls = 0;
        let r = again_if_vanished(|| {
            calls += 1;
            if calls < 3 {
                Err(gone())
            } else {
                Ok(7)
            }
        });
        assert_eq!((r.ok(), calls), (Some(7), 3));
        let mut calls = 0;
        let r: Result<(), _> = again_if_vanished(|| {
            calls += 1;
            Err(gone())
        });
        assert!(r.is_err());
        assert_eq!(calls, 3, "gives up after three tries");
    }
}
