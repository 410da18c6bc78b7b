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
