//! Connections in the vault: one record each, its public facts as the record's summary
//! in the vault's index (create, update, save, load, list, remove).

use super::{Connection, ConnectionInfo, ConnectionName, RECORD_PREFIX};
use crate::vault::{UnlockedVault, VaultError};
use secrecy::ExposeSecret;

fn encode(c: &Connection) -> (zeroize::Zeroizing<Vec<u8>>, String) {
    // Invariant: plain strings and numbers always serialise.
    let json = zeroize::Zeroizing::new(serde_json::to_vec(c).expect("connection serialises"));
    let info = serde_json::to_string(&c.info).expect("connection facts serialise");
    (json, info)
}

/// A connection record's plaintext, parsed.
pub fn decode(name: &ConnectionName, raw: &[u8]) -> Result<Connection, VaultError> {
    serde_json::from_slice(raw).map_err(|_| VaultError::Damaged {
        what: format!("connection `{name}`"),
        why: "is not a valid connection record",
    })
}

/// Stores a new connection, its public facts as the record's summary in the vault's
/// index (so [`list`] reads no record). Refused with [`VaultError::Exists`] if the name is
/// taken, checked under the vault's lock (another process cannot take it in between).
pub fn create(v: &mut UnlockedVault, c: &Connection) -> Result<(), VaultError> {
    let name = &c.info.name;
    v.update(&name.record(), |current| {
        if current.is_some() {
            return Err(VaultError::Exists(name.to_string()));
        }
        let (value, summary) = encode(c);
        Ok(Some(crate::vault::Write {
            value,
            summary: Some(summary),
        }))
    })
}

/// Changes connection `name` as it is now: reads it under the vault's lock, applies
/// `change`, and saves the result before the lock is released, so a change never
/// overwrites what another process (or thread) wrote after this one last read the
/// record: a stale write could put back a refresh token the provider has already
/// rotated, and reusing one makes Pleo revoke the grant. An error from `change` writes
/// nothing. Returns what `change` returned and the connection's facts as saved.
pub fn update<T, E: From<VaultError>>(
    v: &mut UnlockedVault,
    name: &ConnectionName,
    change: impl FnOnce(&mut Connection) -> Result<T, E>,
) -> Result<(T, ConnectionInfo), E> {
    let mut out = None;
    v.update(&name.record(), |current| {
        let raw = current.ok_or_else(|| VaultError::NotFound(name.to_string()))?;
        let mut c = decode(name, raw)?;
        let t = change(&mut c)?;
        let (value, summary) = encode(&c);
        out = Some((t, c.info.clone()));
        // Unchanged: nothing to write.
        if value.as_slice() == raw {
            return Ok(None);
        }
        Ok::<_, E>(Some(crate::vault::Write {
            value,
            summary: Some(summary),
        }))
    })?;
    // Invariant: `update` returned Ok, so the closure ran to its end and set `out`.
    Ok(out.expect("the change ran"))
}

/// Stores many new or replaced connections in one commit of the vault's index (an
/// import, a restore): one index write for all. Not for changing a connection (that is
/// [`update`], which re-reads it under the lock).
pub fn save_all(v: &mut UnlockedVault, all: &[Connection]) -> Result<(), VaultError> {
    let encoded: Vec<_> = all
        .iter()
        .map(|c| {
            let (json, info) = encode(c);
            (c.info.name.record(), json, info)
        })
        .collect();
    let items: Vec<_> = encoded
        .iter()
        .map(|(n, j, i)| (n.as_str(), j.as_slice(), Some(i.as_str())))
        .collect();
    v.put_all(&items)
}

/// Loads a connection.
pub fn load(v: &mut UnlockedVault, name: &ConnectionName) -> Result<Connection, VaultError> {
    let raw = v.get(&name.record()).map_err(|e| match e {
        VaultError::NotFound(_) => VaultError::NotFound(name.to_string()),
        other => other,
    })?;
    decode(name, raw.expose_secret())
}

/// Whether a connection exists.
pub fn exists(v: &UnlockedVault, name: &ConnectionName) -> bool {
    let r = name.record();
    v.list().iter().any(|i| i.name == r)
}

/// Names of all connections.
pub fn names(v: &UnlockedVault) -> Vec<ConnectionName> {
    v.list()
        .into_iter()
        .filter_map(|i| {
            i.name
                .strip_prefix(RECORD_PREFIX)
                .and_then(|n| ConnectionName::new(n).ok())
        })
        .collect()
}

/// The public part of every connection, from the summaries in the vault's index: no
/// keystore call when nothing was written since this handle last looked, the header and
/// the index when something was. A record saved before summaries existed is read.
pub fn list(v: &mut UnlockedVault) -> Result<Vec<ConnectionInfo>, VaultError> {
    v.follow()?;
    let mut out = Vec::new();
    for n in names(v) {
        let summary = v
            .summary(&n.record())
            .and_then(|s| serde_json::from_str::<ConnectionInfo>(s).ok())
            .filter(|i| i.name == n);
        match summary {
            Some(info) => out.push(info),
            None => out.push(load(v, &n)?.info),
        }
    }
    Ok(out)
}

/// Deletes a connection's record.
pub fn remove(v: &mut UnlockedVault, name: &ConnectionName) -> Result<(), VaultError> {
    v.delete(&name.record())
}
