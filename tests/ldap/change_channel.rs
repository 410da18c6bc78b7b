//! The change channel end to end: slapd with syncprov, the emulator, and the real daemon on
//! a 40-minute schedule, so every change below reaches Zoom through the channel, not a
//! scheduled cycle. Each change is made with `ldapmodify` and timed from its return to the
//! emulator holding the change (polled, with a generous ceiling; the figures are printed,
//! and the latency must-show's p95 is reported by `benches/change_latency.rs`).

use std::collections::BTreeSet;
use std::time::Duration;

use crate::support::channel::{
    CEILING, PHONE, PHONE_GROUPS, SCHEDULE, daemon, group_changes, logs, mail, percentile, single_changes, sorted,
    until, zoom_group,
};
use crate::support::daemon::Daemon;
use crate::support::data;
use crate::support::data::groups::group_of_names;
use crate::support::world::World;
use zoomsync::emulator::{EmulatorConfig, Route, User};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_changes_reach_zoom_through_the_channel_with_a_40_minute_schedule() {
    let mut w = World::start_syncprov(&data::active_people_ldif(20), EmulatorConfig::unlimited()).await;
    w.extra_config = SCHEDULE.into();
    w.write_config();
    let d = daemon(&w, "channel.log").await;
    assert_eq!(w.zoom_members().len(), 20);
    let cycles = Daemon::cycles_finished(&d.log());

    let latencies = single_changes(&w, 2, 100).await;
    let log = d.log();
    assert_eq!(Daemon::cycles_finished(&log), cycles, "no cycle ran: every change came through the channel\n{log}");
    assert!(log.contains("changes "), "batches were applied:\n{log}");
    let sorted = sorted(&latencies);
    println!("{} changes: p50 {:.2} s, p95 {:.2} s", sorted.len(), percentile(&sorted, 0.5), percentile(&sorted, 0.95));
    for (what, t) in &latencies {
        println!("{what}: {t:.2} s");
    }
    // `status` shows the channel's stored position and its last batch; `check` names it.
    let (_, status, _) = w.zoomsync(&["status"]);
    assert!(status.contains("change channel: syncrepl, position cookie"), "{status}");
    assert!(status.contains("last batch"), "{status}");
    let (_, check, _) = w.zoomsync(&["check"]);
    assert!(check.contains("change channel: syncrepl (RFC 4533"), "{check}");

    // The moved people and the deleted hires are deactivated, and nobody else.
    let inactive: Vec<String> = w.zoom_members().into_iter().filter(|u| !u.is_active()).map(|u| u.user_name).collect();
    assert_eq!(inactive.len(), 4, "{inactive:?}");
}

/// A group membership change reaches Zoom through the channel with `[groups]`: the worker
/// runs a cycle for it (memberships need every group), and no scheduled cycle runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_membership_change_reaches_zoom_through_the_channel() {
    let mut ldif = data::active_people_ldif(20);
    ldif.push_str(&group_of_names(PHONE, 0..5, &[]));
    let mut w = World::start_syncprov(&ldif, EmulatorConfig::unlimited()).await;
    w.extra_config = format!("{SCHEDULE}\n{PHONE_GROUPS}");
    w.write_config();
    let d = daemon(&w, "channel.log").await;
    let start: BTreeSet<String> = (0..5).map(mail).collect();
    assert_eq!(zoom_group(&w, PHONE), start);
    let channel_cycles = |log: &str| {
        Daemon::count(log, "cycle started for the change channel") + Daemon::count(log, "change batch with [groups]")
    };
    let before = channel_cycles(&d.log());

    // Two people join the group, then leave it, one ldapmodify each.
    let latencies = group_changes(&w, &[7, 9], &start).await;
    for (what, t) in &latencies {
        println!("{what}: {t:.2} s");
    }
    let log = d.log();
    assert!(!log.contains("trigger=Schedule"), "no scheduled cycle ran:\n{log}");
    assert!(
        channel_cycles(&log) >= before + latencies.len(),
        "the worker ran a cycle for each change the channel reported:\n{log}"
    );
    assert_eq!(zoom_group(&w, PHONE), start);
}

fn disable_ldif(people: std::ops::Range<usize>) -> String {
    people
        .map(|i| {
            format!(
                "dn: {}\nchangetype: modify\nreplace: employeeType\nemployeeType: former\n\n",
                data::groups::user_dn(i)
            )
        })
        .collect()
}

/// `HELD: N operation(s)` from `zoomsync status` (asked of the daemon over its socket).
async fn held(w: &World) -> usize {
    let (code, out, err) = w.zoomsync_async(&["status"]).await;
    assert_eq!(code, 0, "status: {out}{err}");
    out.split("HELD: ").nth(1).and_then(|t| t.split(' ').next()).map_or(0, |n| n.parse().unwrap())
}

fn inactive(w: &World) -> usize {
    w.zoom_members().iter().filter(|u| !u.is_active()).count()
}

/// A script disabling 300 accounts at once (one ldapmodify file) comes through the channel
/// as one or more batches; with `max_deactivations = 50` every one of them is held (the
/// window counts what is held as well as what was applied), nobody is deactivated, `status`
/// lists the 300, and `approve` applies them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_300_disables_is_held_until_approved() {
    let mut w = World::start_syncprov(&data::active_people_ldif(400), EmulatorConfig::unlimited()).await;
    w.extra_config =
        "[schedule]\ninterval = \"40m\"\n\n[safety]\nmax_deactivations = 50\nmax_deactivation_percent = 100\n".into();
    w.write_config();
    let d = daemon(&w, "channel.log").await;
    assert_eq!(w.zoom_members().len(), 400);
    let cycles = Daemon::cycles_finished(&d.log());
    w.zoom.reset_requests();

    w.ldap_modify(&disable_ldif(0..300));
    // Every disable is accounted for: held, or (a bug) deactivated.
    let deadline = std::time::Instant::now() + CEILING * 2;
    let mut last = (0, 0);
    while std::time::Instant::now() < deadline {
        last = (held(&w).await, inactive(&w));
        if last.0 + last.1 >= 300 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let log = d.log();
    let batches = Daemon::count(&log, "change batch entries=");
    println!("300 disables: {batches} batch(es), held {}, deactivated {}", last.0, last.1);
    assert_eq!(last, (300, 0), "all 300 held, nobody deactivated; logs:\n{}", logs(&w));
    assert_eq!(w.zoom.request_counts().route(Route::PatchUser), 0, "no deactivation was sent");
    assert_eq!(Daemon::cycles_finished(&log), cycles, "the batches were held, no cycle ran:\n{log}");
    let (_, out, _) = w.zoomsync_async(&["status"]).await;
    assert!(out.contains("zoomsync approve") && out.contains(&mail(299)), "{out}");

    let (code, out, err) = w.zoomsync_async(&["approve"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("approving 300 held operation(s)"), "{out}");
    let t = until(&w, "300 deactivated after approve", CEILING * 2, || inactive(&w) == 300).await;
    println!("approved: 300 deactivated {t:.2} s after `approve` returned");
    assert_eq!(held(&w).await, 0);
    let inactive: BTreeSet<String> =
        w.zoom_members().into_iter().filter(|u| !u.is_active()).map(|u| u.user_name).collect();
    assert_eq!(inactive, (0..300).map(mail).collect::<BTreeSet<_>>());
}

/// Hires `range` as ldapmodify add records.
fn hires_ldif(range: std::ops::Range<usize>) -> String {
    range.map(|i| data::new_person_ldif(i, &mail(i))).collect::<Vec<_>>().join("\n")
}

fn all_on_zoom(w: &World, hires: &BTreeSet<String>) -> bool {
    let users = w.zoom_members();
    hires.iter().all(|h| users.iter().any(|u| &u.user_name == h))
}

/// Successful creates (201) per userName: each hire created exactly once; none twice.
fn created_once(w: &World, hires: &BTreeSet<String>) {
    let users = w.zoom_members();
    let names: Vec<&str> = users.iter().map(|u| u.user_name.as_str()).collect();
    let distinct: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(names.len(), distinct.len(), "no userName twice on Zoom");
    for hire in hires {
        let u = users.iter().find(|u| &u.user_name == hire);
        assert!(u.is_some_and(User::is_active), "{hire} on Zoom, active; logs:\n{}", logs(w));
    }
    let creates =
        w.zoom.requests(50_000).into_iter().filter(|r| r.route == "POST /scim2/Users" && r.status == Some(201)).count();
    assert_eq!(creates, hires.len(), "each hire created once");
}

/// The daemon killed (SIGKILL) while it applies a burst of hires, changes made while it is
/// down, then slapd killed and started again with changes made as soon as it is back: every
/// change arrives, each hire is created exactly once, and the channel resumes from the
/// stored cookie each time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_of_the_daemon_and_of_slapd_lose_no_change_and_apply_none_twice() {
    use zoomsync::emulator::{FaultConfig, FaultSpec};
    let mut w = World::start_syncprov(&data::active_people_ldif(20), EmulatorConfig::unlimited()).await;
    w.extra_config = SCHEDULE.into();
    w.write_config();
    let first = daemon(&w, "channel.log").await;
    w.zoom.reset_requests();
    // Creates take 100 ms each: a batch of hires is being applied for seconds.
    let mut slow = FaultConfig::default();
    slow.routes.insert("POST /scim2/Users".into(), FaultSpec { latency_ms: 100, ..FaultSpec::default() });
    w.zoom.set_faults(slow).unwrap();

    // 1. A burst of 300 hires (15 ldapmodify runs of 20); the daemon is killed mid-apply.
    let admin = crate::support::servers::ldap_tools::LdapTools {
        url: w.slapd.ldap_url(),
        bind_dn: "cn=admin,dc=example,dc=com",
        password: "adminpass",
        ca_file: None,
    };
    let writer = tokio::task::spawn_blocking(move || {
        for chunk in 0..15 {
            let from = 100 + chunk * 20;
            admin.apply("ldapmodify", &hires_ldif(from..from + 20));
        }
    });
    let members = || w.zoom_members().len();
    until(&w, "the first hires applied", CEILING, || members() >= 40).await;
    first.signal("KILL");
    let applied = members() - 20;
    drop(first);
    assert!(applied < 300, "killed in the middle of the burst ({applied} of 300 applied)");
    writer.await.unwrap();
    w.zoom.clear_faults();
    // 2. Changes while the daemon is down: more hires and a title.
    w.ldap_modify(&hires_ldif(400..410));
    w.set_attribute("user000005", "title", "Down Time");
    let second = Daemon::start(&w.config_path(), w.dir.path().join("channel2.log"), "info,zoomsync::daemon=debug");
    second.wait_for("the channel resumed", 90, |log| log.contains("change channel up (syncrepl) resumed=true")).await;
    let mut hires: BTreeSet<String> = (100..400).chain(400..410).map(mail).collect();
    until(&w, "every hire after the daemon restart", CEILING * 2, || all_on_zoom(&w, &hires)).await;
    until(&w, "the title made while the daemon was down", CEILING, || {
        w.zoom.user_by_name(&mail(5)).is_some_and(|u| u.title.as_deref() == Some("Down Time"))
    })
    .await;
    println!("daemon killed after {applied} of 300 hires; the second daemon resumed and created the rest");
    created_once(&w, &hires);
    assert!(
        !second.log().contains("cycle started for the change channel"),
        "resumed from the cookie: no refresh cycle\n{}",
        second.log()
    );

    // 3. slapd crashes and comes back; changes made as soon as it is back arrive.
    w.slapd.kill();
    second.wait_for("the channel down", 60, |log| log.contains("change channel down")).await;
    w.slapd.restart();
    w.ldap_modify(&hires_ldif(500..520));
    w.set_attribute("user000006", "employeeType", "former");
    hires.extend((500..520).map(mail));
    until(&w, "the hires after slapd came back", CEILING * 2, || all_on_zoom(&w, &hires)).await;
    until(&w, "the disable after slapd came back", CEILING, || {
        w.zoom.user_by_name(&mail(6)).is_some_and(|u| !u.is_active())
    })
    .await;
    second
        .wait_for("the channel resumed after slapd's restart", 60, |log| {
            Daemon::count(log, "change channel up (syncrepl) resumed=true") >= 2
        })
        .await;
    created_once(&w, &hires);
    let log = second.log();
    assert!(!log.contains("trigger=Schedule"), "no scheduled cycle ran:\n{log}");
    println!("slapd restarted: the channel resumed; {} hires, each created once", hires.len());
}

/// The guard across batches, through the library: a burst the channel splits into batches
/// (60 disables, then 10 more) is held as a whole. The removals still held for approval
/// count against the limit with a later batch's, as a cycle would plan them all together;
/// before the fix the second batch's 10 (under the limit of 50 alone) were deactivated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_split_into_batches_is_held_as_a_whole() {
    use zoomsync::scim::client::ScimClient;
    use zoomsync::source::{AnyDirectory, Directory};
    use zoomsync::state::StateStore;
    use zoomsync::sync::{ChangeBatch, CycleOptions, Engine, Shutdown};

    let mut w = World::start(&data::active_people_ldif(100)).await;
    w.extra_config = "[safety]\nmax_deactivations = 50\nmax_deactivation_percent = 100\n".into();
    w.write_config();
    w.cycle(CycleOptions::default()).await;
    w.ldap_modify(&disable_ldif(0..70));
    let config = w.config();
    let directory = AnyDirectory::from_config(&config.directory);
    let mut entries = Vec::new();
    directory.stream(&mut |e| entries.push(e)).await.unwrap();
    let batch = |range: std::ops::Range<usize>| ChangeBatch {
        entries: entries.iter().filter(|e| range.clone().any(|i| e.dn == data::groups::user_dn(i))).cloned().collect(),
        ..Default::default()
    };
    let (first, second) = (batch(0..60), batch(60..70));
    assert_eq!((first.entries.len(), second.entries.len()), (60, 10));
    let client = ScimClient::new(config.target.as_ref().unwrap()).unwrap();
    let engine = Engine::with_adapters(&config, &directory, client, w.store());
    let r = engine.run_changes(first, &Shutdown::never()).await.unwrap();
    assert_eq!(r.plan.held.len(), 60, "{}", r.summary());
    let r = engine.run_changes(second, &Shutdown::never()).await.unwrap();
    assert_eq!(r.plan.held.len(), 10, "the tail of the burst is held too: {}", r.summary());
    assert!(r.plan.guard.as_deref().unwrap().contains("60"), "{:?}", r.plan.guard);
    assert_eq!(inactive(&w), 0);
    assert_eq!(engine.store().meta().unwrap().held.unwrap().ops.len(), 70);
}
