//! A cache of access tokens for a long-lived session (the agent's, the app's): each entry
//! is valid while the vault's change stamp is unchanged (any write by any process changes
//! it) and the token has the life asked for. Filled by [`Session::export`] through the
//! one refresher, one filler per connection at a time. Cleared on lock; the tokens are
//! zeroized when dropped.

use super::Session;
use crate::connection::{ConnectionInfo, ConnectionName};
use crate::guard;
use crate::refresh::{needs_refresh_info, AccessToken, Policy};
use secrecy::SecretString;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct Entry {
    stamp: [u8; 8],
    info: ConnectionInfo,
    token: SecretString,
}

/// The cache. Used by the sessions it is given to ([`Session::with_cache`]).
pub struct TokenCache {
    /// The vault's lock file, whose change stamp says whether anything was written.
    lock_path: PathBuf,
    entries: Mutex<HashMap<ConnectionName, Entry>>,
    fills: Mutex<HashMap<ConnectionName, Arc<Mutex<()>>>>,
    /// Bumped by [`Self::clear`]: a fill that started before is not kept.
    generation: Mutex<u64>,
}

impl TokenCache {
    /// An empty cache for the vault whose data directory is `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            lock_path: crate::lock::lock_path(data_dir),
            entries: Mutex::default(),
            fills: Mutex::default(),
            generation: Mutex::default(),
        }
    }

    fn stamp(&self) -> Option<[u8; 8]> {
        crate::lock::change_stamp(&self.lock_path)
    }

    /// Forgets every token (on lock): a fill still running is not kept either.
    pub fn clear(&self) {
        *guard(&self.generation) += 1;
        guard(&self.entries).clear();
    }

    /// The cached token of `name`, if nothing was written to the vault since it was read
    /// (`stamp`) and it has at least `min_ttl` left by `policy`.
    fn get(
        &self,
        name: &ConnectionName,
        policy: &Policy,
        min_ttl: Duration,
    ) -> Option<(AccessToken, ConnectionInfo)> {
        let stamp = self.stamp()?;
        let entries = guard(&self.entries);
        let e = entries.get(name)?;
        if e.stamp != stamp || needs_refresh_info(&e.info, policy, min_ttl, crate::clock::now()) {
            return None;
        }
        Some((
            AccessToken {
                token: e.token.clone(),
                expires_at: e.info.expires_at,
                refreshed: false,
                refresh_error: None,
            },
            e.info.clone(),
        ))
    }
}

impl Session<'_> {
    /// The token of `name` from the cache, or read (and refreshed if need be) and kept
    /// there; without a cache, read. With its connection's facts as they are now.
    pub(super) fn token_and_info(
        &self,
        name: &ConnectionName,
        min_ttl: Duration,
    ) -> Result<(AccessToken, ConnectionInfo), super::OpError> {
        let policy = self.refresher.policy();
        let Some(cache) = self.cache else {
            return self.read_token(name, min_ttl);
        };
        if let Some(hit) = cache.get(name, policy, min_ttl) {
            return Ok(hit);
        }
        let gate = guard(&cache.fills).entry(name.clone()).or_default().clone();
        let _one = guard(&gate);
        if let Some(hit) = cache.get(name, policy, min_ttl) {
            return Ok(hit);
        }
        let generation = *guard(&cache.generation);
        // The stamp before the record: a write in between changes it, so the entry is
        // simply read again next time.
        let before = cache.stamp();
        let (token, info) = self.read_token(name, min_ttl)?;
        if let Some(stamp) = before {
            let mut entries = guard(&cache.entries);
            if *guard(&cache.generation) == generation {
                entries.insert(
                    name.clone(),
                    Entry {
                        stamp,
                        info: info.clone(),
                        token: token.token.clone(),
                    },
                );
            }
        }
        Ok((token, info))
    }

    fn read_token(
        &self,
        name: &ConnectionName,
        min_ttl: Duration,
    ) -> Result<(AccessToken, ConnectionInfo), super::OpError> {
        let token = self.refresher.access_token(self.vault, name, min_ttl)?;
        let mut info = crate::connection::load(&mut self.lock(), name)?.info;
        info.expires_at = token.expires_at;
        Ok((token, info))
    }
}
