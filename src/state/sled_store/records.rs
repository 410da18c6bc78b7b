//! The sled store's `StateStore` side: each record read and written (users with their
//! pushed payloads in one transaction, groups, failures, meta, the provisioning log). Opening,
//! the integrity record and snapshots are in `mod.rs`.

use sled::Transactional;

use super::{GENERATION_KEY, META_KEY, SledStore, decode, encode, storage};
use crate::model::{Anchor, FailureRecord, HistoryRecord, KnownGroup, KnownUser, Meta, ScimUser};
use crate::state::{Committed, HistoryFilter, StateError, StateStore, UserRecords};

impl StateStore for SledStore {
    fn users(&self) -> Result<Vec<KnownUser>, StateError> {
        self.read_all_users()
    }

    fn user(&self, anchor: &Anchor) -> Result<Option<KnownUser>, StateError> {
        let key = anchor.as_str().as_bytes();
        self.users.get(key).map_err(storage)?.map(|v| decode(key, &v)).transpose()
    }

    fn put_user(&self, user: &KnownUser, pushed: Option<&ScimUser>) -> Result<(), StateError> {
        let key = user.anchor.as_str().as_bytes();
        let record = encode(user)?;
        let payload = pushed.map(encode).transpose()?;
        let added = (&self.users, &self.pushed)
            .transaction(|(users, pushed_tree)| {
                let before = users.insert(key, record.as_slice())?;
                if let Some(p) = &payload {
                    pushed_tree.insert(key, p.as_slice())?;
                }
                Ok::<bool, sled::transaction::ConflictableTransactionError<()>>(before.is_none())
            })
            .map_err(|e| StateError::Storage(format!("{e:?}")))?;
        if added {
            self.count_users(1);
        }
        Ok(())
    }

    fn remove_user(&self, anchor: &Anchor) -> Result<(), StateError> {
        let key = anchor.as_str().as_bytes();
        let removed = (&self.users, &self.pushed)
            .transaction(|(users, pushed)| {
                let before = users.remove(key)?;
                pushed.remove(key)?;
                Ok::<bool, sled::transaction::ConflictableTransactionError<()>>(before.is_some())
            })
            .map_err(|e| StateError::Storage(format!("{e:?}")))?;
        if removed {
            self.count_users(-1);
        }
        Ok(())
    }

    fn user_count(&self) -> Result<u64, StateError> {
        Ok(self.observe_counted()?.users.unwrap_or_default())
    }

    fn users_with_payloads(&self) -> Result<UserRecords<'_>, StateError> {
        Ok(Box::new(self.users.iter().map(|kv| {
            let (k, v) = kv.map_err(storage)?;
            let user: KnownUser = decode(&k, &v)?;
            let pushed = self.pushed.get(&k).map_err(storage)?.map(|p| decode(&k, &p)).transpose()?;
            Ok((user, pushed))
        })))
    }

    fn pushed(&self, anchor: &Anchor) -> Result<Option<ScimUser>, StateError> {
        let key = anchor.as_str().as_bytes();
        self.pushed.get(key).map_err(storage)?.map(|v| decode(key, &v)).transpose()
    }

    fn groups(&self) -> Result<Vec<KnownGroup>, StateError> {
        Self::all(&self.groups)
    }

    fn put_group(&self, group: &KnownGroup) -> Result<(), StateError> {
        self.groups.insert(group.anchor.as_str().as_bytes(), encode(group)?).map_err(storage)?;
        Ok(())
    }

    fn remove_group(&self, anchor: &Anchor) -> Result<(), StateError> {
        self.groups.remove(anchor.as_str().as_bytes()).map_err(storage)?;
        Ok(())
    }

    fn failures(&self) -> Result<Vec<FailureRecord>, StateError> {
        Self::all(&self.failures)
    }

    fn put_failure(&self, failure: &FailureRecord) -> Result<(), StateError> {
        self.failures.insert(failure.anchor.as_str().as_bytes(), encode(failure)?).map_err(storage)?;
        Ok(())
    }

    fn clear_failure(&self, anchor: &Anchor) -> Result<(), StateError> {
        self.failures.remove(anchor.as_str().as_bytes()).map_err(storage)?;
        Ok(())
    }

    fn meta(&self) -> Result<Meta, StateError> {
        Ok(match self.meta.get(META_KEY).map_err(storage)? {
            Some(v) => decode(META_KEY, &v)?,
            None => Meta::default(),
        })
    }

    fn put_meta(&self, meta: &Meta) -> Result<(), StateError> {
        self.meta.insert(META_KEY, encode(meta)?).map_err(storage)?;
        Ok(())
    }

    fn append_history(&self, records: &[HistoryRecord]) -> Result<(), StateError> {
        for r in records {
            let id = self.db.generate_id().map_err(storage)?;
            self.history.insert(id.to_be_bytes(), encode(r)?).map_err(storage)?;
        }
        Ok(())
    }

    fn trim_history(&self, retain: usize) -> Result<(), StateError> {
        let excess = self.history.len().saturating_sub(retain);
        for kv in self.history.iter().take(excess) {
            let (k, _) = kv.map_err(storage)?;
            self.history.remove(k).map_err(storage)?;
        }
        Ok(())
    }

    fn history(&self, filter: &HistoryFilter, limit: usize) -> Result<Vec<HistoryRecord>, StateError> {
        let mut out = Vec::new();
        for kv in self.history.iter().rev() {
            let (k, v) = kv.map_err(storage)?;
            let record: HistoryRecord = decode(&k, &v)?;
            if filter.matches(&record) {
                out.push(record);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    fn flush(&self) -> Result<(), StateError> {
        self.db.flush().map_err(storage)?;
        Ok(())
    }

    fn begin_cycle(&self) -> Result<(), StateError> {
        let next = self.generation()? + 1;
        self.meta.insert(GENERATION_KEY, encode(&next)?).map_err(storage)?;
        self.flush()
    }

    fn commit_cycle(&self) -> Result<Committed, StateError> {
        self.commit(false)
    }
}
