//! Crash safety: the real binary killed with SIGKILL at five random points of a 2,000-user
//! first sync, then run again, converges: no duplicates, state agrees with Zoom.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::data;
use crate::support::world::World;
use rand::{Rng, SeedableRng};
use zoomsync::emulator::Route;
use zoomsync::state::StateStore;

const USERS: u64 = 2_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_five_times_mid_sync_then_converges_without_duplicates() {
    let w = World::start(&data::active_people_ldif(USERS as usize)).await;
    let seed: u64 = rand::rng().random();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut kill_points: Vec<u64> = (0..5).map(|_| rng.random_range(1..USERS)).collect();
    kill_points.sort_unstable();
    eprintln!("seed {seed}: kill after {kill_points:?} creates");

    let mut killed = 0;
    for point in &kill_points {
        let mut child = Command::new(env!("CARGO_BIN_EXE_zoomsync"))
            .args(["sync", "--once", "--config"])
            .arg(w.config_path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let creates = w.zoom.request_counts().route(Route::CreateUser);
            if creates >= *point {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                killed += 1;
                break;
            }
            if child.try_wait().unwrap().is_some() {
                break; // this run got past the point before we looked (retries count too)
            }
            assert!(Instant::now() < deadline, "sync made no progress");
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }
    assert!(killed >= 4, "most kills must land mid-sync (seed {seed})");

    let (code, out, err) = w.zoomsync(&["sync", "--once"]);
    assert_eq!(code, 0, "seed {seed}\n{out}\n{err}");

    // Zoom: exactly one account per directory user.
    let members = w.zoom_members();
    assert_eq!(members.len() as u64, USERS, "seed {seed}");
    let by_id: HashMap<&str, &str> = members.iter().map(|u| (u.id.as_str(), u.user_name.as_str())).collect();
    // State agrees with Zoom: every anchor -> an existing Zoom id with its userName, one each.
    let store = w.store();
    let known = store.users().unwrap();
    assert_eq!(known.len() as u64, USERS, "seed {seed}");
    let mut ids: Vec<&str> = known.iter().map(|k| k.zoom_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len() as u64, USERS, "two anchors share a Zoom id (seed {seed})");
    for k in &known {
        assert_eq!(by_id.get(k.zoom_id.as_str()).copied(), Some(k.user_name.as_str()), "seed {seed}: {k:?}");
    }
    drop(store);
    // And a further cycle has nothing left to do.
    w.zoom.reset_requests();
    let (code, out, _) = w.zoomsync(&["sync", "--once"]);
    assert_eq!(code, 0);
    assert!(out.contains("created 0, updated 0"), "{out}");
    assert_eq!(w.zoom.request_counts().route(Route::CreateUser), 0);
}
