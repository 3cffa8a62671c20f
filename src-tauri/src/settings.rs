//! The app's settings: a small JSON file in the profile's data directory
//! (`app-settings.json`). Nothing secret is in it. A missing file means the defaults; a
//! damaged one is reported and replaced only when the user saves.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What the user can set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Settings {
    /// Lock after this many minutes without use (0: never).
    pub auto_lock_minutes: u32,
    /// The background refresher renews an access token this many minutes before it
    /// expires.
    pub refresh_ahead_minutes: u32,
    /// Desktop notifications for refresh failures and connections that need signing in.
    pub notifications: bool,
    // Closing the window hides it and the app keeps running in the tray (its agent keeps
    // serving the CLI; the auto-lock still applies), as password managers do. Off, or with
    // no tray icon, closing the window quits. (A plain comment: ui/src/generated.ts stays
    // short.)
    pub keep_running_in_tray: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            auto_lock_minutes: 15,
            refresh_ahead_minutes: 5,
            notifications: true,
            keep_running_in_tray: true,
        }
    }
}

/// The longest auto-lock and refresh lead the UI offers: a day.
pub const MAX_MINUTES: u32 = 24 * 60;

impl Settings {
    /// Refuses values outside what the UI offers.
    pub fn check(&self) -> Result<(), String> {
        if self.auto_lock_minutes > MAX_MINUTES {
            return Err(format!(
                "auto-lock must be 0 (never) to {MAX_MINUTES} minutes"
            ));
        }
        if !(1..=MAX_MINUTES).contains(&self.refresh_ahead_minutes) {
            return Err(format!("refresh ahead must be 1 to {MAX_MINUTES} minutes"));
        }
        Ok(())
    }

    /// The idle auto-lock (`None`: never).
    pub fn idle_timeout(&self) -> Option<std::time::Duration> {
        (self.auto_lock_minutes > 0)
            .then(|| std::time::Duration::from_secs(u64::from(self.auto_lock_minutes) * 60))
    }

    /// How long before expiry the background refresher renews a token.
    pub fn refresh_ahead(&self) -> std::time::Duration {
        std::time::Duration::from_secs(u64::from(self.refresh_ahead_minutes) * 60)
    }
}

/// Where the settings file is.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("app-settings.json")
}

/// Reads the settings; a missing file gives the defaults.
pub fn load(data_dir: &Path) -> Result<Settings, String> {
    let p = path(data_dir);
    // Never through a symlink planted in the data directory.
    match token_wallet_core::files::read_private(&p) {
        Ok(Some(bytes)) => {
            let s: Settings = serde_json::from_slice(&bytes).map_err(|e| {
                format!(
                    "{} is damaged ({e}); the defaults are used until you save",
                    p.display()
                )
            })?;
            s.check()?;
            Ok(s)
        }
        Ok(None) => Ok(Settings::default()),
        Err(e) => Err(format!("cannot read {}: {e}", p.display())),
    }
}

/// Writes the settings atomically (a fresh private temporary file, then rename).
pub fn save(data_dir: &Path, s: &Settings) -> Result<(), String> {
    s.check()?;
    // Invariant: a struct of numbers and a bool always serialises.
    let json = serde_json::to_vec_pretty(s).expect("settings serialise");
    token_wallet_core::files::write_atomic(&path(data_dir), &json)
        .map_err(|e| format!("cannot save the settings: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip_and_limits() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()).unwrap(), Settings::default());
        let s = Settings {
            auto_lock_minutes: 0,
            refresh_ahead_minutes: 10,
            notifications: false,
            keep_running_in_tray: false,
        };
        save(dir.path(), &s).unwrap();
        assert_eq!(load(dir.path()).unwrap(), s);
        assert_eq!(s.idle_timeout(), None);
        assert_eq!(s.refresh_ahead().as_secs(), 600);
        let bad = Settings {
            refresh_ahead_minutes: 0,
            ..s
        };
        assert!(save(dir.path(), &bad)
            .unwrap_err()
            .contains("refresh ahead"));
        assert_eq!(
            load(dir.path()).unwrap(),
            s,
            "a refused save changes nothing"
        );
    }

    /// A file saved before a setting existed still loads, that setting at its default.
    #[test]
    fn an_older_file_loads_with_the_newer_settings_at_their_defaults() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            path(dir.path()),
            br#"{"autoLockMinutes":15,"refreshAheadMinutes":5,"notifications":true}"#,
        )
        .unwrap();
        let s = load(dir.path()).unwrap();
        assert!(s.keep_running_in_tray);
        assert_eq!(s, Settings::default());
        std::fs::write(
            path(dir.path()),
            br#"{"autoLockMinutes":1,"refreshAheadMinutes":5,"notifications":false}"#,
        )
        .unwrap();
        let s = load(dir.path()).unwrap();
        assert!(s.keep_running_in_tray && !s.notifications);
        assert_eq!(s.auto_lock_minutes, 1);
    }

    #[test]
    fn fail_damaged_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(path(dir.path()), b"{\"autoLockMinutes\": \"soon\"").unwrap();
        assert!(load(dir.path()).unwrap_err().contains("damaged"));
        std::fs::write(path(dir.path()), b"{\"autoLockMinutes\": 99999}").unwrap();
        assert!(load(dir.path()).unwrap_err().contains("auto-lock"));
    }
}
