//! Shared by the sync-cycle benches (`sync_cycle`, `sync_cycle_mapped`): the runtime, one
//! timed `zoomsync sync --once` with the release binary, the SCIM request count, and the
//! no-change cycles measured side by side with `ldapsearch` of the same entries.
//!
//! Each bench includes it beside `support` (the integration-test harness) and `bench_report`:
//! `#[path = "support/sync_bench.rs"] mod sync_bench;`.
#![allow(dead_code)]

use std::time::Instant;

use crate::support::world::World;

/// The benches' runtime: two workers, like the machines the figures come from.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// One `zoomsync sync --once`.
pub struct Run {
    /// Wall time of the process, seconds.
    pub secs: f64,
    /// Its peak RSS, MiB (the `peak memory` line it prints).
    pub peak_mib: f64,
    /// Its `cycle N: …` summary line.
    pub summary: String,
    /// What it logged (stderr).
    pub log: String,
}

impl Run {
    /// A count from the summary line: `created 100` -> `count("created")` = 100.
    pub fn count(&self, what: &str) -> u64 {
        self.summary
            .split(&format!("{what} "))
            .nth(1)
            .and_then(|t| t.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| panic!("no {what:?} count in {:?}", self.summary))
    }
}

/// Runs `zoomsync sync --once` with the world's config; the cycle must succeed.
pub fn run_sync(w: &World) -> Run {
    let start = Instant::now();
    let (code, out, err) = w.zoomsync(&["sync", "--once"]);
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(code, 0, "{out}\n{err}");
    let peak_mib = out
        .split("peak memory ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .and_then(|t| t.parse().ok())
        .unwrap();
    let summary = out.lines().find(|l| l.starts_with("cycle ")).unwrap_or("").to_string();
    Run { secs, peak_mib, summary, log: err }
}

/// SCIM requests the emulator answered since its last reset (every route).
pub fn scim_requests(w: &World) -> u64 {
    let counts = w.zoom.request_counts();
    zoomsync::emulator::Route::ALL.iter().map(|r| counts.route(*r)).sum()
}

/// No-change cycles, each followed by `ldapsearch` of the same entries.
pub struct NoChange {
    pub runs: Vec<Run>,
    /// `ldapsearch` wall time after each cycle, seconds.
    pub search: Vec<f64>,
}

impl NoChange {
    pub fn secs(&self) -> Vec<f64> {
        self.runs.iter().map(|r| r.secs).collect()
    }

    pub fn peak_mib(&self) -> Vec<f64> {
        self.runs.iter().map(|r| r.peak_mib).collect()
    }
}

/// `times` no-change cycles, each asserted to send no SCIM request at all, each followed
/// by `search` (the `ldapsearch` yardstick: the same entries and attributes the cycle reads).
pub fn no_change_cycles(w: &World, times: usize, search: impl Fn(&World) -> f64) -> NoChange {
    let mut out = NoChange { runs: Vec::new(), search: Vec::new() };
    for _ in 0..times {
        w.zoom.reset_requests();
        let run = run_sync(w);
        let requests = scim_requests(w);
        assert_eq!(requests, 0, "a no-change cycle sent {requests} requests: {}", run.summary);
        out.runs.push(run);
        out.search.push(search(w));
    }
    out
}

/// `zoomsync run` with the world's config: the daemon as production runs it, so what it
/// keeps between cycles (the mapping memo, `e164`'s answers) counts, as it does there.
pub struct Daemon {
    child: std::process::Child,
    log: std::path::PathBuf,
    /// `perf record` of the daemon after its start-up cycle, when `BENCH_PERF` names an
    /// output file: where a no-change cycle's time goes.
    perf: Option<std::process::Child>,
}

/// One cycle the running daemon ran on `SIGUSR1`.
pub struct DaemonCycle {
    /// From the signal to the cycle's summary line in the log, seconds.
    pub secs: f64,
    pub summary: String,
    /// What the daemon logged during the cycle.
    pub log: String,
}

impl Daemon {
    /// Starts the daemon and waits for the cycle it runs as it starts.
    pub fn start(w: &World) -> Daemon {
        let log = w.dir.path().join("bench-daemon.log");
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_zoomsync"))
            .args(["run", "--config"])
            .arg(w.config_path())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut daemon = Daemon { child, log, perf: None };
        daemon.wait_for_cycles(1);
        if let Ok(out) = std::env::var("BENCH_PERF") {
            let pid = daemon.child.id().to_string();
            // `BENCH_PERF_CALLGRAPH=dwarf` for whole stacks (frame pointers are not kept).
            let graph = std::env::var("BENCH_PERF_CALLGRAPH").unwrap_or_else(|_| "fp".into());
            let perf = std::process::Command::new("perf")
                .args(["record", "--call-graph", &graph, "-F", "499", "-o", &out, "-p", &pid])
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("BENCH_PERF needs perf");
            daemon.perf = Some(perf);
        }
        daemon
    }

    fn summaries(&self) -> Vec<String> {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        log.lines()
            .filter(|l| l.contains("zoomsync::daemon::worker") && l.contains(" users ("))
            .map(String::from)
            .collect()
    }

    fn wait_for_cycles(&self, n: usize) -> String {
        let deadline = Instant::now() + std::time::Duration::from_secs(3600);
        loop {
            if let Some(line) = self.summaries().get(n - 1) {
                return line.clone();
            }
            assert!(Instant::now() < deadline, "the daemon ran no cycle {n} within an hour");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// Asks for a cycle (SIGUSR1) and waits for its summary line.
    pub fn cycle(&self) -> DaemonCycle {
        let before = self.summaries().len();
        let logged = std::fs::read_to_string(&self.log).unwrap_or_default().len();
        let start = Instant::now();
        let ok = std::process::Command::new("kill").arg("-USR1").arg(self.child.id().to_string()).status().unwrap();
        assert!(ok.success());
        let summary = self.wait_for_cycles(before + 1);
        let secs = start.elapsed().as_secs_f64();
        let log = std::fs::read_to_string(&self.log).unwrap_or_default().get(logged..).unwrap_or_default().to_string();
        DaemonCycle { secs, summary, log }
    }

    /// The daemon's peak RSS so far, MiB (`VmHWM`).
    pub fn peak_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0.0);
        kib / 1024.0
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut perf) = self.perf.take() {
            let _ = std::process::Command::new("kill").arg("-INT").arg(perf.id().to_string()).status();
            let _ = perf.wait();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `times` no-change cycles of the running daemon, each asserted to send no SCIM request,
/// each followed by `search` (the `ldapsearch` yardstick).
pub fn daemon_no_change_cycles(
    w: &World,
    daemon: &Daemon,
    times: usize,
    search: impl Fn(&World) -> f64,
) -> (Vec<DaemonCycle>, Vec<f64>) {
    let (mut cycles, mut searches) = (Vec::new(), Vec::new());
    for _ in 0..times {
        w.zoom.reset_requests();
        let cycle = daemon.cycle();
        let requests = scim_requests(w);
        assert_eq!(requests, 0, "a no-change cycle sent {requests} requests: {}", cycle.summary);
        cycles.push(cycle);
        searches.push(search(w));
    }
    (cycles, searches)
}
