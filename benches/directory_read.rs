//! Benchmark: full read + decode of 100,000 users from a private slapd by `zoomsync check`
//! (release build), beside `ldapsearch -E pr=1000/noprompt` for the same entries and
//! attributes, in the same run. Writes the figures into BENCHMARKS.md.
//!
//! Run: `cargo bench --bench directory_read` (slapd, ldap-utils and openssl installed;
//! `scripts/install-test-deps.sh` does that).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::{Command, Stdio};
use std::time::Instant;

use support::data::{self, SERVICE_DN, SERVICE_PASSWORD};
use support::slapd::Slapd;

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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

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
    let (l, z, rss) = (median(ldapsearch_s.clone()), median(zoomsync_s.clone()), median(zoomsync_rss));
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
        today(),
        machine(),
        ATTRIBUTES.len(),
        fmt_runs(&ldapsearch_s),
        fmt_runs(&zoomsync_s),
    );
    println!("{section}");
    update_benchmarks("## Directory read (100,000 users from slapd)", &section);
}

fn fmt_runs(v: &[f64]) -> String {
    v.iter().map(|x| format!("{x:.2}")).collect::<Vec<_>>().join(", ")
}

fn today() -> String {
    let out = Command::new("date").arg("-u").arg("+%Y-%m-%d").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    format!("{cores} cores ({cpu})")
}

/// Replaces this benchmark's section in BENCHMARKS.md (or appends it), leaving the rest.
fn update_benchmarks(heading: &str, section: &str) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/BENCHMARKS.md");
    let text = std::fs::read_to_string(path).unwrap_or_else(|_| {
        "# Benchmarks\n\nFigures measured on this project's machines by the benches in `benches/`.\n".into()
    });
    let new = match text.find(heading) {
        Some(start) => {
            let rest = &text[start + heading.len()..];
            let end = rest.find("\n## ").map(|i| start + heading.len() + i + 1).unwrap_or(text.len());
            format!(
                "{}{}{}",
                &text[..start],
                section,
                if end < text.len() { format!("\n{}", &text[end..]) } else { String::new() }
            )
        }
        None => format!("{}\n{}", text.trim_end_matches('\n').to_string() + "\n", section),
    };
    std::fs::write(path, new).unwrap();
}
