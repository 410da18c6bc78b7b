//! The production store: sled 0.34 in the state directory (systemd `StateDirectory`).
//!
//! Trees: `users` (anchor -> KnownUser), `pushed` (anchor -> last pushed ScimUser),
//! `groups` (group anchor -> KnownGroup with its pushed members), `failures`, `meta` (singletons + schema version), `history` (time-ordered log).
//! A user record and its payload are written in one transaction. sled holds an exclusive
//! file lock: a second process gets [`StateError::Locked`].

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::Transactional;

use super::{HistoryFilter, SCHEMA_VERSION, StateError, StateStore};
use crate::model::{Anchor, FailureRecord, HistoryRecord, KnownGroup, KnownUser, Meta, ScimUser};

const META_KEY: &[u8] = b"meta";
const CACHE_BYTES: u64 = 8 * 1024 * 1024;
const SCHEMA_KEY: &[u8] = b"schema_version";

/// Cheap to clone: sled handles are shared references to one open database.
#[derive(Clone)]
pub struct SledStore {
    db: sled::Db,
    users: sled::Tree,
    pushed: sled::Tree,
    failures: sled::Tree,
    groups: sled::Tree,
    meta: sled::Tree,
    history: sled::Tree,
    path: String,
}

fn storage(e: sled::Error) -> StateError {
    StateError::Storage(e.to_string())
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StateError> {
    serde_json::to_vec(value).map_err(|e| StateError::Storage(e.to_string()))
}

fn decode<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, StateError> {
    serde_json::from_slice(bytes)
        .map_err(|e| StateError::Corrupt { key: String::from_utf8_lossy(key).into_owned(), detail: e.to_string() })
}

impl SledStore {
    /// Opens (or creates) the store at `path`. A lock held by a process that is just
    /// stopping (sled releases it from a background thread) is waited for, up to 2 s.
    pub fn open(path: &Path) -> Result<Self, StateError> {
        let shown = path.display().to_string();
        let mut attempts = 0;
        let db = loop {
            // sled's default page cache is 1 GB; state is read in full once per cycle and
            // written point by point, so a small cache costs nothing and bounds RSS.
            match sled::Config::new().path(path).cache_capacity(CACHE_BYTES).flush_every_ms(Some(500)).open() {
                Ok(db) => break db,
                Err(sled::Error::Io(io))
                    if io.kind() == std::io::ErrorKind::WouldBlock || io.to_string().contains("lock") =>
                {
                    attempts += 1;
                    if attempts >= 40 {
                        return Err(StateError::Locked { path: shown });
                    }
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(e) => return Err(storage(e)),
            }
        };
        let tree = |name: &str| db.open_tree(name).map_err(storage);
        let store = Self {
            users: tree("users")?,
            pushed: tree("pushed")?,
            failures: tree("failures")?,
            groups: tree("groups")?,
            meta: tree("meta")?,
            history: tree("history")?,
            db,
            path: shown,
        };
        store.check_schema()?;
        Ok(store)
    }

    fn check_schema(&self) -> Result<(), StateError> {
        match self.meta.get(SCHEMA_KEY).map_err(storage)? {
            Some(v) => {
                let found: u32 = decode(SCHEMA_KEY, &v)?;
                if found != SCHEMA_VERSION {
                    return Err(StateError::SchemaMismatch {
                        path: self.path.clone(),
                        found,
                        expected: SCHEMA_VERSION,
                    });
                }
            }
            None => {
                self.meta.insert(SCHEMA_KEY, encode(&SCHEMA_VERSION)?).map_err(storage)?;
            }
        }
        Ok(())
    }

    fn all<T: DeserializeOwned>(tree: &sled::Tree) -> Result<Vec<T>, StateError> {
        tree.iter()
            .map(|kv| {
                let (k, v) = kv.map_err(storage)?;
                decode(&k, &v)
            })
            .collect()
    }
}

impl StateStore for SledStore {
    fn users(&self) -> Result<Vec<KnownUser>, StateError> {
        Self::all(&self.users)
    }

    fn user(&self, anchor: &Anchor) -> Result<Option<KnownUser>, StateError> {
        let key = anchor.as_str().as_bytes();
        self.users.get(key).map_err(storage)?.map(|v| decode(key, &v)).transpose()
    }

    fn put_user(&self, user: &KnownUser, pushed: Option<&ScimUser>) -> Result<(), StateError> {
        let key = user.anchor.as_str().as_bytes();
        let record = encode(user)?;
        let payload = pushed.map(encode).transpose()?;
        (&self.users, &self.pushed)
            .transaction(|(users, pushed_tree)| {
                users.insert(key, record.as_slice())?;
                if let Some(p) = &payload {
                    pushed_tree.insert(key, p.as_slice())?;
                }
                Ok::<(), sled::transaction::ConflictableTransactionError<()>>(())
            })
            .map_err(|e| StateError::Storage(format!("{e:?}")))
    }

    fn remove_user(&self, anchor: &Anchor) -> Result<(), StateError> {
        let key = anchor.as_str().as_bytes();
        (&self.users, &self.pushed)
            .transaction(|(users, pushed)| {
                users.remove(key)?;
                pushed.remove(key)?;
                Ok::<(), sled::transaction::ConflictableTransactionError<()>>(())
            })
            .map_err(|e| StateError::Storage(format!("{e:?}")))
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
}
