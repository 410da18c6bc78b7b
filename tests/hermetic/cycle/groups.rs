//! Group push from groupOfNames entries: nesting flattened (three levels, and a cycle
//! reported once), an existing Zoom group linked by name, a move costing exactly one remove
//! and one add, a no-change cycle costing nothing, leavers leaving their groups.

use std::collections::{BTreeMap, BTreeSet};

use zoomsync::emulator::{FaultConfig, FaultSpec, Route};
use zoomsync::plan::Action;
use zoomsync::state::StateStore;
use zoomsync::sync::CycleOutcome;

use crate::cycle::directory::{group_dn, group_ldif, remove_value, user_dn, user_name};
use crate::cycle::world::{HermeticWorld, names};

const PEOPLE: usize = 20;

const GROUPS_CONFIG: &str = r#"
[groups]
names = ["Zoom Phone Users", "CC Agents"]

[groups.zoom_names]
"CC Agents" = "Contact Center Agents"
"#;

fn groups_ldif() -> String {
    [
        // Zoom Phone Users -> Phone Team A -> Phone Team B: three levels.
        group_ldif("Zoom Phone Users", 0..5, &["Phone Team A"]),
        group_ldif("Phone Team A", 5..8, &["Phone Team B"]),
        group_ldif("Phone Team B", 8..10, &[]),
        // CC Agents <-> CC Backup: a nesting cycle.
        group_ldif("CC Agents", 10..14, &["CC Backup"]),
        group_ldif("CC Backup", 14..16, &["CC Agents"]),
        // Not configured: never pushed.
        group_ldif("Unpushed", 0..20, &[]),
    ]
    .concat()
}

/// Zoom group name -> userNames of its members.
fn zoom_groups(w: &HermeticWorld) -> BTreeMap<String, BTreeSet<String>> {
    let by_id: BTreeMap<String, String> = w.zoom.users().into_iter().map(|u| (u.id, u.user_name)).collect();
    w.zoom
        .groups()
        .into_iter()
        .filter(|g| !g.is_default)
        .map(|g| {
            let members = g.members.iter().map(|id| by_id.get(id).cloned().unwrap_or_else(|| format!("?{id}")));
            (g.display_name, members.collect())
        })
        .collect()
}

fn group_requests(w: &HermeticWorld) -> u64 {
    w.zoom.request_counts().by_route.iter().filter(|(route, _)| route.contains("/scim2/Groups")).map(|(_, n)| n).sum()
}

fn user_requests(w: &HermeticWorld) -> u64 {
    w.zoom.request_counts().by_route.iter().filter(|(route, _)| route.contains("/scim2/Users")).map(|(_, n)| n).sum()
}

/// `(group, "add" | "delete", person)` membership edits, as an admin makes them.
fn change_membership(w: &HermeticWorld, changes: &[(&str, &str, usize)]) {
    w.edit(|entries| {
        for (group, verb, i) in changes {
            let dn = group_dn(group);
            let entry = entries.iter_mut().find(|e| e.dn == dn).unwrap();
            match *verb {
                "add" => entry.push("member", user_dn(*i).into_bytes()),
                _ => remove_value(entry, "member", &user_dn(*i)),
            }
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_groups_are_pushed_moves_cost_two_patches_and_no_change_costs_nothing() {
    let w = HermeticWorld::builder(PEOPLE).ldif(&groups_ldif()).config(GROUPS_CONFIG).start().await;
    // A Zoom group an admin already made: linked by name, not duplicated.
    let existing = w.zoom.seed_group("Zoom Phone Users", &[]).unwrap();

    let planned = w.plan().await;
    let g = planned.groups.as_ref().unwrap();
    assert_eq!(g.groups_read, 2, "{}", planned.summary());
    assert_eq!(w.zoom.groups().len(), 2, "the plan created nothing (default + seeded)");

    // 1. Users first, then the groups with their flattened members.
    let r = w.cycle().await;
    assert_eq!(r.outcome(), CycleOutcome::Success, "{}", r.summary());
    assert_eq!(r.succeeded(Action::Create), PEOPLE);
    let g = r.groups.as_ref().unwrap();
    assert!(g.failed.is_empty() && g.missing.is_empty(), "{}", g.summary());
    assert_eq!(g.cycles.len(), 1, "the CC cycle is reported once: {:?}", g.cycles);
    assert_eq!((g.done.get("group_link"), g.done.get("group_create")), (Some(&1), Some(&1)), "{}", g.summary());
    assert_eq!(g.members_added, 16);
    let mut expected = BTreeMap::new();
    expected.insert("Zoom Phone Users".to_string(), names(0..10));
    expected.insert("Contact Center Agents".to_string(), names(10..16));
    assert_eq!(zoom_groups(&w), expected);
    let linked = w.zoom.groups().into_iter().find(|g| g.display_name == "Zoom Phone Users").unwrap();
    assert_eq!(linked.id, existing.id, "linked, not duplicated");
    assert_eq!(w.store.groups().unwrap().len(), 2);

    // 2. Nothing changed: not one request, users or groups.
    w.zoom.reset_requests();
    let r = w.cycle().await;
    assert_eq!(r.outcome(), CycleOutcome::Success, "{}", r.summary());
    w.assert_no_requests("no-change cycle with groups");

    // 3. Person 2 moves from Zoom Phone Users to CC Agents: one remove, one add.
    change_membership(&w, &[("Zoom Phone Users", "delete", 2), ("CC Agents", "add", 2)]);
    w.zoom.reset_requests();
    let r = w.cycle().await;
    let g = r.groups.as_ref().unwrap();
    assert_eq!((g.members_added, g.members_removed), (1, 1), "{}", r.summary());
    assert_eq!(w.zoom.request_counts().route(Route::PatchGroup), 2);
    assert_eq!((group_requests(&w), user_requests(&w)), (2, 0));
    let now = zoom_groups(&w);
    assert!(!now["Zoom Phone Users"].contains(&user_name(2)));
    assert!(now["Contact Center Agents"].contains(&user_name(2)));

    // 4. A change two levels down reaches the top group: one PATCH.
    change_membership(&w, &[("Phone Team B", "delete", 9)]);
    w.zoom.reset_requests();
    let r = w.cycle().await;
    assert_eq!(r.groups.as_ref().unwrap().members_removed, 1, "{}", r.summary());
    assert_eq!((w.zoom.request_counts().route(Route::PatchGroup), group_requests(&w)), (1, 1));
    assert!(!zoom_groups(&w)["Zoom Phone Users"].contains(&user_name(9)));
    assert_eq!(w.zoom_user(9).state, zoomsync::emulator::UserState::Active, "only the membership changed");

    // 5. A leaver leaves the directory: deactivated, and out of its group.
    w.remove_person(12);
    w.zoom.reset_requests();
    let r = w.cycle().await;
    assert_eq!(r.succeeded(Action::Deactivate), 1, "{}", r.summary());
    assert_eq!(r.groups.as_ref().unwrap().members_removed, 1);
    assert_eq!(w.zoom.request_counts().route(Route::PatchGroup), 1);
    let mut cc = names(10..16);
    cc.insert(user_name(2));
    cc.remove(&user_name(12));
    assert_eq!(zoom_groups(&w)["Contact Center Agents"], cc);

    w.zoom.reset_requests();
    w.cycle().await;
    w.assert_no_requests("settled");
}

// One rule for deactivated users: a user deactivated on the target is in no pushed group
// (so seat and licence groups show who holds a seat); a user whose deactivation has not
// happened yet (held by a guard, failing) keeps the groups it has; a user the directory
// enables again rejoins once it is active again.

const RULE_CONFIG: &str = r#"
[groups]
names = ["Zoom Phone Users", "CC Agents"]
"#;

/// Zoom Phone Users <- Phone Team A (nested), and CC Agents.
fn rule_ldif() -> String {
    [
        group_ldif("Zoom Phone Users", 0..5, &["Phone Team A"]),
        group_ldif("Phone Team A", 5..8, &[]),
        group_ldif("CC Agents", 10..14, &[]),
    ]
    .concat()
}

async fn rule_world() -> HermeticWorld {
    HermeticWorld::builder(PEOPLE)
        .ldif(&rule_ldif())
        .config(RULE_CONFIG)
        .safety("[safety]\nmax_deactivations = 3\nmax_deactivation_percent = 50\n")
        .start()
        .await
}

fn people(range: impl IntoIterator<Item = usize>, except: &[usize]) -> BTreeSet<String> {
    names(range.into_iter().filter(|i| !except.contains(i)))
}

/// Nests `child` into `parent`, as an admin would.
fn nest(w: &HermeticWorld, parent: &str, child: &str) {
    w.edit(|entries| {
        let entry = entries.iter_mut().find(|e| e.dn == group_dn(parent)).unwrap();
        entry.push("member", group_dn(child).into_bytes());
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_locked_after_the_first_sync_leaves_its_groups() {
    let w = rule_world().await;
    let r = w.cycle().await;
    assert_eq!(r.outcome(), CycleOutcome::Success, "{}", r.summary());
    assert_eq!(zoom_groups(&w)["Zoom Phone Users"], names(0..8));

    // Person 1 (direct member) and person 6 (through Phone Team A) are locked.
    w.lock(1);
    w.lock(6);
    let planned = w.plan().await;
    let g = planned.groups.as_ref().unwrap();
    assert_eq!(g.plan.member_counts(), (0, 2), "the plan shows both leaving: {:?}", g.plan.ops);
    let r = w.cycle().await;
    assert_eq!(r.succeeded(Action::Deactivate), 2, "{}", r.summary());
    let g = r.groups.as_ref().unwrap();
    assert_eq!((g.members_added, g.members_removed), (0, 2), "{}", r.summary());
    assert_eq!(zoom_groups(&w)["Zoom Phone Users"], people(0..8, &[1, 6]));
    let cached = w.store.groups().unwrap().into_iter().find(|k| k.zoom_name == "Zoom Phone Users").unwrap();
    assert_eq!(cached.members.len(), 6, "the membership cache follows");

    w.zoom.reset_requests();
    let r = w.cycle().await;
    assert_eq!(r.groups.as_ref().unwrap().plan.awaiting_user, 0, "a deactivated user is not 'awaited'");
    w.assert_no_requests("settled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivated_user_is_not_added_through_a_newly_nested_group() {
    let w = rule_world().await;
    w.cycle().await;
    w.lock(6);
    let r = w.cycle().await;
    assert_eq!(r.succeeded(Action::Deactivate), 1, "{}", r.summary());

    // Phone Team A (5, 7 and the deactivated 6) nested into CC Agents: 5 and 7 join, 6 does not.
    nest(&w, "CC Agents", "Phone Team A");
    let r = w.cycle().await;
    let g = r.groups.as_ref().unwrap();
    assert_eq!((g.members_added, g.members_removed, g.plan.awaiting_user), (2, 0, 0), "{}", r.summary());
    assert_eq!(zoom_groups(&w)["CC Agents"], people([5, 7].into_iter().chain(10..14), &[]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_locked_before_the_first_sync_is_never_added_nor_counted_as_awaited() {
    let w = rule_world().await;
    w.lock(3);
    w.lock(6);
    let planned = w.plan().await;
    let g = planned.groups.as_ref().unwrap();
    assert_eq!(g.plan.awaiting_user, 0, "disabled people are not waited for: {:?}", g.plan);
    let r = w.cycle().await;
    assert_eq!(r.outcome(), CycleOutcome::Success, "{}", r.summary());
    assert_eq!(r.succeeded(Action::Create), PEOPLE - 2);
    let g = r.groups.as_ref().unwrap();
    assert_eq!((g.members_added, g.plan.awaiting_user), (6 + 4, 0), "{}", r.summary());
    assert_eq!(zoom_groups(&w)["Zoom Phone Users"], people(0..8, &[3, 6]));

    w.zoom.reset_requests();
    w.cycle().await;
    w.assert_no_requests("settled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unlocked_user_is_reactivated_and_rejoins_its_groups() {
    let w = rule_world().await;
    w.cycle().await;
    w.lock(1);
    w.lock(6);
    w.cycle().await;
    assert_eq!(zoom_groups(&w)["Zoom Phone Users"], people(0..8, &[1, 6]));

    w.unlock(1);
    w.unlock(6);
    let planned = w.plan().await;
    assert_eq!(planned.groups.as_ref().unwrap().plan.member_counts(), (2, 0), "the plan shows both rejoining");
    let r = w.cycle().await;
    assert_eq!(r.succeeded(Action::Reactivate), 2, "{}", r.summary());
    assert_eq!(r.groups.as_ref().unwrap().members_added, 2, "{}", r.summary());
    assert_eq!(zoom_groups(&w)["Zoom Phone Users"], names(0..8));
    assert_eq!(w.zoom_user(1).state, zoomsync::emulator::UserState::Active);

    // Locked before the first sync, unlocked later: created, then added.
    let w = rule_world().await;
    w.lock(3);
    w.cycle().await;
    w.unlock(3);
    let r = w.cycle().await;
    assert_eq!((r.succeeded(Action::Create), r.groups.as_ref().unwrap().members_added), (1, 1), "{}", r.summary());
    assert_eq!(zoom_groups(&w)["Zoom Phone Users"], names(0..8));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_deactivation_keeps_its_groups_until_approved() {
    let w = rule_world().await;
    w.cycle().await;
    // Four locked: more than max_deactivations = 3, so all four are held.
    for i in 10..14 {
        w.lock(i);
    }
    let r = w.cycle().await;
    assert_eq!((r.plan.held.len(), r.succeeded(Action::Deactivate)), (4, 0), "{}", r.summary());
    let g = r.groups.as_ref().unwrap();
    assert_eq!((g.members_added, g.members_removed), (0, 0), "{}", r.summary());
    assert_eq!(zoom_groups(&w)["CC Agents"], names(10..14), "held users keep their groups");

    // Approved: deactivated, and out of the group in the same cycle.
    zoomsync::admin::render::approve(&w.store).unwrap().expect("held");
    let r = w.cycle().await;
    assert_eq!(r.succeeded(Action::Deactivate), 4, "{}", r.summary());
    assert_eq!(r.groups.as_ref().unwrap().members_removed, 4, "{}", r.summary());
    assert_eq!(zoom_groups(&w)["CC Agents"], BTreeSet::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_deactivation_keeps_the_groups_until_it_succeeds() {
    let w = rule_world().await;
    w.cycle().await;
    // Person 2 leaves the directory, but Zoom fails every user PATCH (the deactivation).
    let mut routes = BTreeMap::new();
    routes.insert(
        Route::PatchUser.key().to_string(),
        FaultSpec { error_rate: 1.0, error_status: 503, ..FaultSpec::default() },
    );
    w.zoom.set_faults(FaultConfig { routes, ..FaultConfig::default() }).unwrap();
    w.remove_person(2);
    let r = w.cycle().await;
    assert_eq!((r.succeeded(Action::Deactivate), r.failed()), (0, 1), "{}", r.summary());
    let g = r.groups.as_ref().unwrap();
    assert_eq!(g.members_removed, 0, "still active on Zoom: keeps its groups ({})", r.summary());
    assert_eq!(g.plan.removals_withheld, 1, "{}", r.summary());
    assert!(zoom_groups(&w)["Zoom Phone Users"].contains(&user_name(2)));

    // Zoom works again: deactivated and removed.
    w.zoom.set_faults(FaultConfig::default()).unwrap();
    let r = w.cycle().await;
    assert_eq!(r.succeeded(Action::Deactivate), 1, "{}", r.summary());
    assert_eq!(r.groups.as_ref().unwrap().members_removed, 1, "{}", r.summary());
    assert_eq!(zoom_groups(&w)["Zoom Phone Users"], people(0..8, &[2]));
}
