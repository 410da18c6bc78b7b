//! Users already on Zoom: adopted by userName (case-insensitively) instead of duplicated;
//! a Zoom user another directory entry owns is refused; a pending invitee is not adopted;
//! an owner or admin is adopted but never deactivated.

use serde_json::json;
use zoomsync::emulator::{Role, Route, SeedUser, UserState};
use zoomsync::model::{Lifecycle, Origin};
use zoomsync::plan::Action;
use zoomsync::sync::{CycleOutcome, OutcomeResult};

use crate::cycle::directory::{person_entry, user_name};
use crate::cycle::world::{HermeticWorld, names};

const PEOPLE: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_zoom_users_are_adopted_not_duplicated() {
    let w = HermeticWorld::start(PEOPLE).await;
    let upper = w.zoom.seed_user(SeedUser::new("USER003@example.com").attribute("title", json!("Old title"))).unwrap();
    let plain = w.zoom.seed_user(SeedUser::new(user_name(4))).unwrap();

    let planned = w.plan().await;
    assert_eq!(planned.reconcile.as_ref().unwrap().adopted, 2, "{}", planned.summary());
    assert_eq!(planned.plan.count(Action::Create), PEOPLE - 2);
    assert!(w.known().is_empty(), "the plan adopted nothing for real");

    let r = w.cycle().await;
    assert_eq!(r.outcome(), CycleOutcome::Success, "{}", r.summary());
    assert_eq!(r.reconcile.as_ref().unwrap().adopted, 2);
    assert_eq!(r.succeeded(Action::Create), PEOPLE - 2);
    assert_eq!(w.zoom.request_counts().route(Route::CreateUser), (PEOPLE - 2) as u64, "no create for the adopted");
    assert_eq!(w.zoom_users().len(), PEOPLE, "adopted, never duplicated");
    for (id, i) in [(&upper.id, 3), (&plain.id, 4)] {
        let k = w.known().into_iter().find(|k| &k.zoom_id == id).unwrap();
        assert_eq!((k.origin, k.lifecycle), (Origin::Adopted, Lifecycle::Active), "{k:?}");
        assert_eq!(k.anchor.as_str(), crate::cycle::directory::entry_uuid(i));
        let u = w.zoom.user(id).unwrap();
        assert_eq!(u.title.as_deref(), Some(format!("Engineer {}", i % 5).as_str()), "brought in line");
        assert_eq!(u.given_name.as_deref(), Some(format!("Given{i}").as_str()));
    }

    w.zoom.reset_requests();
    w.cycle().await;
    w.assert_no_requests("adopted users are in step");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zoom_user_owned_by_another_anchor_is_refused() {
    let w = HermeticWorld::start(PEOPLE).await;
    w.cycle().await;
    let owned = w.zoom_user(5);

    // Person 5 moves to a new address; Zoom keeps the old login (its default).
    w.edit_person(5, |e| e.set("mail", Some("moved@example.com")));
    w.cycle().await;
    assert_eq!(w.zoom.user(&owned.id).unwrap().user_name, user_name(5));

    // A new person takes person 5's old address: Zoom says it exists, and the user it finds
    // belongs to person 5's anchor. Refused, with a reason an operator can act on.
    w.edit(|entries| entries.push(person_entry(90, &user_name(5))));
    let r = w.cycle().await;
    assert_eq!(r.outcome(), CycleOutcome::Attention, "{}", r.summary());
    let o = r.outcomes.iter().find(|o| o.user_name == user_name(5)).unwrap();
    match &o.result {
        OutcomeResult::Failed(reason) => {
            assert!(reason.contains("already belongs to anchor"), "{reason}");
            assert!(reason.contains(crate::cycle::directory::entry_uuid(5).as_str()), "{reason}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(w.zoom_users().len(), PEOPLE, "no second user");
    let k = w.known().into_iter().find(|k| k.zoom_id == owned.id).unwrap();
    assert_eq!(k.anchor.as_str(), crate::cycle::directory::entry_uuid(5), "ownership unchanged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_invitee_is_neither_adopted_nor_duplicated() {
    let w = HermeticWorld::start(PEOPLE).await;
    let pending = w.zoom.seed_user(SeedUser::new(user_name(7)).state(UserState::Pending)).unwrap();

    for cycle in 1..=2 {
        let r = w.cycle().await;
        assert_eq!(r.outcome(), CycleOutcome::Attention, "{}", r.summary());
        assert_eq!(r.failed(), 1, "cycle {cycle}: {}", r.summary());
        let o = r.outcomes.iter().find(|o| o.user_name == user_name(7)).unwrap();
        assert!(
            matches!(&o.result, OutcomeResult::Failed(d) if d.contains("pending")),
            "a pending user cannot be adopted: {:?}",
            o.result
        );
        let same_name: Vec<_> = w.zoom.users().into_iter().filter(|u| u.user_name == user_name(7)).collect();
        assert_eq!(same_name.len(), 1, "no duplicate of the invitee");
        assert_eq!((same_name[0].id.as_str(), same_name[0].state), (pending.id.as_str(), UserState::Pending));
        assert!(w.known().iter().all(|k| k.zoom_id != pending.id));
    }
    let mut others = names(0..PEOPLE);
    others.remove(&user_name(7));
    let active: std::collections::BTreeSet<String> =
        w.zoom_users().into_iter().filter(|u| u.state == UserState::Active).map(|u| u.user_name).collect();
    assert_eq!(active, others);

    // The invitation is withdrawn in Zoom: the next cycle creates the user.
    w.zoom.remove_user(&pending.id).unwrap();
    let r = w.cycle().await;
    assert_eq!(r.outcome(), CycleOutcome::Success, "{}", r.summary());
    assert_eq!(r.succeeded(Action::Create), 1);
    w.assert_converged(&names(0..PEOPLE));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_is_adopted_but_never_deactivated() {
    let w = HermeticWorld::start(PEOPLE).await;
    let admin = w.zoom.seed_user(SeedUser::new(user_name(8)).role(Role::Admin)).unwrap();
    let r = w.cycle().await;
    assert_eq!(r.reconcile.as_ref().unwrap().adopted, 1, "{}", r.summary());
    assert_eq!(r.succeeded(Action::Create), PEOPLE - 1);
    w.assert_converged(&names(0..PEOPLE));

    // The admin is locked in the directory: looked at, left active, marked.
    w.lock(8);
    w.zoom.reset_requests();
    let r = w.cycle().await;
    let o = r.outcomes.iter().find(|o| o.user_name == user_name(8)).unwrap();
    assert!(matches!(&o.result, OutcomeResult::Warning(w) if w.contains("owner or admin")), "{:?}", o.result);
    assert_eq!(w.zoom.user(&admin.id).unwrap().state, UserState::Active);
    assert_eq!(w.zoom.request_counts().route(Route::GetUser), 1);
    assert_eq!(w.user_writes(), 0, "no deactivation was even tried");
    assert!(w.known().into_iter().find(|k| k.zoom_id == admin.id).unwrap().privileged);

    // From now on skipped without asking Zoom.
    w.zoom.reset_requests();
    let r = w.cycle().await;
    assert!(r.plan.skipped.iter().any(|s| s.reason.contains("owner or admin")), "{:?}", r.plan.skipped);
    w.assert_no_requests("a privileged user is skipped");
}
