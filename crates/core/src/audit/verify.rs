//! Verification of the audit chain: [`AuditLog::chain_break`] (without the vault) and
//! [`AuditLog::verify`] (MACs and the anchored head too), and what it found ([`Verdict`]).

use super::event::Line;
use super::log::{Anchor, AuditLog};
use super::AuditError;
use crate::vault::{UnlockedVault, VaultError};
use secrecy::ExposeSecret;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// What `verify` found.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Lines read.
    pub lines: u64,
    /// Lines with a valid MAC.
    pub authenticated: u64,
    /// The first broken link, if any: (line number, what is wrong).
    pub broken: Option<(u64, String)>,
}

impl AuditLog {
    /// Checks what can be checked without the vault: every line parses, the sequence
    /// numbers count up from 1 and each line follows the one before it (hash chain).
    /// Returns the first broken line and why. `verify` also checks the MACs and anchor.
    pub fn chain_break(&self) -> Result<Option<(u64, String)>, AuditError> {
        let bytes = self.bytes()?;
        let mut prev_hash = String::new();
        for (i, raw) in bytes
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .enumerate()
        {
            let n = i as u64 + 1;
            let line: Line = match serde_json::from_slice(raw) {
                Ok(l) => l,
                Err(_) => return Ok(Some((n, "not a valid audit line".into()))),
            };
            if line.seq != n {
                return Ok(Some((n, format!("sequence number {} where {n} was expected (a line was deleted, inserted or moved)", line.seq))));
            }
            if line.prev != prev_hash {
                return Ok(Some((
                    n,
                    "does not follow the line before it (that line was edited, deleted or moved)"
                        .into(),
                )));
            }
            prev_hash = hex::encode(Sha256::digest(raw));
        }
        Ok(None)
    }

    /// Checks the whole chain; reports the first broken link.
    pub fn verify(&self, vault: &mut UnlockedVault) -> Result<Verdict, AuditError> {
        let key = Self::load_key(vault)?;
        let anchor: Option<Anchor> = match vault.get(&self.anchor_record(vault)?) {
            Ok(a) => serde_json::from_slice(a.expose_secret()).ok(),
            Err(VaultError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        };
        let bytes = self.bytes()?;
        let mut v = Verdict {
            lines: 0,
            authenticated: 0,
            broken: None,
        };
        let mut prev_hash = String::new();
        let mut anchor_seen = false;
        for (i, raw) in bytes
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .enumerate()
        {
            let n = i as u64 + 1;
            v.lines = n;
            let fail = |why: &str| Some((n, why.to_string()));
            let line: Line = match serde_json::from_slice(raw) {
                Ok(l) => l,
                Err(_) => {
                    v.broken = fail("not a valid audit line");
                    return Ok(v);
                }
            };
            if line.seq != n {
                v.broken = fail(&format!("sequence number {} where {n} was expected (a line was deleted, inserted or moved)", line.seq));
                return Ok(v);
            }
            if line.prev != prev_hash {
                v.broken = fail(
                    "does not follow the line before it (that line was edited, deleted or moved)",
                );
                return Ok(v);
            }
            match &line.mac {
                Some(m) => {
                    if !key.verify(&line, m) {
                        v.broken = fail(
                            "fails its MAC (edited, or written without the vault's audit key)",
                        );
                        return Ok(v);
                    }
                    v.authenticated += 1;
                }
                None if line.event.is_unlock_failure() => {}
                None => {
                    v.broken =
                        fail("has no MAC, but only failed unlocks are written without the vault");
                    return Ok(v);
                }
            }
            prev_hash = hex::encode(Sha256::digest(raw));
            if let Some(a) = &anchor {
                if a.seq == n {
                    if a.hash != prev_hash {
                        v.broken = fail(
                            "differs from the head anchored in the vault (the file was rewritten)",
                        );
                        return Ok(v);
                    }
                    anchor_seen = true;
                }
            }
        }
        if let Some(a) = anchor {
            if !anchor_seen {
                v.broken = Some((
                    v.lines + 1,
                    format!("the log ends at line {} but the vault anchored line {} (lines were removed, or the file was replaced)", v.lines, a.seq),
                ));
            }
        }
        Ok(v)
    }
}
