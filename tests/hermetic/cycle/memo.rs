//! The engine remembers what each user mapped to and maps only users whose directory entry
//! changed (`sync/mapping_memo.rs`). Whole cycles on one engine prove the memo hides no
//! change: an unchanged directory sends nothing, and each kind of change still goes out.

use zoomsync::plan::Action;
use zoomsync::sync::CycleOutcome;

use crate::cycle::directory::{group_dn, group_ldif, user_dn, user_name};
use crate::cycle::world::HermeticWorld;

const MAPPING: &str = r#"[mapping]
title = { expression = 'upper(title)' }
familyName = { expression = 'sn ~ " (" ~ givenName ~ ")"' }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remembered_mappings_send_nothing_for_unchanged_users_and_every_change_for_changed_ones() {
    let w = HermeticWorld::builder(4).config(MAPPING).start().await;
    let r = w.cycle().await;
    assert_eq!((r.outcome(), r.succeeded(Action::Create)), (CycleOutcome::Success, 4), "{}", r.summary());

    w.zoom.reset_requests();
    let r = w.cycle().await;
    assert_eq!(r.outcome(), CycleOutcome::Success, "{}", r.summary());
    w.assert_no_requests("no change");

    // An attribute one rule reads, another that none reads but the entry carries, and a lock.
    w.edit_person(0, |e| e.set("title", Some("Staff Engineer")));
    w.edit_person(1, |e| e.set("sn", Some("Renamed")));
    w.lock(2);
    let r = w.cycle().await;
    assert_eq!(r.outcome(), CycleOutcome::Success, "{}", r.summary());
    assert_eq!(r.succeeded(Action::Update), 2, "{}", r.summary());
    assert_eq!(r.succeeded(Action::Deactivate), 1, "{}", r.summary());
    assert_eq!(w.zoom_user(0).title.as_deref(), Some("STAFF ENGINEER"));
    assert_eq!(w.zoom_user(1).family_name.as_deref(), Some("Renamed (Given1)"));
    assert!(!w.zoom_user(2).is_active(), "{}", user_name(2));

    // Put back as it was: the remembered results from before the change are not reused.
    w.edit_person(0, |e| e.set("title", Some("Engineer 0")));
    let r = w.cycle().await;
    assert_eq!(r.succeeded(Action::Update), 1, "{}", r.summary());
    assert_eq!(w.zoom_user(0).title.as_deref(), Some("ENGINEER 0"));
}

/// `member_of` rules are remembered per user and groups: joining a group (here, a nested
/// one) still changes the licence, and leaving it changes it back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remembered_membership_rules_follow_group_changes() {
    let config = r#"[mapping]
title = { expression = '"Phone" if member_of("Zoom Phone Users") else "Desk"' }

[groups]
base_dn = "ou=groups,dc=example,dc=com"
filter = "(cn=no-group-is-pushed)"
"#;
    let ldif = [group_ldif("Zoom Phone Users", 0..1, &["Phone Team"]), group_ldif("Phone Team", 1..2, &[])].concat();
    let w = HermeticWorld::builder(3).ldif(&ldif).config(config).start().await;
    let titles = |w: &HermeticWorld| (0..3).map(|i| w.zoom_user(i).title.unwrap_or_default()).collect::<Vec<_>>();
    let r = w.cycle().await;
    assert_eq!(r.outcome(), CycleOutcome::Success, "{}", r.summary());
    assert_eq!(titles(&w), ["Phone", "Phone", "Desk"]);

    w.zoom.reset_requests();
    assert_eq!(w.cycle().await.attempted(), 0);
    w.assert_no_requests("no change");

    // Person 2 joins the nested group; person 1 leaves it. Neither entry changed.
    w.edit(|entries| {
        let team = entries.iter_mut().find(|e| e.dn == group_dn("Phone Team")).unwrap();
        team.set("member", Some(&user_dn(2)));
    });
    let r = w.cycle().await;
    assert_eq!(r.succeeded(Action::Update), 2, "{}", r.summary());
    assert_eq!(titles(&w), ["Phone", "Desk", "Phone"]);
}
