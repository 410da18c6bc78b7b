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
