//! Where a profile's vault lives and how it is reached, read once from the `TOKEN_WALLET_*`
//! settings (the environment, or the CLI's flags over it): one reading and one set of
//! rules for every front end. Errors name the setting; each front end says how to set it.

mod bao_file;

use crate::audit::AuditLog;
use crate::keystore::{self, KeystoreOptions, StoreKind};
use crate::oauth::{self, http::Http, OAuthError, Provider, ProviderSpec};
use crate::profile::{self, Profile};
use crate::refresh::{Policy, Refresher};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One setting, by its environment variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Setting {
    /// `TOKEN_WALLET_PROFILE`: the profile (default `default`).
    Profile,
    /// `TOKEN_WALLET_HOME`: the base data directory (default: the platform's).
    Home,
    /// `TOKEN_WALLET_STORE`: `os` (default) or `file`.
    Store,
    /// `TOKEN_WALLET_CHUNK_SIZE`: the largest keystore entry, in bytes.
    ChunkSize,
    /// `TOKEN_WALLET_KEYSTORE_TIMEOUT`: seconds to wait for one keystore call.
    KeystoreTimeout,
    /// `TOKEN_WALLET_PROVIDERS`: the providers file.
    Providers,
    /// `TOKEN_WALLET_REFRESH_WINDOW`: refresh when fewer seconds than this are left.
    RefreshWindow,
    /// `TOKEN_WALLET_BAO_ADDR` (else `BAO_ADDR`): the OpenBao server, for `--store openbao`.
    BaoAddr,
    /// `TOKEN_WALLET_BAO_MOUNT`: its KV v2 mount (default `secret`).
    BaoMount,
    /// `TOKEN_WALLET_BAO_PREFIX`: the folder under the mount (default `token-wallet`).
    BaoPrefix,
    /// `TOKEN_WALLET_BAO_TOKEN` (else `BAO_TOKEN`): a token.
    BaoToken,
    /// `TOKEN_WALLET_BAO_TOKEN_FILE`: a file holding the token.
    BaoTokenFile,
    /// `TOKEN_WALLET_BAO_ROLE_ID`: an AppRole's role id (with the secret id file).
    BaoRoleId,
    /// `TOKEN_WALLET_BAO_SECRET_ID_FILE`: the file holding the AppRole's secret id.
    BaoSecretIdFile,
    /// `TOKEN_WALLET_BAO_CACERT` (else `BAO_CACERT`): CA certificates (PEM) for its TLS.
    BaoCaCert,
    /// `TOKEN_WALLET_BAO_CONFIG`: the team vault's settings file (default
    /// `openbao.toml` in the platform's config directory), read for any OpenBao setting
    /// the environment does not give.
    BaoConfig,
}

impl Setting {
    /// Every setting.
    pub const ALL: [Setting; 16] = [
        Setting::Profile,
        Setting::Home,
        Setting::Store,
        Setting::ChunkSize,
        Setting::KeystoreTimeout,
        Setting::Providers,
        Setting::RefreshWindow,
        Setting::BaoAddr,
        Setting::BaoMount,
        Setting::BaoPrefix,
        Setting::BaoToken,
        Setting::BaoTokenFile,
        Setting::BaoRoleId,
        Setting::BaoSecretIdFile,
        Setting::BaoCaCert,
        Setting::BaoConfig,
    ];

    /// Its environment variable.
    pub fn env_var(self) -> &'static str {
        match self {
            Setting::Profile => "TOKEN_WALLET_PROFILE",
            Setting::Home => "TOKEN_WALLET_HOME",
            Setting::Store => "TOKEN_WALLET_STORE",
            Setting::ChunkSize => "TOKEN_WALLET_CHUNK_SIZE",
            Setting::KeystoreTimeout => "TOKEN_WALLET_KEYSTORE_TIMEOUT",
            Setting::Providers => "TOKEN_WALLET_PROVIDERS",
            Setting::RefreshWindow => "TOKEN_WALLET_REFRESH_WINDOW",
            Setting::BaoAddr => "TOKEN_WALLET_BAO_ADDR",
            Setting::BaoMount => "TOKEN_WALLET_BAO_MOUNT",
            Setting::BaoPrefix => "TOKEN_WALLET_BAO_PREFIX",
            Setting::BaoToken => "TOKEN_WALLET_BAO_TOKEN",
            Setting::BaoTokenFile => "TOKEN_WALLET_BAO_TOKEN_FILE",
            Setting::BaoRoleId => "TOKEN_WALLET_BAO_ROLE_ID",
            Setting::BaoSecretIdFile => "TOKEN_WALLET_BAO_SECRET_ID_FILE",
            Setting::BaoCaCert => "TOKEN_WALLET_BAO_CACERT",
            Setting::BaoConfig => "TOKEN_WALLET_BAO_CONFIG",
        }
    }

    /// The variable OpenBao's own CLI reads for the same thing, used when this one is
    /// unset (so a shell set up for `bao` works as it is).
    pub fn bao_env_var(self) -> Option<&'static str> {
        match self {
            Setting::BaoAddr => Some("BAO_ADDR"),
            Setting::BaoToken => Some("BAO_TOKEN"),
            Setting::BaoCaCert => Some("BAO_CACERT"),
            _ => None,
        }
    }
}

/// A setting that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The profile name breaks the rule.
    #[error("{0}")]
    Profile(String),
    /// No data directory was given and the platform has none.
    #[error("no data directory was given and the platform has none")]
    NoDataDir,
    /// A setting's value is not one it takes.
    #[error("{} is `{value}`; {expected}", .setting.env_var())]
    Invalid {
        /// Which.
        setting: Setting,
        /// Its value.
        value: String,
        /// What it takes.
        expected: &'static str,
    },
    /// The team vault's settings file cannot be used.
    #[error("the OpenBao settings file {path} cannot be used: {why}")]
    BaoFile {
        /// The file.
        path: String,
        /// Why.
        why: String,
    },
    /// `--store openbao` without a setting it needs.
    #[error("the OpenBao store needs {0}")]
    OpenBaoMissing(&'static str),
    /// The keystore chunk size is below the smallest that works.
    #[error("the keystore chunk size must be at least {0} bytes")]
    ChunkTooSmall(usize),
}

/// The OpenBao store's settings: each from its `TOKEN_WALLET_BAO_*` setting, else OpenBao's
/// own variable (`BAO_ADDR`, `BAO_TOKEN`, `BAO_CACERT`), else the settings file
/// (`openbao.toml`). Login: a token file, else an AppRole (role id and secret id file),
/// else a token.
fn openbao_options(
    get: &impl Fn(Setting) -> Option<String>,
) -> Result<keystore::OpenBaoOptions, ConfigError> {
    use keystore::{BaoAuth, BaoToken};
    let file = bao_file::BaoFile::load(get(Setting::BaoConfig).as_deref().map(Path::new))?;
    let get = |s: Setting| {
        get(s)
            .or_else(|| {
                s.bao_env_var()
                    .and_then(|v| std::env::var(v).ok())
                    .filter(|v| !v.is_empty())
            })
            .or_else(|| file.get(s))
    };
    let addr = get(Setting::BaoAddr).ok_or(ConfigError::OpenBaoMissing(
        "its address: set TOKEN_WALLET_BAO_ADDR or BAO_ADDR",
    ))?;
    let auth = if let Some(f) = get(Setting::BaoTokenFile) {
        BaoAuth::TokenFile(f.into())
    } else if let Some(role_id) = get(Setting::BaoRoleId) {
        BaoAuth::AppRole {
            role_id,
            secret_id_file: get(Setting::BaoSecretIdFile)
                .ok_or(ConfigError::OpenBaoMissing(
                    "the AppRole's secret id: set TOKEN_WALLET_BAO_SECRET_ID_FILE",
                ))?
                .into(),
            mount: "approle".into(),
        }
    } else if let Some(t) = get(Setting::BaoToken) {
        BaoAuth::Token(BaoToken::new(t))
    } else {
        return Err(ConfigError::OpenBaoMissing(
            "a login: set BAO_TOKEN, TOKEN_WALLET_BAO_TOKEN_FILE, or TOKEN_WALLET_BAO_ROLE_ID with TOKEN_WALLET_BAO_SECRET_ID_FILE",
        ));
    };
    Ok(keystore::OpenBaoOptions {
        addr,
        mount: get(Setting::BaoMount).unwrap_or_else(|| "secret".into()),
        prefix: get(Setting::BaoPrefix).unwrap_or_else(|| "token-wallet".into()),
        auth,
        ca_file: get(Setting::BaoCaCert).map(PathBuf::from),
    })
}

/// Where a profile's vault lives and how it is reached.
#[derive(Clone, Debug)]
pub struct Config {
    /// The profile.
    pub profile: Profile,
    /// Its data directory: the base (`TOKEN_WALLET_HOME`, else the platform's data
    /// directory) joined with the profile's name. Holds the lock files, the audit log,
    /// the agent's socket name and (with the file store) the entries file.
    pub data_dir: PathBuf,
    /// The keystore and its limits.
    pub keystore: KeystoreOptions,
    /// The providers file, if any (default: the platform's config directory's
    /// `token-wallet/providers.toml`).
    pub providers: Option<PathBuf>,
    /// When to refresh ahead of expiry.
    pub refresh: Policy,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|s| std::env::var(s.env_var()).ok())
    }

    /// Reads each setting through `get` (empty counts as unset).
    pub fn from_lookup(get: impl Fn(Setting) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |s: Setting| get(s).filter(|v| !v.is_empty());
        let number = |s: Setting| -> Result<Option<u64>, ConfigError> {
            get(s)
                .map(|v| {
                    v.trim().parse::<u64>().map_err(|_| ConfigError::Invalid {
                        setting: s,
                        value: v.clone(),
                        expected: "use a whole number",
                    })
                })
                .transpose()
        };
        let profile = Profile::new(
            &get(Setting::Profile).unwrap_or_else(|| profile::DEFAULT_PROFILE.to_string()),
        )
        .map_err(ConfigError::Profile)?;
        let base = match get(Setting::Home) {
            Some(h) => PathBuf::from(h),
            None => profile::default_base_dir().ok_or(ConfigError::NoDataDir)?,
        };
        let data_dir = profile.data_dir(&base);
        let mut keystore = KeystoreOptions::os();
        match get(Setting::Store).as_deref() {
            None | Some("os") => {}
            Some("file") => keystore.kind = StoreKind::File(data_dir.join("keystore.json")),
            Some("openbao") => {
                keystore.kind = StoreKind::OpenBao(openbao_options(&get)?);
                // KV v2 takes large values: one entry each, no chunks.
                keystore.chunk_cap = 512 * 1024;
            }
            Some(other) => {
                return Err(ConfigError::Invalid {
                    setting: Setting::Store,
                    value: other.into(),
                    expected: "use `os`, `file` or `openbao`",
                })
            }
        }
        if let Some(c) = number(Setting::ChunkSize)? {
            let c = usize::try_from(c).unwrap_or(usize::MAX);
            if c < keystore::MIN_CHUNK_CAP {
                return Err(ConfigError::ChunkTooSmall(keystore::MIN_CHUNK_CAP));
            }
            keystore.chunk_cap = c;
        }
        if let Some(t) = number(Setting::KeystoreTimeout)? {
            keystore.timeout = Duration::from_secs(t.max(1));
        }
        let mut refresh = Policy::default();
        if let Some(w) = number(Setting::RefreshWindow)? {
            refresh.min_window = Duration::from_secs(w);
        }
        let providers = get(Setting::Providers)
            .map(PathBuf::from)
            .or_else(profile::default_providers_file);
        Ok(Self {
            profile,
            data_dir,
            keystore,
            providers,
            refresh,
        })
    }

    /// The profile's vault (locked).
    pub fn open_vault(&self) -> Result<crate::Vault, crate::KeystoreError> {
        crate::open_vault(&self.profile, &self.keystore, &self.data_dir)
    }

    /// The profile's audit log.
    pub fn audit_log(&self) -> AuditLog {
        AuditLog::new(&self.data_dir)
    }

    /// The process's one refresher for this profile, auditing to its log.
    pub fn refresher(&self) -> Refresher {
        Refresher::new(Http::new(), self.refresh.clone(), self.data_dir.clone())
            .with_audit(self.audit_log())
    }

    /// The providers: the Pleo presets and the providers file's.
    pub fn provider_specs(&self) -> Result<Vec<ProviderSpec>, OAuthError> {
        oauth::load_specs(self.providers.as_deref())
    }

    /// The provider called `name`, its endpoints resolved (discovery fetched if need be).
    pub fn provider(&self, name: &str, http: &Http) -> Result<Provider, OAuthError> {
        self.provider_specs()?
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| OAuthError::UnknownProvider(name.to_string()))?
            .resolve(http)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(Setting, &str)]) -> Result<Config, ConfigError> {
        let pairs: Vec<(Setting, String)> =
            pairs.iter().map(|(k, v)| (*k, v.to_string())).collect();
        Config::from_lookup(move |s| pairs.iter().find(|(k, _)| *k == s).map(|(_, v)| v.clone()))
    }

    #[test]
    fn defaults_and_values() {
        let c = with(&[(Setting::Home, "/h")]).unwrap();
        assert_eq!(c.profile.name(), "default");
        assert_eq!(c.data_dir, PathBuf::from("/h/default"));
        assert_eq!(c.keystore.kind, StoreKind::Os);
        let c = with(&[
            (Setting::Home, "/h"),
            (Setting::Profile, "work"),
            (Setting::Store, "file"),
            (Setting::ChunkSize, "2560"),
            (Setting::KeystoreTimeout, "0"),
            (Setting::RefreshWindow, "300"),
            (Setting::Providers, "/p.toml"),
        ])
        .unwrap();
        assert_eq!(
            c.keystore.kind,
            StoreKind::File("/h/work/keystore.json".into())
        );
        assert_eq!(c.keystore.chunk_cap, 2560);
        assert_eq!(c.keystore.timeout, Duration::from_secs(1));
        assert_eq!(c.refresh.min_window, Duration::from_secs(300));
        assert_eq!(c.providers, Some(PathBuf::from("/p.toml")));
        // Empty is unset.
        assert_eq!(
            with(&[(Setting::Home, "/h"), (Setting::Store, "")])
                .unwrap()
                .keystore
                .kind,
            StoreKind::Os
        );
    }

    #[test]
    fn fail_each_bad_setting_named() {
        let e = |p: &[(Setting, &str)]| with(p).unwrap_err().to_string();
        assert_eq!(
            e(&[(Setting::Home, "/h"), (Setting::Store, "cloud")]),
            "TOKEN_WALLET_STORE is `cloud`; use `os`, `file` or `openbao`"
        );
        assert!(e(&[(Setting::Profile, "Bad/Name")]).contains("invalid profile name"));
        assert_eq!(
            e(&[(Setting::Home, "/h"), (Setting::ChunkSize, "10")]),
            "the keystore chunk size must be at least 64 bytes"
        );
        assert_eq!(
            e(&[(Setting::Home, "/h"), (Setting::RefreshWindow, "5m")]),
            "TOKEN_WALLET_REFRESH_WINDOW is `5m`; use a whole number"
        );
        let bao = [(Setting::Home, "/h"), (Setting::Store, "openbao")];
        if std::env::var_os("BAO_ADDR").is_none() {
            assert!(e(&bao).contains("needs its address"), "{}", e(&bao));
        }
        let with_addr = [
            bao[0],
            bao[1],
            (Setting::BaoAddr, "https://bao.example:8200"),
        ];
        if std::env::var_os("BAO_TOKEN").is_none() {
            assert!(e(&with_addr).contains("needs a login"), "{}", e(&with_addr));
        }
        let approle = [
            with_addr[0],
            with_addr[1],
            with_addr[2],
            (Setting::BaoRoleId, "r"),
        ];
        assert!(e(&approle).contains("TOKEN_WALLET_BAO_SECRET_ID_FILE"));
    }

    #[test]
    fn openbao_settings_and_the_login_chosen() {
        use crate::keystore::BaoAuth;
        let c = with(&[
            (Setting::Home, "/h"),
            (Setting::Store, "openbao"),
            (Setting::BaoAddr, "https://bao.example:8200"),
            (Setting::BaoMount, "kv"),
            (Setting::BaoTokenFile, "/run/bao-token"),
            (Setting::BaoRoleId, "ignored while a token file is given"),
            (Setting::BaoCaCert, "/etc/bao-ca.pem"),
        ])
        .unwrap();
        let StoreKind::OpenBao(o) = c.keystore.kind else {
            panic!("not the OpenBao store");
        };
        assert_eq!(o.addr, "https://bao.example:8200");
        assert_eq!(
            (o.mount.as_str(), o.prefix.as_str()),
            ("kv", "token-wallet")
        );
        assert_eq!(o.auth, BaoAuth::TokenFile("/run/bao-token".into()));
        assert_eq!(o.ca_file, Some(PathBuf::from("/etc/bao-ca.pem")));
        assert_eq!(c.keystore.chunk_cap, 512 * 1024, "one KV secret per value");
        // A token is never shown by Debug.
        let t = with(&[
            (Setting::Home, "/h"),
            (Setting::Store, "openbao"),
            (Setting::BaoAddr, "https://bao.example:8200"),
            (Setting::BaoToken, "s.sekrit-token"),
        ])
        .unwrap();
        assert!(!format!("{t:?}").contains("sekrit"));
    }
}
