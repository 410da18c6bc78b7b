//! A full reconcile converges: Zoom keeps the login and work email lower-cased, so a
//! mixed-case `mail` (common in AD) must not read as drift and be sent again on every
//! `--full` cycle.

use zoomsync::emulator::Route;
use zoomsync::model::Field;
use zoomsync::plan::Action;
use zoomsync::state::StateStore;
use zoomsync::sync::{CycleOptions, CycleOutcome};

use crate::cycle::directory::person_ldif;
use crate::cycle::world::HermeticWorld;

const MAIL: &str = "John.DOE@Example.COM";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_case_mail_is_not_drift_on_full_cycles() {
    let w = HermeticWorld::builder(0).ldif(&format!("version: 1\n\n{}", person_ldif(0, MAIL))).start().await;
    let r = w.cycle().await;
    assert_eq!(r.outcome(), CycleOutcome::Success, "{}", r.summary());
    assert_eq!(r.succeeded(Action::Create), 1, "{}", r.summary());
    let on_zoom = w.zoom_users();
    assert_eq!(on_zoom.len(), 1);
    assert_eq!(on_zoom[0].user_name, MAIL.to_lowercase(), "Zoom keeps the login lower-cased");

    for round in 1..=2 {
        let planned = w.cycle_with(CycleOptions { full: true, dry_run: true, ..Default::default() }).await;
        assert_eq!((planned.plan.ops.len(), planned.plan.unchanged), (0, 1), "round {round}: {}", planned.summary());
        w.zoom.reset_requests();
        let r = w.cycle_with(CycleOptions { full: true, ..Default::default() }).await;
        assert_eq!(r.outcome(), CycleOutcome::Success, "round {round}: {}", r.summary());
        let reconcile = r.reconcile.as_ref().expect("a full cycle reads the whole target");
        assert_eq!(reconcile.target_users, 2, "round {round}: the owner and John");
        assert_eq!(r.attempted(), 0, "round {round}: {}", r.summary());
        let c = w.zoom.request_counts();
        assert_eq!(w.user_writes(), 0, "round {round}: nothing re-sent: {:?}", w.zoom.requests(20));
        assert_eq!(c.route(Route::ListUsers), 1, "round {round}: one page for the reconcile");
        assert_eq!(
            c.total,
            c.route(Route::ListUsers),
            "round {round}: nothing but the list: {:?}",
            w.zoom.requests(20)
        );
    }
    // What is sent is unchanged: the stored payload keeps the directory's spelling.
    let k = &w.known()[0];
    assert!(k.user_name.eq_ignore_ascii_case(MAIL), "{k:?}");
    let pushed = w.store.pushed(&k.anchor).unwrap().expect("a pushed payload");
    assert_eq!(pushed.get(Field::WorkEmail), Some(MAIL));
}

/// Zoom answers 200 to a displayName change and keeps the old one (its default here, as
/// observed): recorded once as a warning, never re-sent by a cycle or a full reconcile
/// while the directory asks for the same value; a new value is tried again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_zoom_does_not_keep_is_recorded_once_and_not_re_sent() {
    let w = HermeticWorld::start(3).await;
    w.cycle().await;
    let before = w.zoom_user(1);
    w.edit_person(1, |e| e.set("cn", Some("Display Ignored")));
    w.zoom.reset_requests();
    let r = w.cycle().await;
    assert_eq!(r.succeeded(Action::Update), 1, "{}", r.summary());
    let o = r.outcomes.iter().find(|o| o.user_name == before.user_name).unwrap();
    assert!(
        matches!(&o.result, zoomsync::sync::OutcomeResult::Warning(m) if m.contains("kept displayName")),
        "{:?}",
        o.result
    );
    assert_eq!(w.zoom.user(&before.id).unwrap().display_name, before.display_name, "Zoom kept the old one");
    let k = w.known().into_iter().find(|k| k.zoom_id == before.id).unwrap();
    assert_eq!(k.not_kept.get(Field::DisplayName), Some("Display Ignored"));
    let status = zoomsync::admin::render::status(&w.store, false).unwrap();
    assert!(status.contains("did not keep displayName \"Display Ignored\""), "{status}");

    w.zoom.reset_requests();
    w.cycle().await;
    w.assert_no_requests("the next cycle");
    for round in 1..=2 {
        let planned = w.cycle_with(CycleOptions { full: true, dry_run: true, ..Default::default() }).await;
        assert_eq!(planned.plan.ops.len(), 0, "round {round}: {}", planned.summary());
        w.zoom.reset_requests();
        let r = w.cycle_with(CycleOptions { full: true, ..Default::default() }).await;
        assert_eq!((r.attempted(), w.user_writes()), (0, 0), "round {round}: {}", r.summary());
    }

    // Zoom accepts it now, and the directory asks for another value: sent, and the record
    // of the refused one is cleared.
    w.zoom.update_knobs(|k| k.ignore_identity_changes = false).unwrap();
    w.edit_person(1, |e| e.set("cn", Some("Display Accepted")));
    let r = w.cycle().await;
    assert_eq!(r.succeeded(Action::Update), 1, "{}", r.summary());
    assert_eq!(w.zoom.user(&before.id).unwrap().display_name.as_deref(), Some("Display Accepted"));
    assert!(w.known().into_iter().find(|k| k.zoom_id == before.id).unwrap().not_kept.is_empty());
}
