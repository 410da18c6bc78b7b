//! Benchmark: the sync cycle at 100,000 users under a mapping of expressions (14 target
//! attributes: names by `coalesce`, phones by `e164`, a mobile left alone by `omit()` where
//! there is none, a department by `regex_replace`, the manager's DN, a licence plan and the
//! four Zoom Phone fields by `member_of("Zoom Phone Users")`). The first cycle creates
//! everyone (wall time, peak RSS); the second fills in the managers (one update each); then
//! five no-change cycles of the daemon (`zoomsync run`, as production runs it) and three of a
//! fresh `sync --once` process, each beside `ldapsearch` of the same entries and attributes, each
//! sending no request at all. Release binary, private slapd, Zoom emulator with limits off
//! and its attribute validation on. Also prints how long the mapping itself takes (the same
//! users mapped in this process) and the cycle's stages from its debug log.
//!
//! Writes its section of BENCHMARKS.md. Run: `cargo bench --bench sync_cycle_mapped`;
//! `BENCH_USERS=5000` for a quick check; `BENCH_PERF=/tmp/daemon.data` records the daemon's
//! no-change cycles with `perf` (`BENCH_PERF_CALLGRAPH=dwarf` for whole stacks; its section is headed with its size: not one to
//! commit).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/report.rs"]
mod bench_report;
#[path = "../tests/support/mod.rs"]
mod support;
#[path = "support/sync_bench.rs"]
mod sync_bench;

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;
use std::time::Instant;

use support::data::{self, PEOPLE};
use support::world::World;
use sync_bench::{Daemon, daemon_no_change_cycles, no_change_cycles, run_sync};
use zoomsync::config::Config;
use zoomsync::mapping::{Memberships, evaluate, map_group_rules, map_user};
use zoomsync::model::{Anchor, Attributes, DirectoryUser};

const USERS: usize = 100_000;
/// Daemon no-change cycles, each followed by an `ldapsearch`: five, as the machine's load
/// moves either figure by ±20% from one round to the next.
const DAEMON_ROUNDS: usize = 5;
const PHONE_GROUP: &str = "Zoom Phone Users";
const GROUPS_BASE: &str = "ou=groups,dc=example,dc=com";

/// The mapping: every rule an expression. `userName` comes from `mail` (lower-cased by
/// decode), as always.
const MAPPING: &str = r#"[mapping]
givenName = { expression = 'coalesce(givenName, cn)' }
familyName = { expression = 'coalesce(sn, cn)' }
displayName = { expression = 'coalesce(displayName, givenName ~ " " ~ sn)' }
email = { expression = 'lower(mail)' }
title = { expression = 'coalesce(title, "Staff")' }
department = { expression = 'regex_replace(coalesce(ou, departmentNumber), "^dept0*([0-9])", "Department $1")' }
phone = { expression = 'e164(telephoneNumber, "GB")' }
mobilePhone = { expression = 'e164(mobile, "GB") if mobile else omit()' }
manager = { expression = 'manager' }
zoomOneBizPlus = { expression = '"GLOBAL_SELECT" if member_of("Zoom Phone Users") else "US_CA"' }
zoomPhoneExtNumber = { expression = '0 if member_of("Zoom Phone Users") else omit()' }
zoomPhoneSite = { expression = '"London" if member_of("Zoom Phone Users") else omit()' }
zoomPhoneCallingPlan = { expression = '3000 if member_of("Zoom Phone Users") else omit()' }
zoomPhoneNumber = { expression = 'e164(telephoneNumber, "GB") if member_of("Zoom Phone Users") else omit()' }
"#;

/// `member_of` reads the groups `[groups]` reads; the filter chooses none to push, so the
/// phone group is read for the mapping only. The cycle's stages go to the debug log.
const GROUPS_AND_LOGGING: &str = r#"
[groups]
base_dn = "ou=groups,dc=example,dc=com"
filter = "(cn=zoomsync-bench-pushes-no-group)"

[logging]
level = "info,zoomsync::sync=debug"
"#;

const TITLES: [&str; 7] =
    ["Engineer", "Senior  Engineer", "Analyst", "Sales Manager", "Support Engineer", "Designer", "Director"];
const DEPARTMENTS: [&str; 4] = ["Engineering", "Sales", "Support", "Finance"];

/// One in ten users is in the phone group.
fn phone_user(i: usize) -> bool {
    i % 10 == 3
}

/// Teams of ten led by every tenth user, the leads reporting to every hundredth, who have
/// no manager: 99% of the users have one, and every manager is a user of the directory.
fn manager_of(i: usize) -> Option<usize> {
    if i % 10 != 0 {
        Some(i / 10 * 10)
    } else if i % 100 != 0 {
        Some(i / 100 * 100)
    } else {
        None
    }
}

fn user_dn(i: usize) -> String {
    format!("uid=user{i:06},{PEOPLE}")
}

/// What user `i` carries, in the shapes directories hold: phone numbers written three ways
/// (`+44 (0)20 7946 0018`, national, international without the trunk zero), a mobile for
/// half the users, a preferred name (`displayName`) for a fifth, a capitalised mail for a
/// quarter, an `ou` for a third, a manager DN for 99%.
fn person(i: usize) -> Vec<(&'static str, String)> {
    let (area, line) = ((i / 10_000) % 100, i % 10_000);
    let mut a = vec![
        ("uid", format!("user{i:06}")),
        ("cn", format!("Given{i} Family{i}")),
        ("sn", format!("Family{i}")),
        ("givenName", format!("Given{i}")),
        ("title", TITLES[i % TITLES.len()].to_string()),
        ("departmentNumber", format!("dept{:03}", i % 20)),
        ("employeeType", "staff".to_string()),
        (
            "telephoneNumber",
            match i % 3 {
                0 => format!("+44 (0)20 79{area:02} {line:04}"),
                1 => format!("020 79{area:02} {line:04}"),
                _ => format!("+44 20 79{area:02}{line:04}"),
            },
        ),
        ("mail", if i % 4 == 1 { format!("User{i:06}@Example.COM") } else { format!("user{i:06}@example.com") }),
    ];
    if i % 2 == 0 {
        a.push(("mobile", if i % 4 == 0 { format!("07400 {i:06}") } else { format!("+44 7400 {i:06}") }));
    }
    if i % 5 == 1 {
        a.push(("displayName", format!("Gee {i} Family{i}")));
    }
    if i % 3 == 0 {
        a.push(("ou", DEPARTMENTS[i % DEPARTMENTS.len()].to_string()));
    }
    if let Some(m) = manager_of(i) {
        a.push(("manager", user_dn(m)));
    }
    a
}

/// The directory: base entries, the users, and the phone group (one groupOfNames holding
/// 10% of them: 10,000 member values at 100,000 users, which slapadd and slapd take).
fn ldif(users: usize) -> String {
    let mut out = String::with_capacity(users * 520 + 1024);
    data::base_entries(&mut out);
    for i in 0..users {
        let _ = writeln!(out, "dn: {}\nobjectClass: inetOrgPerson", user_dn(i));
        for (name, value) in person(i) {
            let _ = writeln!(out, "{name}: {value}");
        }
        out.push('\n');
    }
    let _ = writeln!(out, "dn: cn={PHONE_GROUP},{GROUPS_BASE}\nobjectClass: groupOfNames\ncn: {PHONE_GROUP}");
    for i in (0..users).filter(|i| phone_user(*i)) {
        let _ = writeln!(out, "member: {}", user_dn(i));
    }
    out.push('\n');
    out
}

/// The users as decode leaves them: the attributes it keeps, lower-case names (one shared
/// copy of each), the login lower-cased.
fn directory_users(config: &Config, users: usize) -> Vec<DirectoryUser> {
    let keep = &config.directory.decode.keep_attributes;
    let mut names: HashMap<&str, Arc<str>> = HashMap::new();
    (0..users)
        .map(|i| {
            let mut attrs = Attributes::default();
            let mut mail = String::new();
            for (name, value) in person(i) {
                if name == "mail" {
                    mail = value.to_lowercase();
                }
                if !keep.iter().any(|k| k.eq_ignore_ascii_case(name)) {
                    continue;
                }
                let shared = names.entry(name).or_insert_with(|| Arc::from(name.to_ascii_lowercase().as_str()));
                attrs.push(shared.clone(), &value);
            }
            DirectoryUser {
                anchor: Anchor::new(&format!("user{i:06}")).unwrap(),
                dn: user_dn(i),
                user_name: mail,
                disabled: false,
                attrs,
            }
        })
        .collect()
}

/// Seconds to map every user with the config's rules in this process, on one thread: the
/// rules that need no group as the read maps them, then the `member_of` rules as the group
/// step does. Every user must map.
fn mapping_seconds(config: &Config, users: &[DirectoryUser]) -> f64 {
    let in_group: [&str; 1] = [PHONE_GROUP];
    let start = Instant::now();
    for (i, u) in users.iter().enumerate() {
        let mut scim = map_user(u, &config.mapping).unwrap_or_else(|e| panic!("{}: {e}", u.dn));
        let groups: &[&str] = if phone_user(i) { &in_group } else { &[] };
        map_group_rules(u, &config.mapping, Memberships { groups, direct: groups }, &mut scim)
            .unwrap_or_else(|e| panic!("{}: {e}", u.dn));
        std::hint::black_box(scim);
    }
    start.elapsed().as_secs_f64()
}

/// Seconds each rule takes over every user (one thread), most expensive first: where the
/// mapping's time goes.
fn rule_seconds(config: &Config, users: &[DirectoryUser]) -> Vec<(String, f64)> {
    let in_group: [&str; 1] = [PHONE_GROUP];
    let mut out: Vec<(String, f64)> = config
        .mapping
        .rules
        .iter()
        .map(|(field, rule)| {
            let start = Instant::now();
            for (i, u) in users.iter().enumerate() {
                let groups: &[&str] = if phone_user(i) { &in_group } else { &[] };
                let memberships = rule.uses_groups().then_some(Memberships { groups, direct: groups });
                std::hint::black_box(evaluate(*field, rule, u, memberships).unwrap());
            }
            (field.config_name().to_string(), start.elapsed().as_secs_f64())
        })
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}

/// Seconds since the cycle (or its read) began at a debug line of the cycle's log, e.g.
/// `… directory read and mapped elapsed=1.2345s users=…`.
fn stage(log: &str, message: &str) -> Option<f64> {
    let line = log.lines().find(|l| l.contains(message))?;
    let value = line.split_whitespace().find_map(|t| t.strip_prefix("elapsed="))?;
    let (number, scale) = [("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9), ("s", 1.0)]
        .iter()
        .find_map(|(unit, scale)| value.strip_suffix(unit).map(|n| (n, *scale)))?;
    number.parse::<f64>().ok().map(|n| n * scale)
}

/// The stages of a no-change cycle from its debug log, for stdout.
fn stages(log: &str) -> String {
    [
        ("directory read and mapped", "read+mapped (from read start)"),
        ("state loaded", "state loaded (from read start)"),
        ("groups read and flattened", "groups flattened, member_of rules mapped (from cycle start)"),
        ("managers resolved", "managers resolved"),
        ("planned", "planned"),
    ]
    .iter()
    .map(|(message, label)| match stage(log, message) {
        Some(s) => format!("{label} {s:.2} s"),
        None => format!("{label} ?"),
    })
    .collect::<Vec<_>>()
    .join("; ")
}

fn main() {
    let users = bench_report::users(USERS);
    let phone_users = (0..users).filter(|i| phone_user(*i)).count();
    let with_manager = (0..users).filter(|i| manager_of(*i).is_some()).count();
    sync_bench::runtime().block_on(async {
        let mut w = World::start(&ldif(users)).await;
        w.extra_config = format!("{MAPPING}{GROUPS_AND_LOGGING}");
        w.write_config();
        let config = w.config();
        let rules = config.mapping.rules.len();
        let attributes = config.directory.decode.requested_attributes();
        let attributes: Vec<&str> = attributes.iter().map(String::as_str).collect();
        let group_attributes = ["cn", "entryUUID", "member"];
        let search = |w: &World| {
            w.ldapsearch_seconds(PEOPLE, "(objectClass=inetOrgPerson)", &attributes)
                + w.ldapsearch_seconds(
                    GROUPS_BASE,
                    "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))",
                    &group_attributes,
                )
        };

        // 1. Everyone created; the managers wait for the next cycle (not on Zoom yet).
        let first = run_sync(&w);
        assert_eq!(first.count("created"), users as u64, "{}", first.summary);
        assert!(first.summary.contains("(0 rejected"), "{}", first.summary);
        let on_zoom = w.zoom_members();
        let provisioned = on_zoom.iter().filter(|u| u.phone().calling_plan == Some(3000)).count();
        let extensions = on_zoom.iter().filter(|u| u.phone().ext_number.is_some_and(|e| e > 0)).count();
        assert_eq!((provisioned, extensions), (phone_users, phone_users), "Zoom Phone fields on the emulator");

        // 2. The managers filled in: one update per user with a manager.
        w.zoom.reset_requests();
        let second = run_sync(&w);
        let updates = second.count("updated");
        assert_eq!(updates, with_manager as u64, "{}", second.summary);
        let managed = w.zoom_members().iter().filter(|u| u.enterprise.get("manager").is_some()).count();
        assert_eq!(managed, with_manager, "managers on the emulator");

        // 3. No change, as the daemon runs it (what it keeps between cycles counts, as in
        //    production), `DAEMON_ROUNDS` times, each beside ldapsearch of the same entries: zero requests.
        w.metrics_listen = Some(format!("127.0.0.1:{}", support::servers::ports::free_port()));
        w.write_config();
        let daemon = Daemon::start(&w);
        let (cycles, daemon_search) = daemon_no_change_cycles(&w, &daemon, DAEMON_ROUNDS, search);
        let daemon_secs: Vec<f64> = cycles.iter().map(|c| c.secs).collect();
        let daemon_mib = daemon.peak_mib();
        drop(daemon);
        for c in &cycles {
            println!("daemon no-change cycle {:.2} s: {}", c.secs, stages(&c.log));
        }
        let (z, l) = (bench_report::median(&daemon_secs), bench_report::median(&daemon_search));
        let ratio = z / l;

        // 4. The same from a fresh process each time (`sync --once`, e.g. from cron): it starts
        //    with nothing remembered, so it maps every user.
        let nochange = no_change_cycles(&w, 3, search);
        for run in &nochange.runs {
            println!("sync --once no-change cycle {:.2} s: {}", run.secs, stages(&run.log));
        }
        let (once_s, once_l) = (bench_report::median(&nochange.secs()), bench_report::median(&nochange.search));

        // The mapping alone, in this process (stdout only: the cycle maps as entries arrive).
        let directory = directory_users(&config, users);
        let mapping: Vec<f64> = (0..3).map(|_| mapping_seconds(&config, &directory)).collect();
        let mapping_s = bench_report::median(&mapping);
        println!(
            "mapping alone: {} users, {rules} rules, one thread, median of 3 ({}): {mapping_s:.3} s \
             ({:.1} µs per user)",
            bench_report::thousands(users),
            bench_report::runs(&mapping),
            mapping_s * 1e6 / users as f64,
        );
        let per_rule = rule_seconds(&config, &directory);
        let per_rule: Vec<String> = per_rule
            .iter()
            .map(|(name, s)| format!("{name} {:.1} µs", s * 1e6 / users as f64))
            .collect();
        println!("per user and rule: {}", per_rule.join(", "));

        let n = bench_report::thousands(users);
        let heading = format!("## Sync cycle, 12-attribute expression mapping ({n} users)");
        let section = format!(
            "{heading}\n\n\
             {date} on {machine}. Release binary (`zoomsync sync --once`), private slapd over LDAPS \
             (page size 500), Zoom emulator in the bench process with rate limits off and its attribute \
             validation on, sled state on local disk. {n} users; the `[mapping]` below sets {rules} target \
             attributes (userName aside), each by an expression. {phones} users (10%) are in \"{PHONE_GROUP}\", \
             one groupOfNames read for `member_of` (not pushed); {with_manager} have a manager.\n\n\
             | measurement | figure | target |\n|---|---|---|\n\
             | first cycle: {n} creates, wall time | {first_s:.1} s | — |\n\
             | first cycle: peak RSS | {first_mib:.0} MiB | — |\n\
             | second cycle: managers filled in, updates (wall time {second_s:.1} s) | {updates} | one per user with a manager: {with_manager} |\n\
             | daemon (`zoomsync run`) no-change cycle, `SIGUSR1` to summary line (median of {DAEMON_ROUNDS}: {runs}) | {z:.2} s | ≤ 1.5× ldapsearch |\n\
             | `ldapsearch -E pr=500/noprompt`, same users and {na} attributes, and the group, after each (median: {lruns}) | {l:.2} s | — |\n\
             | ratio daemon no-change cycle / ldapsearch | **{ratio:.2}×** | ≤ 1.5× |\n\
             | daemon no-change cycles: SCIM requests | 0 (each of {DAEMON_ROUNDS}) | 0 |\n\
             | daemon peak RSS (its start-up cycle and the {DAEMON_ROUNDS} no-change cycles) | {daemon_mib:.0} MiB | — |\n\
             | `sync --once` no-change cycle, a fresh process (median of 3: {once_runs}) | {once_s:.2} s | — |\n\
             | ratio `sync --once` / ldapsearch (median: {once_lruns}) | {once_ratio:.2}× | — |\n\
             | `sync --once` peak RSS | {nc_mib:.0} MiB | — |\n\n\
             The directory holds what the mapping reads in the shapes directories hold it: phone numbers \
             written `+44 (0)20 7946 0018`, `020 7946 0018` or `+44 20 79460018`, a mobile for half the users, \
             a preferred name (`displayName`) for a fifth, capitals in a quarter of the mail addresses, an `ou` \
             for a third, the manager's DN. The no-change cycle reads the users and the group, maps, loads \
             state and plans; it sends nothing. The daemon maps again only the users whose entry changed (it \
             remembers each user's mapping from the last read, `src/sync/mapping_memo.rs`, and `e164` its \
             answers), so its no-change cycle reads, hashes each entry and plans; a fresh `sync --once` \
             process maps every user. Mapping alone (the same users in one thread, nothing \
             remembered): {mapping_s:.2} s.\n\n\
             ```toml\n{MAPPING}```\n\n\
             Reproduce: `cargo bench --bench sync_cycle_mapped`.\n",
            date = bench_report::today(),
            machine = bench_report::machine(),
            phones = bench_report::thousands(phone_users),
            with_manager = bench_report::thousands(with_manager),
            first_s = first.secs,
            first_mib = first.peak_mib,
            second_s = second.secs,
            updates = bench_report::thousands(updates as usize),
            runs = bench_report::runs(&daemon_secs),
            lruns = bench_report::runs(&daemon_search),
            once_runs = bench_report::runs(&nochange.secs()),
            once_lruns = bench_report::runs(&nochange.search),
            once_ratio = once_s / once_l,
            na = attributes.len(),
            nc_mib = bench_report::median(&nochange.peak_mib()),
        );
        println!("{section}");
        bench_report::update(&heading, &section);
    });
}
