//! The real `zoomsync run` binary against slapd and the emulator: a 2-second schedule,
//! cycles that never overlap, /metrics that move, SIGUSR1, SIGHUP with a broken config,
//! the admin socket while running, SIGTERM mid-cycle and a clean restart.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::daemon::Daemon;
use crate::support::data;
use crate::support::servers::ports::free_port;
use crate::support::world::World;
use zoomsync::emulator::{FaultConfig, FaultSpec, Route};

/// The shared harness, started with this world's config and a log in its directory.
fn start_daemon(w: &World, log_name: &str) -> Daemon {
    Daemon::start(&w.config_path(), w.dir.path().join(log_name), "info")
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
    let daemon = start_daemon(&w, "daemon1.log");

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
    let restarted = start_daemon(&w, "daemon2.log");
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

/// The daemon's resident memory in KiB (/proc/<pid>/status, VmRSS).
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn successful_cycles(log: &str) -> usize {
    log.lines()
        .filter(|l| l.contains("zoomsync::daemon::worker") && l.contains(" users (") && l.contains("success"))
        .count()
}

/// Hardening, point 3: 2,000 idle connections to the metrics port and a 100 MB line on the
/// admin socket, with the daemon at systemd's default of 1,024 descriptors: cycles keep
/// succeeding, memory stays within 50 MiB of its baseline, and the idle connections are
/// closed after the header-read timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_and_a_huge_admin_line_starve_nothing() {
    const IDLE: usize = 2_000;
    zoomsync::install_crypto_provider();
    // This process holds the 2,000 connections: raise its own soft limit (to the hard one).
    let me = std::process::id().to_string();
    let raised = Command::new("prlimit").args(["--pid", &me, "--nofile=8192:"]).status();
    assert!(raised.is_ok_and(|s| s.success()), "cannot raise this test's RLIMIT_NOFILE");

    let mut w = World::start(&data::active_people_ldif(50)).await;
    let port = free_port();
    w.metrics_listen = Some(format!("127.0.0.1:{port}"));
    w.extra_config = "[schedule]\ninterval = \"2s\"\n".into();
    w.write_config();
    // The daemon at systemd's default limit (soft and hard), so a raised limit cannot help.
    let log = w.dir.path().join("daemon-starve.log");
    let child = Command::new("sh")
        .args(["-c", "ulimit -n 1024 && exec \"$0\" run --config \"$1\""])
        .arg(env!("CARGO_BIN_EXE_zoomsync"))
        .arg(w.config_path())
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id();
    let daemon = Daemon { child, log };
    daemon.wait_for("two cycles", 60, |log| successful_cycles(log) >= 2).await;
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    assert!(
        limits.lines().any(|l| l.starts_with("Max open files") && l.split_whitespace().nth(3) == Some("1024")),
        "{limits}"
    );
    let base = format!("http://127.0.0.1:{port}");
    let (code, metrics) = get(&format!("{base}/metrics")).await;
    assert_eq!(code, 200);
    let successes_before = counter(&metrics, "zoomsync_cycles_total{outcome=\"success\"}");
    let baseline = rss_kib(pid);
    assert!(baseline > 0);

    // 2,000 idle connections (they connect and send nothing), held by this process.
    let idle = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(90);
        let address: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let mut streams = Vec::new();
        while streams.len() < IDLE && Instant::now() < deadline {
            if let Ok(s) = std::net::TcpStream::connect_timeout(&address, Duration::from_secs(2)) {
                streams.push(s);
            }
        }
        streams
    })
    .await
    .unwrap();
    assert_eq!(idle.len(), IDLE, "the metrics port stopped completing connections");

    // A 100 MB line without a newline on the admin socket.
    let socket = w.dir.path().join("admin.sock");
    let line = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut s = std::os::unix::net::UnixStream::connect(socket).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(30))).unwrap();
        let chunk = vec![b'x'; 1 << 20];
        let mut sent = 0usize;
        for _ in 0..100 {
            match s.write_all(&chunk) {
                Ok(()) => sent += chunk.len(),
                Err(_) => break,
            }
        }
        (s, sent)
    });
    let mut peak = baseline;
    while !line.is_finished() {
        peak = peak.max(rss_kib(pid));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_admin, sent) = line.await.unwrap();

    // Cycles go on (scheduled and asked for over the admin socket) while all that is held.
    let done = successful_cycles(&daemon.log());
    let (code, out, err) = w.zoomsync_async(&["sync", "--now"]).await;
    assert_eq!(code, 0, "the admin socket must still answer: {out}{err}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while successful_cycles(&daemon.log()) < done + 3 {
        peak = peak.max(rss_kib(pid));
        assert!(Instant::now() < deadline, "cycles stopped succeeding (sent {sent} bytes); log:\n{}", daemon.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    peak = peak.max(rss_kib(pid));
    assert!(
        peak.saturating_sub(baseline) < 50 * 1024,
        "memory grew from {baseline} KiB to {peak} KiB (admin line: {sent} bytes sent)"
    );

    // Every idle connection is closed by the daemon: at once beyond the limit, after the
    // header-read timeout (10 s) within it.
    let open_left = tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let deadline = Instant::now() + Duration::from_secs(45);
        let mut open = idle;
        for s in &open {
            s.set_nonblocking(true).unwrap();
        }
        while !open.is_empty() && Instant::now() < deadline {
            open.retain(|mut s| matches!(s.read(&mut [0u8; 64]), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock));
            std::thread::sleep(Duration::from_millis(200));
        }
        open.len()
    })
    .await
    .unwrap();
    assert_eq!(open_left, 0, "idle connections the daemon never closed");

    // And the metrics say so.
    let (code, metrics) = get(&format!("{base}/metrics")).await;
    assert_eq!(code, 200);
    let successes = counter(&metrics, "zoomsync_cycles_total{outcome=\"success\"}");
    assert!(successes >= successes_before + 3.0, "{successes_before} -> {successes}\n{metrics}");
    assert_eq!(counter(&metrics, "zoomsync_cycles_total{outcome=\"error\"}"), 0.0, "{metrics}");
    assert!(!daemon.log().contains("cycle failed"), "{}", daemon.log());
}
