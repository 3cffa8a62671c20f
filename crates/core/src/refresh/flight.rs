//! The refresher's per-connection locking: single flight in this process (one leader
//! refreshes, the others wait for its outcome) and the connection's refresh lock file
//! across processes.

use super::{AccessToken, Ask, Got, RefreshError, Refresher, Shared};
use crate::connection::ConnectionName;
use crate::guard;
use crate::lock::VaultLock;
use crate::oauth::OAuthError;
use crate::vault::UnlockedVault;
use secrecy::SecretString;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};

/// What a leader publishes: the token and its expiry, or the error's message.
type Outcome = Result<(SecretString, Option<u64>), (String, bool)>;

/// A refresh in flight in this process: its leader publishes the outcome here.
#[derive(Default)]
pub(super) struct Flight {
    done: Mutex<Option<Outcome>>,
    cv: Condvar,
}

impl Refresher {
    /// The refresh lock file of `name`: named by a keyed hash, whose key comes from the
    /// unlocked vault (cached until [`Self::forget_keys`]). The first time, older builds'
    /// unsalted lock files are removed.
    pub(super) fn lock_path(
        &self,
        vault: &Mutex<UnlockedVault>,
        name: &ConnectionName,
    ) -> Result<PathBuf, RefreshError> {
        let key = {
            let mut v = guard(vault);
            let id = v.info().vault_id;
            let mut cached = guard(&self.lock_key);
            match &*cached {
                Some((of, k)) if *of == id => k.clone(),
                _ => {
                    let k = crate::audit::name_key(&mut v)
                        .map_err(|e| RefreshError::Lock(e.to_string()))?;
                    *cached = Some((id, k.clone()));
                    k
                }
            }
        };
        self.old_locks_gone
            .call_once(|| crate::lock::remove_unsalted_refresh_locks(&self.lock_dir));
        Ok(crate::lock::refresh_lock_path(&self.lock_dir, &key, name))
    }

    /// Removes the refresh lock file of `name`, a connection that is gone: taken first,
    /// so no refresher of it in any process is between taking it and writing (one that
    /// waits for it finds the file gone once it has it, opens the name afresh, and then
    /// finds no connection to refresh). Best effort: a file left behind tells nothing.
    pub fn forget_lock(&self, vault: &Mutex<UnlockedVault>, name: &ConnectionName) {
        let removed = self.lock_path(vault, name).and_then(|path| {
            if !path.exists() {
                return Ok(());
            }
            VaultLock::acquire(&path)
                .map(VaultLock::remove)
                .map_err(|e| RefreshError::Lock(e.to_string()))
        });
        if let Err(e) = removed {
            tracing::warn!(connection = %name, error = %e, "could not remove the refresh lock file");
        }
    }

    pub(super) fn single_flight(&self, vault: &Shared, name: &ConnectionName, ask: Ask) -> Got {
        let (flight, leader) = {
            let mut f = guard(&self.flights);
            match f.get(name.as_str()) {
                Some(existing) => (existing.clone(), false),
                None => {
                    let fl = Arc::new(Flight::default());
                    f.insert(name.to_string(), fl.clone());
                    (fl, true)
                }
            }
        };
        if leader {
            let result = self.refresh_locked(vault, name, ask);
            guard(&self.flights).remove(name.as_str());
            *guard(&flight.done) = Some(match &result {
                Ok(t) => Ok((t.token.clone(), t.expires_at)),
                Err(e) => Err((
                    e.to_string(),
                    matches!(e, RefreshError::Provider { error, .. } if error.is_transient()),
                )),
            });
            flight.cv.notify_all();
            return result;
        }
        let mut done = guard(&flight.done);
        while done.is_none() {
            done = flight.cv.wait(done).unwrap_or_else(|p| p.into_inner());
        }
        // The leader stored the tokens before publishing them: followers take them
        // from memory instead of reading the record again.
        match done.clone() {
            Some(Ok((token, expires_at))) => Ok(AccessToken {
                token,
                expires_at,
                refreshed: false,
                refresh_error: None,
            }),
            Some(Err((message, transient))) => Err(RefreshError::Provider {
                name: name.into(),
                error: OAuthError::Relayed { message, transient },
            }),
            None => unreachable!("the loop above waits for Some"),
        }
    }
}
