//! State snapshots: a compact export of what the store holds, to restore from when the store
//! is lost (`zoomsync state restore`).
//!
//! One file per snapshot in `<state.path>/snapshots/`, named
//! `state-<unix time>-<generation>.json` so names sort by age. JSON lines: a header, one line
//! per user (its record and the payload last pushed), group, failure record, then meta
//! (held and approved operations, quarantine, counters), and a last line with the number
//! of records and the SHA-256 of every byte before it. A snapshot is written to a temp file,
//! fsynced and renamed, so a crash leaves no half file under a snapshot's name; a damaged
//! one fails its checksum and is never restored from. The provisioning log is not included
//! (it is history, not state; it stays in the damaged store, which restore keeps aside).

use std::io::{BufRead, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::integrity::{sync_dir, temp_path};
use super::{StateError, StateStore};
use crate::model::{FailureRecord, HeldOps, KnownGroup, KnownUser, Meta, ScimUser, UnixTime};

/// The snapshots' directory inside the state directory.
pub const DIR: &str = "snapshots";
const FORMAT: u32 = 1;

/// When snapshots are written and how many are kept (`state.snapshot_every`,
/// `state.snapshots_keep`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotPolicy {
    pub every: Duration,
    /// 0: no snapshots.
    pub keep: usize,
}

impl Default for SnapshotPolicy {
    fn default() -> Self {
        Self { every: Duration::from_secs(24 * 3600), keep: 3 }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub format: u32,
    pub store_id: String,
    pub generation: u64,
    pub written_at: UnixTime,
    pub users: u64,
    pub groups: u64,
    pub failures: u64,
    pub held: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Line {
    Header(Header),
    User {
        user: KnownUser,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pushed: Option<ScimUser>,
    },
    Group(KnownGroup),
    Failure(FailureRecord),
    Meta(Meta),
    End {
        records: u64,
        sha256: String,
    },
}

/// A snapshot read back and checked.
#[derive(Debug)]
pub struct Snapshot {
    pub path: PathBuf,
    pub header: Header,
    pub users: Vec<(KnownUser, Option<ScimUser>)>,
    pub groups: Vec<KnownGroup>,
    pub failures: Vec<FailureRecord>,
    pub meta: Meta,
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshot {path}: {detail}")]
    Invalid { path: String, detail: String },
    #[error("snapshot {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error(transparent)]
    State(#[from] StateError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SnapshotError + '_ {
    move |source| SnapshotError::Io { path: path.display().to_string(), source }
}

fn invalid(path: &Path, detail: impl Into<String>) -> SnapshotError {
    SnapshotError::Invalid { path: path.display().to_string(), detail: detail.into() }
}

/// A digest of the held operations (which anchors, which actions), to notice a new set.
pub fn held_digest(held: Option<&HeldOps>) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for op in held.map(|h| h.ops.as_slice()).unwrap_or_default() {
        ctx.update(op.anchor.as_str().as_bytes());
        ctx.update(b"\0");
        ctx.update(op.action.as_bytes());
        ctx.update(b"\n");
    }
    hex(ctx.finish().as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hashes and writes JSON lines.
struct LineWriter<W: Write> {
    out: W,
    digest: ring::digest::Context,
    records: u64,
}

impl<W: Write> LineWriter<W> {
    fn line(&mut self, line: &Line) -> std::io::Result<()> {
        let mut bytes = serde_json::to_vec(line).map_err(std::io::Error::other)?;
        bytes.push(b'\n');
        self.digest.update(&bytes);
        self.records += 1;
        self.out.write_all(&bytes)
    }

    fn finish(mut self) -> std::io::Result<W> {
        let sha256 = hex(self.digest.clone().finish().as_ref());
        let mut bytes =
            serde_json::to_vec(&Line::End { records: self.records, sha256 }).map_err(std::io::Error::other)?;
        bytes.push(b'\n');
        self.out.write_all(&bytes)?;
        Ok(self.out)
    }
}

/// Writes a snapshot of `store` into `dir` (created 0700 if missing); returns its path.
pub fn write<S: StateStore + ?Sized>(
    store: &S,
    dir: &Path,
    store_id: &str,
    generation: u64,
    now: UnixTime,
) -> Result<PathBuf, SnapshotError> {
    super::ensure_dir(dir)?;
    let users = store.user_count()?;
    let groups = store.groups()?;
    let failures = store.failures()?;
    let meta = store.meta()?;
    let header = Header {
        format: FORMAT,
        store_id: store_id.to_string(),
        generation,
        written_at: now,
        users,
        groups: groups.len() as u64,
        failures: failures.len() as u64,
        held: meta.held.as_ref().map_or(0, |h| h.ops.len() as u64),
    };
    let path = dir.join(format!("state-{now:012}-{generation:010}.json"));
    let tmp = temp_path(&path);
    let on_tmp = |source: std::io::Error| SnapshotError::Io { path: tmp.display().to_string(), source };
    let result = (|| -> Result<(), SnapshotError> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(on_tmp)?;
        let mut w = LineWriter {
            out: BufWriter::new(file),
            digest: ring::digest::Context::new(&ring::digest::SHA256),
            records: 0,
        };
        w.line(&Line::Header(header)).map_err(on_tmp)?;
        let mut written = 0;
        for record in store.users_with_payloads()? {
            let (user, pushed) = record?;
            w.line(&Line::User { user, pushed }).map_err(on_tmp)?;
            written += 1;
        }
        if written != users {
            return Err(invalid(
                &tmp,
                format!("{written} users written, {users} counted: the store changed meanwhile"),
            ));
        }
        for group in groups {
            w.line(&Line::Group(group)).map_err(on_tmp)?;
        }
        for failure in failures {
            w.line(&Line::Failure(failure)).map_err(on_tmp)?;
        }
        w.line(&Line::Meta(meta)).map_err(on_tmp)?;
        let file = w.finish().map_err(on_tmp)?.into_inner().map_err(|e| on_tmp(e.into_error()))?;
        file.sync_all().map_err(on_tmp)?;
        drop(file);
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        sync_dir(&path).map_err(io(&path))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map(|()| path)
}

/// Reads a snapshot and checks it (format, checksum, counts) before anything is restored.
pub fn read(path: &Path) -> Result<Snapshot, SnapshotError> {
    let file = std::fs::File::open(path).map_err(io(path))?;
    let mut reader = std::io::BufReader::new(file);
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    let mut header = None;
    let mut snapshot_meta = None;
    let (mut users, mut groups, mut failures) = (Vec::new(), Vec::new(), Vec::new());
    let mut records = 0u64;
    let mut buf = Vec::new();
    let mut n = 0usize;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).map_err(io(path))? == 0 {
            return Err(invalid(path, "ends before its checksum line: the file is truncated"));
        }
        n += 1;
        let line: Line = serde_json::from_slice(&buf)
            .map_err(|e| invalid(path, format!("line {n} is not a snapshot record: {e}")))?;
        if let Line::End { records: count, sha256 } = line {
            let actual = hex(digest.finish().as_ref());
            if sha256 != actual {
                return Err(invalid(path, format!("checksum mismatch (recorded {sha256}, content {actual}): damaged")));
            }
            if count != records {
                return Err(invalid(path, format!("{records} records, the checksum line says {count}")));
            }
            break;
        }
        digest.update(&buf);
        records += 1;
        match line {
            Line::Header(h) if n == 1 => {
                if h.format != FORMAT {
                    return Err(invalid(path, format!("format {} (this zoomsync reads {FORMAT})", h.format)));
                }
                header = Some(h);
            }
            _ if n == 1 => return Err(invalid(path, "does not start with a snapshot header")),
            Line::Header(_) => return Err(invalid(path, format!("line {n}: a second header"))),
            Line::User { user, pushed } => users.push((user, pushed)),
            Line::Group(g) => groups.push(g),
            Line::Failure(f) => failures.push(f),
            Line::Meta(m) => snapshot_meta = Some(m),
            Line::End { .. } => {}
        }
    }
    let header = header.ok_or_else(|| invalid(path, "no header"))?;
    let meta = snapshot_meta.ok_or_else(|| invalid(path, "no meta record"))?;
    if header.users != users.len() as u64 || header.groups != groups.len() as u64 {
        return Err(invalid(path, "the header's counts do not match its records"));
    }
    Ok(Snapshot { path: path.to_path_buf(), header, users, groups, failures, meta })
}

/// Writes a snapshot's records into an empty store. The meta comes back with its held
/// operations; an approval recorded before the snapshot is dropped (approve again), and the
/// next cycle is made a full reconcile (what changed on Zoom since is read back).
pub fn import<S: StateStore + ?Sized>(snapshot: &Snapshot, store: &S) -> Result<(), StateError> {
    for (user, pushed) in &snapshot.users {
        store.put_user(user, pushed.as_ref())?;
    }
    for group in &snapshot.groups {
        store.put_group(group)?;
    }
    for failure in &snapshot.failures {
        store.put_failure(failure)?;
    }
    let mut meta = snapshot.meta.clone();
    meta.approved = None;
    meta.last_full_reconcile = None;
    store.put_meta(&meta)?;
    store.flush()
}

/// The snapshots in `dir`, oldest first.
pub fn list(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("state-") && n.ends_with(".json"))
        })
        .collect();
    files.sort();
    files
}

pub fn latest(dir: &Path) -> Option<PathBuf> {
    list(dir).pop()
}

/// Deletes all but the newest `keep` snapshots in `dir` (at least one is always kept).
pub fn prune(dir: &Path, keep: usize) {
    let files = list(dir);
    let excess = files.len().saturating_sub(keep.max(1));
    for old in files.into_iter().take(excess) {
        if let Err(e) = std::fs::remove_file(&old) {
            tracing::warn!(path = %old.display(), error = %e, "cannot delete an old state snapshot");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Anchor, HeldOp, Lifecycle, Origin};
    use crate::state::memory::MemoryStore;

    fn filled() -> MemoryStore {
        let store = MemoryStore::default();
        for i in 0..5 {
            let anchor = Anchor::new(&format!("a{i}")).unwrap();
            let user = KnownUser {
                anchor: anchor.clone(),
                zoom_id: format!("z{i}"),
                dn: format!("uid=u{i}"),
                user_name: format!("u{i}@example.com"),
                fingerprint: i,
                lifecycle: Lifecycle::Active,
                origin: Origin::Created,
                privileged: false,
                rename_refused: None,
                not_kept: Default::default(),
            };
            store.put_user(&user, None).unwrap();
        }
        let held = HeldOps {
            reason: "too many".into(),
            since: 5,
            ops: vec![HeldOp {
                anchor: Anchor::new("a1").unwrap(),
                dn: "uid=u1".into(),
                user_name: "u1@example.com".into(),
                action: "deactivate".into(),
            }],
        };
        store
            .put_meta(&Meta {
                held: Some(held),
                approved: Some(Vec::new()),
                cycle_counter: 9,
                last_full_reconcile: Some(1),
                ..Default::default()
            })
            .unwrap();
        store
    }

    #[test]
    fn a_snapshot_round_trips_into_an_empty_store() {
        let dir = tempfile::tempdir().unwrap();
        let source = filled();
        let path = write(&source, dir.path(), "id", 9, 1_700_000_000).unwrap();
        assert_eq!(latest(dir.path()), Some(path.clone()));
        let snap = read(&path).unwrap();
        assert_eq!((snap.header.users, snap.header.held, snap.header.generation), (5, 1, 9));
        let target = MemoryStore::default();
        import(&snap, &target).unwrap();
        let mut users = target.users().unwrap();
        users.sort_by(|a, b| a.anchor.as_str().cmp(b.anchor.as_str()));
        let mut expected = source.users().unwrap();
        expected.sort_by(|a, b| a.anchor.as_str().cmp(b.anchor.as_str()));
        assert_eq!(users, expected);
        let meta = target.meta().unwrap();
        assert_eq!(meta.held, source.meta().unwrap().held, "held operations come back");
        assert_eq!((meta.approved, meta.last_full_reconcile, meta.cycle_counter), (None, None, 9));
    }

    #[test]
    fn a_damaged_or_truncated_snapshot_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&filled(), dir.path(), "id", 9, 1_700_000_000).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replacen("u3@example.com", "u9@example.com", 1)).unwrap();
        let e = read(&path).unwrap_err().to_string();
        assert!(e.contains("checksum mismatch"), "{e}");
        let cut: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
        std::fs::write(&path, cut).unwrap();
        let e = read(&path).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
    }

    #[test]
    fn pruning_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let store = filled();
        for t in 1..=5 {
            write(&store, dir.path(), "id", t as u64, t).unwrap();
        }
        prune(dir.path(), 3);
        let names: Vec<String> =
            list(dir.path()).iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(names.len(), 3);
        assert!(names[0].starts_with("state-000000000003-"), "{names:?}");
        assert_eq!(held_digest(None), held_digest(Some(&HeldOps::default())));
        assert_ne!(held_digest(None), held_digest(store.meta().unwrap().held.as_ref()));
    }
}
