//! Where passphrases come from: a no-echo prompt, a file, or standard input.

use crate::cli::PassArgs;
use crate::error::Error;
use std::io::BufRead;
use std::path::Path;
use token_wallet_core::{ops, Passphrase};

/// The sources a command was given.
pub struct Sources<'a> {
    pub file: Option<&'a Path>,
    pub stdin: bool,
}

impl<'a> Sources<'a> {
    /// The sources `--passphrase-file` / `--passphrase-stdin` name.
    pub fn of(p: &'a PassArgs) -> Self {
        Self {
            file: p.passphrase_file.as_deref(),
            stdin: p.passphrase_stdin,
        }
    }

    /// Whether one was given (else the passphrase is prompted for).
    pub fn given(&self) -> bool {
        self.file.is_some() || self.stdin
    }
}

fn from_file(path: &Path) -> Result<String, String> {
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            eprintln!(
                "warning: {} is readable by other users; chmod 600 it",
                path.display()
            );
        }
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read passphrase file {}: {e}", path.display()))?;
    // Only the first line counts, so a trailing newline is not part of the passphrase.
    Ok(text.lines().next().unwrap_or("").to_string())
}

fn stdin_line(stdin: &mut impl BufRead, what: &str) -> Result<String, String> {
    let mut line = String::new();
    let n = stdin
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the {what} from standard input: {e}"))?;
    if n == 0 {
        return Err(format!("standard input ended before the {what}"));
    }
    Ok(line)
}

fn prompt(text: &str) -> Result<String, String> {
    rpassword::prompt_password(text).map_err(|e| {
        format!("cannot prompt for a passphrase ({e}); use --passphrase-file or --passphrase-stdin")
    })
}

fn nonempty(text: String) -> Result<Passphrase, String> {
    Passphrase::new(text)
        .ok_or_else(|| "the passphrase is empty; choose a non-empty passphrase".to_string())
}

/// Reads the current passphrase.
pub fn current(src: &Sources, stdin: &mut impl BufRead) -> Result<Passphrase, String> {
    let text = if let Some(f) = src.file {
        from_file(f)?
    } else if src.stdin {
        stdin_line(stdin, "passphrase")?
    } else {
        prompt("Passphrase: ")?
    };
    nonempty(text)
}

/// Reads a new passphrase (prompted twice when interactive), held to the rule every
/// front end shares ([`ops::MIN_NEW_PASSPHRASE_CHARS`] characters at least).
pub fn new(
    file: Option<&Path>,
    from_stdin: bool,
    stdin: &mut impl BufRead,
    label: &str,
) -> Result<Passphrase, Error> {
    let text = if let Some(f) = file {
        from_file(f)?
    } else if from_stdin {
        stdin_line(stdin, label)?
    } else {
        let a = prompt(&format!("{label}: "))?;
        let b = prompt(&format!("{label} again: "))?;
        if a != b {
            return Err("the two passphrases differ; nothing was changed".into());
        }
        a
    };
    Ok(ops::new_passphrase(text)?)
}
