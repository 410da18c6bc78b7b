//! A cycle stopped mid-way, then finished by a new engine on the same store: every
//! directory user ends up on Zoom exactly once, and state agrees with Zoom.
//!
//! The stopping points are counted, not timed: a target wrapper requests the shutdown after
//! the Kth create, or lets create K+1 reach Zoom and never answers (the cycle future is then
//! dropped: a crash between the Zoom write and the state write); the emulator drops exactly
//! N answers after applying the request, or answers exactly N requests with 503 or 429.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::{Notify, watch};
use zoomsync::emulator::{FaultConfig, FaultSpec, RetryAfterStyle, Route};
use zoomsync::plan::Action;
use zoomsync::sync::{CycleOptions, CycleOutcome, CycleReport, OutcomeResult, Shutdown};

use crate::cycle::target::{Halt, HaltingTarget};
use crate::cycle::world::{HermeticWorld, names};

const PEOPLE: usize = 40;
const STOP_AFTER: usize = 10;

fn adopted(report: &CycleReport) -> usize {
    report
        .outcomes
        .iter()
        .filter(|o| matches!(&o.result, OutcomeResult::Warning(w) if w.contains("adopted existing Zoom user")))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cycle_shut_down_mid_way_is_finished_by_the_next_engine() {
    let mut w = HermeticWorld::start(PEOPLE).await;
    let (signal, stop) = watch::channel(false);
    let halting = w.engine_with(HaltingTarget::new(w.client(), Halt::Shutdown { after: STOP_AFTER, signal }));
    let r = halting.run_cycle(&CycleOptions::default(), &Shutdown::new(stop)).await.unwrap();
    drop(halting);
    assert_eq!(r.outcome(), CycleOutcome::Interrupted, "{}", r.summary());
    let done = r.succeeded(Action::Create);
    // The operations in flight when the signal came finish; nothing new starts.
    assert!((STOP_AFTER..STOP_AFTER + 8).contains(&done), "{}", r.summary());
    assert_eq!((done + r.not_attempted(), r.failed()), (PEOPLE, 0));
    assert_eq!(w.zoom_users().len(), done);
    assert_eq!(w.known().len(), done, "each create recorded as it finished");
    let meta = w.meta();
    assert!(meta.last_success.is_none(), "an interrupted cycle is not a success");

    w.restart();
    let r = w.cycle().await;
    assert_eq!(r.outcome(), CycleOutcome::Success, "{}", r.summary());
    assert_eq!(r.succeeded(Action::Create), PEOPLE - done);
    assert_eq!((adopted(&r), r.failed()), (0, 0), "nothing was left half-done");
    w.assert_converged(&names(0..PEOPLE));

    w.zoom.reset_requests();
    w.cycle().await;
    w.assert_no_requests("converged");
}

/// What a crash left and what the restarted cycle did.
struct AfterCrash {
    world: HermeticWorld,
    /// Users on Zoom right after the crash.
    on_zoom: usize,
    /// Users in state right after the crash.
    recorded: usize,
    restarted: CycleReport,
}

/// Runs a first cycle that crashes when create `STOP_AFTER + 1` has reached Zoom, then
/// restarts on the same store and runs one more cycle.
async fn crash_then_restart(concurrency: usize) -> AfterCrash {
    let mut w = HermeticWorld::builder(PEOPLE).max_concurrency(concurrency).start().await;
    let crashed = Arc::new(Notify::new());
    let halting =
        w.engine_with(HaltingTarget::new(w.client(), Halt::Crash { after: STOP_AFTER, crashed: crashed.clone() }));
    let (options, never) = (CycleOptions::default(), Shutdown::never());
    tokio::select! {
        r = halting.run_cycle(&options, &never) => {
            panic!("the cycle should have crashed: {:?}", r.map(|r| r.summary()));
        }
        () = crashed.notified() => {}
    }
    // The process is gone: the cycle future (and every request it had in flight) dropped.
    drop(halting);
    let on_zoom = w.zoom_users().len();
    let recorded = w.known().len();
    // Create K+1 can only start once all but `concurrency - 1` of the first K have finished.
    assert!(recorded + concurrency > STOP_AFTER, "{recorded}");
    assert!(on_zoom > recorded, "create {} reached Zoom but not state: {on_zoom} vs {recorded}", STOP_AFTER + 1);
    assert!(on_zoom < PEOPLE, "stopped mid-way: {on_zoom}");
    assert!(w.meta().last_success.is_none(), "the crashed cycle recorded no end");

    // Restarted on the same store: the orphans answer 409 and are adopted, the rest created.
    w.restart();
    w.zoom.reset_requests();
    let restarted = w.cycle().await;
    assert_eq!(restarted.outcome(), CycleOutcome::Success, "{}", restarted.summary());
    assert_eq!(restarted.failed(), 0);
    assert_eq!(restarted.succeeded(Action::Create), PEOPLE - recorded, "{}", restarted.summary());
    if concurrency == 1 {
        // (With more at once, a request the dead process had already written may still be
        // read by the emulator now and counted here.)
        assert_eq!(w.zoom.request_counts().route(Route::CreateUser) as usize, PEOPLE - recorded, "one POST each");
    }
    assert!(adopted(&restarted) >= 1, "the crashed create is adopted: {:?}", restarted.outcomes);
    w.assert_converged(&names(0..PEOPLE));
    w.zoom.reset_requests();
    w.cycle().await;
    w.assert_no_requests("converged");
    AfterCrash { world: w, on_zoom, recorded, restarted }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_the_zoom_write_and_the_state_write_is_repaired_exactly() {
    // One operation at a time: the crash point is exact.
    let after = crash_then_restart(1).await;
    assert_eq!((after.on_zoom, after.recorded), (STOP_AFTER + 1, STOP_AFTER));
    assert_eq!(adopted(&after.restarted), 1);
    let orphan = &after.restarted.outcomes.iter().find(|o| o.result.name() == "warning").unwrap().user_name;
    let k = after.world.known_by_name(orphan);
    assert_eq!(k.origin, zoomsync::model::Origin::Adopted, "{k:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_with_creates_in_flight_leaves_no_duplicates() {
    // Eight at a time: whatever else was in flight when the process died may or may not have
    // reached Zoom; either way each user ends up there once.
    let after = crash_then_restart(8).await;
    assert!(adopted(&after.restarted) >= after.on_zoom - after.recorded, "{:?}", after.restarted.outcomes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_server_errors_and_429s_are_retried_without_duplicates() {
    let w = HermeticWorld::start(PEOPLE).await;
    // Three create attempts are applied, then the connection drops before the answer; the
    // first four other requests answer 503.
    let mut routes = BTreeMap::new();
    routes.insert(
        Route::CreateUser.key().to_string(),
        FaultSpec { drop_rate: 1.0, apply_before_fault: true, times: Some(3), ..FaultSpec::default() },
    );
    let global = FaultSpec { error_rate: 1.0, error_status: 503, times: Some(4), ..FaultSpec::default() };
    w.zoom.set_faults(FaultConfig { global, routes }).unwrap();

    let r = w.cycle().await;
    assert_eq!(r.outcome(), CycleOutcome::Success, "{}", r.summary());
    assert_eq!((r.succeeded(Action::Create), r.failed()), (PEOPLE, 0));
    let c = w.zoom.request_counts();
    assert_eq!((c.dropped(), c.status(503)), (3, 4), "{:?}", c.by_status);
    // Each lost create was retried (one more POST per drop; a retry may itself be dropped),
    // met 409 because it had happened, and adopted its own user.
    assert_eq!(c.route(Route::CreateUser), PEOPLE as u64 + 3);
    let lost_users = c.route_status(Route::CreateUser, 409) as usize;
    assert!((1..=3).contains(&lost_users), "{:?}", c.by_route_status);
    assert_eq!(adopted(&r), lost_users);
    assert_eq!(c.route_status(Route::CreateUser, 201) as usize, PEOPLE - lost_users);
    w.assert_converged(&names(0..PEOPLE));

    // Other apps spend the account's budget: the next four updates answer 429 (no
    // Retry-After, so the client's own backoff) and are retried, each sent through once.
    let mut routes = BTreeMap::new();
    routes.insert(
        Route::PutUser.key().to_string(),
        FaultSpec { error_rate: 1.0, error_status: 429, times: Some(4), ..FaultSpec::default() },
    );
    w.zoom.set_faults(FaultConfig { routes, ..FaultConfig::default() }).unwrap();
    w.zoom.update_knobs(|k| k.retry_after = RetryAfterStyle::None).unwrap();
    for i in 0..5 {
        w.edit_person(i, |e| e.set("title", Some("Budget")));
    }
    w.zoom.reset_requests();
    let r = w.cycle().await;
    assert_eq!(r.outcome(), CycleOutcome::Success, "{}", r.summary());
    assert_eq!((r.succeeded(Action::Update), r.failed()), (5, 0));
    let c = w.zoom.request_counts();
    assert_eq!((c.route_status(Route::PutUser, 429), c.route_status(Route::PutUser, 200)), (4, 5));
    assert!((0..5).all(|i| w.zoom_user(i).title.as_deref() == Some("Budget")));

    w.zoom.reset_requests();
    w.cycle().await;
    w.assert_no_requests("converged");
}
