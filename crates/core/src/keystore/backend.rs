//! The raw stores under the adapter: one flat name -> bytes map per service.

use std::fmt;

/// Why a backend call failed. `detail` never holds stored bytes.
#[derive(Debug)]
pub(crate) enum BackendError {
    /// The store is there but will not let us in (locked, no service, no permission).
    Unavailable(String),
    /// A check-and-set write refused: the entry changed since it was read.
    Conflict(String),
    /// Anything else.
    Other(String),
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendError::Unavailable(s) | BackendError::Conflict(s) | BackendError::Other(s) => {
                f.write_str(s)
            }
        }
    }
}

/// A flat store of byte values, addressed by (service, name).
pub(crate) trait Backend: Send + Sync + 'static {
    /// Reads a value; `Ok(None)` when there is none.
    fn get(&self, service: &str, name: &str) -> Result<Option<Vec<u8>>, BackendError>;
    /// Reads a value without it counting as the read a later write builds on (stores that
    /// compare and set remember the version each `get` saw; a look the adapter takes for
    /// its own bookkeeping must not move that).
    fn peek(&self, service: &str, name: &str) -> Result<Option<Vec<u8>>, BackendError> {
        self.get(service, name)
    }
    /// Writes (creates or replaces) a value.
    fn set(&self, service: &str, name: &str, value: &[u8]) -> Result<(), BackendError>;
    /// Deletes a value; deleting a missing value is not an error.
    fn delete(&self, service: &str, name: &str) -> Result<(), BackendError>;
    /// Every name under `service`, or `None` where the store cannot enumerate.
    fn list(&self, service: &str) -> Result<Option<Vec<String>>, BackendError>;
}
