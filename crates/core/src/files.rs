//! Private files: the data directory and everything in it belong to this user alone, and
//! every file replaced by rename goes through a fresh temporary file (random name, created
//! with `O_EXCL`, mode 0600), so nothing another user (or a planted symlink) prepared is
//! ever written through. Correct under any umask, `umask 000` included.

use std::io::Write;
use std::path::Path;

/// Why a private directory or file could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FilesError {
    /// The directory belongs to another user, or is not a directory.
    #[error("{path} cannot hold the wallet's files: {why}")]
    Unsafe {
        /// The directory.
        path: String,
        /// What is wrong with it.
        why: String,
    },
    /// A new file was asked for where one exists; nothing was written over it.
    #[error(
        "{path} exists; choose a new file name (nothing is ever written over an existing file)"
    )]
    Exists {
        /// The file.
        path: String,
    },
    /// The OS refused.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The OS's error.
        source: std::io::Error,
    },
}

fn io(path: &Path, source: std::io::Error) -> FilesError {
    FilesError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Makes sure `dir` is a private directory of this user: creates it (and any missing
/// parent) with mode 0700; refuses one that is a symlink or another user's; closes one of
/// ours that group or others could enter (an older version made them 0755).
pub fn private_dir(dir: &Path) -> Result<(), FilesError> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir).map_err(|e| io(dir, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let unsafe_dir = |why: String| FilesError::Unsafe {
            path: dir.display().to_string(),
            why,
        };
        let m = std::fs::symlink_metadata(dir).map_err(|e| io(dir, e))?;
        let mode = owned_dir(&m)
            .map_err(|why| unsafe_dir(format!("{why}; choose a data directory of your own")))?;
        if mode & 0o077 != 0 {
            tracing::info!(
                dir = %dir.display(),
                mode = format!("{mode:o}"),
                "closing the data directory to other users (mode 0700)"
            );
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| io(dir, e))?;
        }
    }
    Ok(())
}

/// Checks that `m` (a directory's metadata) is a real directory owned by this user;
/// returns its permission bits (`& 0o7777`), for the caller's own rule on who else may
/// enter or write. The one owner check behind the data directory, the agent's socket
/// directory and a socket path the user names.
#[cfg(unix)]
pub fn owned_dir(m: &std::fs::Metadata) -> Result<u32, String> {
    use std::os::unix::fs::MetadataExt;
    if !m.is_dir() {
        return Err("it is not a directory (a symlink?)".into());
    }
    let me = rustix::process::geteuid().as_raw();
    if m.uid() != me {
        return Err(format!(
            "it belongs to uid {}, not to this user ({me})",
            m.uid()
        ));
    }
    Ok(m.mode() & 0o7777)
}

/// Writes `bytes` to a new file at `path` (mode 0600; never over an existing file or
/// through a symlink), synced; a file that could not be written whole is removed. For
/// files the person names (a backup), so the directory is theirs to choose.
pub fn write_new_private(path: &Path, bytes: &[u8]) -> Result<(), FilesError> {
    use std::io::Write as _;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut f = o.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => FilesError::Exists {
            path: path.display().to_string(),
        },
        _ => io(path, e),
    })?;
    if let Err(e) = f.write_all(bytes).and_then(|()| f.sync_all()) {
        drop(f);
        let _ = std::fs::remove_file(path);
        return Err(io(path, e));
    }
    Ok(())
}

/// Replaces `path` with `bytes` atomically and durably: a new temporary file beside it
/// (random name, `O_EXCL`, 0600), written and synced, renamed over `path` (a symlink at
/// `path` is replaced, never followed), then the directory synced.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FilesError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    private_dir(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".tw-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| io(tmp.path(), e))?;
    tmp.as_file().sync_all().map_err(|e| io(tmp.path(), e))?;
    tmp.persist(path).map_err(|e| io(path, e.error))?;
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        // Makes the rename durable; a failure here cannot un-write the file.
        let _ = d.sync_all();
    }
    Ok(())
}

/// Opens (creating if needed) a private file for reading and writing: mode 0600, never
/// through a symlink.
pub fn open_private(path: &Path, append: bool) -> Result<std::fs::File, FilesError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        private_dir(dir)?;
    }
    let mut o = std::fs::OpenOptions::new();
    o.read(true).create(true);
    if append {
        o.append(true);
    } else {
        o.write(true).truncate(false);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    o.open(path).map_err(|e| io(path, e))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn dirs_and_files_are_private_and_open_dirs_are_closed() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("a/b");
        private_dir(&d).unwrap();
        assert_eq!(mode(&d), 0o700);
        assert_eq!(mode(&t.path().join("a")), 0o700);
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        private_dir(&d).unwrap();
        assert_eq!(mode(&d), 0o700);
        let f = d.join("x.json");
        write_atomic(&f, b"one").unwrap();
        write_atomic(&f, b"two").unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"two");
        assert_eq!(mode(&f), 0o600);
        assert_eq!(
            std::fs::read_dir(&d).unwrap().count(),
            1,
            "no temp file left"
        );
        drop(open_private(&d.join("l.lock"), false).unwrap());
        assert_eq!(mode(&d.join("l.lock")), 0o600);
    }

    #[test]
    fn fail_symlinks_are_not_followed() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("d");
        private_dir(&d).unwrap();
        let target = t.path().join("target");
        std::fs::write(&target, b"keep").unwrap();
        // A symlink where a lock file belongs: refused, the target untouched.
        std::os::unix::fs::symlink(&target, d.join("l.lock")).unwrap();
        assert!(open_private(&d.join("l.lock"), false).is_err());
        // A symlink where a replaced file belongs: replaced, not followed.
        std::os::unix::fs::symlink(&target, d.join("s.json")).unwrap();
        write_atomic(&d.join("s.json"), b"new").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        assert!(!std::fs::symlink_metadata(d.join("s.json"))
            .unwrap()
            .file_type()
            .is_symlink());
        // A symlink as the data directory: refused.
        let link = t.path().join("dl");
        std::os::unix::fs::symlink(&d, &link).unwrap();
        assert!(matches!(private_dir(&link), Err(FilesError::Unsafe { .. })));
    }
}
