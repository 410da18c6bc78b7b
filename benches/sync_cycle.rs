//! Benchmark: a full 100,000-user cycle (peak RSS) and a no-change cycle over the same
//! users (wall time beside `ldapsearch` of the same entries, and the SCIM request count),
//! with the release binary against a private slapd and the Zoom emulator (limits off).
//! Writes its section of BENCHMARKS.md. Run: `cargo bench --bench sync_cycle`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/report.rs"]
mod bench_report;
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use support::data;
use support::world::World;

const USERS: usize = 100_000;

fn run_sync(w: &World) -> (f64, f64, String) {
    let start = Instant::now();
    let (code, out, err) = w.zoomsync(&["sync", "--once"]);
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(code, 0, "{out}\n{err}");
    let mib = out
        .split("peak memory ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .and_then(|t| t.parse().ok())
        .unwrap();
    let summary = out.lines().find(|l| l.starts_with("cycle ")).unwrap_or("").to_string();
    (secs, mib, summary)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let w = World::start(&data::active_people_ldif(USERS)).await;
        let attributes = w.config().directory.decode.requested_attributes();

        let (first_s, first_mib, first_summary) = run_sync(&w);
        assert!(first_summary.contains(&format!("created {USERS}")), "{first_summary}");

        let mut nochange = Vec::new();
        let mut nochange_mib = Vec::new();
        let mut search = Vec::new();
        for _ in 0..3 {
            w.zoom.reset_requests();
            let (s, mib, summary) = run_sync(&w);
            let counts = w.zoom.request_counts();
            let requests: u64 = zoomsync::emulator::Route::ALL.iter().map(|r| counts.route(*r)).sum();
            assert_eq!(requests, 0, "a no-change cycle sent {requests} requests: {summary}");
            nochange.push(s);
            nochange_mib.push(mib);
            let attributes: Vec<&str> = attributes.iter().map(String::as_str).collect();
            search.push(w.ldapsearch_seconds(
                "ou=people,dc=example,dc=com",
                "(objectClass=inetOrgPerson)",
                &attributes,
            ));
        }
        let (z, l) = (bench_report::median(&nochange), bench_report::median(&search));
        let ratio = z / l;
        let section = format!(
            "## Sync cycle (100,000 users)\n\n\
             {date} on {machine}. Release binary (`zoomsync sync --once`), private slapd over LDAPS \
             (page size 500), Zoom emulator in the bench process with rate limits off, sled state on local disk.\n\n\
             | measurement | figure | target |\n|---|---|---|\n\
             | first cycle: 100,000 creates, wall time | {first_s:.1} s | — |\n\
             | first cycle: peak RSS | {first_mib:.0} MiB | < 200 MiB |\n\
             | no-change cycle, wall time (median of 3: {runs}) | {z:.2} s | ≤ 1.5× ldapsearch |\n\
             | `ldapsearch -E pr=500/noprompt`, same entries and {n} attributes (median: {lruns}) | {l:.2} s | — |\n\
             | ratio no-change cycle / ldapsearch | **{ratio:.2}×** | ≤ 1.5× |\n\
             | no-change cycle: SCIM requests | 0 | 0 |\n\
             | no-change cycle: peak RSS | {nc_mib:.0} MiB | — |\n\n\
             The no-change cycle reads the directory, maps, loads state and plans; it sends nothing.\n\
             Reproduce: `cargo bench --bench sync_cycle`.\n",
            date = bench_report::today(),
            machine = bench_report::machine(),
            runs = bench_report::runs(&nochange),
            lruns = bench_report::runs(&search),
            n = attributes.len(),
            nc_mib = bench_report::median(&nochange_mib),
        );
        println!("{section}");
        bench_report::update("## Sync cycle (100,000 users)", &section);
    });
}
