use std::collections::BTreeSet;

use super::*;
use crate::model::Lifecycle;
use crate::plan::DesiredUser;
use crate::source::groups::DirectoryGroup;

fn anchor(s: &str) -> Anchor {
    Anchor::new(s).unwrap()
}

fn desired(users: &[&str]) -> Desired {
    Desired {
        users: users
            .iter()
            .map(|u| DesiredUser {
                anchor: anchor(u),
                dn: format!("uid={u}"),
                user: Default::default(),
                fingerprint: 0,
                deferred: None,
            })
            .collect(),
        ..Default::default()
    }
}

fn read(groups: &[(&str, &[&str])], incomplete: bool) -> GroupRead {
    GroupRead {
        groups: groups
            .iter()
            .map(|(name, members)| DirectoryGroup {
                anchor: anchor(name),
                dn: format!("cn={name}"),
                name: name.to_string(),
                members: members.iter().map(|m| anchor(m)).collect::<BTreeSet<_>>(),
                direct: members.iter().map(|m| anchor(m)).collect::<BTreeSet<_>>(),
            })
            .collect(),
        incomplete: incomplete.then(|| "cut off".to_string()),
        ..Default::default()
    }
}

fn kept(d: &Desired) -> Vec<&str> {
    d.users.iter().map(|u| u.anchor.as_str()).collect()
}

#[test]
fn scope_table() {
    type Case<'a> = (&'a str, &'a [&'a str], bool, &'a [&'a str], usize, bool);
    let groups: &[(&str, &[&str])] = &[("zoom", &["a", "b"]), ("extra", &["c"])];
    let cases: &[Case] = &[
        ("no scope: everyone", &[], false, &["a", "b", "c", "d"], 0, false),
        ("one scoping group", &["Zoom"], false, &["a", "b"], 2, false),
        ("two scoping groups", &["zoom", "extra"], false, &["a", "b", "c"], 1, false),
        ("missing scoping group: incomplete", &["zoom", "gone"], false, &["a", "b"], 2, true),
        ("group read cut off: incomplete", &["zoom"], true, &["a", "b"], 2, true),
    ];
    for (what, scope, cut, expected, dropped, incomplete) in cases {
        let mut d = desired(&["a", "b", "c", "d"]);
        let scope: Vec<String> = scope.iter().map(|s| s.to_string()).collect();
        let out = apply_scope(&mut d, &read(groups, *cut), &scope);
        assert_eq!(kept(&d), *expected, "{what}");
        assert_eq!(out, *dropped, "{what}");
        assert_eq!(d.incomplete.is_some(), *incomplete, "{what}: {:?}", d.incomplete);
    }
}

fn groups_config() -> GroupsConfig {
    GroupsConfig {
        base_dn: String::new(),
        class_filter: "(objectClass=groupOfNames)".into(),
        filter: None,
        names: vec!["zoom".into()],
        name_attribute: "cn".into(),
        member_attributes: vec!["member".into()],
        nesting: crate::config::Nesting::Expand,
        scope: vec![],
        delete_created: true,
        zoom_names: Default::default(),
        mapped: Vec::new(),
    }
}

fn known_user(a: &str, active: bool) -> (Anchor, KnownUser) {
    let k = KnownUser {
        anchor: anchor(a),
        zoom_id: format!("id-{a}"),
        dn: format!("uid={a}"),
        user_name: format!("{a}@x.org"),
        fingerprint: 0,
        lifecycle: if active { Lifecycle::Active } else { Lifecycle::Deactivated { since: 1 } },
        origin: crate::model::Origin::Created,
        privileged: false,
        rename_refused: None,
        not_kept: Default::default(),
    };
    (k.anchor.clone(), k)
}

/// The step applies `plan::groups::standing` to the directory and the state: who is wanted,
/// who may be a member, who keeps its memberships.
#[test]
fn the_step_applies_the_rule_to_directory_and_state() {
    // In the directory: on (enabled, active), off (disabled, deactivated), held (disabled,
    // still active), back (enabled, still deactivated), new (enabled, no state), never
    // (disabled, no state), bad (unreadable). Gone from it: left (active), done (deactivated).
    let mut d = desired(&["on", "off", "held", "back", "new", "never"]);
    for u in &mut d.users {
        u.user.active = ["on", "back", "new"].contains(&u.anchor.as_str());
    }
    d.unreadable.insert(anchor("bad"));
    let config = groups_config();
    let directory = in_directory(&d);
    let all = ["on", "off", "held", "back", "new", "never", "bad", "left", "done"];
    let mut group = read(&[("zoom", &all)], false);
    group.pushed = group.groups.iter().map(|g| g.dn.clone()).collect();
    let wanted = desired_groups(&group, &config, &directory);
    let members: Vec<&str> = wanted[0].members.iter().map(Anchor::as_str).collect();
    assert_eq!(members, ["back", "new", "on"], "only users the directory enables are wanted");

    let users: HashMap<Anchor, KnownUser> = [
        known_user("on", true),
        known_user("off", false),
        known_user("held", true),
        known_user("back", false),
        known_user("bad", true),
        known_user("left", true),
        known_user("done", false),
    ]
    .into_iter()
    .collect();
    let step = GroupStep {
        desired: wanted,
        directory,
        removals_allowed: true,
        deletions_allowed: true,
        config: &config,
        known: HashMap::new(),
    };
    let m = step.members(&users, on_target);
    let mut ids: Vec<&str> = m.ids.keys().map(Anchor::as_str).collect();
    ids.sort();
    assert_eq!(ids, ["on"]);
    let mut keep: Vec<&str> = m.keep.iter().map(Anchor::as_str).collect();
    keep.sort();
    assert_eq!(keep, ["bad", "held", "left"]);
}

/// Groups read only for scope or `member_of`: with none to push and none in state the step
/// has no member to work out; a group in state (to unlink or delete) brings the rule back.
#[test]
fn a_step_with_no_group_to_push_or_keep_weighs_nobody() {
    let mut d = desired(&["on"]);
    d.users[0].user.active = true;
    let config = groups_config();
    let users: HashMap<Anchor, KnownUser> = [known_user("on", true)].into_iter().collect();
    let mut step = GroupStep {
        desired: Vec::new(),
        directory: in_directory(&d),
        removals_allowed: true,
        deletions_allowed: true,
        config: &config,
        known: HashMap::new(),
    };
    assert!(step.members(&users, on_target).ids.is_empty());
    let group = KnownGroup {
        anchor: anchor("g"),
        dn: "cn=g".into(),
        zoom_id: "zg".into(),
        zoom_name: "g".into(),
        created: true,
        members: Default::default(),
    };
    step.known.insert(anchor("g"), group);
    assert_eq!(step.members(&users, on_target).ids.keys().map(Anchor::as_str).collect::<Vec<_>>(), ["on"]);
}
