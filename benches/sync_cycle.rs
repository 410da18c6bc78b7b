//! Benchmark: a full 100,000-user cycle (peak RSS) and a no-change cycle over the same
//! users (wall time beside `ldapsearch` of the same entries, and the SCIM request count),
//! with the release binary against a private slapd and the Zoom emulator (limits off).
//! Writes its section of BENCHMARKS.md. Run: `cargo bench --bench sync_cycle`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/report.rs"]
mod bench_report;
#[path = "../tests/support/mod.rs"]
mod support;
#[path = "support/sync_bench.rs"]
mod sync_bench;

use support::data;
use support::world::World;
use sync_bench::{no_change_cycles, run_sync};

const USERS: usize = 100_000;

fn main() {
    sync_bench::runtime().block_on(async {
        let w = World::start(&data::active_people_ldif(USERS)).await;
        let attributes = w.config().directory.decode.requested_attributes();
        let attributes: Vec<&str> = attributes.iter().map(String::as_str).collect();

        let first = run_sync(&w);
        assert!(first.summary.contains(&format!("created {USERS}")), "{}", first.summary);

        let nochange = no_change_cycles(&w, 3, |w| {
            w.ldapsearch_seconds("ou=people,dc=example,dc=com", "(objectClass=inetOrgPerson)", &attributes)
        });
        let (z, l) = (bench_report::median(&nochange.secs()), bench_report::median(&nochange.search));
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
            first_s = first.secs,
            first_mib = first.peak_mib,
            runs = bench_report::runs(&nochange.secs()),
            lruns = bench_report::runs(&nochange.search),
            n = attributes.len(),
            nc_mib = bench_report::median(&nochange.peak_mib()),
        );
        println!("{section}");
        bench_report::update("## Sync cycle (100,000 users)", &section);
    });
}
