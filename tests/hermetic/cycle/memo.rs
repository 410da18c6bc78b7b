//! The engine remembers what each user mapped to and maps only users whose directory entry
//! changed (`sync/mapping_memo.rs`). Whole cycles on one engine prove the memo hides no
//! change: an unchanged directory sends nothing, and each kind of change still goes out.

use zoomsync::plan::Action;
use zoomsync::sync::CycleOutcome;

use crate::cycle::directory::user_name;
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
