use std::collections::BTreeSet;

use super::*;
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
