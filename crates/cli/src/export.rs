//! `token --format`, `env` and `exec`: how an access token leaves the wallet. Never a
//! refresh token.

use crate::error::{Error, Result};
use clap::ValueEnum;
use secrecy::ExposeSecret;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use token_wallet_core::connection::CredentialKind;
use token_wallet_core::oauth::ProviderKind;
use token_wallet_core::ops::Exported;

/// `token --format`.
#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    /// The access token alone.
    Raw,
    /// `{"access_token", "token_type", "expires_at" (RFC 3339), "scopes"}`.
    Json,
    /// `Authorization: Bearer …`.
    Header,
}

/// `env --shell`.
#[derive(Clone, Copy, ValueEnum)]
pub enum Shell {
    /// POSIX sh / bash / zsh.
    Sh,
    /// fish.
    Fish,
    /// PowerShell.
    Powershell,
}

pub use token_wallet_core::clock::{parse_expiry, rfc3339};

/// Prints the token as `format` asks.
pub fn print(t: &Exported, format: Format, out: &mut impl Write) -> Result {
    let token = t.token.token.expose_secret();
    let line = zeroize::Zeroizing::new(match format {
        Format::Raw => token.to_string(),
        Format::Header => format!(
            "Authorization: {}",
            *t.info.kind.authorization(&t.info.token_type, token)
        ),
        Format::Json => serde_json::json!({
            "access_token": token,
            "token_type": t.info.token_type,
            "expires_at": t.token.expires_at.map(rfc3339),
            "scopes": t.info.scopes,
        })
        .to_string(),
    });
    writeln!(out, "{}", *line)?;
    Ok(())
}

/// The variable to put the token in: the one given, else PLEO_API_KEY for a Pleo API
/// key, PLEO_ACCESS_TOKEN for a Pleo provider (a preset, or one `providers.toml` says or
/// shapes as Pleo), else ACCESS_TOKEN.
fn var_name(given: Option<&str>, t: &Exported) -> String {
    match given {
        Some(v) => v.to_string(),
        None if t.info.kind == CredentialKind::ApiKey => "PLEO_API_KEY".into(),
        None if t.info.provider.kind() == ProviderKind::Pleo => "PLEO_ACCESS_TOKEN".into(),
        None => "ACCESS_TOKEN".into(),
    }
}

fn single_quoted(s: &str, escape: &str) -> String {
    format!("'{}'", s.replace('\'', escape))
}

/// One line that sets the variable (`given`, or the provider's default) in `shell`.
pub fn env_line(given: Option<&str>, t: &Exported, shell: Shell) -> String {
    let var = var_name(given, t);
    let token = t.token.token.expose_secret();
    match shell {
        Shell::Sh => format!("export {var}={}", single_quoted(token, "'\\''")),
        Shell::Fish => format!("set -gx {var} {}", single_quoted(token, "\\'")),
        Shell::Powershell => format!("$env:{var} = {}", single_quoted(token, "''")),
    }
}

/// What `--mask` puts in place of a secret in a command's output.
pub const MASK: &[u8] = b"<concealed by token-wallet>";

/// What `exec` and `run` give a command: the variables to set (over the environment it
/// inherits), and the secrets among their values (concealed in its output with `--mask`).
pub struct ChildEnv {
    /// Name and value.
    pub vars: Vec<(String, zeroize::Zeroizing<String>)>,
    /// Secret values.
    pub secrets: Vec<zeroize::Zeroizing<Vec<u8>>>,
}

/// Copies `from` to `to`, replacing every occurrence of any of `secrets` with [`MASK`], also
/// across read boundaries.
fn mask_copy(mut from: impl Read, mut to: impl Write, secrets: &[zeroize::Zeroizing<Vec<u8>>]) {
    // The longest first: a header holds its token.
    let mut secrets: Vec<&[u8]> = secrets
        .iter()
        .map(|s| s.as_slice())
        .filter(|s| !s.is_empty())
        .collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let longest = secrets.first().map_or(0, |s| s.len());
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let (n, end) = match from.read(&mut buf) {
            Ok(0) | Err(_) => (0, true),
            Ok(n) => (n, false),
        };
        pending.extend_from_slice(&buf[..n]);
        let mut outb = Vec::with_capacity(pending.len());
        let mut i = 0;
        // Until EOF, a tail that could be the start of a secret is kept for the next read.
        while i < pending.len() && (end || i + longest <= pending.len()) {
            match secrets.iter().find(|s| pending[i..].starts_with(s)) {
                Some(s) => {
                    outb.extend_from_slice(MASK);
                    i += s.len();
                }
                None => {
                    outb.push(pending[i]);
                    i += 1;
                }
            }
        }
        pending.drain(..i);
        let _ = to.write_all(&outb);
        let _ = to.flush();
        if end {
            break;
        }
    }
}

/// The names a program `name` may have on disk: itself, and on Windows, when it has no
/// extension, itself with each of `PATHEXT`'s (`cmd` is `cmd.exe`).
fn program_names(name: &str) -> Vec<String> {
    let mut names = vec![name.to_string()];
    if cfg!(windows) && Path::new(name).extension().is_none() {
        let exts = std::env::var("PATHEXT").unwrap_or_else(|_| ".COM;.EXE;.BAT;.CMD".into());
        names.extend(
            exts.split(';')
                .filter(|e| !e.is_empty())
                .map(|e| format!("{name}{}", e.to_lowercase())),
        );
    }
    names
}

/// The program `name` runs: itself if it has a `/`, else the first executable file of
/// that name on `PATH` (on Windows also with `PATHEXT`'s extensions). Exit code 127 (as
/// a shell) when there is none.
pub fn find_program(name: &str) -> Result<PathBuf> {
    let not_found = |why: &str| Error::Message(127, format!("cannot run `{name}`: {why}"));
    let runnable = |p: &Path| {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        }
        #[cfg(not(unix))]
        {
            p.is_file()
        }
    };
    if name.is_empty() {
        return Err(not_found("no command given"));
    }
    let names = program_names(name);
    if name.contains(std::path::MAIN_SEPARATOR) || name.contains('/') {
        return names
            .iter()
            .map(PathBuf::from)
            .find(|p| runnable(p))
            .ok_or_else(|| not_found("no such executable file"));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|d| names.iter().map(move |n| d.join(n)))
        .find(|p| runnable(p))
        .ok_or_else(|| not_found("not found on PATH"))
}

/// Runs `program` with `args` and the token in the variable (`given`, or the provider's
/// default); returns its exit code (128 + signal if killed).
/// The variables a command line names (`$NAME`, `${NAME}`, `%NAME%`) that look like a
/// token's (`…TOKEN`, `…API_KEY`) but are not `set`: most likely a copied example that
/// would send an empty credential.
pub fn token_variables_named(args: &[String], set: &str) -> Vec<String> {
    let mut found = Vec::new();
    for a in args {
        let b = a.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let start = match b[i] {
                b'$' if b.get(i + 1) == Some(&b'{') => i + 2,
                b'$' | b'%' => i + 1,
                _ => {
                    i += 1;
                    continue;
                }
            };
            let end = b[start..]
                .iter()
                .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
                .map_or(b.len(), |p| start + p);
            let name = &a[start..end];
            if name != set
                && (name.ends_with("TOKEN") || name.ends_with("API_KEY"))
                && !found.iter().any(|f: &String| f == name)
            {
                found.push(name.to_string());
            }
            i = end.max(i + 1);
        }
    }
    found
}

pub fn exec(
    t: &Exported,
    given: Option<&str>,
    mask: bool,
    program: &Path,
    args: &[String],
) -> Result<i32> {
    let var = var_name(given, t);
    for other in token_variables_named(args, &var) {
        eprintln!(
            "warning: the command names ${other}, which `{}` does not set: it sets {var} (or pass --var {other})",
            t.info.name
        );
    }
    let token = t.token.token.expose_secret();
    run_command(
        ChildEnv {
            vars: vec![(var, zeroize::Zeroizing::new(token.to_string()))],
            secrets: vec![zeroize::Zeroizing::new(token.as_bytes().to_vec())],
        },
        mask,
        program,
        args,
    )
}

/// Runs `program` with `args` and `env` over the inherited environment; returns its exit
/// code (128 + the signal if it was killed). With `mask`, its output passes through this
/// process with `env`'s secrets concealed; else (Unix) this process becomes it.
pub fn run_command(env: ChildEnv, mask: bool, program: &Path, args: &[String]) -> Result<i32> {
    let shown = program.display().to_string();
    let mut c = Command::new(program);
    c.args(args);
    for (k, v) in &env.vars {
        c.env(k, v.as_str());
    }
    // Unix, no masking: this process becomes the command (execve), so nothing of the
    // wallet (keys, tokens, buffers) outlives the hand-over; the exit code is the
    // command's own. Only returns on failure.
    #[cfg(unix)]
    if !mask {
        use std::os::unix::process::CommandExt;
        let e = c.exec();
        return Err(Error::Message(127, format!("cannot run `{shown}`: {e}")));
    }
    if mask {
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
    }
    // Windows (and masking): spawn and wait. Ctrl-C and Ctrl-Break reach the child from
    // the console it shares; this process outlives them to return the child's exit code.
    #[cfg(windows)]
    if let Err(e) = token_wallet_harden::win32::survive_console_interrupts() {
        tracing::debug!(error = %e, "console interrupts are not handled");
    }
    let mut child = c
        .spawn()
        .map_err(|e| Error::Message(127, format!("cannot run `{shown}`: {e}")))?;
    let mut copiers = Vec::new();
    if mask {
        let secrets = std::sync::Arc::new(env.secrets);
        if let Some(o) = child.stdout.take() {
            let s = secrets.clone();
            copiers.push(std::thread::spawn(move || {
                mask_copy(o, std::io::stdout(), &s)
            }));
        }
        if let Some(e) = child.stderr.take() {
            copiers.push(std::thread::spawn(move || {
                mask_copy(e, std::io::stderr(), &secrets)
            }));
        }
    }
    let status = child.wait()?;
    for h in copiers {
        let _ = h.join();
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return Ok(128 + sig);
        }
    }
    Ok(status.code().unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_naming_another_token_variable_is_noticed() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let found = token_variables_named(
            &args(&["-c", "curl -H \"Authorization: Bearer $ACCESS_TOKEN\" ${GH_TOKEN} %PLEO_API_KEY% $PLEO_ACCESS_TOKEN $HOME"]),
            "PLEO_ACCESS_TOKEN",
        );
        assert_eq!(found, ["ACCESS_TOKEN", "GH_TOKEN", "PLEO_API_KEY"]);
        assert!(
            token_variables_named(&args(&["echo", "$ACCESS_TOKEN", "$"]), "ACCESS_TOKEN")
                .is_empty()
        );
    }

    #[test]
    fn mask_across_boundaries() {
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
                if self.0.is_empty() {
                    return Ok(0);
                }
                b[0] = self.0[0];
                self.0 = &self.0[1..];
                Ok(1)
            }
        }
        let z = |s: &[u8]| zeroize::Zeroizing::new(s.to_vec());
        let mut out = Vec::new();
        mask_copy(
            Trickle(b"a SECRET b SECRETSECRET c SECRE"),
            &mut out,
            &[z(b"SECRET")],
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a <concealed by token-wallet> b <concealed by token-wallet><concealed by token-wallet> c SECRE"
        );
        // Several secrets, one holding another (a header and its token): each concealed
        // whole, once.
        let mut out = Vec::new();
        mask_copy(
            Trickle(b"T=tok H=Bearer tok end"),
            &mut out,
            &[z(b"tok"), z(b"Bearer tok")],
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "T=<concealed by token-wallet> H=<concealed by token-wallet> end"
        );
    }
}
