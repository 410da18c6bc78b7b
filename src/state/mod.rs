//! What zoomsync remembers between cycles: which Zoom user each anchor is, what was last
//! pushed, lifecycle, failures, held operations, and the provisioning log.
//!
//! The store is the record of what we pushed, not the truth: a full reconcile re-reads the
//! target and repairs it. Every successful write is committed at once (per operation), so a
//! crash loses at most the operation in flight, which the next cycle sees again.
//!
//! A store that is lost is not a store that is empty: the sled store keeps an integrity
//! record beside it (`integrity`) and refuses to open when the database no longer matches
//! it, and writes periodic snapshots (`snapshot`) that `zoomsync state restore` brings back.

pub mod integrity;
pub mod memory;
pub mod sled_store;
pub mod snapshot;

use std::path::Path;

use crate::model::{Anchor, FailureRecord, HistoryRecord, KnownGroup, KnownUser, Meta, ScimUser, UnixTime};

/// Current on-disk layout. A store with another version is refused, not guessed at.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Another process (usually the running daemon) holds the store: talk to it instead.
    #[error("state store {path} is locked by another zoomsync process (is the daemon running?)")]
    Locked { path: String },
    #[error("state store {path} has schema version {found}; this zoomsync reads version {expected}")]
    SchemaMismatch { path: String, found: u32, expected: u32 },
    #[error("state store error: {0}")]
    Storage(String),
    #[error("state record {key} is corrupt: {detail}")]
    Corrupt { key: String, detail: String },
    /// The store is not what its integrity record says it was (emptied, truncated,
    /// replaced, deleted) or cannot be opened at all (sled reports or panics on corrupt
    /// data). Nothing may run on it: held operations and the managed set would be forgotten.
    #[error("state store {path} cannot be trusted: {detail}. Nothing was sent to Zoom. To recover: {recovery}")]
    Integrity { path: String, detail: String, recovery: String },
}

/// What [`StateStore::commit_cycle`] recorded, for metrics and logs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Committed {
    /// When the newest snapshot was written (this cycle or before), if there is one.
    pub last_snapshot: Option<UnixTime>,
    /// The snapshot this commit wrote.
    pub snapshot_written: Option<std::path::PathBuf>,
    /// A snapshot was due but could not be written (the cycle itself is committed).
    pub snapshot_error: Option<String>,
}

/// Creates the state directory (and missing parents) owner-only (0700), as systemd's
/// `StateDirectoryMode=0700` does, so a store created outside systemd is not world-readable.
/// An existing directory is left as it is, with a warning when others can read it.
pub fn ensure_dir(path: &Path) -> Result<(), StateError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|e| StateError::Storage(format!("cannot create state directory {}: {e}", path.display())))?;
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(path = %path.display(), mode = format!("{mode:o}"), "state directory is readable by others; chmod 700 it");
        }
    }
    Ok(())
}

/// A user record and the payload last pushed for it, as [`StateStore::users_with_payloads`] yields them.
pub type UserRecords<'a> = Box<dyn Iterator<Item = Result<(KnownUser, Option<ScimUser>), StateError>> + 'a>;

/// Storage for sync state. Implementations commit each call durably enough that a crash
/// after it returns does not lose the write (sled: flushed by `flush` at cycle end and by
/// its own timer; a lost tail is repaired by the next cycle's conflict/adopt handling).
pub trait StateStore: Send + Sync {
    fn users(&self) -> Result<Vec<KnownUser>, StateError>;
    fn user(&self, anchor: &Anchor) -> Result<Option<KnownUser>, StateError>;
    /// Stores the record and, when given, the payload last pushed for it.
    fn put_user(&self, user: &KnownUser, pushed: Option<&ScimUser>) -> Result<(), StateError>;
    fn remove_user(&self, anchor: &Anchor) -> Result<(), StateError>;
    fn pushed(&self, anchor: &Anchor) -> Result<Option<ScimUser>, StateError>;
    /// How many user records there are.
    fn user_count(&self) -> Result<u64, StateError> {
        Ok(self.users()?.len() as u64)
    }
    /// Every user record with the payload last pushed for it, one at a time: a snapshot of
    /// 100,000 users is written without holding them all. The default reads them all first.
    fn users_with_payloads(&self) -> Result<UserRecords<'_>, StateError> {
        let users = self.users()?;
        Ok(Box::new(users.into_iter().map(|u| {
            let pushed = self.pushed(&u.anchor)?;
            Ok((u, pushed))
        })))
    }

    fn groups(&self) -> Result<Vec<KnownGroup>, StateError>;
    fn put_group(&self, group: &KnownGroup) -> Result<(), StateError>;
    fn remove_group(&self, anchor: &Anchor) -> Result<(), StateError>;

    fn failures(&self) -> Result<Vec<FailureRecord>, StateError>;
    fn put_failure(&self, failure: &FailureRecord) -> Result<(), StateError>;
    fn clear_failure(&self, anchor: &Anchor) -> Result<(), StateError>;

    fn meta(&self) -> Result<Meta, StateError>;
    fn put_meta(&self, meta: &Meta) -> Result<(), StateError>;

    /// Appends to the provisioning log (one call per operation, so a crash keeps what ran).
    fn append_history(&self, records: &[HistoryRecord]) -> Result<(), StateError>;
    /// Drops the oldest records beyond `retain` (once per cycle: counting is not free).
    fn trim_history(&self, retain: usize) -> Result<(), StateError>;
    /// Newest first, at most `limit`.
    fn history(&self, filter: &HistoryFilter, limit: usize) -> Result<Vec<HistoryRecord>, StateError>;

    fn flush(&self) -> Result<(), StateError>;

    /// Called before a cycle's first write: the store notes that a cycle began (sled: bumps
    /// the generation kept inside it), so a crash mid-cycle is not taken for lost records.
    /// Stores without an integrity record do nothing.
    fn begin_cycle(&self) -> Result<(), StateError> {
        Ok(())
    }

    /// Called once a cycle's writes are flushed: records what the store now holds (sled: the
    /// integrity record beside it) and writes a snapshot when one is due. Stores without an
    /// integrity record do nothing.
    fn commit_cycle(&self) -> Result<Committed, StateError> {
        Ok(Committed::default())
    }
}

/// What `history` asks for.
#[derive(Clone, Debug, Default)]
pub struct HistoryFilter {
    /// Matches anchor, DN or userName (case-insensitive).
    pub user: Option<String>,
    pub since: Option<UnixTime>,
}

impl HistoryFilter {
    pub fn matches(&self, r: &HistoryRecord) -> bool {
        if self.since.is_some_and(|s| r.time < s) {
            return false;
        }
        match &self.user {
            None => true,
            Some(u) => {
                r.anchor.as_str().eq_ignore_ascii_case(u)
                    || r.dn.eq_ignore_ascii_case(u)
                    || r.user_name.eq_ignore_ascii_case(u)
            }
        }
    }
}
