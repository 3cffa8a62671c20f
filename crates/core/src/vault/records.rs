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

    /// Reads a record.
    ///
    /// Reads the header (one keystore read) to follow changes other processes made; the
    /// index is re-read only when the header changed or the name is not in it.
    pub fn get(&mut self, name: &str) -> Result<SecretSlice<u8>, VaultError> {
        check_name(name)?;
        let raw = self.ks.get(HEADER)?.ok_or(VaultError::Stale)?;
        if raw != self.header_raw || !self.index.records.contains_key(name) {
            self.sync_with(raw)?;
        }
        match self.read_current(name) {
            // Deleted by another process since we read the index: say so plainly.
            Err(VaultError::Damaged { .. }) => {
                self.sync()?;
                self.read_current(name)
            }
            other => other,
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

    /// Creates or replaces a record. Replacing is one keystore write (atomic); creating
    /// writes the record, then the index (the commit point).
    pub fn put(&mut self, name: &str, value: &[u8]) -> Result<(), VaultError> {
        check_name(name)?;
        let _l = self.begin_write()?;
        let (id, is_new) = match self.index.records.get(name) {
            Some(e) => (e.id.clone(), false),
            None => (new_record_id(), true),
        };
        let entry = rec_name(self.header.generation, &id);
        let blob = self.dek.seal(&self.place(&entry), value);
        self.ks.set(&entry, &blob)?;
        if is_new {
            let mut index = self.index.clone();
            index.records.insert(
                name.to_string(),
                IndexEntry {
                    id,
                    created_at: now(),
                },
            );
            self.write_index(self.header.generation, &self.dek, &index)?;
            self.index = index;
        }
        Ok(())
    }

    /// Deletes a record: the index first (the commit point), then the record.
    pub fn delete(&mut self, name: &str) -> Result<(), VaultError> {
        check_name(name)?;
        let _l = self.begin_write()?;
        let mut index = self.index.clone();
        let e = index
            .records
            .remove(name)
            .ok_or_else(|| VaultError::NotFound(name.to_string()))?;
        self.write_index(self.header.generation, &self.dek, &index)?;
        self.index = index;
        self.ks.delete(&rec_name(self.header.generation, &e.id))?;
        Ok(())
    }
}
