//! An in-memory store, for fast tests of logic above the keystore only.

use super::backend::{Backend, BackendError};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Process-memory store. Compiled only with the `memory-store` feature.
#[derive(Default)]
pub(crate) struct MemoryBackend {
    map: Mutex<BTreeMap<(String, String), Vec<u8>>>,
}

impl MemoryBackend {
    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), Vec<u8>>> {
        // A poisoned lock only means another test thread panicked; the map is still usable.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Backend for MemoryBackend {
    fn get(&self, service: &str, name: &str) -> Result<Option<Vec<u8>>, BackendError> {
        Ok(self.map().get(&(service.into(), name.into())).cloned())
    }
    fn set(&self, service: &str, name: &str, value: &[u8]) -> Result<(), BackendError> {
        self.map()
            .insert((service.into(), name.into()), value.to_vec());
        Ok(())
    }
    fn delete(&self, service: &str, name: &str) -> Result<(), BackendError> {
        self.map().remove(&(service.into(), name.into()));
        Ok(())
    }
    fn list(&self, service: &str) -> Result<Option<Vec<String>>, BackendError> {
        Ok(Some(
            self.map()
                .keys()
                .filter(|(s, _)| s == service)
                .map(|(_, n)| n.clone())
                .collect(),
        ))
    }
}
