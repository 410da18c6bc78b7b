//! An in-memory store with the same behaviour, for tests and `plan` against a throwaway state.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{HistoryFilter, StateError, StateStore};
use crate::model::{Anchor, FailureRecord, HistoryRecord, KnownGroup, KnownUser, Meta, ScimUser};

/// Clones share one store, like handles to the same database.
#[derive(Default, Clone)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default, Clone)]
struct Inner {
    users: HashMap<Anchor, KnownUser>,
    pushed: HashMap<Anchor, ScimUser>,
    failures: HashMap<Anchor, FailureRecord>,
    groups: std::collections::BTreeMap<Anchor, KnownGroup>,
    meta: Meta,
    history: Vec<HistoryRecord>,
}

impl MemoryStore {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> Result<T, StateError> {
        let mut guard = self.inner.lock().map_err(|_| StateError::Storage("memory store poisoned".into()))?;
        Ok(f(&mut guard))
    }
}

impl StateStore for MemoryStore {
    fn users(&self) -> Result<Vec<KnownUser>, StateError> {
        self.with(|i| i.users.values().cloned().collect())
    }
    fn user(&self, anchor: &Anchor) -> Result<Option<KnownUser>, StateError> {
        self.with(|i| i.users.get(anchor).cloned())
    }
    fn put_user(&self, user: &KnownUser, pushed: Option<&ScimUser>) -> Result<(), StateError> {
        self.with(|i| {
            i.users.insert(user.anchor.clone(), user.clone());
            if let Some(p) = pushed {
                i.pushed.insert(user.anchor.clone(), p.clone());
            }
        })
    }
    fn remove_user(&self, anchor: &Anchor) -> Result<(), StateError> {
        self.with(|i| {
            i.users.remove(anchor);
            i.pushed.remove(anchor);
        })
    }
    fn pushed(&self, anchor: &Anchor) -> Result<Option<ScimUser>, StateError> {
        self.with(|i| i.pushed.get(anchor).cloned())
    }
    fn groups(&self) -> Result<Vec<KnownGroup>, StateError> {
        self.with(|i| i.groups.values().cloned().collect())
    }
    fn put_group(&self, group: &KnownGroup) -> Result<(), StateError> {
        self.with(|i| {
            i.groups.insert(group.anchor.clone(), group.clone());
        })
    }
    fn remove_group(&self, anchor: &Anchor) -> Result<(), StateError> {
        self.with(|i| {
            i.groups.remove(anchor);
        })
    }
    fn failures(&self) -> Result<Vec<FailureRecord>, StateError> {
        self.with(|i| i.failures.values().cloned().collect())
    }
    fn put_failure(&self, failure: &FailureRecord) -> Result<(), StateError> {
        self.with(|i| {
            i.failures.insert(failure.anchor.clone(), failure.clone());
        })
    }
    fn clear_failure(&self, anchor: &Anchor) -> Result<(), StateError> {
        self.with(|i| {
            i.failures.remove(anchor);
        })
    }
    fn meta(&self) -> Result<Meta, StateError> {
        self.with(|i| i.meta.clone())
    }
    fn put_meta(&self, meta: &Meta) -> Result<(), StateError> {
        self.with(|i| i.meta = meta.clone())
    }
    fn append_history(&self, records: &[HistoryRecord]) -> Result<(), StateError> {
        self.with(|i| i.history.extend_from_slice(records))
    }
    fn trim_history(&self, retain: usize) -> Result<(), StateError> {
        self.with(|i| {
            let excess = i.history.len().saturating_sub(retain);
            i.history.drain(..excess);
        })
    }
    fn history(&self, filter: &HistoryFilter, limit: usize) -> Result<Vec<HistoryRecord>, StateError> {
        self.with(|i| i.history.iter().rev().filter(|r| filter.matches(r)).take(limit).cloned().collect())
    }
    fn flush(&self) -> Result<(), StateError> {
        Ok(())
    }
}
