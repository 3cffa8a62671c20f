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
    /// A symbolic link where a file of the wallet belongs: never followed.
    #[error("{path} is a symbolic link, which the wallet never follows or writes through (another program or user put it there); remove it, or move it aside to keep it, and try again")]
    Symlink {
        /// The link.
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
    #[cfg(unix)]
    if source.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
        // O_NOFOLLOW met a symlink at the file's own name.
        return FilesError::Symlink {
            path: path.display().to_string(),
        };
    }
    FilesError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl From<FilesError> for std::io::Error {
    fn from(e: FilesError) -> Self {
        match e {
            FilesError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                source
            }
            other => std::io::Error::other(other),
        }
    }
}

/// Makes an open file of the data directory private again: refuses one that belongs to
/// another user, and closes one that group or others may read or write (created by an
/// older build, or under `umask 000`) to mode 0600. Through the open handle (`fchmod`),
/// so it is the file opened that is changed, never one a link points to.
fn repair_file(path: &Path, f: &std::fs::File) -> Result<(), FilesError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let m = f.metadata().map_err(|e| io(path, e))?;
        let me = rustix::process::geteuid().as_raw();
        if m.uid() != me {
            return Err(FilesError::Unsafe {
                path: path.display().to_string(),
                why: format!(
                    "it belongs to uid {}, not to this user ({me}); remove it",
                    m.uid()
                ),
            });
        }
        if !m.is_file() {
            return Err(FilesError::Unsafe {
                path: path.display().to_string(),
                why: "it is not a regular file; remove it".into(),
            });
        }
        let mode = m.mode() & 0o7777;
        if mode & 0o077 != 0 || mode & 0o600 != 0o600 {
            tracing::info!(
                file = %path.display(),
                mode = format!("{mode:o}"),
                "closing a file of the data directory to other users (mode 0600)"
            );
            f.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(|e| io(path, e))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (path, f);
    Ok(())
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
    let f = o.open(path).map_err(|e| io(path, e))?;
    repair_file(path, &f)?;
    Ok(f)
}

/// Opens an existing file of the data directory, never through a symlink (`O_NOFOLLOW`),
/// for reading (and appending, with `append`); repairs its mode and its directory's as
/// [`open_private`] does. A missing file is `FilesError::Io` with `NotFound` (which
/// converts to a plain `NotFound` `io::Error`).
pub fn open_existing(path: &Path, append: bool) -> Result<std::fs::File, FilesError> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    if append {
        o.append(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    let f = o.open(path).map_err(|e| io(path, e))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // It exists (the file is in it): closed again if an older build opened it up.
        private_dir(dir)?;
    }
    repair_file(path, &f)?;
    Ok(f)
}

/// Opens an existing file for reading, never through a symlink, and nothing more (no
/// mode repair): for the agent's hot path, which reads the change stamp on every request.
pub fn open_nofollow(path: &Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    o.open(path)
}

/// Reads a whole file of the data directory through [`open_existing`] (never through a
/// symlink). `Ok(None)` when there is none.
pub fn read_private(path: &Path) -> Result<Option<Vec<u8>>, FilesError> {
    use std::io::Read as _;
    let mut f = match open_existing(path, false) {
        Ok(f) => f,
        Err(FilesError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(None)
        }
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes).map_err(|e| io(path, e))?;
    Ok(Some(bytes))
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
    fn files_opened_up_by_an_older_build_are_closed_again_when_opened() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("d");
        private_dir(&d).unwrap();
        for (name, make) in [
            ("vault.lock", 0o644),
            ("audit.jsonl", 0o666),
            ("k.json", 0o604),
        ] {
            let p = d.join(name);
            std::fs::write(&p, b"x").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(make)).unwrap();
        }
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).unwrap();
        drop(open_private(&d.join("vault.lock"), false).unwrap());
        drop(open_existing(&d.join("audit.jsonl"), true).unwrap());
        assert_eq!(read_private(&d.join("k.json")).unwrap().unwrap(), b"x");
        assert_eq!(read_private(&d.join("none")).unwrap(), None);
        assert_eq!(mode(&d), 0o700);
        for name in ["vault.lock", "audit.jsonl", "k.json"] {
            assert_eq!(mode(&d.join(name)), 0o600, "{name}");
        }
    }

    #[test]
    fn fail_symlinks_are_not_followed() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("d");
        private_dir(&d).unwrap();
        let target = t.path().join("target");
        std::fs::write(&target, b"keep").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
        // A symlink where a lock file belongs: refused, the target untouched.
        std::os::unix::fs::symlink(&target, d.join("l.lock")).unwrap();
        assert!(matches!(
            open_private(&d.join("l.lock"), false),
            Err(FilesError::Symlink { .. })
        ));
        assert!(matches!(
            open_existing(&d.join("l.lock"), true),
            Err(FilesError::Symlink { .. })
        ));
        assert!(matches!(
            read_private(&d.join("l.lock")),
            Err(FilesError::Symlink { .. })
        ));
        assert_eq!(mode(&target), 0o644, "the target's mode is not touched");
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
