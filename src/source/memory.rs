//! A directory held in memory: entries given by the caller (the demo edits them between
//! cycles; tests use it for exact scenarios). Filtered by the same `user_filter` logic.

use std::borrow::Cow;
use std::sync::RwLock;

use super::{Directory, LocalEntries, ReadEnd, SearchRequest, SourceError, search_local, stream_local};
use crate::model::Filter;
use crate::model::RawEntry;

pub struct MemoryDirectory {
    entries: RwLock<Vec<RawEntry>>,
    filter: Filter,
}

impl MemoryDirectory {
    pub fn new(entries: Vec<RawEntry>, filter: Filter) -> Self {
        Self { entries: RwLock::new(entries), filter }
    }

    /// Parses LDIF content records (as the LDIF source does).
    pub fn from_ldif(text: &str, filter: Filter) -> Result<Self, SourceError> {
        let mut entries = Vec::new();
        super::ldif::parse(text.as_bytes(), "<memory>", &mut |e| entries.push(e))?;
        Ok(Self::new(entries, filter))
    }

    /// Changes the directory: `edit` gets the entries to add, change or remove.
    pub fn edit(&self, edit: impl FnOnce(&mut Vec<RawEntry>)) {
        if let Ok(mut entries) = self.entries.write() {
            edit(&mut entries);
        }
    }
}

impl LocalEntries for MemoryDirectory {
    /// Lends each entry under the read lock.
    fn each_entry(&self, visit: &mut dyn FnMut(Cow<'_, RawEntry>)) -> Result<(), SourceError> {
        let entries =
            self.entries.read().map_err(|_| SourceError::Internal { detail: "directory lock poisoned".into() })?;
        entries.iter().for_each(|e| visit(Cow::Borrowed(e)));
        Ok(())
    }
}

impl Directory for MemoryDirectory {
    async fn stream(&self, on_entry: &mut (dyn FnMut(RawEntry) + Send)) -> Result<ReadEnd, SourceError> {
        stream_local(self, &self.filter, on_entry)?;
        Ok(ReadEnd::Complete)
    }

    async fn search(
        &self,
        requests: &[SearchRequest],
        on_entry: &mut (dyn FnMut(usize, RawEntry) + Send),
    ) -> Result<ReadEnd, SourceError> {
        search_local(self, requests, on_entry)
    }

    fn describe(&self) -> String {
        "in-memory directory".into()
    }
}
