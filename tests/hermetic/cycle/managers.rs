//! Managers: `[mapping] manager = "manager"` maps the directory's manager DN, and zoomsync
//! sends the manager's Zoom id instead. A manager created in the same cycle is filled in on
//! the next one (one update carrying only `manager`); a manager outside the scope is left
//! unset, with the reason in the plan.

use zoomsync::emulator::Route;
use zoomsync::model::Field;
use zoomsync::plan::{Action, ManagerCounts};
use zoomsync::sync::{CycleOutcome, CycleReport};

use crate::cycle::directory::{PEOPLE, user_dn, user_name};
use crate::cycle::world::HermeticWorld;

const MAPPING: &str = "[mapping]\nmanager = \"manager\"\n";

/// Person 0 (A) reports to 1 (B), B to 2 (C), C to a boss who is not in the directory.
fn boss_dn() -> String {
    format!("uid=boss,{PEOPLE}")
}

async fn world() -> HermeticWorld {
    let w = HermeticWorld::builder(3).config(MAPPING).start().await;
    // Spelt as a server might (case, spaces): DNs are compared normalised.
    w.edit_person(0, |e| e.set("manager", Some(&user_dn(1).to_uppercase().replace(',', ", "))));
    w.edit_person(1, |e| e.set("manager", Some(&user_dn(2))));
    w.edit_person(2, |e| e.set("manager", Some(&boss_dn())));
    w
}

fn manager() -> Field {
    Field::from_config_name("manager").unwrap()
}

/// The manager id the emulator stored for person `i` (`enterprise.manager.value`).
fn stored_manager(w: &HermeticWorld, i: usize) -> Option<String> {
    let u = w.zoom_user(i);
    u.enterprise.get("manager").and_then(|m| m.get("value")).and_then(|v| v.as_str()).map(String::from)
}

/// An update as sent: userName, and each change as (field, new value).
type Sent = (String, Vec<(Field, Option<String>)>);

/// Every update the cycle sent, by userName.
fn updates(r: &CycleReport) -> Vec<Sent> {
    let mut out: Vec<_> = r
        .outcomes
        .iter()
        .filter(|o| o.action == Action::Update)
        .map(|o| (o.user_name.clone(), o.changes.iter().map(|c| (c.field, c.new.clone())).collect()))
        .collect();
    out.sort();
    out
}

fn note_of(r: &CycleReport, i: usize) -> Option<String> {
    r.plan.notes.iter().find(|n| n.user_name == user_name(i)).map(|n| n.note.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managers_are_sent_as_zoom_ids_once_the_managers_are_on_zoom() {
    let w = world().await;
    let out_of_scope = format!("manager {} is outside the sync scope; manager left unset", boss_dn());

    // Cycle 1: everyone created, nobody's manager on Zoom yet: no manager sent at all.
    let r = w.cycle().await;
    assert_eq!(r.outcome(), CycleOutcome::Success, "{}", r.summary());
    assert_eq!(r.succeeded(Action::Create), 3);
    let pending = ManagerCounts { not_yet_on_target: 2, out_of_scope: 1, ..Default::default() };
    assert_eq!(r.managers, pending);
    assert!(r.summary().contains("managers: 0 resolved, 2 not on Zoom yet, 1 left unset"), "{}", r.summary());
    assert!(note_of(&r, 0).unwrap().contains("is not on Zoom yet"), "{:?}", r.plan.notes);
    assert_eq!(note_of(&r, 2).as_deref(), Some(out_of_scope.as_str()));
    for i in 0..3 {
        assert_eq!(stored_manager(&w, i), None, "person {i}: no DN is ever sent");
    }
    let (a, b, c) = (w.zoom_user(0).id, w.zoom_user(1).id, w.zoom_user(2).id);

    // Cycle 2: B and C are on Zoom now: exactly two updates, each only the manager.
    w.zoom.reset_requests();
    let r = w.cycle().await;
    assert_eq!(r.outcome(), CycleOutcome::Success, "{}", r.summary());
    assert_eq!(r.managers, ManagerCounts { resolved: 2, out_of_scope: 1, ..Default::default() });
    let want =
        vec![(user_name(0), vec![(manager(), Some(b.clone()))]), (user_name(1), vec![(manager(), Some(c.clone()))])];
    assert_eq!(updates(&r), want, "what zoomsync sent");
    let counts = w.zoom.request_counts();
    assert_eq!((counts.route(Route::PutUser), w.user_writes(), counts.total), (2, 2, 2), "{counts:?}");
    assert_eq!((stored_manager(&w, 0), stored_manager(&w, 1)), (Some(b), Some(c.clone())), "what Zoom stored");
    assert_eq!(stored_manager(&w, 2), None);

    // Cycle 3: nothing changed, nothing sent; C's note still says why it has no manager.
    w.zoom.reset_requests();
    let r = w.cycle().await;
    assert_eq!((r.attempted(), r.plan.unchanged), (0, 3), "{}", r.summary());
    w.assert_no_requests("cycle 3");
    assert_eq!(note_of(&r, 2).as_deref(), Some(out_of_scope.as_str()));
    assert_eq!(r.plan.notes.len(), 1, "{:?}", r.plan.notes);

    // A now reports to C: one update, to C's id.
    w.edit_person(0, |e| e.set("manager", Some(&user_dn(2))));
    let planned = w.plan().await;
    assert_eq!(planned.plan.ops.len(), 1, "{}", planned.summary());
    w.zoom.reset_requests();
    let r = w.cycle().await;
    assert_eq!(updates(&r), vec![(user_name(0), vec![(manager(), Some(c.clone()))])]);
    assert_eq!((w.user_writes(), w.zoom.request_counts().total), (1, 1));
    assert_eq!(stored_manager(&w, 0), Some(c));
    assert_eq!(w.zoom.user(&a).map(|u| u.user_name), Some(user_name(0)), "the same Zoom user");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_already_on_zoom_is_sent_with_the_create_and_one_leaving_scope_is_cleared() {
    let w = HermeticWorld::builder(2).config(MAPPING).start().await;
    w.cycle().await;
    let boss = w.zoom_user(1).id;

    // A hire whose manager is on Zoom already: the create carries the manager.
    w.edit(|entries| entries.push(crate::cycle::directory::person_entry(2, &user_name(2))));
    w.edit_person(2, |e| e.set("manager", Some(&user_dn(1))));
    let r = w.cycle().await;
    assert_eq!((r.succeeded(Action::Create), r.attempted()), (1, 1), "{}", r.summary());
    assert_eq!(stored_manager(&w, 2), Some(boss));

    // The manager leaves the directory: deactivated, and the report's manager cleared.
    w.remove_person(1);
    w.zoom.reset_requests();
    let r = w.cycle().await;
    assert_eq!((r.succeeded(Action::Deactivate), r.succeeded(Action::Update)), (1, 1), "{}", r.summary());
    assert_eq!(updates(&r), vec![(user_name(2), vec![(manager(), None)])]);
    // Zoom's PUT clears with an empty value; the emulator may store it or drop the entry.
    let cleared = stored_manager(&w, 2);
    assert!(cleared.as_deref().is_none_or(str::is_empty), "cleared on Zoom: {cleared:?}");
    assert!(note_of(&r, 2).is_some_and(|n| n.contains("outside the sync scope")), "{:?}", r.plan.notes);
}
