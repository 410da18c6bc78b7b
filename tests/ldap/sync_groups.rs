//! Group push against a real slapd (groupOfNames, memberOf overlay) and the Zoom emulator:
//! flattened nesting (three levels, a cycle), a move costing one remove and one add, a
//! no-change cycle costing nothing, a 5,000-member group in batches under 100,000
//! characters, linked groups never deleted, and group-based scope under the guards.

use std::collections::{BTreeMap, BTreeSet};

use crate::support::data;
use crate::support::data::groups::{emulator_groups, enabled, group_of_names, membership_change, names_of, user_name};
use crate::support::world::World;
use zoomsync::emulator::EmulatorConfig;
use zoomsync::plan::Action;
use zoomsync::sync::CycleOptions;

const GROUP_PATCH: &str = "PATCH /scim2/Groups/{id}";

fn group_requests(w: &World) -> u64 {
    let counts = w.zoom.request_counts();
    counts.by_route.iter().filter(|(route, _)| route.contains("/scim2/Groups")).map(|(_, n)| n).sum()
}

fn user_requests(w: &World) -> u64 {
    let counts = w.zoom.request_counts();
    counts.by_route.iter().filter(|(route, _)| route.contains("/scim2/Users")).map(|(_, n)| n).sum()
}

fn directory_ldif() -> String {
    let mut ldif = data::people_ldif(6_000);
    // Zoom Phone Users -> Team A -> Team B -> Team C: nested three levels deep.
    ldif.push_str(&group_of_names("Zoom Phone Users", 0..50, &["Phone Team A"]));
    ldif.push_str(&group_of_names("Phone Team A", 50..60, &["Phone Team B"]));
    ldif.push_str(&group_of_names("Phone Team B", 60..70, &["Phone Team C"]));
    ldif.push_str(&group_of_names("Phone Team C", 70..80, &[]));
    // CC Agents <-> CC Backup: a nesting cycle.
    ldif.push_str(&group_of_names("CC Agents", 100..120, &["CC Backup"]));
    ldif.push_str(&group_of_names("CC Backup", 120..130, &["CC Agents"]));
    ldif.push_str(&group_of_names("All Staff", 0..5_000, &[]));
    ldif.push_str(&group_of_names("Existing In Zoom", 200..210, &[]));
    // A member outside the user search base is not a user zoomsync manages.
    ldif.push_str(&format!(
        "dn: cn=Outsiders,ou=groups,dc=example,dc=com\nobjectClass: groupOfNames\ncn: Outsiders\n\
         member: {}\nmember: uid=user000001,ou=people,dc=example,dc=com\n\n",
        data::SERVICE_DN
    ));
    ldif
}

const GROUPS_CONFIG: &str = r#"
[groups]
base_dn = "ou=groups,dc=example,dc=com"
names = ["Zoom Phone Users", "CC Agents", "All Staff", "Existing In Zoom", "Outsiders"]

[groups.zoom_names]
"CC Agents" = "Contact Center Agents"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_groups_moves_batches_and_linked_groups_on_slapd() {
    let mut zoom = EmulatorConfig::unlimited();
    // Refuse any body of 100,000 characters or more: every batch must stay under the limit.
    zoom.knobs.group_patch_max_chars = 99_999;
    let mut w = World::start_with(&directory_ldif(), zoom).await;
    w.extra_config = GROUPS_CONFIG.to_string();
    w.write_config();
    // A Zoom group that already exists (made by an admin): linked by name, never deleted.
    let existing = w.zoom.seed_group("Existing In Zoom", &[]).unwrap();

    // The plan shows the group work before anything is done.
    let (code, out, err) = w.zoomsync(&["plan"]);
    assert!(code == 0 || code == 4, "plan exit {code}: {err}");
    assert!(out.contains("group_link") && out.contains("All Staff"), "{out}");
    assert_eq!(w.zoom.groups().len(), 2, "plan created nothing (the default and the seeded group)");

    // 1. First cycle: users, then groups with exactly the flattened managed members.
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!(r.succeeded(Action::Create), 6_000 - 240, "{}", r.summary());
    let g = r.groups.as_ref().unwrap();
    assert!(g.failed.is_empty(), "{:?}", g.failed);
    assert_eq!(g.cycles.len(), 1, "the CC cycle is reported once: {:?}", g.cycles);
    let zoom_groups = emulator_groups(&w.zoom);
    let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    expected.insert("Zoom Phone Users".into(), names_of(enabled(0..80)));
    expected.insert("Contact Center Agents".into(), names_of(enabled(100..130)));
    expected.insert("All Staff".into(), names_of(enabled(0..5_000)));
    expected.insert("Existing In Zoom".into(), names_of(enabled(200..210)));
    expected.insert("Outsiders".into(), names_of([1]));
    assert_eq!(zoom_groups, expected);
    let linked = w.zoom.groups().into_iter().find(|g| g.display_name == "Existing In Zoom").unwrap();
    assert_eq!(linked.id, existing.id, "the existing group was linked, not duplicated");
    // 4,800 members need two PATCHes; the emulator refused none (limit 99,999).
    let patches = w.zoom.request_counts().key(GROUP_PATCH);
    assert!(patches >= 6, "one PATCH per group and two for All Staff: {patches}");
    assert_eq!(w.zoom.request_counts().by_route_status[GROUP_PATCH].get("400"), None);

    // 2. A user moved between groups: one remove and one add, nothing else.
    w.ldap_modify(&membership_change(&[("Zoom Phone Users", "delete", 5), ("CC Agents", "add", 5)]));
    w.zoom.reset_requests();
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!(w.zoom.request_counts().key(GROUP_PATCH), 2, "{}", r.summary());
    assert_eq!(group_requests(&w), 2);
    assert_eq!(user_requests(&w), 0);
    let g = r.groups.as_ref().unwrap();
    assert_eq!((g.members_added, g.members_removed), (1, 1));
    let zoom_groups = emulator_groups(&w.zoom);
    assert!(!zoom_groups["Zoom Phone Users"].contains(&user_name(5)));
    assert!(zoom_groups["Contact Center Agents"].contains(&user_name(5)));
    // slapd's memberOf overlay agrees with what Zoom now holds.
    let member_of =
        crate::support::data::groups::member_of(&w.slapd.ldap_url(), &crate::support::data::groups::user_dn(5));
    assert!(member_of.iter().any(|g| g.starts_with("cn=CC Agents")), "{member_of:?}");
    assert!(!member_of.iter().any(|g| g.starts_with("cn=Zoom Phone Users")), "{member_of:?}");

    // 3. Nothing changed: zero group requests (and zero user requests).
    w.zoom.reset_requests();
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!(group_requests(&w), 0, "{}", r.summary());
    assert_eq!(user_requests(&w), 0);

    // 4. A change three levels down reaches the top group; a user who leaves the directory
    // leaves the groups with the deactivation.
    w.ldap_modify(&membership_change(&[("Phone Team C", "delete", 75)]));
    w.delete_user("user000110");
    w.zoom.reset_requests();
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!(r.succeeded(Action::Deactivate), 1, "{}", r.summary());
    let zoom_groups = emulator_groups(&w.zoom);
    assert!(!zoom_groups["Zoom Phone Users"].contains(&user_name(75)));
    assert!(!zoom_groups["Contact Center Agents"].contains(&user_name(110)));
    assert!(!zoom_groups["All Staff"].contains(&user_name(110)));
    assert_eq!(w.zoom.request_counts().key(GROUP_PATCH), 3, "one remove per group: {}", r.summary());

    // 5. Groups no longer configured: the one zoomsync created is deleted, the linked one
    // is only forgotten.
    w.extra_config = GROUPS_CONFIG.replace(", \"Existing In Zoom\", \"Outsiders\"", "").replace(", \"All Staff\"", "");
    w.write_config();
    let r = w.cycle(CycleOptions::default()).await;
    let g = r.groups.as_ref().unwrap();
    assert_eq!((g.done.get("group_delete"), g.done.get("group_unlink")), (Some(&2), Some(&1)), "{}", r.summary());
    let names: BTreeSet<String> = emulator_groups(&w.zoom).into_keys().collect();
    let expected: BTreeSet<String> =
        ["Contact Center Agents", "Existing In Zoom", "Zoom Phone Users"].into_iter().map(String::from).collect();
    assert_eq!(names, expected);
    let history = w.zoomsync(&["history", "--user", "Existing In Zoom"]).1;
    assert!(history.contains("group_unlink"), "{history}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_based_scope_deactivates_leavers_under_the_guards_on_slapd() {
    let mut ldif = data::people_ldif(200);
    ldif.push_str(&group_of_names("Zoom Users", 0..100, &["Zoom Contractors"]));
    ldif.push_str(&group_of_names("Zoom Contractors", 100..110, &[]));
    let mut w = World::start(&ldif).await;
    w.extra_config = "[groups]\nbase_dn = \"ou=groups,dc=example,dc=com\"\nnames = [\"Zoom Users\"]\n\
                      scope = [\"Zoom Users\"]\n\n[safety]\nmax_deactivations = 3\n"
        .to_string();
    w.write_config();

    // `check` shows what each configured group holds.
    let (code, out, err) = w.zoomsync(&["check"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Zoom Users: 110 users in scope (pushed)"), "{out}");

    // Only the (nested) members of the scoping group are synced.
    let r = w.cycle(CycleOptions::default()).await;
    let in_scope = names_of(enabled(0..110));
    assert_eq!(r.succeeded(Action::Create), in_scope.len(), "{}", r.summary());
    let on_zoom: BTreeSet<String> = w.zoom_members().into_iter().map(|u| u.user_name).collect();
    assert_eq!(on_zoom, in_scope);
    assert_eq!(r.groups.as_ref().unwrap().out_of_scope, 200 - 110);

    // One user leaves the scoping group: deactivated, and out of the Zoom group.
    w.ldap_modify(&membership_change(&[("Zoom Users", "delete", 3)]));
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!(r.succeeded(Action::Deactivate), 1, "{}", r.summary());
    let user3 = w.zoom.users().into_iter().find(|u| u.user_name == user_name(3)).unwrap();
    assert_eq!(format!("{:?}", user3.state), "Inactive");
    assert!(!emulator_groups(&w.zoom)["Zoom Users"].contains(&user_name(3)));

    // The nested group emptied: 10 leavers > max_deactivations 3 -> held; nobody is
    // deactivated and their memberships stay until approved.
    let removals: Vec<(&str, &str, usize)> = (100..110).map(|i| ("Zoom Contractors", "delete", i)).collect();
    // (user150 joins first: a groupOfNames may not be empty.)
    w.ldap_modify(&membership_change(&[("Zoom Contractors", "add", 150)]));
    w.ldap_modify(&membership_change(&removals));
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!(r.plan.held.len(), 10, "{}", r.summary());
    assert_eq!(r.succeeded(Action::Deactivate), 0);
    assert_eq!(r.succeeded(Action::Create), 1, "user150 joined the nested group: created");
    let members = &emulator_groups(&w.zoom)["Zoom Users"];
    assert!(names_of(100..110).is_subset(members), "held users keep their group");
    assert!(members.contains(&user_name(150)));
    assert_eq!(r.groups.as_ref().unwrap().plan.removals_withheld, 10, "{}", r.summary());

    // Approved: deactivated and removed from the group.
    let (code, out, err) = w.zoomsync(&["approve"]);
    assert_eq!(code, 0, "{out}{err}");
    let members = &emulator_groups(&w.zoom)["Zoom Users"];
    assert!(names_of(100..110).is_disjoint(members), "{members:?}");

    // The scoping group cannot be found (renamed in the config by mistake): the read counts
    // as incomplete and nobody is deactivated.
    w.extra_config = w.extra_config.replace("scope = [\"Zoom Users\"]", "scope = [\"Zoom Userz\"]");
    w.write_config();
    let (code, out, _) = w.zoomsync(&["check"]);
    assert_eq!(code, 4, "a missing group needs attention: {out}");
    assert!(out.contains("NOT FOUND: Zoom Userz"), "{out}");
    let r = w.cycle(CycleOptions::default()).await;
    assert!(r.incomplete.as_deref().unwrap_or("").contains("Zoom Userz"), "{}", r.summary());
    assert_eq!(r.succeeded(Action::Deactivate), 0);
    let active = w.zoom.users().into_iter().filter(|u| format!("{:?}", u.state) == "Active").count();
    assert_eq!(active, 1 + in_scope.len() + 1 - 1 - 10, "owner + in scope + user150 - user3 - approved leavers");
}
