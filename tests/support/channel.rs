//! The change channel end to end, shared by `tests/ldap/change_channel.rs` and
//! `benches/change_latency.rs`: the daemon on a 40-minute schedule with its channel up, and
//! changes made with `ldapmodify`, each timed from its return to the emulator holding it
//! (polled every 10 ms, with a generous ceiling).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::daemon::Daemon;
use super::data::groups::{emulator_groups, membership_change};
use super::data::{self, PEOPLE};
use super::world::World;
use zoomsync::emulator::User;

/// A 40-minute schedule, and guards loose enough for the tests' few departures.
pub const SCHEDULE: &str = "[schedule]\ninterval = \"40m\"\n\n[safety]\nmax_deactivation_percent = 100\n";

/// The group the membership changes move people in and out of.
pub const PHONE: &str = "Zoom Phone Users";

/// `[groups]` pushing [`PHONE`] only.
pub const PHONE_GROUPS: &str = "[groups]\nbase_dn = \"ou=groups,dc=example,dc=com\"\nnames = [\"Zoom Phone Users\"]\n";

/// How long a change may take to reach the emulator before the test fails (a busy 2-core
/// machine; the figures printed are what matters).
pub const CEILING: Duration = Duration::from_secs(30);

/// Starts the daemon (logging to `log` in the world's directory) and waits until its
/// start-up cycle and the channel's first cycle (after the syncrepl refresh) are done: from
/// here on, changes arrive only through the channel.
pub async fn daemon(w: &World, log: &str) -> Daemon {
    let daemon = Daemon::start(&w.config_path(), w.dir.path().join(log), "info,zoomsync::daemon=debug");
    daemon
        .wait_for("the channel's first cycle", 90, |log| {
            log.contains("change channel up (syncrepl)")
                && log.contains("cycle started for the change channel")
                && Daemon::cycles_finished(log) >= 2
        })
        .await;
    daemon
}

pub fn user<'a>(users: &'a [User], name: &str) -> Option<&'a User> {
    users.iter().find(|u| u.user_name == name)
}

/// Every daemon log in the world's directory, for a failure message.
pub fn logs(w: &World) -> String {
    let mut out = String::new();
    let mut paths: Vec<_> = std::fs::read_dir(w.dir.path()).unwrap().flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths.into_iter().filter(|p| p.extension().is_some_and(|e| e == "log")) {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        out.push_str(&format!("==== {}\n{text}\n", path.display()));
    }
    out
}

/// Seconds until `reached()` holds (polled every 10 ms); panics with the logs after `ceiling`.
pub async fn until(w: &World, what: &str, ceiling: Duration, reached: impl Fn() -> bool) -> f64 {
    let start = Instant::now();
    while start.elapsed() < ceiling {
        if reached() {
            return start.elapsed().as_secs_f64();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what}: not reached after {ceiling:?}; logs:\n{}", logs(w));
}

/// Seconds from `change` returning to `reached` holding on the emulator (at most [`CEILING`]).
pub async fn timed(w: &World, what: &str, change: impl FnOnce(), reached: impl Fn(&[User]) -> bool) -> f64 {
    change();
    until(w, what, CEILING, || reached(&w.zoom_members())).await
}

pub fn mail(i: usize) -> String {
    format!("user{i:06}@example.com")
}

pub fn dn(i: usize) -> String {
    format!("uid=user{i:06},{PEOPLE}")
}

/// The kinds of single change an admin makes (hire, title, disable, re-enable, name change,
/// delete, move out of the base), `rounds` times, each timed; returns the latencies.
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

/// The members of a Zoom group (userNames), as the emulator holds them.
pub fn zoom_group(w: &World, name: &str) -> BTreeSet<String> {
    emulator_groups(&w.zoom).remove(name).unwrap_or_default()
}

/// Membership changes of [`PHONE`] with `ldapmodify`: each of `users` added, then removed,
/// each timed until the Zoom group follows; `start` is the group's membership before.
pub async fn group_changes(w: &World, users: &[usize], start: &BTreeSet<String>) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    let mut want = start.clone();
    for (verb, label) in [("add", "group member added"), ("delete", "group member removed")] {
        for &i in users {
            match verb {
                "add" => want.insert(mail(i)),
                _ => want.remove(&mail(i)),
            };
            let t = timed(
                w,
                label,
                || w.ldap_modify(&membership_change(&[(PHONE, verb, i)])),
                |_| zoom_group(w, PHONE) == want,
            )
            .await;
            out.push((label.to_string(), t));
        }
    }
    out
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at]
}

/// Sorted latencies.
pub fn sorted(latencies: &[(String, f64)]) -> Vec<f64> {
    let mut sorted: Vec<f64> = latencies.iter().map(|(_, t)| *t).collect();
    sorted.sort_by(f64::total_cmp);
    sorted
}
