//! Records: read, write, delete and list, each under the vault's file lock and checked
//! against the current header (another process may have rotated the key meanwhile).

use super::*;

impl UnlockedVault {
    /// Records, by name.
    pub fn list(&self) -> Vec<RecordInfo> {
        self.index
            .records
            .iter()
            .map(|(name, e)| RecordInfo {
                name: name.clone(),
                created_at: e.created_at,
            })
            .collect()
    }

    /// The summary stored with record `name` (see [`Self::put_with_summary`]), as this
    /// handle last read the index: call [`Self::follow`] first to see other processes'
    /// writes.
    pub fn summary(&self, name: &str) -> Option<&str> {
        self.index.records.get(name)?.summary.as_deref()
    }

    pub(super) fn place<'a>(&self, entry: &'a str) -> RecordPlace<'a> {
        RecordPlace {
            vault: self.header.vault_id,
            generation: self.header.generation,
            entry,
        }
    }

    pub(super) fn read_record(
        &self,
        name: &str,
        g: u64,
        dek: &Dek,
        id: &str,
    ) -> Result<SecretSlice<u8>, VaultError> {
        let entry = rec_name(g, id);
        let blob = self.ks.get(&entry)?.ok_or_else(|| VaultError::Damaged {
            what: format!("record `{name}`"),
            why: "is listed in the index but missing from the keystore",
        })?;
        let place = RecordPlace {
            vault: self.header.vault_id,
            generation: g,
            entry: &entry,
        };
        let plain = dek
            .open(&place, &blob)
            .ok_or_else(|| VaultError::RecordTampered(name.to_string()))?;
        Ok(SecretSlice::from(plain.to_vec()))
    }

    /// Reads a record as the vault holds it now.
    ///
    /// Follows what other processes wrote through the change stamp (one small file read;
    /// the header and index are re-read only when it moved, or when the name is not in
    /// the index), so a record another process replaced is never read from a stale index.
    pub fn get(&mut self, name: &str) -> Result<SecretSlice<u8>, VaultError> {
        check_name(name)?;
        self.follow()?;
        if !self.index.records.contains_key(name) {
            self.sync()?;
        }
        // Deleted by another process since we read the index: said plainly after one
        // more look (more on a shared store, whose writers no lock holds back).
        let tries = if self.ks.is_shared() { 5 } else { 2 };
        self.read_following(name, tries)
    }

    /// [`Self::read_current`], reading the header and index again and retrying (up to
    /// `tries` reads in all) while the record the index names is gone: replaced or
    /// deleted by a writer since the index was read.
    fn read_following(&mut self, name: &str, tries: u32) -> Result<SecretSlice<u8>, VaultError> {
        let mut tried = 1;
        loop {
            match self.read_current(name) {
                Err(VaultError::Damaged { .. }) if tried < tries => {
                    self.sync()?;
                    tried += 1;
                }
                other => return other,
            }
        }
    }

    /// Reads `name` as the index this handle holds describes it.
    pub(super) fn read_current(&self, name: &str) -> Result<SecretSlice<u8>, VaultError> {
        let e = self
            .index
            .records
            .get(name)
            .ok_or_else(|| VaultError::NotFound(name.to_string()))?;
        self.read_record(name, self.header.generation, &self.dek, &e.id)
    }

    /// Creates or replaces a record (without a summary). Replacing a record that has no
    /// summary is one keystore write (atomic); anything else is as
    /// [`Self::put_with_summary`].
    pub fn put(&mut self, name: &str, value: &[u8]) -> Result<(), VaultError> {
        self.put_with_summary(name, value, None)
    }

    /// Creates or replaces a record with a summary: public facts its owner needs without
    /// reading the record (a connection's provider and expiries), kept in the encrypted
    /// index, so listing them costs no keystore read per record.
    ///
    /// The record is written under a new id, then the index names it together with the
    /// summary (the commit point), then the old record is deleted: the record and its
    /// summary never disagree, even after a crash. A crash before the commit leaves an
    /// unreachable entry, which the next key rotation sweeps away where the store can
    /// enumerate.
    pub fn put_with_summary(
        &mut self,
        name: &str,
        value: &[u8],
        summary: Option<&str>,
    ) -> Result<(), VaultError> {
        check_name(name)?;
        let l = self.begin_write()?;
        match self.index.records.get(name) {
            Some(e) if e.summary.is_none() && summary.is_none() => {
                let entry = rec_name(self.header.generation, &e.id);
                let blob = self.dek.seal(&self.place(&entry), value);
                self.ks.set(&entry, &blob)?;
            }
            _ => self.write_all(&[(name, value, summary)])?,
        }
        self.seen = l.release();
        Ok(())
    }

    /// Reads record `name` as it is now and writes what `change` makes of it, holding the
    /// vault's file lock from the read to the write: no other process (nor another
    /// handle in this one) can write the record in between, so a change never applies to
    /// a stale read. `change` gets the current plaintext (`None` if there is no such
    /// record) and returns what to store, or `None` to write nothing; its error aborts
    /// with nothing written. Every read-modify-write of a record goes through here.
    pub fn update<E: From<VaultError>>(
        &mut self,
        name: &str,
        change: impl FnOnce(Option<&[u8]>) -> Result<Option<Write>, E>,
    ) -> Result<(), E> {
        check_name(name)?;
        let l = self.begin_write()?;
        // The file lock holds other writers back on this machine only: on a shared store
        // another machine may replace the record between the index read and this one.
        let tries = if self.ks.is_shared() { 5 } else { 1 };
        let current = match self.read_following(name, tries) {
            Ok(plain) => Some(plain),
            Err(VaultError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        };
        let write = change(current.as_ref().map(secrecy::ExposeSecret::expose_secret))?;
        drop(current);
        if let Some(w) = write {
            self.write_all(&[(name, &w.value, w.summary.as_deref())])?;
        }
        self.seen = l.release();
        Ok(())
    }

    /// Creates or replaces many records, each with its summary, in one commit (one index
    /// write): an import. Each is written as [`Self::put_with_summary`] writes one.
    pub fn put_all(&mut self, items: &[(&str, &[u8], Option<&str>)]) -> Result<(), VaultError> {
        for (name, _, _) in items {
            check_name(name)?;
        }
        let l = self.begin_write()?;
        self.write_all(items)?;
        self.seen = l.release();
        Ok(())
    }

    /// Writes `items` under new ids, commits the index naming them, then deletes the
    /// entries they replaced. The caller holds the lock.
    pub(super) fn write_all(
        &mut self,
        items: &[(&str, &[u8], Option<&str>)],
    ) -> Result<(), VaultError> {
        let g = self.header.generation;
        let mut index = self.index.clone();
        let mut replaced = Vec::new();
        for (name, value, summary) in items {
            let id = new_record_id();
            let entry = rec_name(g, &id);
            let blob = self.dek.seal(&self.place(&entry), value);
            self.ks.set(&entry, &blob)?;
            let created_at = index.records.get(*name).map_or_else(now, |e| e.created_at);
            let new = IndexEntry {
                id,
                created_at,
                summary: summary.map(str::to_string),
            };
            if let Some(old) = index.records.insert(name.to_string(), new) {
                replaced.push(old.id);
            }
        }
        self.write_index(g, &self.dek, &index, self.header.format)?;
        self.index = index;
        for id in replaced {
            // Committed already: a failure here only leaves an unreachable entry.
            if let Err(err) = self.ks.delete(&rec_name(g, &id)) {
                tracing::warn!(error = %err, "could not delete a replaced record's old entry");
            }
        }
        Ok(())
    }

    /// Deletes a record: the index first (the commit point), then the record.
    pub fn delete(&mut self, name: &str) -> Result<(), VaultError> {
        check_name(name)?;
        let l = self.begin_write()?;
        let mut index = self.index.clone();
        let e = index
            .records
            .remove(name)
            .ok_or_else(|| VaultError::NotFound(name.to_string()))?;
        self.write_index(
            self.header.generation,
            &self.dek,
            &index,
            self.header.format,
        )?;
        self.index = index;
        self.ks.delete(&rec_name(self.header.generation, &e.id))?;
        self.seen = l.release();
        Ok(())
    }
}
