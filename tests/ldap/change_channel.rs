//! The change channel end to end: slapd with syncprov, the emulator, and the real daemon on
//! a 40-minute schedule, so every change below reaches Zoom through the channel, not a
//! scheduled cycle. Each change is made with `ldapmodify` and timed from its return to the
//! emulator holding the change (polled, with a generous ceiling; the figures are printed,
//! and the latency must-show's p95 is reported by `benches/change_latency.rs`).

use std::time::{Duration, Instant};

use crate::support::daemon::Daemon;
use crate::support::data::{self, PEOPLE};
use crate::support::world::World;
use zoomsync::emulator::{EmulatorConfig, User};

/// A 40-minute schedule, and guards loose enough for the test's few departures.
const SCHEDULE: &str = "[schedule]\ninterval = \"40m\"\n\n[safety]\nmax_deactivation_percent = 100\n";

/// The daemon is up, its start-up cycle done and the channel's first cycle (after the
/// syncrepl refresh) done: from here on, changes arrive only through the channel.
async fn daemon(w: &World, log: &str) -> Daemon {
    let daemon = Daemon::start(&w.config_path(), w.dir.path().join(log), "info,zoomsync::daemon=debug");
    daemon
        .wait_for("the channel's first cycle", 60, |log| {
            log.contains("change channel up (syncrepl)")
                && log.contains("cycle started for the change channel")
                && Daemon::cycles_finished(log) >= 2
        })
        .await;
    daemon
}

fn user<'a>(users: &'a [User], name: &str) -> Option<&'a User> {
    users.iter().find(|u| u.user_name == name)
}

/// Seconds from `change` returning to `reached` holding on the emulator (at most 30 s).
async fn timed(w: &World, what: &str, change: impl FnOnce(), reached: impl Fn(&[User]) -> bool) -> f64 {
    let log = w.dir.path().join("channel.log");
    change();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if reached(&w.zoom_members()) {
            return start.elapsed().as_secs_f64();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let log = std::fs::read_to_string(log).unwrap_or_default();
    panic!("{what}: not on Zoom after 30 s; daemon log:\n{log}");
}

fn mail(i: usize) -> String {
    format!("user{i:06}@example.com")
}

fn dn(i: usize) -> String {
    format!("uid=user{i:06},{PEOPLE}")
}

/// The kinds of single change an admin makes, each timed; returns the latencies.
pub async fn single_changes(w: &World, rounds: usize, first_new: usize) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    w.ldap_modify(&format!(
        "dn: ou=elsewhere,{}\nchangetype: add\nobjectClass: organizationalUnit\nou: elsewhere\n",
        data::BASE
    ));
    for r in 0..rounds {
        let (hire, other) = (first_new + r, r);
        let m = mail(hire);
        let t = timed(
            w,
            "hire",
            || w.ldap_modify(&data::new_person_ldif(hire, &m)),
            |u| user(u, &m).is_some_and(User::is_active),
        )
        .await;
        out.push(("hire".into(), t));
        let title = format!("Director {r}");
        let t = timed(
            w,
            "title",
            || w.set_attribute(&format!("user{hire:06}"), "title", &title),
            |u| user(u, &m).is_some_and(|u| u.title.as_deref() == Some(title.as_str())),
        )
        .await;
        out.push(("title change".into(), t));
        let t = timed(
            w,
            "disable",
            || w.set_attribute(&format!("user{hire:06}"), "employeeType", "former"),
            |u| user(u, &m).is_some_and(|u| !u.is_active()),
        )
        .await;
        out.push(("disable".into(), t));
        let t = timed(
            w,
            "re-enable",
            || w.set_attribute(&format!("user{hire:06}"), "employeeType", "staff"),
            |u| user(u, &m).is_some_and(User::is_active),
        )
        .await;
        out.push(("re-enable".into(), t));
        // A name change (marriage): the family name follows on Zoom.
        let surname = format!("Renamed{r}");
        let t = timed(
            w,
            "rename",
            || w.set_attribute(&format!("user{hire:06}"), "sn", &surname),
            |u| user(u, &m).is_some_and(|u| u.family_name.as_deref() == Some(surname.as_str())),
        )
        .await;
        out.push(("rename".into(), t));
        let t = timed(
            w,
            "delete",
            || w.delete_user(&format!("user{hire:06}")),
            |u| user(u, &m).is_some_and(|u| !u.is_active()),
        )
        .await;
        out.push(("delete".into(), t));
        // One of the original people moves out of the base: gone from the scope.
        let moved = mail(other);
        let t = timed(
            w,
            "move out",
            || {
                w.ldap_modify(&format!(
                    "dn: {}\nchangetype: modrdn\nnewrdn: uid=user{other:06}\ndeleteoldrdn: 1\nnewsuperior: ou=elsewhere,{}\n",
                    dn(other),
                    data::BASE
                ))
            },
            |u| user(u, &moved).is_some_and(|u| !u.is_active()),
        )
        .await;
        out.push(("move out of the base".into(), t));
    }
    out
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at]
}

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
    let mut sorted: Vec<f64> = latencies.iter().map(|(_, t)| *t).collect();
    sorted.sort_by(f64::total_cmp);
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
