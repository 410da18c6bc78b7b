//! Benchmark: full read + decode of 100,000 users from a private slapd by `zoomsync check`
//! (release build), beside `ldapsearch -E pr=1000/noprompt` for the same entries and
//! attributes, in the same run. Writes the figures into BENCHMARKS.md.
//!
//! Run: `cargo bench --bench directory_read` (slapd, ldap-utils and openssl installed;
//! `scripts/install-test-deps.sh` does that).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/report.rs"]
mod bench_report;
#[path = "../tests/support/mod.rs"]
mod support;

use std::process::{Command, Stdio};
use std::time::Instant;

use support::data::{self, SERVICE_DN, SERVICE_PASSWORD};
use support::servers::slapd::Slapd;

const USERS: usize = 100_000;
const RUNS: usize = 3;
/// What zoomsync asks for under the bench config (DecodeRules::requested_attributes).
const ATTRIBUTES: &[&str] = &[
    "entryUUID",
    "mail",
    "employeeType",
    "uid",
    "cn",
    "givenName",
    "sn",
    "displayName",
    "title",
    "departmentNumber",
    "ou",
    "telephoneNumber",
    "mobile",
    "employeeNumber",
];

fn main() {
    let server = Slapd::start(&data::people_ldif(USERS));
    let dir = server.dir();
    std::fs::write(dir.join("pw"), SERVICE_PASSWORD).unwrap();
    let config = dir.join("bench.toml");
    std::fs::write(
        &config,
        format!(
            "[directory]\nurl = \"{}\"\nca_file = {:?}\nbind_dn = \"{SERVICE_DN}\"\nbind_password_file = \"pw\"\n\
             base_dn = \"ou=people,dc=example,dc=com\"\ndisabled_attribute = \"employeeType\"\ndisabled_value = \"former\"\npage_size = 1000\n",
            server.ldaps_url(),
            server.ca_file()
        ),
    )
    .unwrap();

    let mut ldapsearch_s = Vec::new();
    let mut zoomsync_s = Vec::new();
    let mut zoomsync_rss = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        let status = Command::new("ldapsearch")
            .env("LDAPTLS_CACERT", server.ca_file())
            .args(["-LLL", "-x", "-H", &server.ldaps_url(), "-D", SERVICE_DN, "-w", SERVICE_PASSWORD])
            .args(["-b", "ou=people,dc=example,dc=com", "-E", "pr=1000/noprompt", "(objectClass=inetOrgPerson)"])
            .args(ATTRIBUTES)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        ldapsearch_s.push(start.elapsed().as_secs_f64());

        let start = Instant::now();
        let out =
            Command::new(env!("CARGO_BIN_EXE_zoomsync")).args(["check", "--config"]).arg(&config).output().unwrap();
        zoomsync_s.push(start.elapsed().as_secs_f64());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
        assert!(text.contains(&format!("users in scope: {USERS}")), "{text}");
        let mib: f64 = text
            .split("peak memory ")
            .nth(1)
            .and_then(|t| t.split_whitespace().next())
            .and_then(|t| t.parse().ok())
            .unwrap();
        zoomsync_rss.push(mib);
    }
    let (l, z, rss) =
        (bench_report::median(&ldapsearch_s), bench_report::median(&zoomsync_s), bench_report::median(&zoomsync_rss));
    let ratio = z / l;
    let verdict = if ratio <= 1.5 { "within" } else { "OVER" };
    let section = format!(
        "## Directory read (100,000 users from slapd)\n\n\
         {} on {}. slapd 2.5 (mdb, private instance on 127.0.0.1, LDAPS), {USERS} inetOrgPerson users, \
         same {} attributes, as the read-only service account. Median of {RUNS} runs, each tool run alternately.\n\n\
         | tool | wall time (s) | peak RSS |\n|---|---|---|\n\
         | `ldapsearch -LLL -E pr=1000/noprompt` to /dev/null | {l:.2} (runs: {}) | — |\n\
         | `zoomsync check` (release; connect, bind, paged read page_size 1000, decode, duplicate checks) | {z:.2} (runs: {}) | {rss:.0} MiB |\n\n\
         Ratio zoomsync / ldapsearch: **{ratio:.2}x** — {verdict} the 1.5x target. \
         Reproduce: `cargo bench --bench directory_read`.\n",
        bench_report::today(),
        bench_report::machine(),
        ATTRIBUTES.len(),
        bench_report::runs(&ldapsearch_s),
        bench_report::runs(&zoomsync_s),
    );
    println!("{section}");
    bench_report::update("## Directory read (100,000 users from slapd)", &section);
}
