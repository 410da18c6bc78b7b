//! The guards: a mass removal is held until an operator approves exactly those operations;
//! an approval a crash or shutdown interrupted is not applied again but held again, and
//! said so; an incomplete read and an empty directory deactivate nobody; a plan that could
//! not read the target says so.

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::sync::{Notify, watch};
use zoomsync::emulator::{FaultConfig, FaultSpec, Route, UserState};
use zoomsync::model::{ApprovalRun, Lifecycle};
use zoomsync::plan::Action;
use zoomsync::sync::{CycleOptions, CycleOutcome, Shutdown};

use crate::cycle::directory::{ReadMode, user_name};
use crate::cycle::target::{Halt, HaltingTarget};
use crate::cycle::world::{HermeticWorld, names};

const PEOPLE: usize = 40;

fn inactive(w: &HermeticWorld) -> BTreeSet<String> {
    w.zoom_users().into_iter().filter(|u| u.state == UserState::Inactive).map(|u| u.user_name).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mass_removal_is_held_until_approved_then_applied() {
    let w = HermeticWorld::builder(PEOPLE)
        .safety("[safety]\nmax_deactivations = 5\nmax_deactivation_percent = 50\n")
        .start()
        .await;
    w.cycle().await;

    // Within the limit: goes at once.
    w.remove_person(39);
    let r = w.cycle().await;
    assert_eq!(r.succeeded(Action::Deactivate), 1, "{}", r.summary());
    assert!(r.plan.held.is_empty());

    // 12 people gone (a bad filter, a migration): 12 > 5, all held, nothing written.
    let gone = 0..12;
    w.edit(|entries| entries.retain(|e| !gone.clone().any(|i| e.first_text("uid") == Some(&format!("user{i:03}")))));
    let planned = w.plan().await;
    assert_eq!(planned.plan.held.len(), 12, "{}", planned.summary());
    assert!(w.meta().held.is_none(), "a plan records nothing");
    w.zoom.reset_requests();
    let r = w.cycle().await;
    assert_eq!(r.outcome(), CycleOutcome::Attention, "{}", r.summary());
    assert_eq!((r.plan.held.len(), r.succeeded(Action::Deactivate)), (12, 0));
    let guard = r.plan.guard.as_deref().unwrap();
    assert!(guard.contains("exceed the limit of 5") && guard.contains("approve"), "{guard}");
    assert_eq!(w.user_writes(), 0, "nobody deactivated");
    assert_eq!(inactive(&w), names([39]));
    let held = w.meta().held.expect("held operations are recorded for status and approve");
    assert_eq!(held.ops.len(), 12);
    assert!(held.ops.iter().all(|op| op.action == "deactivate"));
    let held_names: BTreeSet<String> = held.ops.iter().map(|op| op.user_name.clone()).collect();
    assert_eq!(held_names, names(gone.clone()));

    // Held again next cycle (same `since`), still nothing written.
    let since = held.since;
    w.zoom.reset_requests();
    let r = w.cycle().await;
    assert_eq!(r.plan.held.len(), 12);
    assert_eq!(w.user_writes(), 0);
    assert_eq!(w.meta().held.unwrap().since, since);

    // `zoomsync approve`: the approval is recorded; the next cycle applies exactly those.
    let text = zoomsync::admin::render::approve(&w.store).unwrap().expect("something is held");
    assert!(text.contains("approving 12 held operation(s)"), "{text}");
    assert_eq!(w.meta().approved.as_ref().map(Vec::len), Some(12));
    w.zoom.reset_requests();
    let r = w.cycle().await;
    assert_eq!(r.outcome(), CycleOutcome::Success, "{}", r.summary());
    assert_eq!((r.succeeded(Action::Deactivate), r.plan.held.len()), (12, 0));
    assert_eq!(w.zoom.request_counts().route(Route::PatchUser), 12);
    let mut expected = names(gone);
    expected.insert(user_name(39));
    assert_eq!(inactive(&w), expected);
    let meta = w.meta();
    assert!(meta.held.is_none() && meta.approved.is_none(), "the approval is used up");

    // Nothing left to do.
    w.zoom.reset_requests();
    w.cycle().await;
    w.assert_no_requests("after the approved deactivations");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_covers_only_what_was_held() {
    let w = HermeticWorld::builder(PEOPLE)
        .safety("[safety]\nmax_deactivations = 3\nmax_deactivation_percent = 50\n")
        .start()
        .await;
    w.cycle().await;
    for i in 0..6 {
        w.remove_person(i);
    }
    let r = w.cycle().await;
    assert_eq!(r.plan.held.len(), 6, "{}", r.summary());
    zoomsync::admin::render::approve(&w.store).unwrap().unwrap();
    // Four more leave before the approved cycle runs: the six go, the four are over the
    // limit on their own (4 > 3) and are held afresh.
    for i in 6..10 {
        w.remove_person(i);
    }
    let r = w.cycle().await;
    assert_eq!(r.succeeded(Action::Deactivate), 6, "{}", r.summary());
    assert_eq!(r.plan.held.len(), 4);
    assert_eq!(inactive(&w), names(0..6));
    let held: BTreeSet<String> = w.meta().held.unwrap().ops.into_iter().map(|op| op.user_name).collect();
    assert_eq!(held, names(6..10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incomplete_read_deactivates_nobody() {
    let w = HermeticWorld::start(PEOPLE).await;
    w.cycle().await;

    // The read breaks after 15 of 40 entries: 25 users look gone, but the read says so.
    w.directory.set_mode(ReadMode::CutAfter { after: 15 });
    w.zoom.reset_requests();
    let r = w.cycle().await;
    assert_eq!(r.outcome(), CycleOutcome::Incomplete, "{}", r.summary());
    assert!(r.incomplete.as_deref().unwrap().contains("connection lost"), "{:?}", r.incomplete);
    assert_eq!(r.users_read, 15);
    assert_eq!((r.succeeded(Action::Deactivate), r.plan.held.len()), (0, 0), "not even held");
    assert!(r.plan.guard.as_deref().unwrap().contains("directory read incomplete"), "{:?}", r.plan.guard);
    assert_eq!(w.user_writes(), 0);
    assert!(inactive(&w).is_empty());
    assert!(w.meta().held.is_none(), "nothing to approve: an incomplete read is no basis for removal");
    assert!(w.known().iter().all(|k| k.lifecycle == Lifecycle::Active));

    // Changes to the users that were read still go out.
    w.edit_person(2, |e| e.set("title", Some("Read Anyway")));
    let r = w.cycle().await;
    assert_eq!((r.succeeded(Action::Update), r.succeeded(Action::Deactivate)), (1, 0), "{}", r.summary());
    assert_eq!(w.zoom_user(2).title.as_deref(), Some("Read Anyway"));

    // Complete again: nothing to do, everyone still active.
    w.directory.set_mode(ReadMode::Complete);
    w.zoom.reset_requests();
    let r = w.cycle().await;
    assert_eq!(r.outcome(), CycleOutcome::Success, "{}", r.summary());
    w.assert_no_requests("the complete read finds nothing to do");
    assert_eq!(w.zoom_users().iter().filter(|u| u.state == UserState::Active).count(), PEOPLE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_directory_is_held_not_applied() {
    let w = HermeticWorld::builder(PEOPLE)
        .safety("[safety]\nmax_deactivations = 1000\nmax_deactivation_percent = 100\n")
        .start()
        .await;
    w.cycle().await;
    let everyone = w.directory_snapshot();
    w.edit(Vec::clear);
    w.zoom.reset_requests();
    let r = w.cycle().await;
    assert_eq!(r.users_read, 0);
    assert_eq!(r.outcome(), CycleOutcome::Attention, "{}", r.summary());
    assert!(r.plan.guard.as_deref().unwrap().contains("no users at all"), "{:?}", r.plan.guard);
    assert_eq!((r.plan.held.len(), r.succeeded(Action::Deactivate)), (PEOPLE, 0));
    assert_eq!(w.user_writes(), 0, "even with limits this loose");
    assert!(inactive(&w).is_empty());

    // The directory comes back: nothing was lost, and the hold is cleared.
    w.edit(|entries| *entries = everyone);
    w.zoom.reset_requests();
    let r = w.cycle().await;
    assert_eq!(r.outcome(), CycleOutcome::Success, "{}", r.summary());
    assert!(w.meta().held.is_none());
    w.assert_no_requests("the directory is back as it was");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_plan_that_cannot_list_the_target_says_so() {
    let w = HermeticWorld::start(5).await;
    assert_eq!(w.cycle().await.outcome(), CycleOutcome::Success);
    w.remove_person(4);
    let mut faults = FaultConfig::default();
    faults.routes.insert(
        Route::ListUsers.key().into(),
        FaultSpec { error_rate: 1.0, error_status: 503, ..FaultSpec::default() },
    );
    w.zoom.set_faults(faults).unwrap();
    let r = w.cycle_with(CycleOptions { full: true, dry_run: true, ..Default::default() }).await;
    // A temporary error: not a stop, but not silent either.
    assert!(!r.stopped() && r.reconcile.is_none(), "{}", r.summary());
    let unread = r.target_unread.as_deref().expect("the failed list is reported");
    assert!(unread.contains("503"), "{unread}");
    assert!(r.summary().contains("target NOT READ"), "{}", r.summary());
    // Planned from the state: the pending deactivation shows.
    assert!(r.plan.ops.iter().any(|op| op.action == Action::Deactivate), "{:?}", r.plan.ops);
}

/// 12 people gone with a limit of 5: held, then approved. Returns the world, ready for the
/// approved cycle.
async fn approved_mass_removal(concurrency: usize) -> HermeticWorld {
    let w = HermeticWorld::builder(PEOPLE)
        .safety("[safety]\nmax_deactivations = 5\nmax_deactivation_percent = 50\n")
        .max_concurrency(concurrency)
        .start()
        .await;
    w.cycle().await;
    w.edit(|entries| entries.retain(|e| !(0..12).any(|i| e.first_text("uid") == Some(&format!("user{i:03}")))));
    let r = w.cycle().await;
    assert_eq!(r.plan.held.len(), 12, "{}", r.summary());
    zoomsync::admin::render::approve(&w.store).unwrap().expect("something is held");
    w
}

fn status(w: &HermeticWorld) -> String {
    zoomsync::admin::render::status(&w.store, false).unwrap()
}

/// A crash while an approved mass deactivation is applied: the approval is not applied
/// again by the restarted process (what is left is over the limit and held again, safe by
/// default), and `status` says the approval was interrupted and what to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_a_crash_interrupted_is_held_again_and_status_says_so() {
    const STOP_AFTER: usize = 4;
    let mut w = approved_mass_removal(1).await;
    let crashed = Arc::new(Notify::new());
    let halting = w.engine_with(HaltingTarget::new(
        w.client(),
        Halt::CrashOnDeactivation { after: STOP_AFTER, crashed: crashed.clone() },
    ));
    let (options, never) = (CycleOptions::default(), Shutdown::never());
    tokio::select! {
        r = halting.run_cycle(&options, &never) => {
            panic!("the cycle should have crashed: {:?}", r.map(|r| r.summary()));
        }
        () = crashed.notified() => {}
    }
    drop(halting);
    let meta = w.meta();
    let crashed_cycle = meta.cycle_counter;
    assert_eq!(meta.approved, None, "taken by the cycle that crashed");
    assert_eq!(meta.approval_applying, Some(ApprovalRun { cycle: crashed_cycle, ops: 12 }));
    let text = status(&w);
    assert!(text.contains(&format!("approval: cycle {crashed_cycle} is applying an approval of 12")), "{text}");
    assert_eq!(inactive(&w).len(), STOP_AFTER + 1, "deactivation {} reached Zoom", STOP_AFTER + 1);
    let recorded = w.known().iter().filter(|k| k.lifecycle != Lifecycle::Active).count();
    assert_eq!(recorded, STOP_AFTER);

    // Restarted: the 8 left are over the limit and held again, not applied.
    w.restart();
    w.zoom.reset_requests();
    let r = w.cycle().await;
    assert_eq!(r.outcome(), CycleOutcome::Attention, "{}", r.summary());
    assert_eq!((r.plan.held.len(), r.succeeded(Action::Deactivate)), (12 - recorded, 0), "{}", r.summary());
    assert_eq!(w.user_writes(), 0);
    let meta = w.meta();
    assert_eq!(meta.approval_applying, None);
    assert_eq!(meta.approval_interrupted, Some(ApprovalRun { cycle: crashed_cycle, ops: 12 }));
    assert_eq!(meta.held.as_ref().map(|h| h.ops.len()), Some(12 - recorded));
    let text = status(&w);
    assert!(
        text.contains(&format!(
            "INTERRUPTED APPROVAL: an approval of 12 operation(s) was being applied by cycle {crashed_cycle}, which \
             did not finish; the rest are held again — run `zoomsync approve` to apply them"
        )),
        "{text}"
    );
    assert!(!text.contains("is applying an approval"), "{text}");
    // Still said on the next cycle, while the rest is held.
    w.cycle().await;
    assert!(w.meta().approval_interrupted.is_some());

    // Approved again: applied, and the note goes.
    zoomsync::admin::render::approve(&w.store).unwrap().expect("the rest is held");
    let r = w.cycle().await;
    assert_eq!(r.outcome(), CycleOutcome::Success, "{}", r.summary());
    assert_eq!(r.succeeded(Action::Deactivate), 12 - recorded);
    let meta = w.meta();
    assert_eq!((meta.approval_applying, meta.approval_interrupted, meta.held), (None, None, None));
    assert!(!status(&w).contains("APPROVAL"), "{}", status(&w));
    assert_eq!(inactive(&w), names(0..12));
}

/// Shut down while an approved mass deactivation is applied: the cycle records itself, and
/// the approval as interrupted; the next cycle holds the rest again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_a_shutdown_interrupted_is_held_again() {
    let w = approved_mass_removal(1).await;
    let (signal, stop) = watch::channel(false);
    let halting = w.engine_with(HaltingTarget::new(w.client(), Halt::ShutdownAfterDeactivations { after: 3, signal }));
    let r = halting.run_cycle(&CycleOptions::default(), &Shutdown::new(stop)).await.unwrap();
    drop(halting);
    assert_eq!(r.outcome(), CycleOutcome::Interrupted, "{}", r.summary());
    let done = r.succeeded(Action::Deactivate);
    assert!((3..12).contains(&done), "{}", r.summary());
    let meta = w.meta();
    assert_eq!(meta.approval_applying, None);
    assert_eq!(meta.approval_interrupted, Some(ApprovalRun { cycle: r.cycle, ops: 12 }));

    let next = w.cycle().await;
    assert_eq!((next.plan.held.len(), next.succeeded(Action::Deactivate)), (12 - done, 0), "{}", next.summary());
    let text = status(&w);
    assert!(
        text.contains(&format!("an approval of 12 operation(s) was being applied by cycle {}", r.cycle))
            && text.contains("the rest are held again"),
        "{text}"
    );
}
