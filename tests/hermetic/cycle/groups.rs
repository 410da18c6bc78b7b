//! Group push from groupOfNames entries: nesting flattened (three levels, and a cycle
//! reported once), an existing Zoom group linked by name, a move costing exactly one remove
//! and one add, a no-change cycle costing nothing, leavers leaving their groups.

use std::collections::{BTreeMap, BTreeSet};

use zoomsync::emulator::Route;
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
