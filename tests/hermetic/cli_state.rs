//! State that cannot vanish silently: the real binary over an LDIF directory, the Zoom
//! emulator in this process and sled state in a tempdir.
//!
//! A sled store written by one process (no sled snapshot file yet) that is truncated,
//! zeroed or deleted used to open as a new, empty store: exit 0, no warning, held
//! deactivations gone, leavers never deactivated. Here it is refused (exit 1, a message
//! naming the recovery command), a sled panic on a corrupt file becomes the same refusal,
//! the daemon refuses to sync but says why (metrics, admin socket), and `state restore` /
//! `state rebuild` bring back the held operations and the managed set.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use zoomsync::emulator::{Emulator, EmulatorConfig, RunningEmulator, UserState};

use crate::cycle::directory::{people_ldif, person_ldif, uid, user_name};
use crate::support::servers::ports::free_port;

/// The binary's world: `people.ldif`, `zoomsync.toml`, `state/`, an emulator.
pub(crate) struct CliWorld {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) zoom: RunningEmulator,
    people: usize,
    removed: BTreeSet<usize>,
}

impl CliWorld {
    pub(crate) async fn start(people: usize, safety: &str, extra: &str) -> CliWorld {
        zoomsync::install_crypto_provider();
        let zoom = Emulator::start(EmulatorConfig::unlimited(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
        let dir = tempfile::Builder::new().prefix("zoomsync-state-").tempdir().unwrap();
        let secret = dir.path().join("zoom-secret");
        std::fs::write(&secret, zoom.client_secret()).unwrap();
        std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        let config = format!(
            "[directory]\nkind = \"ldif\"\nflavor = \"openldap\"\npath = \"people.ldif\"\n\n\
             [target]\nkind = \"zoom\"\nbase_url = \"{}\"\ntoken_url = \"{}\"\naccount_id = \"{}\"\n\
             client_id = \"{}\"\nclient_secret_file = \"zoom-secret\"\nrequests_per_second = 5000\n\
             max_concurrency = 8\n\n[state]\npath = \"state\"\n\n[admin]\nsocket = \"admin.sock\"\n\n{safety}\n{extra}\n",
            zoom.base_url(),
            zoom.token_url(),
            zoom.account_id(),
            zoom.client_id(),
        );
        std::fs::write(dir.path().join("zoomsync.toml"), config).unwrap();
        let w = CliWorld { dir, zoom, people, removed: BTreeSet::new() };
        w.write_ldif();
        w
    }

    fn write_ldif(&self) {
        let mut text = people_ldif(0);
        for i in (0..self.people).filter(|i| !self.removed.contains(i)) {
            text.push_str(&person_ldif(i, &user_name(i)));
        }
        std::fs::write(self.dir.path().join("people.ldif"), text).unwrap();
    }

    /// People `range` leave the directory.
    fn remove(&mut self, range: impl IntoIterator<Item = usize>) {
        self.removed.extend(range);
        self.write_ldif();
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("zoomsync.toml")
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// Runs the binary (without blocking the runtime: the emulator must keep answering).
    pub(crate) async fn zoomsync(&self, args: &[&str]) -> (i32, String, String) {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_zoomsync"))
            .args(args)
            .arg("--config")
            .arg(self.config_path())
            .output()
            .await
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs the binary and asserts its exit status; returns stdout + stderr.
    pub(crate) async fn expect(&self, args: &[&str], status: i32) -> String {
        let (code, out, err) = self.zoomsync(args).await;
        assert_eq!(code, status, "zoomsync {args:?}\nstdout:\n{out}\nstderr:\n{err}");
        format!("{out}{err}")
    }

    fn inactive(&self) -> BTreeSet<String> {
        self.zoom.users().into_iter().filter(|u| u.state == UserState::Inactive).map(|u| u.user_name).collect()
    }

    fn zoom_users(&self) -> usize {
        self.zoom.users().into_iter().filter(|u| u.user_name != "owner@example.com").count()
    }
}

/// How a store gets lost.
#[derive(Clone, Copy, Debug)]
enum Damage {
    /// `db` cut to zero bytes (a full disk, a bad copy).
    Truncate,
    /// `db` overwritten with zeros, same length.
    Zero,
    /// The sled files gone, the directory (and the integrity record) still there.
    Delete,
}

fn damage(state: &Path, how: Damage) {
    let db = state.join("db");
    match how {
        Damage::Truncate => std::fs::File::create(&db).map(drop).unwrap(),
        Damage::Zero => {
            let len = std::fs::metadata(&db).unwrap().len() as usize;
            std::fs::write(&db, vec![0u8; len]).unwrap();
        }
        Damage::Delete => {
            for name in ["db", "conf"] {
                std::fs::remove_file(state.join(name)).unwrap();
            }
            let _ = std::fs::remove_dir_all(state.join("blobs"));
        }
    }
}

/// The refusal: exit 1, what happened, and the command that recovers.
fn assert_refused(output: &str) {
    assert!(output.contains("cannot be trusted"), "no integrity refusal in:\n{output}");
    assert!(output.contains("zoomsync state restore"), "no recovery command in:\n{output}");
    assert!(!output.contains("panicked at"), "a panic escaped:\n{output}");
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn names(range: impl IntoIterator<Item = usize>) -> BTreeSet<String> {
    range.into_iter().map(user_name).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_zeroed_or_deleted_store_is_refused_not_started_afresh() {
    for how in [Damage::Truncate, Damage::Zero, Damage::Delete] {
        let w = CliWorld::start(12, "", "").await;
        w.expect(&["sync", "--once"], 0).await;
        assert_eq!(w.zoom_users(), 12);
        // Created owner-only outside systemd too, with the record and a first snapshot.
        assert_eq!(mode(&w.state()), 0o700, "state directory");
        assert_eq!(mode(&w.state().join("integrity.json")), 0o600);
        let snapshots: Vec<PathBuf> =
            std::fs::read_dir(w.state().join("snapshots")).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(snapshots.len(), 1, "a snapshot after the first cycle: {snapshots:?}");
        assert_eq!(mode(&w.state().join("snapshots")), 0o700);
        assert_eq!(mode(&snapshots[0]), 0o600);
        damage(&w.state(), how);
        w.zoom.reset_requests();
        let (code, out, err) = w.zoomsync(&["sync", "--once"]).await;
        assert_eq!(code, 1, "{how:?}: a lost store must be refused\nstdout:\n{out}\nstderr:\n{err}");
        assert_refused(&err);
        assert_eq!(w.zoom.request_counts().total, 0, "{how:?}: nothing was sent to Zoom");
        // Every command that opens the store refuses the same way.
        let status = w.expect(&["status"], 1).await;
        assert_refused(&status);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sled_panic_on_a_corrupt_file_is_the_same_refusal() {
    let w = CliWorld::start(5, "", "").await;
    // A store written by one process (no sled snapshot file) and spanning several sled
    // segments, then its first two segments zeroed: sled panics "tried to serialize
    // Uninitialized" while opening such a file (a store opened by a second process has a
    // sled snapshot, and sled reports corrupt data instead, covered above).
    {
        let db = sled::Config::new().path(w.state()).flush_every_ms(None).open().unwrap();
        let tree = db.open_tree("history").unwrap();
        for i in 0..3000 {
            tree.insert(format!("k{i}"), vec![b'x'; 300]).unwrap();
            if i % 50 == 0 {
                tree.remove(format!("k{}", i / 2)).unwrap();
            }
        }
        db.flush().unwrap();
    }
    let db = w.state().join("db");
    // sled's threads may still write for a moment after the handle is dropped; they hold
    // its file lock until they are done, so wait for the lock (an event, not a time).
    let file = std::fs::File::open(&db).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while fs2::FileExt::try_lock_exclusive(&file).is_err() {
        assert!(std::time::Instant::now() < deadline, "sled never let go of {}", db.display());
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(file);
    let mut bytes = std::fs::read(&db).unwrap();
    assert!(bytes.len() > 2 * 1024 * 1024, "the store spans several segments: {} bytes", bytes.len());
    bytes[..1024 * 1024].fill(0);
    std::fs::write(&db, bytes).unwrap();
    let (code, out, err) = w.zoomsync(&["sync", "--once"]).await;
    assert_eq!(code, 1, "a corrupt store is refused, not a panic (101)\nstdout:\n{out}\nstderr:\n{err}");
    assert!(err.contains("sled panicked") && err.contains("tried to serialize Uninitialized"), "{err}");
    assert_refused(&err);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restoring_the_snapshot_brings_back_held_deactivations_and_approve_applies_them() {
    const PEOPLE: usize = 40;
    let safety = "[safety]\nmax_deactivations = 5\nmax_deactivation_percent = 50\n";
    let mut w = CliWorld::start(PEOPLE, safety, "").await;
    w.expect(&["sync", "--once"], 0).await;
    // 12 leave at once: more than 5, so all 12 are held for `approve` (exit 4).
    w.remove(0..12);
    let out = w.expect(&["sync", "--once"], 4).await;
    assert!(out.contains("held 12"), "{out}");
    assert!(w.inactive().is_empty());

    damage(&w.state(), Damage::Truncate);
    let (code, _, err) = w.zoomsync(&["sync", "--once"]).await;
    assert_eq!(code, 1, "{err}");
    assert_refused(&err);

    let restored = w.expect(&["state", "restore", "--latest"], 0).await;
    assert!(restored.contains("40 user(s)"), "{restored}");
    assert!(restored.contains("12 held operation(s)"), "{restored}");
    for i in 0..12 {
        assert!(restored.contains(&user_name(i)), "{} missing from the held list:\n{restored}", user_name(i));
    }
    let status = w.expect(&["status"], 0).await;
    assert!(status.contains("HELD: 12 operation(s)"), "{status}");

    // `approve` deactivates exactly the 12 leavers.
    let approved = w.expect(&["approve"], 0).await;
    assert!(approved.contains("approving 12 held operation(s)"), "{approved}");
    assert_eq!(w.inactive(), names(0..12));
    assert_eq!(w.zoom_users(), PEOPLE, "nobody created twice");

    // And the store is trusted again: the next cycle has nothing to do.
    w.zoom.reset_requests();
    w.expect(&["sync", "--once"], 0).await;
    let c = w.zoom.request_counts();
    let writes: u64 =
        ["POST /scim2/Users", "PUT /scim2/Users/{id}", "PATCH /scim2/Users/{id}"].iter().map(|k| c.key(k)).sum();
    assert_eq!(writes, 0, "{:?}", w.zoom.requests(20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuilding_from_the_target_adopts_the_managed_set_and_reports_departures() {
    const PEOPLE: usize = 20;
    let safety = "[safety]\nmax_deactivations = 1\nmax_deactivation_percent = 50\n";
    let mut w = CliWorld::start(PEOPLE, safety, "").await;
    w.expect(&["sync", "--once"], 0).await;
    w.remove(0..3);
    w.expect(&["sync", "--once"], 4).await;
    damage(&w.state(), Damage::Zero);
    // No snapshot to restore from.
    let _ = std::fs::remove_dir_all(w.state().join("snapshots"));
    w.expect(&["sync", "--once"], 1).await;

    w.zoom.reset_requests();
    let rebuilt = w.expect(&["state", "rebuild"], 0).await;
    assert!(rebuilt.contains("17 user(s)"), "{rebuilt}");
    assert!(rebuilt.contains("3 Zoom user(s) not tied to a directory user"), "{rebuilt}");
    for i in 0..3 {
        assert!(rebuilt.contains(&user_name(i)), "departure {} not reported:\n{rebuilt}", uid(i));
    }
    let c = w.zoom.request_counts();
    let writes: u64 =
        ["POST /scim2/Users", "PUT /scim2/Users/{id}", "PATCH /scim2/Users/{id}"].iter().map(|k| c.key(k)).sum();
    assert_eq!(writes, 0, "a rebuild changes nothing on Zoom");

    // The next cycle finds the 17 in step, creates nobody, and leaves the departures alone.
    w.zoom.reset_requests();
    w.expect(&["sync", "--once"], 0).await;
    assert_eq!(w.zoom.request_counts().key("POST /scim2/Users"), 0);
    assert!(w.inactive().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_refuses_a_lost_store_and_says_so() {
    let port = free_port();
    let w = CliWorld::start(6, "", &format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n")).await;
    w.expect(&["sync", "--once"], 0).await;
    damage(&w.state(), Damage::Truncate);
    w.zoom.reset_requests();

    let log = w.dir.path().join("daemon.log");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_zoomsync"))
        .args(["run", "--config"])
        .arg(w.config_path())
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/metrics");
    let deadline = Instant::now() + Duration::from_secs(20);
    let metrics = loop {
        if let Ok(r) = reqwest::get(&url).await {
            break r.text().await.unwrap();
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the daemon exited ({status}) instead of refusing:\n{}", std::fs::read_to_string(&log).unwrap());
        }
        assert!(Instant::now() < deadline, "no metrics listener:\n{}", std::fs::read_to_string(&log).unwrap());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(metrics.contains("zoomsync_state_integrity_ok 0"), "{metrics}");
    assert!(metrics.contains("zoomsync_connector_quarantined 1"), "{metrics}");
    let (ready, _) = {
        let r = reqwest::get(format!("http://127.0.0.1:{port}/readyz")).await.unwrap();
        (r.status().as_u16(), ())
    };
    assert_eq!(ready, 503);
    // Asked over the admin socket, it answers with the refusal (exit 1).
    let status = w.expect(&["status"], 1).await;
    assert_refused(&status);
    let sync = w.expect(&["sync", "--now"], 1).await;
    assert_refused(&sync);
    assert_eq!(w.zoom.request_counts().total, 0, "no cycle ran");
    // Stopped, it exits 1 with the message (it never ran).
    let pid = child.id().unwrap();
    std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
    let status = tokio::time::timeout(Duration::from_secs(15), child.wait()).await.unwrap().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(1), "{text}");
    assert_refused(&text);
}

/// Terminal safety: a DN with an ESC sequence (and a line break) reaches the operator's
/// terminal escaped, never raw, from `check`, `plan`, `sync` and `history`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dn_with_terminal_escapes_is_printed_escaped() {
    use base64::Engine as _;
    let w = CliWorld::start(2, "", "").await;
    let evil_dn = "uid=evil\u{1b}[31m\u{1b}]0;pwned\u{7},ou=people,dc=example,dc=org";
    let encoded = base64::engine::general_purpose::STANDARD.encode(evil_dn);
    // One user who syncs (the DN shows in the plan and the history) and one rejected for
    // want of a mail (the DN shows among the rejected entries).
    let person = person_ldif(90, "evil@example.com");
    let (_, rest) = person.split_once('\n').unwrap();
    let synced = format!("dn:: {encoded}\n{rest}");
    let rejected_dn = "uid=nomail\u{1b}[31m,ou=people,dc=example,dc=org";
    let rejected = format!(
        "dn:: {}\nobjectClass: inetOrgPerson\nentryUUID: 00000000-0000-4000-8000-0000000000aa\nuid: nomail\ncn: No Mail\nsn: Mail\n\n",
        base64::engine::general_purpose::STANDARD.encode(rejected_dn)
    );
    let path = w.dir.path().join("people.ldif");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&synced);
    text.push_str(&rejected);
    std::fs::write(&path, text).unwrap();

    for args in [&["check"][..], &["plan"], &["sync", "--once"], &["history"], &["status"]] {
        let (code, out, err) = w.zoomsync(args).await;
        assert!(
            !out.contains('\u{1b}') && !err.contains('\u{1b}'),
            "zoomsync {args:?} ({code}) printed ESC:\n{out}{err}"
        );
        assert!(!out.contains('\u{7}'), "zoomsync {args:?} printed BEL:\n{out}");
        // `sync` prints a summary (the rejected DN goes to the log, escaped by the logger).
        if args != ["status"] && args != ["sync", "--once"] {
            assert!(out.contains("\\x1b[31m"), "zoomsync {args:?} ({code}) shows the DN escaped:\n{out}\n{err}");
        }
    }
}
