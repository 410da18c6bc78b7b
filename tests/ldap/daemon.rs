//! The real `zoomsync run` binary against slapd and the emulator: a 2-second schedule,
//! cycles that never overlap, /metrics that move, SIGUSR1, SIGHUP with a broken config,
//! the admin socket while running, SIGTERM mid-cycle and a clean restart.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::data;
use crate::support::servers::ports::free_port;
use crate::support::world::World;
use zoomsync::emulator::{FaultConfig, FaultSpec, Route};

struct Daemon {
    child: Child,
    log: std::path::PathBuf,
}

impl Daemon {
    fn start(w: &World, log_name: &str) -> Daemon {
        let log = w.dir.path().join(log_name);
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_zoomsync"))
            .args(["run", "--config"])
            .arg(w.config_path())
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap();
        Daemon { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill").arg(format!("-{name}")).arg(self.child.id().to_string()).status().unwrap();
        assert!(ok.success());
    }

    /// Waits until `predicate(log)` holds.
    async fn wait_for(&self, what: &str, secs: u64, predicate: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if predicate(&self.log()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("timed out waiting for {what}; log:\n{}", self.log());
    }

    fn cycles_finished(log: &str) -> usize {
        log.lines().filter(|l| l.contains("zoomsync::daemon::worker") && l.contains(" users (")).count()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn get(url: &str) -> (u16, String) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn counter(metrics: &str, prefix: &str) -> f64 {
    metrics.lines().filter(|l| l.starts_with(prefix)).filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok()).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_schedules_reports_reloads_and_stops_cleanly() {
    zoomsync::install_crypto_provider();
    let mut w = World::start(&data::active_people_ldif(300)).await;
    let port = free_port();
    w.metrics_listen = Some(format!("127.0.0.1:{port}"));
    w.extra_config = "[schedule]\ninterval = \"2s\"\n".into();
    w.write_config();
    let daemon = Daemon::start(&w, "daemon1.log");

    // Several cycles on the 2-second schedule, one after another.
    daemon.wait_for("three cycles", 60, |log| Daemon::cycles_finished(log) >= 3).await;
    let log = daemon.log();
    let mut open: Option<u64> = None;
    for line in log.lines().filter(|l| l.contains("zoomsync::daemon::worker")) {
        if line.contains("cycle started") {
            assert!(open.is_none(), "a cycle started while another ran:\n{log}");
            let n = line
                .split("cycle=")
                .nth(1)
                .and_then(|t| t.split_whitespace().next())
                .and_then(|t| t.parse().ok())
                .unwrap_or_else(|| panic!("no cycle number in {line:?}"));
            open = Some(n);
        } else if line.contains(" users (") {
            let n = open.take().expect("a cycle ended that had not started");
            assert!(line.contains(&format!("cycle {n}:")), "cycle {n} ended as:\n{line}");
        }
    }
    assert_eq!(w.zoom_members().len(), 300);

    // /metrics: the catalogue, with counters that move; health endpoints.
    let base = format!("http://127.0.0.1:{port}");
    let (code, first) = get(&format!("{base}/metrics")).await;
    assert_eq!(code, 200);
    for name in [
        "zoomsync_cycles_total",
        "zoomsync_cycle_duration_seconds_bucket",
        "zoomsync_last_success_timestamp_seconds",
        "zoomsync_directory_entries",
        "zoomsync_operations_total",
        "zoomsync_http_requests_total",
        "zoomsync_held_operations",
        "zoomsync_quarantined_objects",
        "zoomsync_connector_quarantined",
        "zoomsync_target_paused_until_timestamp_seconds",
        "zoomsync_build_info",
    ] {
        assert!(first.contains(name), "{name} missing from /metrics:\n{first}");
    }
    assert!(!first.contains("@example.com") && !first.contains("uid="), "labels must be bounded");
    let before = counter(&first, "zoomsync_cycles_total");
    daemon.wait_for("another cycle", 20, |log| Daemon::cycles_finished(log) >= 4).await;
    let (_, second) = get(&format!("{base}/metrics")).await;
    assert!(counter(&second, "zoomsync_cycles_total") > before, "cycle counter must move");
    assert_eq!(get(&format!("{base}/healthz")).await.0, 200);
    assert_eq!(get(&format!("{base}/readyz")).await.0, 200);

    // SIGUSR1: a cycle now.
    daemon.signal("USR1");
    daemon.wait_for("a SIGUSR1 cycle", 20, |log| log.contains("SIGUSR1")).await;
    daemon.wait_for("the SIGUSR1 cycle to run", 20, |log| log.contains("trigger=Manual(\"SIGUSR1\")")).await;

    // SIGHUP with a broken config: rejected, the old one keeps running.
    let good = std::fs::read_to_string(w.config_path()).unwrap();
    std::fs::write(w.config_path(), format!("{good}\n[nonsense]\nkey = 1\n")).unwrap();
    daemon.signal("HUP");
    daemon.wait_for("the reload to be rejected", 20, |log| log.contains("new configuration rejected")).await;
    let done = Daemon::cycles_finished(&daemon.log());
    daemon.wait_for("cycles to go on", 20, |log| Daemon::cycles_finished(log) > done).await;
    std::fs::write(w.config_path(), &good).unwrap();

    // The admin socket answers while the daemon holds the store.
    let (code, out, err) = w.zoomsync(&["status"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("last cycle: cycle") && out.contains("connector: ok"), "{out}");
    let (code, out, _) = w.zoomsync(&["history", "--user", "user000042@example.com"]);
    assert_eq!(code, 0);
    assert!(out.contains("create") && out.contains("success"), "{out}");
    let (code, out, _) = w.zoomsync(&["sync", "--now"]);
    assert_eq!(code, 0);
    assert!(out.contains("queued"), "{out}");

    // SIGTERM in the middle of a cycle: exits 0 within 10 s.
    w.zoom
        .set_faults(FaultConfig { global: FaultSpec { latency_ms: 100, ..Default::default() }, ..Default::default() })
        .unwrap();
    for i in 0..200 {
        w.set_attribute(&format!("user{i:06}"), "title", "Reorganised");
    }
    let puts = w.zoom.request_counts().route(Route::PutUser);
    let deadline = Instant::now() + Duration::from_secs(60);
    while w.zoom.request_counts().route(Route::PutUser) < puts + 20 {
        assert!(Instant::now() < deadline, "no updates started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut daemon = daemon;
    daemon.signal("TERM");
    let stopped = Instant::now();
    let status = loop {
        if let Some(s) = daemon.child.try_wait().unwrap() {
            break s;
        }
        assert!(stopped.elapsed() < Duration::from_secs(10), "did not stop within 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "exit status {status:?}\n{}", daemon.log());
    assert!(daemon.log().contains("interrupted by shutdown"), "{}", daemon.log());
    assert!(!w.dir.path().join("admin.sock").exists(), "socket removed on exit");

    // Stopped: status and history read the store directly.
    let (code, out, _) = w.zoomsync(&["status"]);
    assert_eq!(code, 0);
    assert!(out.contains("interrupted by shutdown"), "{out}");
    let (code, out, _) = w.zoomsync(&["history", "--user", "user000042@example.com"]);
    assert_eq!(code, 0);
    assert!(out.contains("create"), "{out}");

    // The next start converges without duplicates.
    w.zoom.set_faults(FaultConfig::default()).unwrap();
    let restarted = Daemon::start(&w, "daemon2.log");
    restarted.wait_for("a cycle after restart", 60, |log| Daemon::cycles_finished(log) >= 1).await;
    let members = w.zoom_members();
    assert_eq!(members.len(), 300, "no duplicates");
    assert!(
        members
            .iter()
            .filter(|u| u.user_name.as_str() < "user000200")
            .all(|u| u.title.as_deref() == Some("Reorganised"))
    );
}
