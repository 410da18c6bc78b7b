//! The AD group tests' own model of directory groups: users and nested groups, flattened
//! here (not by zoomsync) to say what every Zoom group must hold, and written as LDIF.

use std::collections::{BTreeMap, BTreeSet};

use super::samba;
use crate::support::ad::group_dn;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Member {
    User(usize),
    Group(String),
}

#[derive(Default)]
pub struct Model {
    pub groups: BTreeMap<String, BTreeSet<Member>>,
}

impl Model {
    pub fn users(&mut self, group: &str, users: impl IntoIterator<Item = usize>) {
        self.groups.entry(group.to_string()).or_default().extend(users.into_iter().map(Member::User));
    }

    pub fn nest(&mut self, group: &str, child: &str) {
        self.groups.entry(group.to_string()).or_default().insert(Member::Group(child.to_string()));
    }

    /// Users reachable from `group`, each group visited once (cycles end there).
    pub fn flat(&self, group: &str) -> BTreeSet<usize> {
        let mut seen = BTreeSet::new();
        let mut users = BTreeSet::new();
        let mut todo = vec![group.to_string()];
        while let Some(g) = todo.pop() {
            if !seen.insert(g.clone()) {
                continue;
            }
            for m in &self.groups[&g] {
                match m {
                    Member::User(i) => {
                        users.insert(*i);
                    }
                    Member::Group(child) => todo.push(child.clone()),
                }
            }
        }
        users
    }

    /// ldapadd LDIF: every group with its user members (groups as members come later, so
    /// the order of creation does not matter and a cycle can be made).
    pub fn groups_ldif(&self) -> String {
        let mut s = String::new();
        for (name, members) in &self.groups {
            let dns: Vec<String> = members
                .iter()
                .filter_map(|m| match m {
                    Member::User(i) => Some(samba::user_dn(*i)),
                    Member::Group(_) => None,
                })
                .collect();
            s.push_str(&samba::group_entry(name, &dns));
        }
        s
    }

    /// ldapmodify LDIF adding the nested groups as members.
    pub fn nesting_ldif(&self) -> String {
        let mut s = String::new();
        for (name, members) in &self.groups {
            let children: Vec<&String> = members
                .iter()
                .filter_map(|m| match m {
                    Member::Group(g) => Some(g),
                    Member::User(_) => None,
                })
                .collect();
            if children.is_empty() {
                continue;
            }
            s.push_str(&format!("dn: {}\nchangetype: modify\nadd: member\n", group_dn(name)));
            for c in children {
                s.push_str(&format!("member: {}\n", group_dn(c)));
            }
            s.push_str("-\n\n");
        }
        s
    }
}
