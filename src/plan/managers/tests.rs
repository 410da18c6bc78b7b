use std::collections::{BTreeSet, HashMap};

use super::*;
use crate::model::{Lifecycle, Origin, ScimUser};
use crate::plan::{Action, Limits, PlanInput, changes, plan};

fn manager() -> Field {
    Field::from_config_name("manager").unwrap()
}

fn anchor(uid: &str) -> Anchor {
    Anchor::new(&format!("anchor-{uid}")).unwrap()
}

fn dn(uid: &str) -> String {
    format!("uid={uid},ou=people,dc=example,dc=com")
}

fn payload(uid: &str, manager_value: Option<&str>, active: bool) -> ScimUser {
    let mut fields = vec![(Field::UserName, format!("{uid}@example.com")), (Field::Title, "Eng".to_string())];
    if let Some(m) = manager_value {
        fields.push((manager(), m.to_string()));
    }
    ScimUser { fields: fields.into_iter().collect(), active, ..Default::default() }
}

/// A directory user whose `manager` holds `manager_dn` as mapped (the DN, not yet an id).
fn desired(uid: &str, manager_dn: Option<&str>, active: bool) -> DesiredUser {
    let user = payload(uid, manager_dn, active);
    DesiredUser {
        anchor: anchor(uid),
        dn: dn(uid),
        fingerprint: fingerprint(&user, &BTreeSet::new()),
        user,
        deferred: None,
    }
}

fn known(uid: &str, fingerprint: u64) -> (Anchor, KnownUser) {
    let k = KnownUser {
        anchor: anchor(uid),
        zoom_id: format!("z-{uid}"),
        dn: dn(uid),
        user_name: format!("{uid}@example.com"),
        fingerprint,
        lifecycle: Lifecycle::Active,
        origin: Origin::Created,
        privileged: false,
        rename_refused: None,
        not_kept: Default::default(),
    };
    (k.anchor.clone(), k)
}

fn known_all(uids: &[&str]) -> HashMap<Anchor, KnownUser> {
    uids.iter().map(|u| known(u, 0)).collect()
}

/// What a user's manager field should be after resolution: the id sent, or no field and
/// a note containing this text.
#[derive(Debug)]
enum Want {
    Id(&'static str),
    Unset(&'static str),
    NoManager,
}

fn check(desired: &Desired, notes: &[Note], uid: &str, want: &Want) {
    let user = desired.users.iter().find(|u| u.anchor == anchor(uid)).unwrap();
    let note = notes.iter().find(|n| n.anchor == user.anchor).map(|n| n.note.as_str());
    match want {
        Want::Id(id) => assert_eq!((user.user.get(manager()), note), (Some(*id), None), "{uid}"),
        Want::Unset(why) => {
            assert_eq!(user.user.get(manager()), None, "{uid}: the DN is never sent");
            assert!(note.is_some_and(|n| n.contains(why)), "{uid}: {note:?} should say {why:?}");
        }
        Want::NoManager => assert_eq!((user.user.get(manager()), note), (None, None), "{uid}"),
    }
    assert_eq!(user.fingerprint, fingerprint(&user.user, &BTreeSet::new()), "{uid}: fingerprint recomputed");
}

#[test]
fn outcome_table_after_a_complete_read() {
    // (uid, manager DN as mapped, enabled)
    let users = [
        ("a", Some("UID=b , OU=People,dc=Example,dc=com"), true), // DN spelt differently
        ("b", Some("uid=c,ou=people,dc=example,dc=com"), true),   // c enabled, not on Zoom
        ("c", Some("uid=boss,ou=people,dc=example,dc=com"), true), // nobody in scope
        ("d", Some("uid=d,ou=people,dc=example,dc=com"), true),   // itself
        ("e", Some("uid=f,ou=people,dc=example,dc=com"), true),   // f disabled, never created
        ("f", None, false),
        ("g", Some("uid=h,ou=people,dc=example,dc=com"), true), // h disabled, deactivated on Zoom
        ("h", None, false),
        ("i", Some("uid=rejected,ou=people,dc=example,dc=com"), true), // entry unreadable, known
        ("j", Some("uid=left,ou=people,dc=example,dc=com"), true),     // known, left scope
        ("k", None, true),
    ];
    let mut want = Desired { users: users.iter().map(|(u, m, a)| desired(u, *m, *a)).collect(), ..Default::default() };
    want.unreadable.insert(anchor("rejected"));
    let known = known_all(&["b", "h", "rejected", "left"]);
    let r = resolve_managers(&mut want, &known, &BTreeSet::new());

    let table = [
        ("a", Want::Id("z-b")),
        ("b", Want::Unset("is not on Zoom yet; manager is set on the cycle after it is created")),
        (
            "c",
            Want::Unset("manager uid=boss,ou=people,dc=example,dc=com is outside the sync scope; manager left unset"),
        ),
        ("d", Want::Unset("is the user itself")),
        ("e", Want::Unset("is disabled in the directory and not on Zoom")),
        ("g", Want::Id("z-h")),
        ("i", Want::Id("z-rejected")),
        ("j", Want::Unset("is outside the sync scope")),
        ("k", Want::NoManager),
    ];
    for (uid, w) in &table {
        check(&want, &r.notes, uid, w);
    }
    let counts = ManagerCounts {
        resolved: 3,
        not_yet_on_target: 1,
        disabled: 1,
        out_of_scope: 2,
        self_reference: 1,
        not_read: 0,
    };
    assert_eq!(r.counts, counts);
    assert_eq!(r.counts.total(), 8);
    let noted: Vec<&str> = r.notes.iter().map(|n| n.user_name.as_str()).collect();
    assert_eq!(noted, ["b@example.com", "c@example.com", "d@example.com", "e@example.com", "j@example.com"]);
}

#[test]
fn a_read_cut_short_keeps_managers_the_state_knows() {
    let mut want = Desired {
        users: vec![desired("a", Some(&dn("unread")), true), desired("b", Some(&dn("stranger")), true)],
        incomplete: Some("connection lost".into()),
        ..Default::default()
    };
    let r = resolve_managers(&mut want, &known_all(&["unread"]), &BTreeSet::new());
    check(&want, &r.notes, "a", &Want::Id("z-unread"));
    check(&want, &r.notes, "b", &Want::Unset("was not read (the directory read is incomplete)"));
    assert_eq!((r.counts.resolved, r.counts.not_read), (1, 1));
}

#[test]
fn nobody_with_a_manager_costs_nothing_and_changes_nothing() {
    let mut want = Desired { users: vec![desired("a", None, true)], ..Default::default() };
    let before = want.users.clone();
    let r = resolve_managers(&mut want, &HashMap::new(), &BTreeSet::new());
    assert_eq!((want.users, r.counts.total(), r.notes.len()), (before, 0, 0));
}

/// Cycle 1 created a and b without a manager (b was not on Zoom yet); now b's id is known:
/// a's fingerprint changes and the plan updates a with exactly the manager. With b's id
/// already pushed, nothing is planned.
#[test]
fn a_manager_id_becoming_known_is_an_update_of_only_the_manager() {
    let pushed_a = payload("a", None, true);
    let pushed_b = payload("b", None, true);
    let none = BTreeSet::new();
    let mut known: HashMap<Anchor, KnownUser> =
        [known("a", fingerprint(&pushed_a, &none)), known("b", fingerprint(&pushed_b, &none))].into();
    let read =
        || Desired { users: vec![desired("a", Some(&dn("b")), true), desired("b", None, true)], ..Default::default() };
    let plan_for = |mut desired: Desired, known: &HashMap<Anchor, KnownUser>| {
        resolve_managers(&mut desired, known, &none);
        plan(PlanInput {
            desired,
            known,
            failures: &HashMap::new(),
            now: 0,
            limits: Limits::unlimited(),
            approved: &[],
        })
    };

    let p = plan_for(read(), &known);
    assert_eq!((p.ops.len(), p.unchanged), (1, 1), "{:?}", p.ops);
    let op = &p.ops[0];
    assert_eq!((op.action, op.anchor.clone()), (Action::Update, anchor("a")));
    let sent = changes(&pushed_a, op.desired.as_ref().unwrap(), &none, &Default::default());
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!((sent[0].field, sent[0].old.as_deref(), sent[0].new.as_deref()), (manager(), None, Some("z-b")));

    // After the update is recorded, the same read plans nothing.
    known.get_mut(&anchor("a")).unwrap().fingerprint = op.fingerprint;
    let p = plan_for(read(), &known);
    assert_eq!((p.ops.len(), p.unchanged), (0, 2));
}

#[test]
fn only_on_create_managers_are_resolved_but_not_fingerprinted() {
    let only: BTreeSet<Field> = [manager()].into();
    let mut want =
        Desired { users: vec![desired("a", Some(&dn("b")), true), desired("b", None, true)], ..Default::default() };
    resolve_managers(&mut want, &known_all(&["b"]), &only);
    let a = &want.users[0];
    assert_eq!(a.user.get(manager()), Some("z-b"), "sent on create");
    assert_eq!(a.fingerprint, fingerprint(&payload("a", None, true), &BTreeSet::new()), "never an update");
}
