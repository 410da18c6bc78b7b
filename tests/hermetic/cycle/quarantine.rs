//! Failure ladders: one user Zoom keeps rejecting is quarantined on its own and released by
//! a directory edit; a fatal error (a wrong client secret, SSO switched off) stops the cycle,
//! writes nothing and quarantines the connector until a good cycle lifts it.

use zoomsync::emulator::Route;
use zoomsync::model::{FailureClass, FailureRecord};
use zoomsync::plan::Action;
use zoomsync::plan::quarantine::QUARANTINE_AFTER;
use zoomsync::state::StateStore;
use zoomsync::sync::{CycleOutcome, OutcomeResult};

use crate::cycle::directory::{person_ldif, user_name};
use crate::cycle::world::{HermeticWorld, names};

const PEOPLE: usize = 10;
const STRAY: usize = 50;

fn only_failure(w: &HermeticWorld) -> FailureRecord {
    let failures = w.store.failures().unwrap();
    assert_eq!(failures.len(), 1, "{failures:?}");
    failures.into_iter().next().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_zoom_rejects_is_quarantined_alone_until_its_data_changes() {
    let w = HermeticWorld::builder(PEOPLE).ldif(&person_ldif(STRAY, "stray@elsewhere.org")).start().await;
    w.zoom.update_knobs(|k| k.managed_domains = vec!["example.com".into()]).unwrap();

    // Rejected (400) on every attempt; the others are unaffected.
    for attempt in 1..=QUARANTINE_AFTER {
        w.zoom.reset_requests();
        let r = w.cycle().await;
        assert_eq!(r.outcome(), CycleOutcome::Attention, "{}", r.summary());
        assert_eq!(r.failed(), 1, "attempt {attempt}: {}", r.summary());
        let o = r.outcomes.iter().find(|o| o.user_name == "stray@elsewhere.org").unwrap();
        assert!(
            matches!(&o.result, OutcomeResult::Failed(d) if d.contains("Domain name doesn't match")),
            "{:?}",
            o.result
        );
        assert_eq!(w.zoom.request_counts().route_status(Route::CreateUser, 400), 1, "a 400 is not retried");
        let f = only_failure(&w);
        assert_eq!((f.attempts, f.class), (attempt, FailureClass::Rejected));
        assert_eq!(f.quarantined, attempt >= QUARANTINE_AFTER, "attempt {attempt}: {f:?}");
    }
    w.assert_converged(&names(0..PEOPLE));
    assert!(w.meta().connector_quarantine.is_none(), "one bad user does not stop the connector");

    // The ladder's first step retries at once; after that the user waits hours.
    let r = w.cycle().await;
    assert_eq!(r.failed(), 1, "{}", r.summary());
    let f = only_failure(&w);
    assert_eq!(f.attempts, QUARANTINE_AFTER + 1);
    assert!(f.next_attempt >= f.last_failed + 6 * 3600, "{f:?}");

    // Quarantined: skipped with Zoom's reason, not one request.
    w.zoom.reset_requests();
    let r = w.cycle().await;
    assert_eq!(r.failed(), 0, "{}", r.summary());
    let skip = r.plan.skipped.iter().find(|s| s.user_name == "stray@elsewhere.org").unwrap();
    assert!(skip.reason.contains("quarantined after 4 failures"), "{}", skip.reason);
    assert!(skip.reason.contains("Domain name doesn't match"), "{}", skip.reason);
    w.assert_no_requests("a quarantined user is skipped");

    // Someone else's change does not release it.
    w.edit_person(3, |e| e.set("title", Some("Unrelated")));
    w.zoom.reset_requests();
    let r = w.cycle().await;
    assert_eq!((r.succeeded(Action::Update), r.failed()), (1, 0), "{}", r.summary());
    assert_eq!(w.zoom.request_counts().route(Route::CreateUser), 0);

    // Its own data changes (a fixed address): tried at once, created, record cleared.
    w.edit_person(STRAY, |e| e.set("mail", Some("stray@example.com")));
    let r = w.cycle().await;
    assert_eq!(r.outcome(), CycleOutcome::Success, "{}", r.summary());
    assert_eq!(r.succeeded(Action::Create), 1);
    assert!(w.store.failures().unwrap().is_empty());
    let mut expected = names(0..PEOPLE);
    expected.insert("stray@example.com".into());
    w.assert_converged(&expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_client_secret_is_fatal_writes_nothing_and_quarantines_the_connector() {
    let mut w = HermeticWorld::builder(PEOPLE).client_secret("not-the-secret").start().await;
    let r = w.cycle().await;
    assert_eq!(r.outcome(), CycleOutcome::Fatal, "{}", r.summary());
    let fatal = r.fatal.as_deref().unwrap();
    assert!(fatal.contains("401"), "{fatal}");
    assert!(!r.summary().contains("not-the-secret") && !fatal.contains("not-the-secret"), "no secret in reports");
    let c = w.zoom.request_counts();
    assert!(c.route(Route::Token) >= 1);
    assert_eq!(c.total, c.route(Route::Token), "nothing but token requests: {:?}", c.by_route);
    assert!(w.zoom_users().is_empty());
    let meta = w.meta();
    let q = meta.connector_quarantine.expect("the connector is quarantined");
    assert_eq!(q.consecutive, 1);
    assert!(q.reason.contains("401"), "{}", q.reason);
    assert!(meta.last_success.is_none());

    // Fixed secret, process restarted: a good cycle does the work and lifts the quarantine.
    let secret = w.zoom.client_secret().to_string();
    w.set_client_secret(&secret);
    w.restart();
    let r = w.cycle().await;
    assert_eq!(r.outcome(), CycleOutcome::Success, "{}", r.summary());
    assert_eq!(r.succeeded(Action::Create), PEOPLE);
    let meta = w.meta();
    assert!(meta.connector_quarantine.is_none() && meta.last_success.is_some());
    w.assert_converged(&names(0..PEOPLE));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sso_switched_off_mid_flight_stops_the_cycle_and_the_next_good_cycle_finishes() {
    let w = HermeticWorld::builder(PEOPLE).max_concurrency(1).start().await;
    w.cycle().await;
    for i in 0..5 {
        w.edit_person(i, |e| e.set("title", Some("Changed")));
    }
    w.zoom.update_knobs(|k| k.sso_enabled = false).unwrap();
    w.zoom.reset_requests();
    let r = w.cycle().await;
    assert_eq!(r.outcome(), CycleOutcome::Fatal, "{}", r.summary());
    assert!(r.fatal.as_deref().unwrap().contains("Single Sign-On"), "{:?}", r.fatal);
    // One at a time: the first update meets the fatal answer, the other four never start.
    assert_eq!((r.failed(), r.not_attempted()), (1, 4), "{}", r.summary());
    assert_eq!(w.zoom.request_counts().route(Route::PutUser), 1);
    assert!(w.zoom_users().iter().all(|u| u.title.as_deref() != Some("Changed")));
    assert!(w.meta().connector_quarantine.is_some());

    w.zoom.update_knobs(|k| k.sso_enabled = true).unwrap();
    let r = w.cycle().await;
    assert_eq!(r.outcome(), CycleOutcome::Success, "{}", r.summary());
    assert_eq!(r.succeeded(Action::Update), 5);
    for i in 0..5 {
        assert_eq!(w.zoom_user(i).title.as_deref(), Some("Changed"), "{}", user_name(i));
    }
    assert!(w.meta().connector_quarantine.is_none());
}
