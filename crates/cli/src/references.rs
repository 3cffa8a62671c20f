//! `run`'s references: a variable whose value is `tw://NAME` (the access token),
//! `tw://NAME/header` (the whole `Authorization` value), `tw://NAME/expires_at` (Unix
//! seconds, empty when the provider did not say), `tw://proxy/NAME` (the capability of
//! the connection's running `proxy`) or `tw://proxy/NAME/url` (its address), in the
//! environment or in a dotenv file, is given its value for the child only. (So
//! `tw://proxy/…` always means a proxy: a connection named `proxy` is `tw://proxy`.) Parsed before anything is fetched: a reference
//! that is not one of these, or to a connection that does not exist, fails naming the
//! variable, and nothing runs.

use crate::error::{Error, Result};
use std::path::Path;
use token_wallet_core::connection::ConnectionName;

/// What a reference asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The access token (or API key or static token).
    Token,
    /// The `Authorization` header's value: `Bearer …`, `Basic …` for a Pleo API key.
    Header,
    /// When the token expires (Unix seconds), or empty.
    ExpiresAt,
    /// The capability of the connection's running proxy (`tw://proxy/NAME`).
    ProxyCapability,
    /// The base URL of the connection's running proxy (`tw://proxy/NAME/url`).
    ProxyUrl,
}

impl Part {
    /// Whether it is a running proxy's (no token is fetched for it).
    pub fn of_proxy(self) -> bool {
        matches!(self, Part::ProxyCapability | Part::ProxyUrl)
    }
}

/// One variable that holds a reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// The variable.
    pub var: String,
    /// The connection.
    pub name: ConnectionName,
    /// What of it.
    pub part: Part,
}

const SCHEME: &str = "tw://";

fn usage(var: &str, why: String) -> Error {
    Error::Message(2, format!("`{var}`: {why}; a reference is tw://NAME, tw://NAME/header, tw://NAME/expires_at, tw://proxy/NAME or tw://proxy/NAME/url (nothing was run)"))
}

/// `value` of `var` as a reference; `None` when it is not one (it does not start with
/// `tw://`).
pub fn parse(var: &str, value: &str) -> Result<Option<Reference>> {
    let Some(rest) = value.strip_prefix(SCHEME) else {
        return Ok(None);
    };
    let (name, part) = match rest.split_once('/') {
        Some(("proxy", p)) => match p.split_once('/') {
            None => (p, Part::ProxyCapability),
            Some((n, "url")) => (n, Part::ProxyUrl),
            Some((_, other)) => {
                return Err(usage(var, format!("`{other}` is not a part of a proxy")))
            }
        },
        None => (rest, Part::Token),
        Some((n, "header")) => (n, Part::Header),
        Some((n, "expires_at")) => (n, Part::ExpiresAt),
        Some((_, other)) => {
            return Err(usage(
                var,
                format!("`{other}` is not a part of a connection"),
            ))
        }
    };
    let name = ConnectionName::new(name)
        .map_err(|_| usage(var, format!("`{name}` is not a connection name")))?;
    Ok(Some(Reference {
        var: var.into(),
        name,
        part,
    }))
}

/// The variables of a dotenv file, in order (as the `dotenvy` crate reads them, `$VAR`
/// expanded). A line that is not dotenv syntax is an error naming the file and the
/// variable before it, never the line (it may hold a secret).
pub fn read_env_file(path: &Path) -> Result<Vec<(String, String)>> {
    let iter = dotenvy::from_path_iter(path).map_err(|e| {
        Error::Message(
            1,
            format!("cannot read the env file {}: {}", path.display(), plain(&e)),
        )
    })?;
    let mut out: Vec<(String, String)> = Vec::new();
    for item in iter {
        match item {
            Ok(kv) => out.push(kv),
            Err(e) => {
                let after = out
                    .last()
                    .map_or("its start".to_string(), |(k, _)| format!("`{k}`"));
                return Err(Error::Message(
                    1,
                    format!(
                        "the env file {} is not dotenv syntax after {after} ({}); nothing was run",
                        path.display(),
                        plain(&e)
                    ),
                ));
            }
        }
    }
    Ok(out)
}

/// A dotenvy error without the line it quotes.
fn plain(e: &dotenvy::Error) -> String {
    match e {
        dotenvy::Error::Io(io) => io.to_string(),
        dotenvy::Error::LineParse(..) => "a line it cannot parse".into(),
        dotenvy::Error::EnvVar(v) => v.to_string(),
        _ => "unreadable".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_part_and_refuses_the_rest_naming_the_variable() {
        let r = |v| parse("X", v).unwrap().map(|r| (r.name.to_string(), r.part));
        assert_eq!(r("tw://pleo"), Some(("pleo".into(), Part::Token)));
        assert_eq!(r("tw://pleo/header"), Some(("pleo".into(), Part::Header)));
        assert_eq!(
            r("tw://pleo/expires_at"),
            Some(("pleo".into(), Part::ExpiresAt))
        );
        assert_eq!(
            r("tw://proxy/pleo"),
            Some(("pleo".into(), Part::ProxyCapability))
        );
        assert_eq!(
            r("tw://proxy/pleo/url"),
            Some(("pleo".into(), Part::ProxyUrl))
        );
        assert_eq!(r("tw://proxy"), Some(("proxy".into(), Part::Token)));
        assert!(parse("X", "tw://proxy/pleo/header").is_err());
        assert_eq!(r("plain value"), None);
        assert_eq!(r("https://tw://x"), None);
        for bad in [
            "tw://pleo/refresh_token",
            "tw://",
            "tw://a b",
            "tw://pleo/header/x",
        ] {
            let e = parse("API_TOKEN", bad).unwrap_err().to_string();
            assert!(e.contains("`API_TOKEN`"), "{bad}: {e}");
        }
    }

    #[test]
    fn reads_dotenv_files_and_never_quotes_a_bad_line() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join(".env");
        std::fs::write(&f, "# refs\nA=tw://pleo\nB=\"quoted value\"\nC=${B}-x\n").unwrap();
        let vars = read_env_file(&f).unwrap();
        assert_eq!(
            vars,
            vec![
                ("A".into(), "tw://pleo".into()),
                ("B".into(), "quoted value".into()),
                ("C".into(), "quoted value-x".into())
            ]
        );
        std::fs::write(&f, "A=1\nB='SECRET-VALUE-OPEN\n").unwrap();
        let e = read_env_file(&f).unwrap_err().to_string();
        assert!(
            e.contains("after `A`") && !e.contains("SECRET-VALUE"),
            "{e}"
        );
    }
}
