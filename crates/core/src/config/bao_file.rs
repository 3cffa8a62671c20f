//! The team vault's settings file, `openbao.toml` in the platform's config directory
//! (`~/.config/token-wallet/openbao.toml`), or the file `TOKEN_WALLET_BAO_CONFIG` names:
//! read for any OpenBao setting the environment does not give, so that an app started
//! from a desktop menu (which has no shell's variables) reaches the team's server. It
//! holds no secret: a token goes in a file that `token_file` names.

use super::{ConfigError, Setting};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The file's settings; every one optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BaoFile {
    addr: Option<String>,
    mount: Option<String>,
    prefix: Option<String>,
    token_file: Option<String>,
    role_id: Option<String>,
    secret_id_file: Option<String>,
    ca_cert: Option<String>,
}

/// The platform's `openbao.toml`.
fn default_path() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("token-wallet").join("openbao.toml"))
}

impl BaoFile {
    /// Reads `path` (else the platform's file). A missing default file is empty; a
    /// missing named one, or one that does not parse, is an error.
    pub(super) fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let (path, named) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => match default_path() {
                Some(p) => (p, false),
                None => return Ok(Self::default()),
            },
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !named => {
                return Ok(Self::default())
            }
            Err(e) => return Err(bad(&path, e.to_string())),
        };
        toml::from_str(&text).map_err(|e| {
            let why = e.message().to_string();
            if why.contains("`token`") {
                bad(&path, "a token is not kept here: put it in a file of its own (mode 0600) and name that file in `token_file`".into())
            } else {
                bad(&path, why)
            }
        })
    }

    /// Its value for `s`, if it has one.
    pub(super) fn get(&self, s: Setting) -> Option<String> {
        let v = match s {
            Setting::BaoAddr => &self.addr,
            Setting::BaoMount => &self.mount,
            Setting::BaoPrefix => &self.prefix,
            Setting::BaoTokenFile => &self.token_file,
            Setting::BaoRoleId => &self.role_id,
            Setting::BaoSecretIdFile => &self.secret_id_file,
            Setting::BaoCaCert => &self.ca_cert,
            _ => &None,
        };
        v.clone().filter(|v| !v.is_empty())
    }
}

fn bad(path: &Path, why: String) -> ConfigError {
    ConfigError::BaoFile {
        path: path.display().to_string(),
        why,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_settings_and_refuses_a_token_or_a_typo() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("openbao.toml");
        std::fs::write(
            &f,
            "addr = \"https://bao.example:8200\"\ntoken_file = \"/home/me/.bao-token\"\n",
        )
        .unwrap();
        let b = BaoFile::load(Some(&f)).unwrap();
        assert_eq!(b.get(Setting::BaoAddr).unwrap(), "https://bao.example:8200");
        assert_eq!(b.get(Setting::BaoTokenFile).unwrap(), "/home/me/.bao-token");
        assert_eq!(b.get(Setting::BaoMount), None);
        std::fs::write(&f, "token = \"s.abc\"\n").unwrap();
        let e = BaoFile::load(Some(&f)).unwrap_err().to_string();
        assert!(
            e.contains("a token is not kept here") && !e.contains("s.abc"),
            "{e}"
        );
        std::fs::write(&f, "adr = \"x\"\n").unwrap();
        let e = BaoFile::load(Some(&f)).unwrap_err().to_string();
        assert!(e.contains("openbao.toml") && e.contains("adr"), "{e}");
        let e = BaoFile::load(Some(&dir.path().join("none.toml")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("none.toml"), "{e}");
    }
}
