//! Key changes, crash-safe: data-key rotation, passphrase changes (which rotate the data
//! key with them, or only re-wrap it), and the recovery that rolls an interrupted one back
//! or finishes a committed one.

use super::*;
use crate::crypto::Kek;
use open::dek_place;

impl UnlockedVault {
    /// Deletes what an interrupted rotation left, then clears the header's flag.
    /// The caller holds the lock.
    /// Returns how many unreachable entries the sweep removed. The flag is cleared only
    /// after the sweep, so a crash during either is finished by the next recovery.
    pub(super) fn recover(&mut self) -> Result<usize, VaultError> {
        let mut swept = 0;
        if let Some(g) = self.header.rotating_to {
            tracing::warn!(
                generation = g,
                "rolling back an interrupted data-key rotation"
            );
            // The rotation never committed: its new-generation entries are garbage.
            self.delete_generation(g)?;
            swept += self.sweep()?;
            self.header.rotating_to = None;
            self.write_header()?;
        }
        if let Some(g) = self.header.cleanup {
            tracing::info!(generation = g, "deleting the previous data-key generation");
            // The rotation committed: the old generation's entries are garbage, and so is
            // anything else the header does not reach (e.g. a record a crash left before
            // its index write).
            self.delete_generation(g)?;
            swept += self.sweep()?;
            self.header.cleanup = None;
            self.write_header()?;
        }
        Ok(swept)
    }

    fn delete_generation(&self, g: u64) -> Result<(), VaultError> {
        if g == self.header.generation {
            return Ok(());
        }
        for e in self.index.records.values() {
            self.ks.delete(&rec_name(g, &e.id))?;
        }
        self.ks.delete(&idx_name(g))?;
        Ok(())
    }

    /// Changes the passphrase and rotates the data key with it (through the crash-safe
    /// rotation of [`Self::rotate_data_key`], whose single commit point writes the new
    /// salt and the new data key wrapped by the new key-encryption key). So an old header
    /// together with the old passphrase, should both have leaked, opens nothing written
    /// after the change. Until the commit the old passphrase unlocks; after it, the new.
    pub fn change_passphrase(&mut self, new: &Passphrase) -> Result<(), VaultError> {
        self.change_passphrase_with_progress(new, |_, _| {})
    }

    /// [`Self::change_passphrase`], calling `progress(done, total)` after each record.
    pub fn change_passphrase_with_progress(
        &mut self,
        new: &Passphrase,
        progress: impl FnMut(usize, usize),
    ) -> Result<(), VaultError> {
        self.kek.kek()?;
        let salt = new_salt();
        let kek = derive(new, &self.header.kdf, &salt)?;
        self.rotate(Some((kek, salt)), None, progress)?;
        tracing::info!(vault = %self.header.vault_id.to_hex(), "passphrase changed, data key rotated");
        Ok(())
    }

    /// Changes the passphrase only: a new salt and key-encryption key re-wrap the same
    /// data key, in one header write (atomic, and fast: no record is rewritten). Anyone
    /// holding an old header and the old passphrase can still open the data key.
    pub fn change_passphrase_keep_data_key(&mut self, new: &Passphrase) -> Result<(), VaultError> {
        self.kek.kek()?;
        let _l = self.begin_write()?;
        let salt = new_salt();
        let kek = derive(new, &self.header.kdf, &salt)?;
        let mut h = self.header.clone();
        h.salt = salt;
        h.passphrase_changed_at = now();
        h.wrapped_dek = kek.wrap(&self.dek, &dek_place(&h));
        let raw = h.encode();
        self.ks.set(HEADER, &raw)?;
        self.header = h;
        self.header_raw = raw;
        self.kek = Unlocker::Passphrase(kek);
        tracing::info!(vault = %self.header.vault_id.to_hex(), "passphrase changed");
        Ok(())
    }

    /// Rotates the data key: every record is re-encrypted under a new key as generation
    /// g+1, the header naming g+1 is written (the single commit point), then generation g
    /// is deleted. A crash at any step leaves the vault unlockable and every record
    /// readable; the next unlock or write finishes the clean-up.
    pub fn rotate_data_key(&mut self) -> Result<(), VaultError> {
        self.rotate_data_key_with_progress(|_, _| {})
    }

    /// [`Self::rotate_data_key`], calling `progress(done, total)` after each record.
    pub fn rotate_data_key_with_progress(
        &mut self,
        progress: impl FnMut(usize, usize),
    ) -> Result<(), VaultError> {
        self.rotate(None, None, progress)
    }

    /// Brings a vault in an older format (`docs/format.md`) to [`FORMAT_VERSION`]: a
    /// data-key rotation whose new generation is written in the new format, and whose
    /// commit (the header naming it) also records the new format. Crash-safe as the
    /// rotation is: until the commit the old generation, in the old format, is the vault;
    /// the new index is read back and checked before the commit. Returns the format it
    /// had; a vault already in the newest format is left as it is.
    pub fn upgrade_format(&mut self) -> Result<u64, VaultError> {
        self.follow()?;
        let from = self.header.format;
        if from >= FORMAT_VERSION {
            return Ok(from);
        }
        self.rotate(None, Some(FORMAT_VERSION), |_, _| {})?;
        tracing::info!(from, to = FORMAT_VERSION, "vault format upgraded");
        Ok(from)
    }

    /// The rotation; with `new_kek`, its commit also switches to a new passphrase (new
    /// salt, the new data key wrapped by the new key-encryption key); with `new_format`,
    /// the new generation is written in that format and the commit records it.
    fn rotate(
        &mut self,
        new_kek: Option<(Kek, Salt)>,
        new_format: Option<u64>,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<(), VaultError> {
        let _l = self.begin_write()?;
        let format = new_format.unwrap_or(self.header.format);
        let old_g = self.header.generation;
        let new_g = old_g + 1;
        // 1. Record the intent, so a crash before the commit is rolled back.
        self.header.rotating_to = Some(new_g);
        self.write_header()?;
        // 2. Re-encrypt everything as generation g+1.
        let new_dek = Dek::generate();
        let total = self.index.records.len();
        for (i, (name, e)) in self.index.records.iter().enumerate() {
            let plain = self.read_record(name, old_g, &self.dek, &e.id)?;
            let entry = rec_name(new_g, &e.id);
            let place = RecordPlace {
                vault: self.header.vault_id,
                generation: new_g,
                entry: &entry,
            };
            let blob = new_dek.seal(&place, secrecy::ExposeSecret::expose_secret(&plain));
            self.ks.set(&entry, &blob)?;
            progress(i + 1, total);
        }
        self.write_index(new_g, &new_dek, &self.index, format)?;
        if new_format.is_some() {
            // Read the new index back before committing to it: the old generation stays
            // the vault until it verifies.
            let mut check = self.header.clone();
            check.generation = new_g;
            check.format = format;
            let back = open_index(&new_dek, &check, self.ks.get(&idx_name(new_g))?)?;
            if back.records.len() != total {
                return Err(VaultError::Damaged {
                    what: format!("the new index `{}`", idx_name(new_g)),
                    why: "did not read back as written",
                });
            }
        }
        // 3. Commit: the header names g+1 and its wrapped key (and, on a passphrase
        //    change, the new salt).
        let mut h = self.header.clone();
        h.generation = new_g;
        h.format = format;
        h.rotating_to = None;
        h.cleanup = Some(old_g);
        h.dek_created_at = now();
        if let Some((_, salt)) = &new_kek {
            h.salt = *salt;
            h.passphrase_changed_at = now();
        }
        h.wrapped_dek = match &new_kek {
            Some((k, _)) => k.wrap(&new_dek, &dek_place(&h)),
            // A Transit key wraps it in OpenBao: a refusal there leaves the vault as it
            // was (generation g+1 is then a leftover the next unlock removes).
            None => self.kek.wrap(&new_dek, &h)?,
        };
        let raw = h.encode();
        self.ks.set(HEADER, &raw)?;
        self.header = h;
        self.header_raw = raw;
        self.dek = new_dek;
        if let Some((k, _)) = new_kek {
            self.kek = Unlocker::Passphrase(k);
        }
        // 4. Delete generation g, sweep anything unreachable, clear the flag.
        let swept = self.recover()?;
        tracing::info!(
            generation = new_g,
            records = total,
            swept,
            "data key rotated"
        );
        Ok(())
    }

    /// Deletes every entry of this service that the header does not reach (left by a
    /// crash between writing a new record and committing the index, or by a delete that
    /// committed before removing its record). Skipped where the store cannot enumerate.
    /// The caller holds the lock.
    fn sweep(&self) -> Result<usize, VaultError> {
        let Some(names) = self.ks.list_raw()? else {
            return Ok(0);
        };
        let g = self.header.generation;
        let mut live: BTreeSet<String> = self
            .index
            .records
            .values()
            .map(|e| rec_name(g, &e.id))
            .collect();
        live.insert(HEADER.to_string());
        live.insert(idx_name(g));
        let mut n = 0;
        for name in names {
            let base = name.split('~').next().unwrap_or(&name);
            if !live.contains(base) {
                self.ks.delete_raw(&name)?;
                n += 1;
            }
        }
        Ok(n)
    }
}
