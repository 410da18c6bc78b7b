use std::collections::{BTreeSet, HashMap};

use proptest::prelude::*;

use super::*;
use crate::model::Anchor;
use crate::model::{FailureRecord, HeldOp, KnownUser, Lifecycle, Origin};
use crate::model::{Field, ScimUser};

fn anchor(i: usize) -> Anchor {
    Anchor::new(&format!("a{i:03}")).unwrap()
}

fn scim(i: usize, title: &str, active: bool) -> ScimUser {
    ScimUser {
        fields: [(Field::UserName, format!("u{i}@example.com")), (Field::Title, title.to_string())]
            .into_iter()
            .collect(),
        active,
        ..Default::default()
    }
}

fn desired_user(i: usize, title: &str, active: bool) -> DesiredUser {
    let user = scim(i, title, active);
    DesiredUser {
        anchor: anchor(i),
        dn: format!("uid=u{i}"),
        fingerprint: fingerprint(&user, &BTreeSet::new()),
        user,
        deferred: None,
    }
}

fn known_user(i: usize, title: &str, lifecycle: Lifecycle) -> KnownUser {
    KnownUser {
        anchor: anchor(i),
        zoom_id: format!("z{i}"),
        dn: format!("uid=u{i}"),
        user_name: format!("u{i}@example.com"),
        fingerprint: fingerprint(&scim(i, title, true), &BTreeSet::new()),
        lifecycle,
        origin: Origin::Created,
        privileged: false,
        rename_refused: None,
        not_kept: Default::default(),
    }
}

struct World {
    desired: Desired,
    known: HashMap<Anchor, KnownUser>,
    failures: HashMap<Anchor, FailureRecord>,
    limits: Limits,
    approved: Vec<HeldOp>,
}

impl World {
    fn new() -> Self {
        Self {
            desired: Desired::default(),
            known: HashMap::new(),
            failures: HashMap::new(),
            limits: Limits::unlimited(),
            approved: vec![],
        }
    }
    fn want(mut self, i: usize, title: &str, active: bool) -> Self {
        self.desired.users.push(desired_user(i, title, active));
        self
    }
    fn knows(mut self, i: usize, title: &str, lifecycle: Lifecycle) -> Self {
        self.known.insert(anchor(i), known_user(i, title, lifecycle));
        self
    }
    fn plan(&self) -> Plan {
        plan(PlanInput {
            desired: self.desired.clone(),
            known: &self.known,
            failures: &self.failures,
            now: 1_000_000,
            limits: self.limits,
            approved: &self.approved,
        })
    }
}

fn actions(p: &Plan) -> Vec<(Action, String)> {
    p.ops.iter().map(|o| (o.action, o.anchor.to_string())).collect()
}

#[test]
fn lifecycle_table() {
    let deactivated_long_ago = Lifecycle::Deactivated { since: 0 };
    let deactivated_now = Lifecycle::Deactivated { since: 999_999 };
    let mut w = World::new()
        .want(1, "Eng", true) // new -> create
        .want(2, "Eng", false) // new but disabled -> skip
        .want(3, "Eng", true)
        .knows(3, "Eng", Lifecycle::Active) // unchanged
        .want(4, "Mgr", true)
        .knows(4, "Eng", Lifecycle::Active) // update
        .want(5, "Eng", false)
        .knows(5, "Eng", Lifecycle::Active) // deactivate
        .knows(6, "Eng", Lifecycle::Active) // gone -> deactivate
        .want(7, "Eng", true)
        .knows(7, "Eng", deactivated_now) // reactivate
        .want(8, "Eng", false)
        .knows(8, "Eng", deactivated_long_ago) // delete after grace
        .knows(9, "Eng", deactivated_now) // gone, grace not over -> unchanged
        .knows(10, "Eng", Lifecycle::Active); // unreadable -> unchanged
    w.desired.unreadable.insert(anchor(10));
    w.limits.delete_after = Some(86_400);
    let p = w.plan();
    assert_eq!(
        actions(&p),
        vec![
            (Action::Create, "a001".into()),
            (Action::Update, "a004".into()),
            (Action::Reactivate, "a007".into()),
            (Action::Deactivate, "a005".into()),
            (Action::Deactivate, "a006".into()),
            (Action::Delete, "a008".into()),
        ]
    );
    assert_eq!(p.unchanged, 3);
    assert_eq!(p.skipped.len(), 1);
    assert!(p.skipped[0].reason.contains("disabled"));
    assert!(p.guard.is_none());
}

#[test]
fn incomplete_read_removes_nobody() {
    let mut w = World::new().want(1, "Mgr", true).knows(1, "Eng", Lifecycle::Active).want(2, "Eng", false);
    w = w.knows(2, "Eng", Lifecycle::Active).knows(3, "Eng", Lifecycle::Active);
    w.desired.incomplete = Some("server went away".into());
    let p = w.plan();
    assert_eq!(actions(&p), vec![(Action::Update, "a001".into())]);
    assert!(p.held.is_empty(), "an incomplete read is not approvable");
    assert!(p.guard.unwrap().contains("incomplete"));
}

#[test]
fn empty_directory_holds_everything() {
    let w = World::new().knows(1, "Eng", Lifecycle::Active).knows(2, "Eng", Lifecycle::Active);
    let p = w.plan();
    assert!(p.ops.is_empty());
    assert_eq!(p.held.len(), 2);
    assert!(p.guard.unwrap().contains("no users"));
}

#[test]
fn limits_hold_mass_removal_until_approved() {
    let mut w = World::new();
    for i in 0..100 {
        w = w.knows(i, "Eng", Lifecycle::Active);
        if i >= 30 {
            w = w.want(i, "Eng", true);
        }
    }
    w.limits =
        Limits { max_deactivations: 50, max_deactivation_percent: 10.0, delete_after: None, change_window: 3600 };
    let p = w.plan();
    assert!(p.ops.is_empty());
    assert_eq!(p.held.len(), 30);
    assert!(p.guard.as_deref().unwrap().contains("limit of 10"), "{:?}", p.guard);
    // Approving exactly those lets them go; one more removal is judged on its own.
    w.approved = p.held.iter().map(guard::held_op).collect();
    w.desired.users.retain(|d| d.anchor != anchor(30));
    let p = w.plan();
    assert_eq!(p.count(Action::Deactivate), 31, "30 approved + 1 within the limit");
    assert!(p.held.is_empty());
}

#[test]
fn limits_allow_at_least_one_and_count_percent_of_managed() {
    let l = Limits { max_deactivations: 50, max_deactivation_percent: 10.0, delete_after: None, change_window: 3600 };
    assert_eq!(l.allowed(5), 1);
    assert_eq!(l.allowed(2_000), 50);
    assert_eq!(l.allowed(300), 30);
    let strict = Limits { max_deactivations: 0, ..l };
    assert_eq!(strict.allowed(1000), 0);
}

#[test]
fn quarantine_skips_until_source_changes_or_time_passes() {
    let mut w = World::new().want(1, "Eng", true);
    let fp = w.desired.users[0].fingerprint;
    let failure = |next_attempt, source_fingerprint| FailureRecord {
        anchor: anchor(1),
        dn: "uid=u1".into(),
        user_name: "u1@example.com".into(),
        attempts: 3,
        last_error: "rejected (400): bad".into(),
        class: crate::model::FailureClass::Rejected,
        first_failed: 0,
        last_failed: 0,
        next_attempt,
        source_fingerprint,
        quarantined: true,
    };
    w.failures.insert(anchor(1), failure(2_000_000, fp));
    let p = w.plan();
    assert!(p.ops.is_empty());
    assert!(p.skipped[0].reason.contains("quarantined"));
    w.failures.insert(anchor(1), failure(2_000_000, fp ^ 1));
    assert_eq!(w.plan().count(Action::Create), 1, "edited in the directory: released");
    w.failures.insert(anchor(1), failure(999_999, fp));
    assert_eq!(w.plan().count(Action::Create), 1, "next attempt is due");
    // A managed user whose update is quarantined is still in the directory: not gone.
    let mut w = World::new().want(1, "Eng", true).knows(1, "Ops", Lifecycle::Active).knows(2, "Ops", Lifecycle::Active);
    let fp = w.desired.users[0].fingerprint;
    w.failures.insert(anchor(1), failure(2_000_000, fp));
    let p = w.plan();
    assert_eq!(actions(&p), [(Action::Deactivate, anchor(2).to_string())], "{p:?}");
}

/// What the target and state look like after every op succeeds (the engine's job).
fn simulate(known: &mut HashMap<Anchor, KnownUser>, p: &Plan) {
    for op in &p.ops {
        match op.action {
            Action::Create | Action::Update | Action::Reactivate => {
                let mut k = known_user(0, "", Lifecycle::Active);
                k.anchor = op.anchor.clone();
                k.fingerprint = op.fingerprint;
                known.insert(op.anchor.clone(), k);
            }
            Action::Deactivate => {
                if let Some(k) = known.get_mut(&op.anchor) {
                    k.lifecycle = Lifecycle::Deactivated { since: 1_000_000 };
                }
            }
            Action::Delete => {
                known.remove(&op.anchor);
            }
        }
    }
}

proptest! {
    /// For random known and desired sets, applying the plan to known yields desired, and
    /// planning again yields an empty plan.
    #[test]
    fn plan_converges(
        wanted in proptest::collection::btree_map(0usize..30, (0u8..3, any::<bool>()), 0..30),
        knew in proptest::collection::btree_map(0usize..30, (0u8..3, any::<bool>()), 0..30),
    ) {
        // An empty directory is the guarded case (held, tested above), not a convergence case.
        prop_assume!(!wanted.is_empty());
        let mut w = World::new();
        for (i, (title, active)) in &wanted {
            w = w.want(*i, &format!("t{title}"), *active);
        }
        for (i, (title, active)) in &knew {
            let life = if *active { Lifecycle::Active } else { Lifecycle::Deactivated { since: 999_000 } };
            w = w.knows(*i, &format!("t{title}"), life);
        }
        let p = w.plan();
        prop_assert!(p.held.is_empty());
        simulate(&mut w.known, &p);
        for d in &w.desired.users {
            match (w.known.get(&d.anchor), d.user.active) {
                (Some(k), true) => {
                    prop_assert_eq!(k.lifecycle, Lifecycle::Active);
                    prop_assert_eq!(k.fingerprint, d.fingerprint);
                }
                (Some(k), false) => prop_assert!(k.lifecycle != Lifecycle::Active),
                (None, active) => prop_assert!(!active),
            }
        }
        for (a, k) in &w.known {
            if !wanted.contains_key(&a.as_str()[1..].parse::<usize>().unwrap()) {
                prop_assert!(k.lifecycle != Lifecycle::Active);
            }
        }
        let again = w.plan();
        prop_assert!(again.is_empty(), "second plan: {:?}", actions(&again));
    }
}

/// A change-channel batch: the plan acts on the batch's users and named departures only,
/// and the guard counts the removals the channel already applied within its window.
#[test]
fn a_batch_of_changes_plans_only_its_users_and_departures() {
    let mut w = World::new();
    for i in 0..20 {
        w = w.knows(i, "Eng", Lifecycle::Active);
    }
    let batch = |w: World, gone: &[usize], recent: u64| {
        let mut w = w;
        w.desired.changes =
            Some(ChangeScope { gone: gone.iter().map(|i| anchor(*i)).collect(), recent_removals: recent });
        w
    };
    let table: Vec<(&str, World, Actions)> = vec![
        (
            "one title change: one update, nobody else touched",
            batch(clone_known(&w).want(3, "Mgr", true), &[], 0),
            vec![(Action::Update, "a003".into())],
        ),
        ("a hire", batch(clone_known(&w).want(50, "Eng", true), &[], 0), vec![(Action::Create, "a050".into())]),
        ("a disable", batch(clone_known(&w).want(4, "Eng", false), &[], 0), vec![(Action::Deactivate, "a004".into())]),
        (
            "a departure alone is no empty directory",
            batch(clone_known(&w), &[5], 0),
            vec![(Action::Deactivate, "a005".into())],
        ),
        ("named gone but present again: not gone", batch(clone_known(&w).want(6, "Eng", true), &[6], 0), vec![]),
        ("an unknown departure: nothing", batch(clone_known(&w), &[99], 0), vec![]),
    ];
    for (what, world, want) in table {
        let p = world.plan();
        assert_eq!(actions(&p), want, "{what}");
        assert!(p.held.is_empty() && p.guard.is_none(), "{what}: {:?}", p.guard);
        let unchanged = usize::from(what.starts_with("named"));
        assert_eq!(p.unchanged, unchanged, "{what}: only the batch's users are counted");
    }

    // Limit 3 (max_deactivations): 2 departures pass alone, and are held after 2 earlier ones.
    let limited = |recent| {
        let mut w = batch(clone_known(&w), &[7, 8], recent);
        w.limits = Limits { max_deactivations: 3, ..Limits::unlimited() };
        w.plan()
    };
    let p = limited(1);
    assert_eq!(p.ops.len(), 2, "{:?}", p.guard);
    let p = limited(2);
    assert!(p.ops.is_empty() && p.held.len() == 2);
    let reason = p.guard.unwrap();
    assert!(reason.contains("with the 2 the change channel applied or held within safety.change_window"), "{reason}");
}

type Actions = Vec<(Action, String)>;

fn clone_known(w: &World) -> World {
    World { known: w.known.clone(), ..World::new() }
}
