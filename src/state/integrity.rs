//! The integrity record: a small file beside the sled store (`<state.path>/integrity.json`)
//! saying which store this is and what it held after the last committed cycle.
//!
//! sled opens a truncated, zeroed or deleted database as a new, empty one — no error, no
//! warning — and an empty store means every held deactivation and every "this Zoom user is
//! ours" is forgotten for good. The record lets the opener see it: a store with another (or
//! no) store id, fewer cycles than recorded, or fewer users or held operations than recorded
//! after the same cycle, is refused with [`super::StateError::Integrity`]. The record is
//! written atomically (temp file, fsync, rename, fsync of the directory) after each
//! committed cycle; a crash between the store's flush and the record's rename leaves the
//! store one cycle ahead of it, which is accepted (only a store *behind* its record, or
//! smaller at the same cycle, is refused).
//!
//! [`verify`] is pure: the opener gathers what the store holds ([`Observed`]) and applies it.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::UnixTime;

/// The record's file name in the state directory.
pub const FILE: &str = "integrity.json";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrityRecord {
    /// Random, chosen when the store was created; also kept inside the store.
    pub store_id: String,
    /// Cycles the store has begun (kept inside the store, bumped before a cycle's first write).
    pub generation: u64,
    /// Managed users (anchor records) after that cycle.
    pub users: u64,
    /// Operations a guard holds for `approve` after that cycle.
    pub held: u64,
    pub written_at: UnixTime,
    /// The newest snapshot written (see `snapshot`), for the schedule and the metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_snapshot: Option<SnapshotNote>,
}

/// Which snapshot was written last, and of what.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotNote {
    pub file: String,
    pub generation: u64,
    pub written_at: UnixTime,
    /// Digest of the held operations it contains: a different set is snapshotted at once.
    pub held_digest: String,
}

/// What the opened store holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    /// `None`: the store has no id — new, emptied, or written before integrity records.
    pub store_id: Option<String>,
    pub generation: u64,
    /// `None`: not counted. Counting is a full scan of the users tree, so opening leaves it
    /// to the first full read of the users, which a cycle does anyway.
    pub users: Option<u64>,
    pub held: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The store is the one the record describes, as it was or further along.
    Trusted,
    /// There is no record: a first run, or a store written before integrity records. The
    /// opener starts one (and gives the store an id if it has none).
    Start,
    /// Refused: what does not match.
    Refused(String),
}

fn when(t: UnixTime) -> String {
    u64::try_from(t)
        .ok()
        .map(|s| humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(s)))
        .map_or_else(|| t.to_string(), |d| d.to_string())
}

/// "integrity.json says it held ..." for messages.
pub fn recorded(record: &IntegrityRecord) -> String {
    format!(
        "{FILE} says it held {} user(s) and {} held operation(s) after cycle {} ({})",
        record.users,
        record.held,
        record.generation,
        when(record.written_at)
    )
}

/// Compares the opened store with its record. Pure.
pub fn verify(record: Option<&IntegrityRecord>, observed: &Observed) -> Verdict {
    let Some(record) = record else { return Verdict::Start };
    let Some(id) = &observed.store_id else {
        return Verdict::Refused(format!("it opened as a new, empty store (no store id), but {}", recorded(record)));
    };
    if *id != record.store_id {
        return Verdict::Refused(format!(
            "it is a different store (id {id}) from the one {FILE} describes (id {}; {})",
            record.store_id,
            recorded(record)
        ));
    }
    if observed.generation < record.generation {
        return Verdict::Refused(format!(
            "it has seen {} cycle(s) but {} (truncated, or put back from an older copy)",
            observed.generation,
            recorded(record)
        ));
    }
    let fewer_users = observed.users.is_some_and(|n| n < record.users);
    if observed.generation == record.generation && (fewer_users || observed.held < record.held) {
        let users = observed.users.map_or_else(|| "an uncounted number of".into(), |n| n.to_string());
        return Verdict::Refused(format!(
            "it holds {users} user(s) and {} held operation(s), but {}, and no cycle has run since: records were lost",
            observed.held,
            recorded(record)
        ));
    }
    Verdict::Trusted
}

/// Reads the record in `dir`. `Ok(None)`: there is none. `Err`: there is one but it cannot
/// be read (the message says why).
pub fn read(dir: &Path) -> Result<Option<IntegrityRecord>, String> {
    let path = dir.join(FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| format!("its integrity record {} is unreadable: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("its integrity record {} cannot be read: {e}", path.display())),
    }
}

/// Writes the record in `dir` atomically.
pub fn write(dir: &Path, record: &IntegrityRecord) -> std::io::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(record).map_err(std::io::Error::other)?;
    bytes.push(b'\n');
    write_atomic(&dir.join(FILE), &bytes)
}

/// Writes `bytes` to `path` so that a crash leaves the old file or the new one, never a
/// mix: a temp file beside it (mode 0600), fsync, rename over, fsync of the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = temp_path(path);
    let result = (|| {
        let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        sync_dir(path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// `.name.tmp` beside `path`.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp"))
}

/// fsync of the directory holding `path`, so a rename in it is durable.
pub fn sync_dir(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::File::open(dir)?.sync_all(),
        _ => Ok(()),
    }
}

/// A new random store id (128 bits, hex).
pub fn new_store_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> IntegrityRecord {
        IntegrityRecord {
            store_id: "a".into(),
            generation: 7,
            users: 400,
            held: 40,
            written_at: 1_700_000_000,
            last_snapshot: None,
        }
    }

    fn seen(id: Option<&str>, generation: u64, users: u64, held: u64) -> Observed {
        Observed { store_id: id.map(String::from), generation, users: Some(users), held }
    }

    fn refused(v: Verdict, needle: &str) {
        match v {
            Verdict::Refused(detail) => assert!(detail.contains(needle), "{detail}"),
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn no_record_starts_one() {
        assert_eq!(verify(None, &seen(None, 0, 0, 0)), Verdict::Start);
        assert_eq!(verify(None, &seen(Some("x"), 3, 10, 0)), Verdict::Start);
    }

    #[test]
    fn the_same_store_or_further_along_is_trusted() {
        let r = record();
        assert_eq!(verify(Some(&r), &seen(Some("a"), 7, 400, 40)), Verdict::Trusted);
        // More users (no decrease) at the same cycle: nothing was lost.
        assert_eq!(verify(Some(&r), &seen(Some("a"), 7, 401, 40)), Verdict::Trusted);
        // A cycle began after the record (a crash before the record was rewritten): its
        // writes may have removed users legitimately.
        assert_eq!(verify(Some(&r), &seen(Some("a"), 8, 10, 0)), Verdict::Trusted);
    }

    #[test]
    fn an_emptied_replaced_older_or_shrunken_store_is_refused() {
        let r = record();
        refused(verify(Some(&r), &seen(None, 0, 0, 0)), "new, empty store");
        refused(verify(Some(&r), &seen(Some("b"), 9, 400, 40)), "different store");
        refused(verify(Some(&r), &seen(Some("a"), 6, 400, 40)), "seen 6 cycle(s)");
        refused(verify(Some(&r), &seen(Some("a"), 7, 399, 40)), "records were lost");
        refused(verify(Some(&r), &seen(Some("a"), 7, 400, 0)), "0 held operation(s)");
    }

    #[test]
    fn uncounted_users_are_checked_for_everything_but_their_number() {
        let r = record();
        let uncounted = |id: &str, generation, held| Observed { users: None, ..seen(Some(id), generation, 0, held) };
        assert_eq!(verify(Some(&r), &uncounted("a", 7, 40)), Verdict::Trusted);
        refused(verify(Some(&r), &uncounted("b", 7, 40)), "different store");
        refused(verify(Some(&r), &uncounted("a", 6, 40)), "seen 6 cycle(s)");
        refused(verify(Some(&r), &uncounted("a", 7, 39)), "39 held operation(s)");
    }

    #[test]
    fn the_record_round_trips_atomically() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()).unwrap(), None);
        let r = record();
        write(dir.path(), &r).unwrap();
        assert_eq!(read(dir.path()).unwrap(), Some(r));
        let names: Vec<String> =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
        assert_eq!(names, [FILE], "no temp file left behind");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::write(dir.path().join(FILE), b"{\"store_id\":").unwrap();
        assert!(read(dir.path()).unwrap_err().contains("unreadable"));
    }
}
