//! The vault's OS file lock: every write to a vault happens while holding it, so two
//! processes never interleave their writes. The OS releases it when the holder dies, even
//! by SIGKILL. (The standard library's `File::lock`, flock(2) on Unix and LockFileEx on
//! Windows, does what the `fs4` crate did before Rust 1.89.)

use std::fs::File;
use std::path::{Path, PathBuf};

/// An exclusive lock on a profile's lock file; released on drop.
pub struct VaultLock {
    file: File,
}

impl VaultLock {
    /// Blocks until the lock is ours.
    pub fn acquire(path: &Path) -> std::io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        file.lock()?;
        Ok(Self { file })
    }
}

impl Drop for VaultLock {
    fn drop(&mut self) {
        // Closing the file releases the lock as well; unlocking first is just prompt.
        let _ = self.file.unlock();
    }
}

/// Where a profile keeps its lock file.
pub fn lock_path(data_dir: &Path) -> PathBuf {
    data_dir.join("vault.lock")
}
