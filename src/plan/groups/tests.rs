use std::collections::BTreeSet;

use super::*;

fn a(s: &str) -> Anchor {
    Anchor::new(s).unwrap()
}

fn desired(name: &str, members: &[&str]) -> DesiredGroup {
    DesiredGroup {
        anchor: a(&format!("g-{name}")),
        dn: format!("cn={name},ou=groups"),
        zoom_name: name.to_string(),
        members: members.iter().map(|m| a(m)).collect::<BTreeSet<_>>(),
    }
}

fn known(name: &str, members: &[&str], created: bool) -> (Anchor, KnownGroup) {
    let k = KnownGroup {
        anchor: a(&format!("g-{name}")),
        dn: format!("cn={name},ou=groups"),
        zoom_id: format!("z-{name}"),
        zoom_name: name.to_string(),
        created,
        members: members.iter().map(|m| (a(m), format!("id-{m}"))).collect(),
    };
    (k.anchor.clone(), k)
}

fn ids(users: &[&str]) -> HashMap<Anchor, String> {
    users.iter().map(|u| (a(u), format!("id-{u}"))).collect()
}

struct Case<'a> {
    desired: Vec<DesiredGroup>,
    known: Vec<(Anchor, KnownGroup)>,
    users: &'a [&'a str],
    keep: &'a [&'a str],
    complete: bool,
}

impl Case<'_> {
    fn run(&self) -> GroupPlan {
        let known: HashMap<Anchor, KnownGroup> = self.known.iter().cloned().collect();
        let user_ids = ids(self.users);
        let keep: HashSet<Anchor> = self.keep.iter().map(|k| a(k)).collect();
        plan_groups(&GroupPlanInput {
            desired: &self.desired,
            known: &known,
            user_ids: &user_ids,
            keep: &keep,
            removals_allowed: self.complete,
            deletions_allowed: self.complete,
            delete_created: true,
            batch: &zoom_batches,
        })
    }
}

/// Each op as "<change> <group> [anchors]".
fn lines(plan: &GroupPlan) -> Vec<String> {
    plan.ops
        .iter()
        .map(|op| match &op.change {
            GroupChange::Members { anchors, .. } => {
                let who: Vec<&str> = anchors.iter().map(Anchor::as_str).collect();
                format!("{} {} {}", op.change.name(), op.zoom_name, who.join(","))
            }
            other => format!("{} {}", other.name(), op.zoom_name),
        })
        .collect()
}

#[test]
fn group_plan_table() {
    let all = &["u1", "u2", "u3"];
    let cases: Vec<(&str, Case, Vec<&str>)> = vec![
        (
            "new group: link, then add the managed members",
            Case {
                desired: vec![desired("phone", &["u1", "u2"])],
                known: vec![],
                users: all,
                keep: &[],
                complete: true,
            },
            vec!["group_link phone", "group_add phone u1,u2"],
        ),
        (
            "no change: nothing",
            Case {
                desired: vec![desired("phone", &["u1", "u2"])],
                known: vec![known("phone", &["u1", "u2"], true)],
                users: all,
                keep: &[],
                complete: true,
            },
            vec![],
        ),
        (
            "user moved between groups: one remove, one add",
            Case {
                desired: vec![desired("a", &["u2"]), desired("b", &["u1"])],
                known: vec![known("a", &["u1", "u2"], true), known("b", &[], true)],
                users: all,
                keep: &[],
                complete: true,
            },
            vec!["group_remove a u1", "group_add b u1"],
        ),
        (
            "incomplete read: adds only, nothing removed or deleted",
            Case {
                desired: vec![desired("a", &["u3"])],
                known: vec![known("a", &["u1"], true), known("gone", &["u2"], true)],
                users: all,
                keep: &[],
                complete: false,
            },
            vec!["group_add a u3"],
        ),
        (
            "held deactivation keeps its memberships",
            Case {
                desired: vec![desired("a", &[])],
                known: vec![known("a", &["u1", "u2"], true)],
                users: all,
                keep: &["u1"],
                complete: true,
            },
            vec!["group_remove a u2"],
        ),
        (
            "members without a Zoom id wait",
            Case { desired: vec![desired("a", &["u1", "new"])], known: vec![], users: all, keep: &[], complete: true },
            vec!["group_link a", "group_add a u1"],
        ),
        (
            "created group gone: deleted; linked group gone: unlinked",
            Case {
                desired: vec![],
                known: vec![known("mine", &["u1"], true), known("theirs", &["u1"], false)],
                users: all,
                keep: &[],
                complete: true,
            },
            vec!["group_delete mine", "group_unlink theirs"],
        ),
    ];
    for (what, case, expected) in cases {
        assert_eq!(lines(&case.run()), expected, "{what}");
    }
}

#[test]
fn standing_table() {
    use InDirectory::{Absent, Disabled, Enabled, Unreadable};
    use OnTarget::{Active, Deactivated, Missing};
    use Standing::{Awaited, Keeps, Member, Out};
    let cases = [
        (Enabled, Active, Member, "enabled and active: a member"),
        (Enabled, Missing, Awaited, "being created (or quarantined): added once it exists"),
        (Enabled, Deactivated, Awaited, "being reactivated: rejoins once active"),
        (Disabled, Active, Keeps, "deactivation held, failing, or an owner/admin: keeps, gains nothing"),
        (Disabled, Deactivated, Out, "deactivated (this cycle or before): leaves, never added"),
        (Disabled, Missing, Out, "disabled before it was ever created: never added"),
        (Absent, Active, Keeps, "left the scope, deactivation not done yet: keeps"),
        (Absent, Deactivated, Out, "left the scope and deactivated: leaves"),
        (Absent, Missing, Out, "deleted or forgotten: leaves"),
        (Unreadable, Active, Keeps, "unreadable entry: nothing decided"),
        (Unreadable, Deactivated, Keeps, "unreadable entry: nothing decided"),
        (Unreadable, Missing, Keeps, "unreadable entry: nothing decided"),
    ];
    for (directory, target, expected, what) in cases {
        assert_eq!(standing(directory, target), expected, "{what}");
    }
}

#[test]
fn renamed_zoom_name_is_a_rename() {
    let mut d = desired("phone", &["u1"]);
    d.zoom_name = "Zoom Phone".into();
    let plan = Case {
        desired: vec![d],
        known: vec![known("phone", &["u1"], true)],
        users: &["u1"],
        keep: &[],
        complete: true,
    }
    .run();
    assert_eq!(lines(&plan), ["group_rename Zoom Phone"]);
    assert_eq!(plan.ops[0].change, GroupChange::Rename { from: "phone".into() });
}

#[test]
fn a_changed_zoom_id_is_swapped_even_when_removals_are_withheld() {
    let (anchor, mut k) = known("a", &["u1"], true);
    k.members.insert(a("u1"), "old-id".into());
    let plan = Case {
        desired: vec![desired("a", &["u1"])],
        known: vec![(anchor, k)],
        users: &["u1"],
        keep: &[],
        complete: false,
    }
    .run();
    assert_eq!(lines(&plan), ["group_remove a u1", "group_add a u1"]);
}

#[test]
fn withheld_counts_are_reported() {
    let plan = Case {
        desired: vec![desired("a", &[])],
        known: vec![known("a", &["u1", "u2"], true), known("gone", &[], true)],
        users: &["u1", "u2"],
        keep: &[],
        complete: false,
    }
    .run();
    assert!(plan.ops.is_empty());
    assert_eq!((plan.removals_withheld, plan.deletions_withheld), (2, 1));
}

#[test]
fn five_thousand_members_are_batched_under_the_limit() {
    let users: Vec<String> = (0..5000).map(|i| format!("user-{i:05}")).collect();
    let refs: Vec<&str> = users.iter().map(String::as_str).collect();
    let plan = Case {
        desired: vec![desired("big", &refs)],
        known: vec![known("big", &[], true)],
        users: &refs,
        keep: &[],
        complete: true,
    }
    .run();
    assert!(plan.ops.len() > 1, "one PATCH cannot hold 5,000 members under 100,000 characters");
    let mut seen = BTreeSet::new();
    for op in &plan.ops {
        let GroupChange::Members { patch, anchors, remove: false } = &op.change else { panic!("{op:?}") };
        let body = crate::scim::group_body::member_patch_body(patch);
        assert!(body.chars().count() < 100_000, "{} characters", body.chars().count());
        assert_eq!(anchors.len(), patch.ids().len());
        seen.extend(anchors.iter().cloned());
    }
    assert_eq!(seen.len(), 5000);
    assert_eq!(plan.member_counts(), (5000, 0));
}

/// Zoom's batching, as `sync` passes it.
fn zoom_batches(add: &[String], remove: &[String]) -> Vec<MemberPatch> {
    crate::scim::group_body::member_batches(add, remove, crate::scim::group_body::ZOOM_PATCH_MAX_CHARS)
}
