//! The vault's OS file lock: every write to a vault happens while holding it, so two
//! processes never interleave their writes. The OS releases it when the holder dies, even
//! by SIGKILL. (The standard library's `File::lock`, flock(2) on Unix and LockFileEx on
//! Windows, does what the `fs4` crate did before Rust 1.89.)

use std::fs::File;
use std::path::{Path, PathBuf};

/// An exclusive lock on a profile's lock file; released on drop.
pub struct VaultLock {
    file: File,
    /// Write a new change stamp before releasing (the vault's write lock does).
    stamp: bool,
}

/// The length of a change stamp.
const STAMP_LEN: usize = 8;

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
        Ok(Self { file, stamp: false })
    }

    /// [`Self::acquire`], and on release writes a fresh random change stamp into the
    /// file, so a process that cached what it read can tell cheaply (one small file read,
    /// [`change_stamp`]) that another may have written since. The stamp is written after
    /// the holder's writes, so a reader that saw the old stamp re-reads later.
    pub fn acquire_stamping(path: &Path) -> std::io::Result<Self> {
        let mut l = Self::acquire(path)?;
        l.stamp = true;
        Ok(l)
    }
}

/// The change stamp in a lock file (`None` before the first write). It changes whenever
/// a holder of the stamping lock releases it.
pub fn change_stamp(path: &Path) -> Option<[u8; STAMP_LEN]> {
    use std::io::Read;
    let mut f = File::open(path).ok()?;
    let mut buf = [0u8; STAMP_LEN];
    f.read_exact(&mut buf).ok()?;
    Some(buf)
}

impl Drop for VaultLock {
    fn drop(&mut self) {
        if self.stamp {
            use std::io::{Seek, SeekFrom, Write};
            let stamp = crate::crypto::hazmat::random::<STAMP_LEN>();
            let _ = self.file.seek(SeekFrom::Start(0));
            let _ = self.file.write_all(&stamp);
        }
        // Closing the file releases the lock as well; unlocking first is just prompt.
        let _ = self.file.unlock();
    }
}

/// Where a profile keeps its lock file.
pub fn lock_path(data_dir: &Path) -> PathBuf {
    data_dir.join("vault.lock")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stamp_changes_with_every_stamping_lock_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = lock_path(dir.path());
        assert_eq!(change_stamp(&p), None);
        drop(VaultLock::acquire_stamping(&p).unwrap());
        let a = change_stamp(&p).unwrap();
        drop(VaultLock::acquire(&p).unwrap());
        assert_eq!(change_stamp(&p), Some(a));
        drop(VaultLock::acquire_stamping(&p).unwrap());
        assert_ne!(change_stamp(&p), Some(a));
    }
}
