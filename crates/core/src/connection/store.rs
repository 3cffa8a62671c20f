//! Connections in the vault: one record each, its public facts as the record's summary
//! in the vault's index (create, update, save, load, list, remove).

use super::{Connection, ConnectionInfo, ConnectionName, RECORD_PREFIX};
use crate::vault::{RefresherSecrets, UnlockedVault, VaultError};
use base64::Engine as _;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// What a record stores: the connection, its refresher secrets sealed where the vault
/// has a refresher key.
#[derive(Serialize)]
struct Stored<'a> {
    info: &'a ConnectionInfo,
    secrets: StoredSecrets<'a>,
}

#[derive(Serialize)]
struct StoredSecrets<'a> {
    access_token: &'a str,
    refresh_token: Option<&'a str>,
    client_secret: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sealed: Option<&'a str>,
}

/// The sealed part's plaintext (`docs/format.md` §10.2).
#[derive(Serialize, Deserialize)]
struct Sealed<'a> {
    refresh_token: Option<&'a str>,
    client_secret: Option<&'a str>,
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn damaged(name: &ConnectionName, why: &'static str) -> VaultError {
    VaultError::Damaged {
        what: format!("connection `{name}`"),
        why,
    }
}

fn encode(
    v: &RefresherSecrets,
    c: &Connection,
) -> Result<(Zeroizing<Vec<u8>>, String), VaultError> {
    let s = &c.secrets;
    let mut stored = StoredSecrets {
        access_token: &s.access_token,
        refresh_token: s.refresh_token.as_deref(),
        client_secret: s.client_secret.as_deref(),
        sealed: s.sealed.as_deref(),
    };
    let fresh;
    if let RefresherSecrets::Sealed(key, vault) = v {
        let vault = *vault;
        let record = c.info.name.record();
        // Invariant: plain strings always serialise.
        let inner = Zeroizing::new(
            serde_json::to_vec(&Sealed {
                refresh_token: stored.refresh_token,
                client_secret: stored.client_secret,
            })
            .expect("secrets serialise"),
        );
        // The blob read is kept while it holds the same secrets: an unchanged record
        // is written as it was (or not at all).
        let same = s.sealed.as_ref().is_some_and(|b| {
            b64()
                .decode(b)
                .ok()
                .and_then(|b| key.open(vault, &record, &b))
                .is_some_and(|p| p.as_slice() == inner.as_slice())
        });
        if !same {
            fresh = b64().encode(key.seal(vault, &record, &inner));
            stored.sealed = Some(&fresh);
        }
        stored.refresh_token = None;
        stored.client_secret = None;
    }
    // Invariant: plain strings and numbers always serialise.
    let json = Zeroizing::new(
        serde_json::to_vec(&Stored {
            info: &c.info,
            secrets: stored,
        })
        .expect("connection serialises"),
    );
    let info = serde_json::to_string(&c.info).expect("connection facts serialise");
    Ok((json, info))
}

/// A connection record's plaintext, parsed (a record out of a backup, whose secrets are
/// never sealed).
pub fn decode(name: &ConnectionName, raw: &[u8]) -> Result<Connection, VaultError> {
    serde_json::from_slice(raw).map_err(|_| damaged(name, "is not a valid connection record"))
}

/// A record of vault `v`, parsed, its sealed secrets opened where this identity holds
/// the refresher key.
fn decode_in(
    v: &RefresherSecrets,
    name: &ConnectionName,
    raw: &[u8],
) -> Result<Connection, VaultError> {
    let mut c = decode(name, raw)?;
    let Some(blob) = &c.secrets.sealed else {
        return Ok(c);
    };
    match v {
        RefresherSecrets::Sealed(key, vault) => {
            let vault = *vault;
            let plain = b64()
                .decode(blob)
                .ok()
                .and_then(|b| key.open(vault, &name.record(), &b))
                .ok_or_else(|| VaultError::RecordTampered(name.record()))?;
            let inner: Sealed<'_> = serde_json::from_slice(&plain)
                .map_err(|_| damaged(name, "has sealed secrets that are not valid"))?;
            c.secrets.refresh_token = inner.refresh_token.map(str::to_string);
            c.secrets.client_secret = inner.client_secret.map(str::to_string);
        }
        // A consumer: the refresher secrets stay sealed, kept as they are.
        RefresherSecrets::Unreadable => {}
        RefresherSecrets::InRecord => {
            return Err(damaged(
                name,
                "has sealed secrets in a vault without a refresher key",
            ))
        }
    }
    Ok(c)
}

/// Stores a new connection, its public facts as the record's summary in the vault's
/// index (so [`list`] reads no record). Refused with [`VaultError::Exists`] if the name is
/// taken, checked under the vault's lock (another process cannot take it in between).
pub fn create(v: &mut UnlockedVault, c: &Connection) -> Result<(), VaultError> {
    let name = &c.info.name;
    let codec = v.refresher_secrets();
    v.update(&name.record(), |current| {
        if current.is_some() {
            return Err(VaultError::Exists(name.to_string()));
        }
        let (value, summary) = encode(&codec, c)?;
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
    let codec = v.refresher_secrets();
    v.update(&name.record(), |current| {
        let raw = current.ok_or_else(|| VaultError::NotFound(name.to_string()))?;
        let mut c = decode_in(&codec, name, raw)?;
        let t = change(&mut c)?;
        let (value, summary) = encode(&codec, &c)?;
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
    let codec = v.refresher_secrets();
    let encoded: Vec<_> = all
        .iter()
        .map(|c| {
            let (json, info) = encode(&codec, c)?;
            Ok((c.info.name.record(), json, info))
        })
        .collect::<Result<_, VaultError>>()?;
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
    decode_in(&v.refresher_secrets(), name, raw.expose_secret())
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
