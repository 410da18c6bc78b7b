//! The production store: sled 0.34 in the state directory (systemd `StateDirectory`).
//!
//! Trees: `users` (anchor -> KnownUser), `pushed` (anchor -> last pushed ScimUser),
//! `groups` (group anchor -> KnownGroup with its pushed members), `failures`, `meta` (singletons + schema version), `history` (time-ordered log).
//! A user record and its payload are written in one transaction. sled holds an exclusive
//! file lock: a second process gets [`StateError::Locked`].
//!
//! Beside the database: `integrity.json` (see `super::integrity`; the store's id and
//! generation live in the `meta` tree too) and `snapshots/` (see `super::snapshot`). Opening
//! compares the database with the record and refuses a store that was emptied, truncated,
//! replaced or deleted, and turns sled's panics and corruption errors on a damaged file into
//! the same refusal, [`StateError::Integrity`], naming the way back.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Once};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::integrity::{self, IntegrityRecord, Observed, SnapshotNote, Verdict};
use super::snapshot::{self, SnapshotPolicy};
use super::{Committed, SCHEMA_VERSION, StateError, StateStore};
use crate::config::StateConfig;
use crate::model::{KnownUser, unix_now};

const META_KEY: &[u8] = b"meta";
const CACHE_BYTES: u64 = 8 * 1024 * 1024;
const SCHEMA_KEY: &[u8] = b"schema_version";
const STORE_ID_KEY: &[u8] = b"store_id";
const GENERATION_KEY: &[u8] = b"generation";

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
    dir: PathBuf,
    policy: SnapshotPolicy,
    /// Records in the users tree, once known (−1 until then): set by the first full read or
    /// count since opening, then kept by each write. sled's `len()` is a full scan, and the
    /// integrity record needs the number after every cycle; the cycle reads every user anyway.
    user_count: Arc<AtomicI64>,
}

/// What to do about a store that must not be used: the refusal, with the way back.
pub fn refusal(dir: &Path, detail: impl Into<String>) -> StateError {
    StateError::Integrity { path: dir.display().to_string(), detail: detail.into(), recovery: recovery(dir) }
}

/// The recovery advice for the store in `dir`: restore the newest snapshot if there is one.
pub fn recovery(dir: &Path) -> String {
    let docs = "see docs/operations.md, \"State integrity and recovery\"";
    match snapshot::latest(&dir.join(snapshot::DIR)) {
        Some(file) => format!(
            "stop the daemon, then run `zoomsync state restore --latest` (newest snapshot: {}); without a \
             usable snapshot, `zoomsync state rebuild` re-adopts the directory's users from Zoom; {docs}",
            file.display()
        ),
        None => format!(
            "there is no snapshot in {}: stop the daemon, then run `zoomsync state rebuild` (re-adopts the \
             directory's users from Zoom and lists the Zoom users it cannot tie to one), or \
             `zoomsync state restore --snapshot FILE` with a snapshot from a backup; {docs}",
            dir.join(snapshot::DIR).display()
        ),
    }
}

thread_local! {
    /// Set while this thread opens sled: its panics are caught and reported, not printed.
    static OPENING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `open` catching a panic; the panic hook stays quiet for this thread meanwhile (the
/// caller reports the panic as a refusal), and for every other thread prints as before.
fn catch_open<T>(open: impl FnOnce() -> T) -> Result<T, String> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !OPENING.with(Cell::get) {
                previous(info);
            }
        }));
    });
    OPENING.with(|o| o.set(true));
    let result = catch_unwind(AssertUnwindSafe(open));
    OPENING.with(|o| o.set(false));
    result.map_err(|payload| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".into())
    })
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
    /// Opens (or creates) the store at `path` with the default snapshot policy, checking it
    /// against its integrity record. A lock held by a process that is just stopping (sled
    /// releases it from a background thread) is waited for, up to 2 s.
    pub fn open(path: &Path) -> Result<Self, StateError> {
        Self::open_with(path, SnapshotPolicy::default())
    }

    /// The configured store: creates `state.path` owner-only (0700) if missing, opens it
    /// (checked), snapshots as configured.
    pub fn from_config(config: &StateConfig) -> Result<Self, StateError> {
        super::ensure_dir(&config.path)?;
        Self::open_with(&config.path, SnapshotPolicy { every: config.snapshot_every, keep: config.snapshots_keep })
    }

    /// Opens the store at `path`, refusing one that does not match its integrity record. The
    /// first open (no record, no database) creates both.
    pub fn open_with(path: &Path, policy: SnapshotPolicy) -> Result<Self, StateError> {
        let record = integrity::read(path).map_err(|detail| refusal(path, detail))?;
        if let Some(r) = &record {
            let db = path.join("db");
            if !db.exists() {
                return Err(refusal(
                    path,
                    format!("its database file {} is missing, but {}", db.display(), integrity::recorded(r)),
                ));
            }
        }
        let store = Self::open_db(path, policy)?;
        // The users are not counted here (a full scan): the first full read of them checks
        // their number (`verify_users`), and the daemon does that as it starts.
        let observed = store.observe()?;
        match integrity::verify(record.as_ref(), &observed) {
            Verdict::Refused(detail) => return Err(refusal(path, detail)),
            Verdict::Trusted => {}
            Verdict::Start => {
                let observed = store.observe_counted()?;
                if observed.store_id.is_some() || observed.users > Some(0) {
                    tracing::warn!(path = %path.display(), users = ?observed.users, "state store has no integrity record; starting one");
                }
                store.start_record(observed)?;
            }
        }
        store.check_schema()?;
        Ok(store)
    }

    /// A new, empty store at `path` with a new id and integrity record (restore, rebuild).
    /// Refuses when a database is already there: move it aside first.
    pub fn create(path: &Path, policy: SnapshotPolicy) -> Result<Self, StateError> {
        super::ensure_dir(path)?;
        if path.join("db").exists() {
            return Err(StateError::Storage(format!("{} already holds a database", path.display())));
        }
        let store = Self::open_db(path, policy)?;
        let observed = store.observe_counted()?;
        store.start_record(Observed { store_id: None, ..observed })?;
        store.check_schema()?;
        Ok(store)
    }

    /// sled, its trees, and nothing checked yet. Lock waits; panics and corruption become
    /// [`StateError::Integrity`].
    fn open_db(path: &Path, policy: SnapshotPolicy) -> Result<Self, StateError> {
        let shown = path.display().to_string();
        let mut attempts = 0;
        loop {
            // sled's default page cache is 1 GB; state is read in full once per cycle and
            // written point by point, so a small cache costs nothing and bounds RSS.
            let opened = catch_open(|| {
                let db = sled::Config::new().path(path).cache_capacity(CACHE_BYTES).flush_every_ms(Some(500)).open()?;
                let tree = |name: &str| db.open_tree(name);
                Ok::<_, sled::Error>(Self {
                    users: tree("users")?,
                    pushed: tree("pushed")?,
                    failures: tree("failures")?,
                    groups: tree("groups")?,
                    meta: tree("meta")?,
                    history: tree("history")?,
                    db,
                    path: shown.clone(),
                    dir: path.to_path_buf(),
                    policy,
                    user_count: Arc::new(AtomicI64::new(-1)),
                })
            });
            match opened {
                Ok(Ok(store)) => return Ok(store),
                Ok(Err(sled::Error::Io(io)))
                    if io.kind() == std::io::ErrorKind::WouldBlock || io.to_string().contains("lock") =>
                {
                    attempts += 1;
                    if attempts >= 40 {
                        return Err(StateError::Locked { path: shown });
                    }
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Ok(Err(
                    e @ (sled::Error::Corruption { .. } | sled::Error::Unsupported(_) | sled::Error::ReportableBug(_)),
                )) => {
                    return Err(refusal(path, format!("sled cannot read its database ({e})")));
                }
                Ok(Err(e)) => return Err(storage(e)),
                Err(panic) => {
                    return Err(refusal(
                        path,
                        format!("sled panicked reading its database ({panic}): the file is corrupt"),
                    ));
                }
            }
        }
    }

    /// What the store holds, for the integrity check; the users uncounted.
    fn observe(&self) -> Result<Observed, StateError> {
        let store_id = self.meta.get(STORE_ID_KEY).map_err(storage)?.map(|v| decode(STORE_ID_KEY, &v)).transpose()?;
        Ok(Observed {
            store_id,
            generation: self.generation()?,
            users: None,
            held: self.meta()?.held.map_or(0, |h| h.ops.len() as u64),
        })
    }

    /// [`Self::observe`] with the users counted: known since the first full read, else a scan.
    fn observe_counted(&self) -> Result<Observed, StateError> {
        let users = match self.known_user_count() {
            Some(n) => n,
            None => {
                let n = self.users.len() as u64;
                self.user_count.store(n as i64, Ordering::SeqCst);
                n
            }
        };
        Ok(Observed { users: Some(users), ..self.observe()? })
    }

    fn known_user_count(&self) -> Option<u64> {
        u64::try_from(self.user_count.load(Ordering::SeqCst)).ok()
    }

    /// Checks the number of users against the integrity record, which opening leaves out;
    /// counts them unless a full read already did. The daemon calls it as it starts, so a
    /// store that lost records is refused there like any other untrustworthy store.
    pub fn verify_users(&self) -> Result<(), StateError> {
        let observed = self.observe_counted()?;
        self.verify_observed(&observed)
    }

    fn verify_observed(&self, observed: &Observed) -> Result<(), StateError> {
        let record = integrity::read(&self.dir).map_err(|detail| refusal(&self.dir, detail))?;
        match integrity::verify(record.as_ref(), observed) {
            Verdict::Refused(detail) => Err(refusal(&self.dir, detail)),
            Verdict::Trusted | Verdict::Start => Ok(()),
        }
    }

    /// Every user record, read in full. The first full read since opening counts them and
    /// checks the number against the integrity record (refused: records were lost).
    fn read_all_users(&self) -> Result<Vec<KnownUser>, StateError> {
        let users: Vec<KnownUser> = Self::all(&self.users)?;
        if self.user_count.compare_exchange(-1, users.len() as i64, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
            self.verify_observed(&Observed { users: Some(users.len() as u64), ..self.observe()? })?;
        }
        Ok(users)
    }

    /// A write added (`+1`) or removed (`-1`) a user record; ignored until the count is known.
    fn count_users(&self, change: i64) {
        let _ = self.user_count.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| (n >= 0).then_some(n + change));
    }

    fn generation(&self) -> Result<u64, StateError> {
        Ok(self
            .meta
            .get(GENERATION_KEY)
            .map_err(storage)?
            .map(|v| decode(GENERATION_KEY, &v))
            .transpose()?
            .unwrap_or(0))
    }

    /// Gives the store an id if it has none (flushed first) and writes its first record.
    fn start_record(&self, observed: Observed) -> Result<(), StateError> {
        let store_id = match observed.store_id {
            Some(id) => id,
            None => {
                let id = integrity::new_store_id();
                self.meta.insert(STORE_ID_KEY, encode(&id)?).map_err(storage)?;
                self.flush()?;
                id
            }
        };
        let record = IntegrityRecord {
            store_id,
            generation: observed.generation,
            users: observed.users.unwrap_or_default(),
            held: observed.held,
            written_at: unix_now(),
            last_snapshot: None,
        };
        self.write_record(&record)
    }

    fn write_record(&self, record: &IntegrityRecord) -> Result<(), StateError> {
        integrity::write(&self.dir, record)
            .map_err(|e| StateError::Storage(format!("cannot write {}: {e}", self.dir.join(integrity::FILE).display())))
    }

    /// The integrity record beside the store, if it can be read.
    pub fn integrity_record(&self) -> Option<IntegrityRecord> {
        integrity::read(&self.dir).ok().flatten()
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The store's id (every open store has one).
    pub fn store_id(&self) -> Result<String, StateError> {
        self.observe()?.store_id.ok_or_else(|| StateError::Storage("the store has no id".into()))
    }

    /// Sets the generation (restore: the snapshot's) and records it.
    pub fn set_generation(&self, generation: u64) -> Result<(), StateError> {
        self.meta.insert(GENERATION_KEY, encode(&generation)?).map_err(storage)?;
        self.flush()
    }

    /// Writes a snapshot now (after a restore or rebuild) and records it; returns its path.
    pub fn snapshot_now(&self) -> Result<Committed, StateError> {
        self.commit(true)
    }

    fn commit(&self, force_snapshot: bool) -> Result<Committed, StateError> {
        let now = unix_now();
        let observed = self.observe_counted()?;
        let users = observed.users.unwrap_or_default();
        let store_id = observed.store_id.clone().ok_or_else(|| StateError::Storage("the store has no id".into()))?;
        let mut last = self.integrity_record().and_then(|r| r.last_snapshot);
        let mut committed = Committed::default();
        let snapshots = self.dir.join(snapshot::DIR);
        if self.policy.keep > 0 {
            let digest = snapshot::held_digest(self.meta()?.held.as_ref());
            let due = force_snapshot
                || last.as_ref().is_none_or(|s| {
                    now - s.written_at >= self.policy.every.as_secs() as i64
                        || s.held_digest != digest
                        || !snapshots.join(&s.file).exists()
                });
            if due {
                match snapshot::write(self, &snapshots, &store_id, observed.generation, now) {
                    Ok(path) => {
                        snapshot::prune(&snapshots, self.policy.keep);
                        let file = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                        last = Some(SnapshotNote {
                            file,
                            generation: observed.generation,
                            written_at: now,
                            held_digest: digest,
                        });
                        tracing::info!(path = %path.display(), users, held = observed.held, "state snapshot written");
                        committed.snapshot_written = Some(path);
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "state snapshot not written; the next cycle tries again");
                        committed.snapshot_error = Some(e.to_string());
                    }
                }
            }
        }
        committed.last_snapshot = last.as_ref().map(|s| s.written_at);
        self.write_record(&IntegrityRecord {
            store_id,
            generation: observed.generation,
            users,
            held: observed.held,
            written_at: now,
            last_snapshot: last,
        })?;
        Ok(committed)
    }

    /// Moves the store in `dir` — sled's files (`db`, `conf`, `blobs/`, `snap.*`) and the
    /// integrity record — into `dir/damaged-<time>/`, kept for a post-mortem, so a new store
    /// can be created there. Refuses while another process (the daemon) holds the store's
    /// lock. `None`: there was nothing to move.
    pub fn set_aside(dir: &Path) -> Result<Option<PathBuf>, StateError> {
        use fs2::FileExt;
        let io = |what: &Path, e: std::io::Error| StateError::Storage(format!("{}: {e}", what.display()));
        let db = dir.join("db");
        let _lock = match std::fs::File::open(&db) {
            Ok(file) => {
                file.try_lock_exclusive().map_err(|_| StateError::Locked { path: dir.display().to_string() })?;
                Some(file)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io(&db, e)),
        };
        let moving: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| ["db", "conf", "blobs", integrity::FILE].contains(&n) || n.starts_with("snap."))
            })
            .collect();
        if moving.is_empty() {
            return Ok(None);
        }
        let aside = dir.join(format!("damaged-{}", unix_now()));
        super::ensure_dir(&aside)?;
        for from in moving {
            let Some(name) = from.file_name() else { continue };
            std::fs::rename(&from, aside.join(name)).map_err(|e| io(&from, e))?;
        }
        integrity::sync_dir(&dir.join(".")).map_err(|e| io(dir, e))?;
        Ok(Some(aside))
    }

    /// Undoes a failed restore or rebuild: removes the new store in `dir` and puts the old
    /// integrity record back from `aside`, so the store stays refused (not silently empty).
    pub fn abandon_new(dir: &Path, aside: Option<&Path>) {
        for name in ["db", "conf", integrity::FILE] {
            let _ = std::fs::remove_file(dir.join(name));
        }
        let _ = std::fs::remove_dir_all(dir.join("blobs"));
        if let Ok(entries) = std::fs::read_dir(dir) {
            for p in entries.filter_map(Result::ok).map(|e| e.path()) {
                if p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("snap.")) {
                    let _ = std::fs::remove_file(p);
                }
            }
        }
        if let Some(old) = aside.map(|a| a.join(integrity::FILE)).filter(|p| p.exists()) {
            let _ = std::fs::copy(old, dir.join(integrity::FILE));
        }
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

mod records;
#[cfg(test)]
mod tests;
