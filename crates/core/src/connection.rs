//! Connections: one vault record per connection, holding its tokens and what is known
//! about it. Secrets live in [`Secrets`] (zeroized on drop, never printed); everything
//! else is [`ConnectionInfo`], safe to show.

use crate::oauth::Provider;
use crate::vault::{UnlockedVault, VaultError};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Where a connection stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum Status {
    /// Connected.
    Active,
    /// Disconnect could not reach the provider; kept until revocation succeeds.
    RevocationPending {
        /// When the first attempt failed (Unix seconds).
        since: u64,
        /// Attempts so far.
        attempts: u32,
        /// The last failure.
        last_error: String,
    },
    /// The provider refused the refresh token (`invalid_grant`), or a refresh was
    /// interrupted after the provider may have rotated it: sign in again (`connect`).
    NeedsReauthorisation {
        /// Since when (Unix seconds).
        since: u64,
        /// Why.
        reason: String,
    },
}

/// What kind of credential a connection holds. One list, one name space, one export path
/// for all of them; only `oauth` is ever refreshed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum CredentialKind {
    /// OAuth tokens from a sign-in (refreshed with the refresh token).
    #[default]
    Oauth,
    /// A Pleo standalone API key (made in Pleo's web app; verified with
    /// `/v1/introspect`; sent with HTTP Basic, the key and an empty password).
    ApiKey,
    /// Any other token or key a tool needs, sent as a bearer token.
    StaticBearer,
    /// Any other token or key, sent with HTTP Basic as the user name.
    StaticBasic,
    /// Any other token or key, sent as the `Authorization` header's whole value.
    StaticRaw,
}

impl CredentialKind {
    /// Whether it is refreshed (OAuth) or stays as it was given until it expires.
    pub fn is_refreshed(self) -> bool {
        self == Self::Oauth
    }

    /// The `Authorization` header value that presents `secret` for this kind.
    pub fn authorization(self, token_type: &str, secret: &str) -> zeroize::Zeroizing<String> {
        match self {
            Self::Oauth => zeroize::Zeroizing::new(format!("{token_type} {secret}")),
            Self::StaticBearer => zeroize::Zeroizing::new(format!("Bearer {secret}")),
            Self::ApiKey | Self::StaticBasic => crate::facts::basic_authorization(secret),
            Self::StaticRaw => zeroize::Zeroizing::new(secret.to_string()),
        }
    }
}

/// The tokens and client secret of a connection.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop, Default)]
pub struct Secrets {
    /// The access token.
    pub access_token: String,
    /// The refresh token, if the provider issued one.
    pub refresh_token: Option<String>,
    /// The client secret of a confidential client.
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(<redacted>)")
    }
}

/// Everything about a connection that is safe to show.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionInfo {
    /// User-chosen name, unique in the vault.
    pub name: ConnectionName,
    /// What it holds: OAuth tokens (records written before kinds existed), an API key,
    /// a static token.
    #[serde(default)]
    pub kind: CredentialKind,
    /// The provider, as it was when connecting (endpoints included).
    pub provider: Provider,
    /// OAuth client id.
    pub client_id: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Token type (`Bearer`).
    pub token_type: String,
    /// When the tokens were issued (Unix seconds).
    pub issued_at: u64,
    /// When the access token expires (Unix seconds), if the provider said.
    pub expires_at: Option<u64>,
    /// When the connection was made.
    pub created_at: u64,
    /// Whether a refresh token is held (never the token itself).
    pub has_refresh_token: bool,
    /// Whether a client secret is held.
    pub has_client_secret: bool,
    /// What the connection check said (e.g. Pleo's `subjectURN`), sanitised strings.
    pub check: BTreeMap<String, String>,
    /// Why the connection check failed, if it did.
    pub check_error: Option<String>,
    /// When the credential was last checked with its provider (`check`), if ever.
    #[serde(default)]
    pub checked_at: Option<u64>,
    /// Status.
    pub status: Status,
    /// When the tokens were last refreshed (Unix seconds).
    #[serde(default)]
    pub last_refresh: Option<u64>,
    /// Refreshes that failed in a row (reset by a success).
    #[serde(default)]
    pub refresh_failures: u32,
    /// The last refresh failure, if the last attempt failed.
    #[serde(default)]
    pub last_refresh_error: Option<String>,
    /// Set (persisted) before a refresh request is sent and cleared with its result: found
    /// set by the next refresher, it means a refresher died between the provider's answer
    /// and the write, so the refresh token may already be rotated away.
    #[serde(default)]
    pub refreshing_since: Option<u64>,
    /// When an access token was last handed out (Unix seconds).
    #[serde(default)]
    pub last_export: Option<u64>,
    /// When this connection was restored from a backup with its refresh token (Unix
    /// seconds): the vault the backup came from may hold the same grant, and two places
    /// refreshing one grant makes the provider revoke it. Cleared by re-authorising.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored_at: Option<u64>,
}

impl ConnectionInfo {
    /// A newly made, active connection's facts: `Bearer` tokens issued at `issued_at`, no
    /// refresh token or client secret, nothing checked, refreshed or exported yet. Callers
    /// set what else they know with struct update syntax.
    pub fn new(
        name: &ConnectionName,
        provider: Provider,
        client_id: String,
        scopes: Vec<String>,
        issued_at: u64,
        expires_at: Option<u64>,
    ) -> Self {
        Self {
            name: name.clone(),
            kind: CredentialKind::Oauth,
            provider,
            client_id,
            scopes,
            token_type: "Bearer".into(),
            issued_at,
            expires_at,
            created_at: issued_at,
            has_refresh_token: false,
            has_client_secret: false,
            check: Default::default(),
            check_error: None,
            checked_at: None,
            status: Status::Active,
            last_refresh: None,
            refresh_failures: 0,
            last_refresh_error: None,
            refreshing_since: None,
            last_export: None,
            restored_at: None,
        }
    }

    /// Whether it holds a refresh token that a backup copied: the same grant may still be
    /// used where the backup was made.
    pub fn is_restored_copy(&self) -> bool {
        self.restored_at.is_some() && self.has_refresh_token && self.kind.is_refreshed()
    }
}

impl ConnectionInfo {
    /// What the provider's check said, typed ([`crate::facts::CheckFacts`]).
    pub fn facts(&self) -> crate::facts::CheckFacts {
        crate::facts::CheckFacts::of(&self.check)
    }

    /// The installation as the last check found it (Pleo's `/v1/installations/me`), if
    /// it was asked for.
    pub fn installation(&self) -> Option<crate::facts::Installation> {
        self.facts().installation
    }

    /// Whether the installation is in a state that stops the integration (`ERROR`,
    /// `INACTIVE`).
    pub fn installation_broken(&self) -> bool {
        self.installation().is_some_and(|i| i.status.is_broken())
    }

    /// Why the installation's status is unknown: the provider's answer could not be had
    /// or read at the last check. `None` when it was read (or never asked for).
    pub fn installation_unknown(&self) -> Option<String> {
        let i = self.installation()?;
        (i.status == crate::facts::InstallationStatus::Unknown)
            .then(|| i.read_error.unwrap_or_else(|| "no reason given".into()))
    }
}

impl Connection {
    /// Its grant at the provider, for revocation and the check.
    pub fn grant(&self) -> crate::oauth::Grant<'_> {
        crate::oauth::Grant {
            provider: &self.info.provider,
            client_id: &self.info.client_id,
            client_secret: self.secrets.client_secret.as_deref(),
            access_token: &self.secrets.access_token,
            refresh_token: self.secrets.refresh_token.as_deref(),
        }
    }
}

/// A stored connection.
#[derive(Serialize, Deserialize)]
pub struct Connection {
    /// Public part.
    pub info: ConnectionInfo,
    /// Secret part.
    pub secrets: Secrets,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("info", &self.info)
            .field("secrets", &self.secrets)
            .finish()
    }
}

/// Vault record names of connections start with this (other records may follow later).
pub const RECORD_PREFIX: &str = "c.";

fn record(name: &str) -> String {
    format!("{RECORD_PREFIX}{name}")
}

/// The longest connection name, in characters (ASCII only).
pub const MAX_NAME_CHARS: usize = 62;

/// A connection's name, checked once: 1 to [`MAX_NAME_CHARS`] characters from
/// `A-Z a-z 0-9 . _ -`. Every function that takes one takes this type, so nothing checks a
/// name again; the CLI and the app both show this rule's own error.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ConnectionName(String);

impl ConnectionName {
    /// Checks `name`.
    pub fn new(name: &str) -> Result<Self, VaultError> {
        let bad = || VaultError::InvalidConnectionName(name.to_string());
        if name.is_empty() || name.len() > MAX_NAME_CHARS {
            return Err(bad());
        }
        // The record name's rule (its prefix makes the 62 the record's 64), but the error
        // names what the person typed.
        crate::vault::check_name(&record(name)).map_err(|_| bad())?;
        Ok(Self(name.to_string()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn record(&self) -> String {
        record(&self.0)
    }
}

impl std::ops::Deref for ConnectionName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ConnectionName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for ConnectionName {
    type Err = VaultError;
    fn from_str(s: &str) -> Result<Self, VaultError> {
        Self::new(s)
    }
}

impl TryFrom<String> for ConnectionName {
    type Error = VaultError;
    fn try_from(s: String) -> Result<Self, VaultError> {
        Self::new(&s)
    }
}

impl From<ConnectionName> for String {
    fn from(n: ConnectionName) -> String {
        n.0
    }
}

impl From<&ConnectionName> for String {
    fn from(n: &ConnectionName) -> String {
        n.0.clone()
    }
}

impl PartialEq<str> for ConnectionName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for ConnectionName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

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

pub use crate::clock::now;

/// An active Pleo connection issued at `issued` and expiring at `expires`, for tests.
#[cfg(test)]
pub(crate) fn sample_info(name: &str, issued: u64, expires: Option<u64>) -> ConnectionInfo {
    ConnectionInfo {
        has_refresh_token: true,
        ..ConnectionInfo::new(
            &ConnectionName::new(name).expect("a valid test name"),
            crate::oauth::presets().remove(0),
            "id".into(),
            vec![],
            issued,
            expires,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_checked_once_and_reads_back_as_text() {
        for ok in ["a", "payroll-prod", "A.b_c-1", &"x".repeat(62)] {
            assert_eq!(ConnectionName::new(ok).unwrap().as_str(), ok);
        }
        for bad in ["", "a b", "a/b", "ä", &"x".repeat(63)] {
            assert!(ConnectionName::new(bad).is_err(), "{bad:?}");
        }
        // Stored as plain text: records written before the type existed read the same.
        let n: ConnectionName = serde_json::from_str("\"payroll\"").unwrap();
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"payroll\"");
        assert!(serde_json::from_str::<ConnectionName>("\"a/b\"").is_err());
        let info = sample_info("payroll", 1, Some(2));
        let back: ConnectionInfo =
            serde_json::from_str(&serde_json::to_string(&info).unwrap()).unwrap();
        assert_eq!(back.name, "payroll");
    }

    use crate::vault::memory_vault;

    fn stored(name: &str, expires: u64) -> Connection {
        Connection {
            info: sample_info(name, 1, Some(expires)),
            secrets: Secrets {
                access_token: format!("access-{name}"),
                refresh_token: None,
                client_secret: None,
            },
        }
    }

    #[test]
    fn listing_reads_the_summaries_and_no_record() {
        let (_dir, vault, mut v) = memory_vault();
        for i in 0..50 {
            create(&mut v, &stored(&format!("c{i}"), 100 + i)).unwrap();
        }
        let ks = vault.keystore().clone();
        let calls = ks.calls();
        let all = list(&mut v).unwrap();
        assert_eq!(ks.calls(), calls, "an idle list makes no keystore call");
        assert_eq!(all.len(), 50);
        assert_eq!(all[0], load(&mut v, &all[0].name).unwrap().info);
        // Another process refreshes one: the next list sees it from the index alone.
        let pass = crate::Passphrase::new("pw".into()).unwrap();
        let mut other = vault.unlock(&pass).unwrap();
        update(&mut other, &"c7".parse().unwrap(), |c| {
            c.info.expires_at = Some(9_999);
            Ok::<_, VaultError>(())
        })
        .unwrap();
        let index_entries = ks.list_raw().unwrap().unwrap();
        let index_entries = index_entries.iter().filter(|n| n.starts_with("idx."));
        let calls = ks.calls();
        let all = list(&mut v).unwrap();
        assert_eq!(
            ks.calls() - calls,
            1 + index_entries.count() as u64,
            "the header and the index (in chunks), no record"
        );
        let c7 = all.iter().find(|i| i.name == "c7").unwrap();
        assert_eq!(c7.expires_at, Some(9_999));
    }

    #[test]
    fn a_record_saved_before_summaries_is_read() {
        let (_dir, _vault, mut v) = memory_vault();
        let old = stored("legacy", 5);
        v.put(&old.info.name.record(), &serde_json::to_vec(&old).unwrap())
            .unwrap();
        create(&mut v, &stored("new", 6)).unwrap();
        let all = list(&mut v).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0], old.info);
        // A summary that names another connection is not believed.
        let mut wrong = stored("swapped", 7);
        let lie = serde_json::to_string(&sample_info("new", 1, Some(6))).unwrap();
        v.put_with_summary(
            &wrong.info.name.record(),
            &serde_json::to_vec(&wrong).unwrap(),
            Some(&lie),
        )
        .unwrap();
        wrong.info.expires_at = Some(7);
        let all = list(&mut v).unwrap();
        assert_eq!(
            all.iter().find(|i| i.name == "swapped").unwrap(),
            &wrong.info
        );
    }

    /// What one writer does to the vault in the interleaving tests.
    #[derive(Clone, Debug)]
    enum Op {
        /// Handle `h` adds one to connection `k`'s failure count.
        Count { h: usize, k: usize },
        /// Handle `h` moves connection `k`'s export time on by one.
        Export { h: usize, k: usize },
        /// Handle `h` rotates its access token (a refresh): a new, numbered token.
        Refresh { h: usize, k: usize },
        /// Handle `h` reads connection `k` (and may keep a stale copy around).
        Read { h: usize, k: usize },
        /// Handle `h` rotates the data key.
        Rotate { h: usize },
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            4 => (0..3usize, 0..2usize).prop_map(|(h, k)| Op::Count { h, k }),
            4 => (0..3usize, 0..2usize).prop_map(|(h, k)| Op::Export { h, k }),
            4 => (0..3usize, 0..2usize).prop_map(|(h, k)| Op::Refresh { h, k }),
            3 => (0..3usize, 0..2usize).prop_map(|(h, k)| Op::Read { h, k }),
            1 => (0..3usize).prop_map(|h| Op::Rotate { h }),
        ]
    }

    fn bump(v: &mut UnlockedVault, k: usize, change: impl FnOnce(&mut Connection)) {
        update(v, &ConnectionName::new(&format!("k{k}")).unwrap(), |c| {
            change(c);
            Ok::<_, VaultError>(())
        })
        .unwrap();
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 48, ..Default::default() })]
        /// Three handles (as three processes would hold) read, change and rotate in any
        /// order; every change lands, none undoes another: the counts add up and the
        /// access token is the last one written, whoever read what before.
        #[test]
        fn interleaved_writers_never_lose_a_write(ops in proptest::collection::vec(op(), 1..40)) {
            let (_dir, vault, first) = memory_vault();
            let pass = crate::Passphrase::new("pw".into()).unwrap();
            let mut hs = [first, vault.unlock(&pass).unwrap(), vault.unlock(&pass).unwrap()];
            for k in 0..2 {
                create(&mut hs[0], &stored(&format!("k{k}"), 10)).unwrap();
            }
            let (mut counts, mut exports, mut tokens) = ([0u32; 2], [0u64; 2], [0u32; 2]);
            let mut stale = Vec::new();
            for op in ops {
                match op {
                    Op::Count { h, k } => {
                        bump(&mut hs[h], k, |c| c.info.refresh_failures += 1);
                        counts[k] += 1;
                    }
                    Op::Export { h, k } => {
                        bump(&mut hs[h], k, |c| {
                            c.info.last_export = Some(c.info.last_export.unwrap_or(0) + 1)
                        });
                        exports[k] += 1;
                    }
                    Op::Refresh { h, k } => {
                        tokens[k] += 1;
                        let t = tokens[k];
                        bump(&mut hs[h], k, move |c| {
                            c.secrets.access_token = format!("access-{t}");
                            c.secrets.refresh_token = Some(format!("refresh-{t}"));
                        });
                    }
                    Op::Read { h, k } => {
                        stale.push(load(&mut hs[h], &format!("k{k}").parse().unwrap()).unwrap());
                    }
                    Op::Rotate { h } => hs[h].rotate_data_key().unwrap(),
                }
            }
            for (h, v) in hs.iter_mut().enumerate() {
                for k in 0..2 {
                    let c = load(v, &format!("k{k}").parse().unwrap()).unwrap();
                    proptest::prop_assert_eq!(c.info.refresh_failures, counts[k], "handle {} k{}", h, k);
                    proptest::prop_assert_eq!(c.info.last_export.unwrap_or(0), exports[k]);
                    if tokens[k] > 0 {
                        proptest::prop_assert_eq!(&c.secrets.access_token, &format!("access-{}", tokens[k]));
                        proptest::prop_assert_eq!(c.secrets.refresh_token.clone(), Some(format!("refresh-{}", tokens[k])));
                    }
                    let listed = list(v).unwrap();
                    proptest::prop_assert_eq!(&listed[k], &c.info, "the summary agrees with the record");
                }
            }
            drop(stale);
        }
    }

    /// The same with real threads, each with its own handle (the file lock excludes them
    /// as it excludes processes): 4 writers x 25 changes, none lost.
    #[test]
    fn concurrent_handles_never_lose_a_write() {
        let (_dir, vault, mut first) = memory_vault();
        create(&mut first, &stored("k0", 10)).unwrap();
        let pass = crate::Passphrase::new("pw".into()).unwrap();
        std::thread::scope(|s| {
            for i in 0..4 {
                let mut h = vault.unlock(&pass).unwrap();
                s.spawn(move || {
                    for j in 0..25 {
                        bump(&mut h, 0, |c| {
                            c.info.refresh_failures += 1;
                            if j % 5 == 0 {
                                c.secrets.access_token = format!("access-{i}-{j}");
                            }
                        });
                    }
                });
            }
        });
        let c = load(&mut first, &"k0".parse().unwrap()).unwrap();
        assert_eq!(c.info.refresh_failures, 100);
    }

    #[test]
    fn create_refuses_a_taken_name_and_update_a_missing_one() {
        let (_dir, _vault, mut v) = memory_vault();
        create(&mut v, &stored("a", 1)).unwrap();
        assert!(matches!(
            create(&mut v, &stored("a", 2)),
            Err(VaultError::Exists(n)) if n == "a"
        ));
        let missing = update(&mut v, &"b".parse().unwrap(), |_| Ok::<_, VaultError>(()));
        assert!(matches!(missing, Err(VaultError::NotFound(n)) if n == "b"));
        assert_eq!(
            load(&mut v, &"a".parse().unwrap()).unwrap().info.expires_at,
            Some(1)
        );
    }
}
