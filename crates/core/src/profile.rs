//! Profiles: each has its own keystore service name and data directory, so tests (and a
//! second identity) never touch a user's real vault.

use std::path::{Path, PathBuf};

/// A validated profile name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile(String);

/// The profile used when none is named.
pub const DEFAULT_PROFILE: &str = "default";

impl Profile {
    /// Accepts 1-32 characters from `a-z 0-9 - _`.
    pub fn new(name: &str) -> Result<Self, String> {
        let ok = !name.is_empty()
            && name.len() <= 32
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(name.to_string()))
        } else {
            Err(format!(
                "invalid profile name `{name}`: use 1-32 characters from a-z 0-9 - _"
            ))
        }
    }

    /// The profile's name.
    pub fn name(&self) -> &str {
        &self.0
    }

    /// The keystore service: `token-wallet` for the default profile, else
    /// `token-wallet:<profile>`.
    pub fn service(&self) -> String {
        if self.0 == DEFAULT_PROFILE {
            "token-wallet".to_string()
        } else {
            format!("token-wallet:{}", self.0)
        }
    }

    /// The profile's data directory under `base`.
    pub fn data_dir(&self, base: &Path) -> PathBuf {
        base.join(&self.0)
    }
}

/// The platform's data directory for Token Wallet (e.g. `~/.local/share/token-wallet`).
pub fn default_base_dir() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("token-wallet"))
}

/// The platform's config file for providers (e.g. `~/.config/token-wallet/providers.toml`).
pub fn default_providers_file() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("token-wallet").join("providers.toml"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_are_per_profile() {
        assert_eq!(Profile::new("default").unwrap().service(), "token-wallet");
        assert_eq!(Profile::new("test").unwrap().service(), "token-wallet:test");
        assert!(Profile::new("").is_err());
        assert!(Profile::new("A").is_err());
        assert!(Profile::new("a/b").is_err());
    }
}
