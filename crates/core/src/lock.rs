//! The vault's OS file lock: every write to a vault happens while holding it, so two
//! processes never interleave their writes. The OS releases it when the holder dies, even
//! by SIGKILL. (The standard library's `File::lock`, flock(2) on Unix and LockFileEx on
//! Windows, does what the `fs4` crate did before Rust 1.89.)

use crate::audit::NameKey;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// An exclusive lock on a profile's lock file; released on drop.
pub struct VaultLock {
    file: File,
    path: PathBuf,
    /// The holder writes: a new change stamp was written when the writing started, and
    /// another is written on release.
    stamp: bool,
    /// The stamp found when the writing started.
    before: Option<Stamp>,
}

/// The length of a change stamp.
pub const STAMP_LEN: usize = 8;

/// A vault's change stamp (see [`change_stamp`]).
pub type Stamp = [u8; STAMP_LEN];

/// How long [`VaultLock::acquire`] waits, in milliseconds (see [`set_timeout`]).
static TIMEOUT_MS: AtomicU64 = AtomicU64::new(120_000);

/// Sets how long every lock waits for its holder before giving up (default 2 minutes:
/// longer than any one refresh or write holds it).
pub fn set_timeout(t: Duration) {
    TIMEOUT_MS.store(t.as_millis().max(1) as u64, Ordering::Relaxed);
}

/// The current lock timeout.
pub fn timeout() -> Duration {
    Duration::from_millis(TIMEOUT_MS.load(Ordering::Relaxed))
}

/// A lock that could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// Another process held it for the whole timeout.
    #[error("{path} is held by {holder} and was not released within {secs} s; if that process is stuck, stop it")]
    Timeout {
        /// The lock file.
        path: String,
        /// Who holds it, as far as the OS tells (`process 1234 (token-wallet)`).
        holder: String,
        /// How long we waited.
        secs: u64,
    },
    /// The lock file could not be opened (or its directory is not private).
    #[error(transparent)]
    File(#[from] crate::files::FilesError),
    /// The OS refused the lock itself.
    #[error("{path}: {source}")]
    Io {
        /// The lock file.
        path: String,
        /// The OS's error.
        source: std::io::Error,
    },
}

impl From<LockError> for std::io::Error {
    fn from(e: LockError) -> Self {
        let kind = match &e {
            LockError::Timeout { .. } => std::io::ErrorKind::TimedOut,
            _ => std::io::ErrorKind::Other,
        };
        std::io::Error::new(kind, e.to_string())
    }
}

impl VaultLock {
    /// Waits (up to [`timeout`]) until the lock is ours. The lock file is private (0600 in
    /// a 0700 directory, never through a symlink), so no other user can even open it.
    pub fn acquire(path: &Path) -> Result<Self, LockError> {
        Self::acquire_within(path, timeout())
    }

    /// [`Self::acquire`] with its own timeout.
    pub fn acquire_within(path: &Path, limit: Duration) -> Result<Self, LockError> {
        let mut file = crate::files::open_private(path, false)?;
        let end = Instant::now() + limit;
        let mut pause = Duration::from_millis(2);
        loop {
            match file.try_lock() {
                // A holder may have removed the file while we waited on it (see
                // [`Self::remove`]): then this lock is on a file no one else will open,
                // and the lock that counts is on the one at `path` now.
                Ok(()) if !still_at(&file, path) => {
                    file = crate::files::open_private(path, false)?;
                }
                Ok(()) => {
                    return Ok(Self {
                        file,
                        path: path.to_path_buf(),
                        stamp: false,
                        before: None,
                    })
                }
                Err(std::fs::TryLockError::WouldBlock) if Instant::now() < end => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(LockError::Timeout {
                        path: path.display().to_string(),
                        holder: holder(&file).unwrap_or_else(|| "another process".into()),
                        secs: limit.as_secs(),
                    })
                }
                Err(std::fs::TryLockError::Error(source)) => {
                    return Err(LockError::Io {
                        path: path.display().to_string(),
                        source,
                    })
                }
            }
        }
    }

    /// [`Self::acquire`] for writing (see [`Self::start_writing`]): a process that cached
    /// what it read can tell cheaply (one small file read, [`change_stamp`]) that another
    /// may have written since.
    pub fn acquire_stamping(path: &Path) -> Result<Self, LockError> {
        let mut l = Self::acquire(path)?;
        l.start_writing();
        Ok(l)
    }

    /// Marks the start of writes: remembers the stamp found ([`Self::stamp_before`]),
    /// writes a fresh random one at once, so that a holder killed in the middle of its
    /// writes still leaves a changed stamp, and writes another on release, so a reader
    /// that looked during the writes looks again.
    pub fn start_writing(&mut self) {
        if self.stamp {
            return;
        }
        self.before = self.read_stamp();
        self.stamp = true;
        let _ = self.write_stamp_now();
    }

    /// The stamp found when the writing started: equal to the stamp a reader last saw, it
    /// means nobody wrote in between (not even a writer that died).
    pub fn stamp_before(&self) -> Option<Stamp> {
        self.before
    }

    /// Releases the lock now and returns the change stamp the file holds as it does: the
    /// one a writing holder writes on release, else the one found (`None` if none can be
    /// read). Read or written while the lock is held, so it names exactly the state this
    /// holder left: any later writer changes it.
    pub fn release(mut self) -> Option<Stamp> {
        if self.stamp {
            self.stamp = false;
            return self.write_stamp_now();
        }
        self.read_stamp()
    }

    /// Removes the lock file while holding it, then releases it (a connection that is
    /// gone needs no refresh lock, and its file should not outlive it). Safe with any
    /// number of waiters: one that was waiting on this file gets its lock only after the
    /// name is gone, sees that (every acquirer checks that `path` still names the file it
    /// locked) and opens the file at `path` afresh, so two processes never both believe
    /// they hold the lock. Unix only: elsewhere the file stays (its name tells nothing).
    pub fn remove(self) {
        #[cfg(unix)]
        if still_at(&self.file, &self.path) {
            if let Err(e) = std::fs::remove_file(&self.path) {
                tracing::debug!(file = %self.path.display(), error = %e, "could not remove a lock file");
            }
        }
        #[cfg(not(unix))]
        tracing::debug!(file = %self.path.display(), "lock files stay on this platform");
        drop(self);
    }

    /// Drops the lock without the release stamp, as a holder killed by SIGKILL would.
    #[cfg(test)]
    pub(crate) fn die(mut self) {
        self.stamp = false;
    }

    fn read_stamp(&mut self) -> Option<Stamp> {
        stamp_in(&mut self.file)
    }

    fn write_stamp_now(&mut self) -> Option<Stamp> {
        use std::io::{Seek, SeekFrom, Write};
        let stamp = crate::crypto::random::<STAMP_LEN>();
        self.file.seek(SeekFrom::Start(0)).ok()?;
        self.file.write_all(&stamp).ok()?;
        Some(stamp)
    }
}

/// Whether `path` still names the open `file` (not a file put there after this one was
/// removed). Windows never removes lock files, so there it always does.
fn still_at(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::symlink_metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}

/// The change stamp in a lock file (`None` before the first write). It changes when a
/// writing holder starts and when it releases the lock.
pub fn change_stamp(path: &Path) -> Option<Stamp> {
    stamp_in(&mut crate::files::open_nofollow(path).ok()?)
}

/// The stamp at the start of an open lock file.
fn stamp_in(f: &mut File) -> Option<Stamp> {
    use std::io::{Read, Seek, SeekFrom};
    let mut buf = [0u8; STAMP_LEN];
    f.seek(SeekFrom::Start(0)).ok()?;
    f.read_exact(&mut buf).ok()?;
    Some(buf)
}

impl Drop for VaultLock {
    fn drop(&mut self) {
        if self.stamp {
            let _ = self.write_stamp_now();
        }
        // Closing the file releases the lock as well; unlocking first is just prompt.
        let _ = self.file.unlock();
    }
}

/// Who holds the lock on `file`, from `/proc/locks` (Linux): `process PID (NAME)`.
fn holder(file: &File) -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        let m = file.metadata().ok()?;
        let dev = m.dev();
        // /proc/locks: `1: FLOCK  ADVISORY  WRITE 5830 fe:00:5310170 0 EOF` (hex major,
        // hex minor, decimal inode).
        let inode = format!(
            "{:02x}:{:02x}:{}",
            rustix::fs::major(dev),
            rustix::fs::minor(dev),
            m.ino()
        );
        let locks = std::fs::read_to_string("/proc/locks").ok()?;
        let pid = locks.lines().find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() > 5 && f[5] == inode && !f.contains(&"->")).then(|| f[4].to_string())
        })?;
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        Some(format!("process {pid} ({})", comm.trim()))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = file;
        None
    }
}

/// The lock file that serialises refreshes of one connection: named by a keyed hash of
/// the connection's name (HMAC under the vault's [`NameKey`]), so neither the directory
/// listing nor hashing guessed names tells which connections exist. Only a holder of the
/// unlocked vault refreshes, so only it ever needs the name.
pub fn refresh_lock_path(dir: &Path, key: &NameKey, connection: &str) -> PathBuf {
    let tag = key.tag("refresh-lock", connection);
    dir.join(format!("refresh-{}.lock", hex::encode(&tag[..16])))
}

/// Whether `file_name` is a refresh lock file of an older build (named by an unsalted
/// hash: `refresh-` and 16 hex, where this build writes 32).
pub fn is_unsalted_refresh_lock(file_name: &str) -> bool {
    file_name
        .strip_prefix("refresh-")
        .and_then(|r| r.strip_suffix(".lock"))
        .is_some_and(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Removes the refresh lock files older builds named by an unsalted hash of the
/// connection's name (which anyone could confirm by hashing a guess), each taken first
/// (never one a process of such a build holds now) and removed while held.
pub fn remove_unsalted_refresh_locks(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        if !is_unsalted_refresh_lock(&name.to_string_lossy()) {
            continue;
        }
        if let Ok(l) = VaultLock::acquire_within(&e.path(), Duration::from_millis(1)) {
            tracing::info!(file = %e.path().display(), "removing an older build's refresh lock file");
            l.remove();
        }
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
    fn fail_a_held_lock_times_out_naming_its_holder() {
        let dir = tempfile::tempdir().unwrap();
        let p = lock_path(dir.path());
        let _held = VaultLock::acquire(&p).unwrap();
        // flock locks belong to the open file, so a second open conflicts even here.
        let began = std::time::Instant::now();
        let e = VaultLock::acquire_within(&p, Duration::from_millis(300))
            .err()
            .expect("the lock is held");
        assert!(began.elapsed() >= Duration::from_millis(300));
        let msg = e.to_string();
        assert!(matches!(e, LockError::Timeout { .. }), "{msg}");
        #[cfg(target_os = "linux")]
        assert!(
            msg.contains(&format!("process {}", std::process::id())),
            "{msg}"
        );
        assert!(msg.contains("vault.lock"), "{msg}");
    }

    fn name_key() -> NameKey {
        let (_dir, _, mut v) = crate::vault::memory_vault();
        crate::audit::name_key(&mut v).unwrap()
    }

    #[test]
    fn lock_files_are_private_and_named_by_a_keyed_hash() {
        let dir = tempfile::tempdir().unwrap();
        let k = name_key();
        let p = refresh_lock_path(dir.path(), &k, "payroll");
        assert!(!p.to_string_lossy().contains("payroll"));
        assert_eq!(p, refresh_lock_path(dir.path(), &k, "payroll"));
        assert_ne!(p, refresh_lock_path(dir.path(), &k, "payrolL"));
        drop(VaultLock::acquire(&p).unwrap());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn a_key_from_another_vault_names_other_files_and_old_unsalted_files_go() {
        let dir = tempfile::tempdir().unwrap();
        let p = refresh_lock_path(dir.path(), &name_key(), "payroll");
        assert_ne!(p, refresh_lock_path(dir.path(), &name_key(), "payroll"));
        // The name an older build gave it: anyone could confirm `payroll` by hashing.
        use sha2::Digest;
        let h = sha2::Sha256::digest(b"token-wallet/refresh-lock/payroll");
        let old = dir
            .path()
            .join(format!("refresh-{}.lock", hex::encode(&h[..8])));
        let held_old = dir.path().join("refresh-0123456789abcdef.lock");
        drop(VaultLock::acquire(&old).unwrap());
        let _held = VaultLock::acquire(&held_old).unwrap();
        drop(VaultLock::acquire(&p).unwrap());
        assert!(is_unsalted_refresh_lock(
            &old.file_name().unwrap().to_string_lossy()
        ));
        assert!(!is_unsalted_refresh_lock(
            &p.file_name().unwrap().to_string_lossy()
        ));
        remove_unsalted_refresh_locks(dir.path());
        // Windows cannot delete a file while it is open, so lock files stay there.
        assert_eq!(old.exists(), cfg!(windows));
        assert!(
            held_old.exists(),
            "one an older process holds is left to it"
        );
        assert!(p.exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_lock_file_removed_by_its_holder_never_lets_two_hold_the_lock() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let dir = tempfile::tempdir().unwrap();
        let p = Arc::new(dir.path().join("refresh-x.lock"));
        let inside = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let (p, inside) = (p.clone(), inside.clone());
                std::thread::spawn(move || {
                    for round in 0..40 {
                        let l = VaultLock::acquire(&p).unwrap();
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two holders");
                        std::thread::sleep(Duration::from_micros(200));
                        inside.fetch_sub(1, Ordering::SeqCst);
                        // Some holders remove the file as they leave (a disconnect).
                        if (i + round) % 3 == 0 {
                            l.remove();
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let l = VaultLock::acquire(&p).unwrap();
        l.remove();
        assert!(!p.exists());
    }

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

    #[test]
    fn release_returns_the_stamp_the_file_holds_as_it_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let p = lock_path(dir.path());
        assert_eq!(VaultLock::acquire(&p).unwrap().release(), None, "none yet");
        let s = VaultLock::acquire_stamping(&p).unwrap().release();
        assert!(s.is_some());
        assert_eq!(change_stamp(&p), s);
        // A plain lock finds the stamp and leaves it; one that starts writing stamps anew,
        // at once and on release, and knows what it found.
        assert_eq!(VaultLock::acquire(&p).unwrap().release(), s);
        assert_eq!(change_stamp(&p), s);
        let mut l = VaultLock::acquire(&p).unwrap();
        l.start_writing();
        assert_eq!(l.stamp_before(), s);
        let during = change_stamp(&p);
        assert_ne!(during, s, "the stamp changes when writing starts");
        let t = l.release();
        assert_ne!(t, during);
        assert_eq!(change_stamp(&p), t);
        // A writer that dies mid-write leaves a changed stamp all the same.
        let l = VaultLock::acquire_stamping(&p).unwrap();
        l.die();
        assert_ne!(change_stamp(&p), t);
    }
}
