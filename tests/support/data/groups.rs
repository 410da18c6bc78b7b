//! groupOfNames test data for slapd, and the Zoom side of group membership.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::{BASE, PEOPLE};

pub fn group_dn(name: &str) -> String {
    format!("cn={name},ou=groups,{BASE}")
}

pub fn user_dn(i: usize) -> String {
    format!("uid=user{i:06},{PEOPLE}")
}

pub fn user_name(i: usize) -> String {
    format!("user{i:06}@example.com")
}

/// A groupOfNames entry (slapadd / ldapadd LDIF) with these users and member groups.
pub fn group_of_names(name: &str, users: impl IntoIterator<Item = usize>, groups: &[&str]) -> String {
    let mut out = format!("dn: {}\nobjectClass: groupOfNames\ncn: {name}\n", group_dn(name));
    for i in users {
        let _ = writeln!(out, "member: {}", user_dn(i));
    }
    for g in groups {
        let _ = writeln!(out, "member: {}", group_dn(g));
    }
    out.push('\n');
    out
}

/// ldapmodify records moving membership: `(group, "add" | "delete", user)`.
pub fn membership_change(changes: &[(&str, &str, usize)]) -> String {
    changes
        .iter()
        .map(|(group, verb, user)| {
            format!("dn: {}\nchangetype: modify\n{verb}: member\nmember: {}\n\n", group_dn(group), user_dn(*user))
        })
        .collect()
}

/// Zoom group name -> userNames of its members, as the emulator holds them.
pub fn emulator_groups(zoom: &zoomsync::emulator::RunningEmulator) -> BTreeMap<String, BTreeSet<String>> {
    let names: BTreeMap<String, String> = zoom.users().into_iter().map(|u| (u.id, u.user_name)).collect();
    zoom.groups()
        .into_iter()
        .filter(|g| !g.is_default)
        .map(|g| {
            let members = g.members.iter().map(|id| names.get(id).cloned().unwrap_or_else(|| format!("?{id}")));
            (g.display_name, members.collect())
        })
        .collect()
}

/// Users `data::people_ldif` leaves enabled (every 25th is former: never created, so never
/// a member).
pub fn enabled(range: std::ops::Range<usize>) -> impl Iterator<Item = usize> {
    range.filter(|i| i % 25 != 24)
}

/// userNames of these users.
pub fn names_of(users: impl IntoIterator<Item = usize>) -> BTreeSet<String> {
    users.into_iter().map(user_name).collect()
}

/// The memberOf values slapd's overlay keeps on an entry (read as the directory admin).
pub fn member_of(ldap_url: &str, dn: &str) -> Vec<String> {
    let out = std::process::Command::new("ldapsearch")
        .args([
            "-x",
            "-LLL",
            "-o",
            "ldif-wrap=no",
            "-H",
            ldap_url,
            "-D",
            "cn=admin,dc=example,dc=com",
            "-w",
            "adminpass",
        ])
        .args(["-b", dn, "-s", "base", "(objectClass=*)", "memberOf"])
        .output()
        .unwrap();
    assert!(out.status.success(), "ldapsearch: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("memberOf: "))
        .map(str::to_string)
        .collect()
}
