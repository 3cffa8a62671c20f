//! The keystore adapter: the only code that talks to the OS keystore.
//!
//! A logical value is stored under one *head* entry. A value that fits under the chunk cap
//! lives in the head itself; a larger one is split into numbered chunk entries
//! (`NAME~a0`, `NAME~a1`, … or the `b` slot) and the head, written last, names the slot,
//! the count, the length and a SHA-256 of the whole. A new value's chunks always go to the
//! slot the current head does not point to, so switching the head is the commit point and
//! a crash never leaves a half-written value that reads as whole.
//!
//! Every call runs with a timeout: a Secret Service waiting on an unlock prompt must not
//! hang the app.

mod backend;
mod error;
mod file;
#[cfg(any(test, feature = "memory-store"))]
mod memory;
mod openbao;
mod os;

pub use openbao::{BaoAuth, BaoToken, OpenBaoOptions, TransitError, TransitKey};

pub use error::KeystoreError;

use backend::{Backend, BackendError};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// Windows Credential Manager's limit on a credential blob.
pub const WINDOWS_MAX_ENTRY: usize = 2560;
/// The smallest chunk cap accepted (the chunk head needs 46 bytes).
pub const MIN_CHUNK_CAP: usize = 64;
/// The default timeout for one keystore call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// Which store holds the vault.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreKind {
    /// The platform keystore (Secret Service, Keychain, Credential Manager).
    Os,
    /// The opt-in encrypted-entries file at this path.
    File(PathBuf),
    /// An OpenBao (or HashiCorp Vault) server's KV v2 mount, shared by a team.
    OpenBao(OpenBaoOptions),
    /// Process memory; tests only.
    #[cfg(any(test, feature = "memory-store"))]
    Memory,
}

/// How to open a keystore.
#[derive(Clone, Debug)]
pub struct KeystoreOptions {
    /// Which store.
    pub kind: StoreKind,
    /// Largest value written to one entry, in bytes (the head included).
    pub chunk_cap: usize,
    /// Longest wait for one keystore call.
    pub timeout: Duration,
}

impl KeystoreOptions {
    /// The platform keystore with the platform's entry size limit.
    pub fn os() -> Self {
        Self {
            kind: StoreKind::Os,
            chunk_cap: if cfg!(windows) {
                WINDOWS_MAX_ENTRY
            } else {
                64 * 1024
            },
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// A handle on one service's entries in one store.
#[derive(Clone)]
pub struct Keystore {
    backend: Arc<dyn Backend>,
    /// The same backend when it is OpenBao's, for its Transit keys.
    bao: Option<Arc<openbao::OpenBaoBackend>>,
    service: Arc<str>,
    store_name: &'static str,
    hint: &'static str,
    chunk_cap: usize,
    timeout: Duration,
    /// Calls made to the store through this handle and its clones.
    calls: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for Keystore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keystore({} / {})", self.store_name, self.service)
    }
}

const HEAD_INLINE: u8 = b'I';
const HEAD_CHUNKED: u8 = b'C';
const CHUNKED_HEAD_LEN: usize = 1 + 1 + 4 + 8 + 32;

enum Head {
    Inline(Vec<u8>),
    Chunked {
        slot: u8,
        count: u32,
        len: u64,
        sha256: [u8; 32],
    },
}

/// The head parser, for the fuzz targets.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn fuzz_head(raw: &[u8]) -> Result<(), KeystoreError> {
    Head::parse("fuzz", raw.to_vec()).map(|_| ())
}

impl Head {
    fn parse(entry: &str, raw: Vec<u8>) -> Result<Self, KeystoreError> {
        let corrupt = |why| KeystoreError::Corrupt {
            entry: entry.to_string(),
            why,
        };
        match raw.first() {
            Some(&HEAD_INLINE) => Ok(Head::Inline(raw[1..].to_vec())),
            Some(&HEAD_CHUNKED) => {
                if raw.len() != CHUNKED_HEAD_LEN {
                    return Err(corrupt("chunk head has the wrong length"));
                }
                let slot = raw[1];
                if slot != b'a' && slot != b'b' {
                    return Err(corrupt("chunk head names an unknown slot"));
                }
                // Invariant: the length check above makes these slices the right size.
                let count = u32::from_be_bytes(raw[2..6].try_into().expect("4 bytes"));
                let len = u64::from_be_bytes(raw[6..14].try_into().expect("8 bytes"));
                let sha256 = raw[14..46].try_into().expect("32 bytes");
                Ok(Head::Chunked {
                    slot,
                    count,
                    len,
                    sha256,
                })
            }
            Some(_) => Err(corrupt("unknown head kind")),
            None => Err(corrupt("empty head")),
        }
    }
}

/// Makes a backend on a worker thread, giving up after `timeout` (a Secret Service waiting
/// on an unlock prompt, an OpenBao server that does not answer).
fn connect<B: Send + 'static>(
    store: &'static str,
    hint: &'static str,
    timeout: Duration,
    make: impl FnOnce() -> Result<B, BackendError> + Send + 'static,
) -> Result<B, KeystoreError> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(make());
    });
    match rx.recv_timeout(timeout) {
        Ok(Ok(b)) => Ok(b),
        Ok(Err(BackendError::Other(d))) if d.contains("does not persist") => {
            Err(KeystoreError::NotPersistent(d))
        }
        Ok(Err(e)) => Err(KeystoreError::Unavailable {
            store,
            detail: e.to_string(),
            hint,
        }),
        Err(_) => Err(KeystoreError::Timeout {
            store,
            op: "connect",
            timeout,
        }),
    }
}

fn chunk_name(name: &str, slot: u8, i: u32) -> String {
    format!("{name}~{}{i}", slot as char)
}

impl Keystore {
    /// Opens the store for `service` (one service per profile).
    pub fn open(service: &str, opts: &KeystoreOptions) -> Result<Self, KeystoreError> {
        let mut bao = None;
        let (backend, store_name, hint): (Arc<dyn Backend>, _, _) = match &opts.kind {
            StoreKind::Os => {
                let b = connect(
                    os::OS_STORE_NAME,
                    os::OS_STORE_HINT,
                    opts.timeout,
                    os::OsBackend::new,
                )?;
                (Arc::new(b), os::OS_STORE_NAME, os::OS_STORE_HINT)
            }
            StoreKind::OpenBao(o) => {
                let (o, timeout) = (o.clone(), opts.timeout);
                let b = connect(openbao::STORE_NAME, openbao::HINT, timeout, move || {
                    openbao::OpenBaoBackend::new(o, timeout)
                })?;
                let b = Arc::new(b);
                bao = Some(b.clone());
                (b, openbao::STORE_NAME, openbao::HINT)
            }
            StoreKind::File(path) => (
                Arc::new(file::FileBackend::new(path.clone())),
                "file",
                "Check the data directory's permissions and free space",
            ),
            #[cfg(any(test, feature = "memory-store"))]
            StoreKind::Memory => (
                Arc::new(memory::MemoryBackend::default()),
                "memory",
                "This is a test store",
            ),
        };
        Ok(Self {
            backend,
            bao,
            service: service.into(),
            store_name,
            hint,
            chunk_cap: opts.chunk_cap.max(MIN_CHUNK_CAP),
            timeout: opts.timeout,
            calls: Arc::default(),
        })
    }

    /// The store's name (`secret-service`, `keychain`, `windows-credential-manager`, `file`).
    pub fn store_name(&self) -> &'static str {
        self.store_name
    }

    /// Whether other machines write this store too (OpenBao): then this machine's change
    /// stamp says nothing about their writes, and every read and write starts from what
    /// the store holds.
    pub fn is_shared(&self) -> bool {
        self.store_name == openbao::STORE_NAME
    }

    /// Transit key `key` of `mount` on this store's OpenBao, with its login; `None` on
    /// any other store.
    pub fn transit(&self, mount: &str, key: &str) -> Option<TransitKey> {
        self.bao.as_ref().map(|b| b.transit(mount, key))
    }

    /// The service name this handle reads and writes.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// How many calls this handle and its clones have made to the store (each a D-Bus
    /// round trip on the Secret Service): what "no keystore call" is checked with.
    pub fn calls(&self) -> u64 {
        self.calls.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Runs one backend call on a worker thread and gives up after the timeout.
    fn call<T: Send + 'static>(
        &self,
        op: &'static str,
        entry: &str,
        f: impl FnOnce(&dyn Backend, &str) -> Result<T, BackendError> + Send + 'static,
    ) -> Result<T, KeystoreError> {
        self.calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let backend = self.backend.clone();
        let service = self.service.clone();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f(backend.as_ref(), &service));
        });
        match rx.recv_timeout(self.timeout) {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(BackendError::Unavailable(detail))) => Err(KeystoreError::Unavailable {
                store: self.store_name,
                detail,
                hint: self.hint,
            }),
            Ok(Err(BackendError::Conflict(detail))) => Err(KeystoreError::Conflict {
                store: self.store_name,
                entry: entry.to_string(),
                detail,
            }),
            Ok(Err(BackendError::Other(detail))) => Err(KeystoreError::Failed {
                store: self.store_name,
                op,
                entry: entry.to_string(),
                detail,
            }),
            Err(_) => Err(KeystoreError::Timeout {
                store: self.store_name,
                op,
                timeout: self.timeout,
            }),
        }
    }

    fn raw_get(&self, name: &str) -> Result<Option<Vec<u8>>, KeystoreError> {
        tracing::trace!(entry = name, "keystore read");
        let n = name.to_string();
        self.call("read", name, move |b, s| b.get(s, &n))
    }

    fn raw_set(&self, name: &str, value: Vec<u8>) -> Result<(), KeystoreError> {
        tracing::trace!(entry = name, bytes = value.len(), "keystore write");
        let n = name.to_string();
        self.call("write", name, move |b, s| b.set(s, &n, &value))?;
        crate::fault::point();
        Ok(())
    }

    fn raw_delete(&self, name: &str) -> Result<(), KeystoreError> {
        tracing::trace!(entry = name, "keystore delete");
        let n = name.to_string();
        self.call("delete", name, move |b, s| b.delete(s, &n))?;
        crate::fault::point();
        Ok(())
    }

    fn check_name(name: &str) -> Result<(), KeystoreError> {
        if name.is_empty() || name.contains('~') || name.len() > 200 {
            return Err(KeystoreError::InvalidName(name.to_string()));
        }
        Ok(())
    }

    fn head(&self, name: &str) -> Result<Option<Head>, KeystoreError> {
        match self.raw_get(name)? {
            None => Ok(None),
            Some(raw) => Head::parse(name, raw).map(Some),
        }
    }

    /// The head as the store holds it now, for the adapter's own bookkeeping (which chunk
    /// slot is free, which chunks to remove): not the read a compare-and-set write checks.
    fn peek_head(&self, name: &str) -> Result<Option<Head>, KeystoreError> {
        let n = name.to_string();
        match self.call("read", name, move |b, s| b.peek(s, &n))? {
            None => Ok(None),
            Some(raw) => Head::parse(name, raw).map(Some),
        }
    }

    /// Reads a value. `Ok(None)` when there is none.
    pub fn get(&self, name: &str) -> Result<Option<Vec<u8>>, KeystoreError> {
        Self::check_name(name)?;
        match self.head(name)? {
            None => Ok(None),
            Some(Head::Inline(v)) => Ok(Some(v)),
            Some(Head::Chunked {
                slot,
                count,
                len,
                sha256,
            }) => {
                let mut out = Vec::with_capacity(len.min(1 << 24) as usize);
                for i in 0..count {
                    let part = self.raw_get(&chunk_name(name, slot, i))?.ok_or_else(|| {
                        KeystoreError::MissingChunk {
                            entry: name.to_string(),
                            index: i,
                            count,
                        }
                    })?;
                    out.extend_from_slice(&part);
                }
                if out.len() as u64 != len || Sha256::digest(&out).as_slice() != sha256 {
                    return Err(KeystoreError::Corrupt {
                        entry: name.to_string(),
                        why: "its chunks do not add up to the value the head describes",
                    });
                }
                Ok(Some(out))
            }
        }
    }

    /// Writes a value; the head is written last and is the commit point.
    pub fn set(&self, name: &str, value: &[u8]) -> Result<(), KeystoreError> {
        Self::check_name(name)?;
        // A damaged old head must not block writing a new value over it.
        let old = self.peek_head(name).unwrap_or(None);
        if value.len() < self.chunk_cap {
            let mut head = Vec::with_capacity(value.len() + 1);
            head.push(HEAD_INLINE);
            head.extend_from_slice(value);
            self.raw_set(name, head)?;
        } else {
            let slot = match old {
                Some(Head::Chunked { slot: b'a', .. }) => b'b',
                _ => b'a',
            };
            let parts: Vec<&[u8]> = value.chunks(self.chunk_cap).collect();
            let count = parts.len() as u32;
            for (i, part) in parts.into_iter().enumerate() {
                self.raw_set(&chunk_name(name, slot, i as u32), part.to_vec())?;
            }
            // Chunks left in this slot by an older, longer value that a crash kept from
            // being cleaned: remove them so nothing stale lingers.
            self.delete_chunks_from(name, slot, count)?;
            let mut head = Vec::with_capacity(CHUNKED_HEAD_LEN);
            head.push(HEAD_CHUNKED);
            head.push(slot);
            head.extend_from_slice(&count.to_be_bytes());
            head.extend_from_slice(&(value.len() as u64).to_be_bytes());
            head.extend_from_slice(&Sha256::digest(value));
            self.raw_set(name, head)?;
        }
        if let Some(Head::Chunked { slot, count, .. }) = old {
            self.delete_chunks(name, slot, 0, count)?;
        }
        Ok(())
    }

    /// Deletes the run of chunks `from..` in `slot`. Chunks are always written in
    /// ascending order and deleted in descending order, so whatever a crash leaves of a
    /// slot is a contiguous run that a later probe finds whole.
    fn delete_chunks_from(&self, name: &str, slot: u8, from: u32) -> Result<(), KeystoreError> {
        let mut end = from;
        while self.raw_get(&chunk_name(name, slot, end))?.is_some() {
            end += 1;
        }
        self.delete_chunks(name, slot, from, end)
    }

    fn delete_chunks(
        &self,
        name: &str,
        slot: u8,
        from: u32,
        end: u32,
    ) -> Result<(), KeystoreError> {
        for i in (from..end).rev() {
            self.raw_delete(&chunk_name(name, slot, i))?;
        }
        Ok(())
    }

    /// Deletes a value: the head first (the commit point), then its chunks, then any
    /// chunks a crash left in either slot before a head pointed at them.
    pub fn delete(&self, name: &str) -> Result<(), KeystoreError> {
        Self::check_name(name)?;
        let old = self.peek_head(name).unwrap_or(None);
        self.raw_delete(name)?;
        if let Some(Head::Chunked { slot, count, .. }) = old {
            self.delete_chunks(name, slot, 0, count)?;
        }
        for slot in [b'a', b'b'] {
            self.delete_chunks_from(name, slot, 0)?;
        }
        Ok(())
    }

    /// Every raw entry name under this service (heads and chunks), or `None` where the
    /// store cannot enumerate.
    pub fn list_raw(&self) -> Result<Option<Vec<String>>, KeystoreError> {
        self.call("list", "*", |b, s| b.list(s))
    }

    /// Deletes one raw entry (a head or a chunk) by name, for garbage collection.
    pub fn delete_raw(&self, name: &str) -> Result<(), KeystoreError> {
        self.raw_delete(name)
    }

    /// How many raw entries this service holds (for tests and diagnostics).
    pub fn raw_count(&self) -> Result<Option<usize>, KeystoreError> {
        Ok(self.list_raw()?.map(|v| v.len()))
    }

    /// Reads one raw entry (a head or a chunk) without interpreting it. For tests that
    /// tamper with stored bytes and for diagnostics.
    pub fn get_raw(&self, name: &str) -> Result<Option<Vec<u8>>, KeystoreError> {
        self.raw_get(name)
    }

    /// Writes one raw entry without chunking. For tests that tamper with stored bytes.
    pub fn set_raw(&self, name: &str, value: &[u8]) -> Result<(), KeystoreError> {
        self.raw_set(name, value.to_vec())
    }
}

#[cfg(test)]
mod tests;
