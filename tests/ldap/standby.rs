//! A standby that takes over (`[lease]`): slapd (syncprov, and a lease entry the service
//! account may write, bootstrapped `description: none 0`), the emulator with two
//! Server-to-Server apps, and two real daemons — each with its own state, admin socket and
//! app — on a 3 s schedule with a 6 s lease. Titles change about every second throughout.
//!
//! Shown: exactly one host writes at any time (the emulator's request log: the writes,
//! ordered, come from host A's app and then only from host B's); after SIGSTOP of A, B takes
//! over within the TTL and a cycle; every change arrives (each changed title ends on Zoom,
//! no user twice); after SIGCONT, A writes nothing more and says it lost the lease (log and
//! `status`).
//!
//! `STANDBY_SECS` (default 20) is how long titles change; the ignored
//! `standby_ten_minutes_of_changes` runs 600 s (or `STANDBY_SECS`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::support::daemon::Daemon;
use crate::support::data::{self, PEOPLE, SERVICE_PASSWORD};
use crate::support::servers::slapd::Slapd;
use crate::support::world::World;
use zoomsync::emulator::{Credentials, EmulatorConfig, ExtraClient, RequestRecord, Route};

const LEASE_DN: &str = "cn=zoomsync-lease,ou=services,dc=example,dc=com";
const USERS: usize = 20;
const TTL_SECS: u64 = 6;
const SCHEDULE_SECS: u64 = 3;
const A_CLIENT: &str = "emulator-client";
const B_CLIENT: &str = "standby-client";
const B_SECRET: &str = "standby-secret";

/// slapd with the people, the lease entry and the ACL; the emulator with B's app too.
async fn world() -> World {
    let mut ldif = data::active_people_ldif(USERS);
    ldif.push_str(&format!(
        "dn: {LEASE_DN}\nobjectClass: applicationProcess\ncn: zoomsync-lease\ndescription: none 0\n\n"
    ));
    let slapd = Slapd::start_with_syncprov_and_writable(&ldif, LEASE_DN);
    let credentials = Credentials {
        extra_clients: vec![ExtraClient { client_id: B_CLIENT.into(), client_secret: B_SECRET.into() }],
        ..Credentials::default()
    };
    let mut w = World::start_on(slapd, EmulatorConfig { credentials, ..EmulatorConfig::unlimited() }).await;
    w.extra_config = format!("[schedule]\ninterval = \"{SCHEDULE_SECS}s\"\n");
    w.write_config();
    w
}

/// Host `name`'s directory: the world's config with its own app, state, socket and lease.
fn host(w: &World, name: &str, client: &str, secret: &str) -> std::path::PathBuf {
    let dir = w.dir.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ldap-password"), SERVICE_PASSWORD).unwrap();
    std::fs::write(dir.join("zoom-secret"), secret).unwrap();
    let text = std::fs::read_to_string(w.config_path()).unwrap();
    let text = text.replace(&format!("client_id = \"{A_CLIENT}\""), &format!("client_id = \"{client}\""));
    let text = format!(
        "{text}\n[lease]\nenabled = true\ndn = \"{LEASE_DN}\"\nholder = \"host-{name}\"\nttl = \"{TTL_SECS}s\"\n"
    );
    let config = dir.join("zoomsync.toml");
    std::fs::write(&config, text).unwrap();
    config
}

fn start(w: &World, name: &str, client: &str, secret: &str) -> Daemon {
    let config = host(w, name, client, secret);
    Daemon::start(&config, w.dir.path().join(format!("{name}.log")), "info,zoomsync::daemon=debug")
}

/// `zoomsync status` of a host (through its admin socket).
async fn status(config: &std::path::Path) -> String {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_zoomsync"))
        .args(["status", "--config"])
        .arg(config)
        .output()
        .await
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn is_write(r: &RequestRecord) -> bool {
    matches!(r.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE") && r.route != Route::Token.key()
}

/// Titles changed by an admin about every second (one user after another) until `stop`;
/// returns the last title each user was given.
fn change_titles(w: &World, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<BTreeMap<usize, String>> {
    let url = w.slapd.ldap_url();
    std::thread::spawn(move || {
        let mut last = BTreeMap::new();
        let mut n = 0usize;
        while !stop.load(Ordering::Acquire) {
            let user = n % USERS;
            let title = format!("Title {n}");
            let ldif = format!("dn: uid=user{user:06},{PEOPLE}\nchangetype: modify\nreplace: title\ntitle: {title}\n");
            let mut child = std::process::Command::new("ldapmodify")
                .args(["-x", "-H", &url, "-D", "cn=admin,dc=example,dc=com", "-w", "adminpass"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap();
            use std::io::Write;
            child.stdin.take().unwrap().write_all(ldif.as_bytes()).unwrap();
            assert!(child.wait().unwrap().success(), "ldapmodify {ldif}");
            last.insert(user, title);
            n += 1;
            std::thread::sleep(Duration::from_millis(900));
        }
        last
    })
}

async fn sleep_while_changing(secs: f64) {
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
}

async fn scenario(secs: u64) {
    let w = world().await;
    let a = start(&w, "a", A_CLIENT, "emulator-secret");
    a.wait_for("A takes the lease and syncs", 90, |log| {
        log.contains("lease taken") && Daemon::cycles_finished(log) >= 1
    })
    .await;
    let b = start(&w, "b", B_CLIENT, B_SECRET);
    b.wait_for("B stands by and runs a read-only cycle", 90, |log| {
        log.contains("lease held by another host") && Daemon::cycles_finished(log) >= 1
    })
    .await;
    assert_eq!(w.zoom_members().len(), USERS, "A created everyone");
    assert!(status(&w.dir.path().join("a/zoomsync.toml")).await.contains("lease: ACTIVE: this host (host-a)"));
    let b_status = status(&w.dir.path().join("b/zoomsync.toml")).await;
    assert!(b_status.contains("lease: STANDBY: host-a holds it until"), "{b_status}");

    let stop = Arc::new(AtomicBool::new(false));
    let changes = change_titles(&w, stop.clone());
    let phase = secs as f64 / 3.0;
    sleep_while_changing(phase).await;

    // A freezes: B takes over within the TTL and a cycle (plus a busy machine's slack).
    a.signal("STOP");
    let frozen = Instant::now();
    b.wait_for("B takes over", 60, |log| log.contains("lease taken")).await;
    let takeover = frozen.elapsed();
    b.wait_for("B's first cycle as the holder", 60, |log| {
        log.lines().filter(|l| l.contains("cycle started") && l.contains("standby=false")).count() >= 1
            && Daemon::cycles_finished(log) >= 2
    })
    .await;
    println!("B took the lease {:.1} s after A froze", takeover.as_secs_f64());
    assert!(
        takeover <= Duration::from_secs(TTL_SECS + TTL_SECS / 3 + SCHEDULE_SECS + 10),
        "takeover took {takeover:?}"
    );
    sleep_while_changing(phase).await;

    // A thaws: it must notice by the clock that its lease ran out, and write nothing more.
    let thawed_seq = w.zoom.requests(1).first().map_or(0, |r| r.seq);
    let a_cycles = Daemon::cycles_finished(&a.log());
    a.signal("CONT");
    a.wait_for("A says it lost the lease", 60, |log| log.contains("LOST the lease")).await;
    let a_status = status(&w.dir.path().join("a/zoomsync.toml")).await;
    assert!(a_status.contains("lease: STANDBY: host-b holds it until"), "{a_status}");
    assert!(a_status.contains("LOST the lease at"), "{a_status}");
    sleep_while_changing(phase).await;
    // It stays a warm standby: its schedule goes on after the freeze (read-only cycles).
    a.wait_for("A's read-only cycles after the thaw", 60, |log| Daemon::cycles_finished(log) >= a_cycles + 2).await;
    stop.store(true, Ordering::Release);
    let last = changes.join().unwrap();

    // Every change arrives: each user's last title ends on Zoom (B applies it).
    let deadline = Instant::now() + Duration::from_secs(60);
    let pending = || -> Vec<String> {
        let members = w.zoom_members();
        last.iter()
            .filter(|(i, title)| {
                let name = format!("user{i:06}@example.com");
                !members.iter().any(|u| u.user_name == name && u.title.as_deref() == Some(title.as_str()))
            })
            .map(|(i, t)| format!("user{i:06}: {t}"))
            .collect()
    };
    while !pending().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(pending().is_empty(), "titles not on Zoom: {:?}\nB's log:\n{}", pending(), b.log());
    let members = w.zoom_members();
    assert_eq!(members.len(), USERS, "nobody twice");
    let counts = w.zoom.request_counts();
    assert_eq!(counts.route_status(Route::CreateUser, 201), USERS as u64, "each user created once");

    // Exactly one writer at any time: A's writes all come before B's first, and none of
    // A's after it thawed.
    let log = w.zoom.requests(usize::MAX);
    assert!(log.first().is_some_and(|r| r.seq == 1), "the request log kept everything");
    let writes: Vec<&RequestRecord> = log.iter().filter(|r| is_write(r)).collect();
    let by = |client: &str| writes.iter().filter(|r| r.client_id.as_deref() == Some(client)).count();
    let (a_writes, b_writes) = (by(A_CLIENT), by(B_CLIENT));
    assert_eq!(a_writes + b_writes, writes.len(), "every write names its app");
    let a_last = writes.iter().filter(|r| r.client_id.as_deref() == Some(A_CLIENT)).map(|r| r.seq).max().unwrap();
    let b_first = writes.iter().filter(|r| r.client_id.as_deref() == Some(B_CLIENT)).map(|r| r.seq).min().unwrap();
    assert!(a_last < b_first, "A wrote (seq {a_last}) after B's first write (seq {b_first})");
    assert!(a_last < thawed_seq, "A wrote after it thawed (seq {a_last} >= {thawed_seq})");
    let a_reads_after = log.iter().filter(|r| r.seq > thawed_seq && r.client_id.as_deref() == Some(A_CLIENT)).count();
    let dropped = Daemon::count(&a.log(), "change batch dropped");
    println!(
        "{} titles changed over {secs} s; writes: A {a_writes} (last seq {a_last}), B {b_writes} (first seq {b_first}); \
         A after thawing: {a_reads_after} requests, 0 writes, {dropped} change batches dropped",
        last.len()
    );
    if std::env::var_os("STANDBY_LOGS").is_some() {
        println!("A's log:\n{}", a.log());
    }
    b.stop();
    a.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standby_takes_over_and_exactly_one_host_writes() {
    let secs = std::env::var("STANDBY_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    scenario(secs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "10 minutes of changes: STANDBY_SECS=600 cargo test --test ldap standby -- --ignored"]
async fn standby_ten_minutes_of_changes() {
    let secs = std::env::var("STANDBY_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(600);
    scenario(secs).await;
}
