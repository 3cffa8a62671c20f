//! The opt-in `file` store: the same encrypted entries the OS keystore would hold, in one
//! 0600 JSON file in the private data directory, replaced atomically on every write
//! ([`crate::files::write_atomic`]: a fresh `O_EXCL` temp file, fsync, rename, fsync of the
//! directory). For machines with no keystore (headless
//! Linux). Never chosen silently.

use super::backend::{Backend, BackendError};
use base64::Engine as _;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

type Map = BTreeMap<String, BTreeMap<String, String>>;

pub(crate) struct FileBackend {
    path: PathBuf,
    guard: Mutex<()>,
}

impl FileBackend {
    pub(crate) fn new(path: PathBuf) -> Self {
        Self {
            path,
            guard: Mutex::new(()),
        }
    }

    fn load(&self) -> Result<Map, BackendError> {
        // Never through a symlink; its mode repaired if an older build left it open.
        match crate::files::read_private(&self.path) {
            Ok(None) => Ok(Map::new()),
            Ok(Some(bytes)) => serde_json::from_slice(&bytes).map_err(|e| {
                BackendError::Other(format!(
                    "{} is not a Token Wallet store file (line {}, column {})",
                    self.path.display(),
                    e.line(),
                    e.column()
                ))
            }),
            Err(e) => Err(BackendError::Unavailable(e.to_string())),
        }
    }

    fn save(&self, map: &Map) -> Result<(), BackendError> {
        let bytes = zeroize::Zeroizing::new(
            serde_json::to_vec(map).map_err(|e| BackendError::Other(e.to_string()))?,
        );
        crate::files::write_atomic(&self.path, &bytes)
            .map_err(|e| BackendError::Unavailable(e.to_string()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.guard.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

impl Backend for FileBackend {
    fn get(&self, service: &str, name: &str) -> Result<Option<Vec<u8>>, BackendError> {
        let _g = self.lock();
        let map = self.load()?;
        match map.get(service).and_then(|s| s.get(name)) {
            None => Ok(None),
            Some(v) => b64()
                .decode(v)
                .map(Some)
                .map_err(|_| BackendError::Other(format!("entry `{name}` is not valid base64"))),
        }
    }

    fn set(&self, service: &str, name: &str, value: &[u8]) -> Result<(), BackendError> {
        let _g = self.lock();
        let mut map = self.load()?;
        map.entry(service.to_string())
            .or_default()
            .insert(name.to_string(), b64().encode(value));
        self.save(&map)
    }

    fn delete(&self, service: &str, name: &str) -> Result<(), BackendError> {
        let _g = self.lock();
        let mut map = self.load()?;
        let removed = map.get_mut(service).and_then(|s| s.remove(name)).is_some();
        if removed {
            self.save(&map)?;
        }
        Ok(())
    }

    fn list(&self, service: &str) -> Result<Option<Vec<String>>, BackendError> {
        let _g = self.lock();
        let map = self.load()?;
        Ok(Some(
            map.get(service)
                .map(|s| s.keys().cloned().collect())
                .unwrap_or_default(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_store_round_trip_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/keystore.json");
        let b = FileBackend::new(path.clone());
        assert!(b.get("s", "a").unwrap().is_none());
        b.set("s", "a", b"\x00\x01").unwrap();
        b.set("t", "a", b"x").unwrap();
        assert_eq!(b.get("s", "a").unwrap().unwrap(), b"\x00\x01");
        assert_eq!(b.list("s").unwrap().unwrap(), vec!["a".to_string()]);
        b.delete("s", "a").unwrap();
        b.delete("s", "a").unwrap();
        assert!(b.get("s", "a").unwrap().is_none());
        assert_eq!(b.get("t", "a").unwrap().unwrap(), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(!path.with_extension("json.tmp").exists());
    }

    #[test]
    fn fail_garbage_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keystore.json");
        std::fs::write(&path, b"not json").unwrap();
        let err = FileBackend::new(path).get("s", "a").unwrap_err();
        assert!(err.to_string().contains("not a Token Wallet store file"));
    }
}
