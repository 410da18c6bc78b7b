//! Directory groups: which ones, and who is in them after nesting is flattened.
//!
//! One search reads every entry `groups.class_filter` matches (the nesting universe); the
//! groups `groups.filter` and `groups.names` choose, and the `groups.scope` ones, are flattened to the *users in scope*:
//! on AD by the server (LDAP_MATCHING_RULE_IN_CHAIN, one search per group), elsewhere by
//! [`flatten`] here, which walks member DNs through the universe and stops at cycles.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::BuildHasher;

use super::{Decoder, Directory, ReadEnd, SearchRequest, SearchScope, SourceError};
use crate::config::{GroupsConfig, Nesting};
/// The normaliser lives in `model` (the plan's manager references compare DNs too).
pub use crate::model::normalize_dn;
use crate::model::{Anchor, DnMap, RawEntry, Rejected};

/// AD's transitive membership rule: `memberOf:1.2.840.113556.1.4.1941:=<group DN>`.
pub const RULE_IN_CHAIN: &str = "1.2.840.113556.1.4.1941";

/// The users in scope by DN, to match member DNs to: a map of normalized DNs, or (the
/// cycle's, one allocation for all users) a [`DnMap`] over the users' own DNs.
pub trait UsersByDn {
    /// The anchor of the user whose DN normalizes to `normalized`.
    fn anchor(&self, normalized: &str) -> Option<&Anchor>;
}

impl<S: BuildHasher> UsersByDn for HashMap<String, Anchor, S> {
    fn anchor(&self, normalized: &str) -> Option<&Anchor> {
        self.get(normalized)
    }
}

/// The last user with a DN wins, as in a map collected from the users in order.
impl UsersByDn for DnMap<'_, &Anchor> {
    fn anchor(&self, normalized: &str) -> Option<&Anchor> {
        self.last_normalized(normalized).copied()
    }
}

/// A directory group with its members flattened to user anchors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryGroup {
    pub anchor: Anchor,
    pub dn: String,
    /// The value of `groups.name_attribute`.
    pub name: String,
    /// Users in scope that are members, directly or through nested groups.
    pub members: BTreeSet<Anchor>,
    /// Users in scope listed in the group itself (for `member_of_direct`).
    pub direct: BTreeSet<Anchor>,
}

/// What a group read found.
#[derive(Debug, Default)]
pub struct GroupRead {
    /// The groups `groups.filter` and `groups.names` choose, and the `groups.scope` ones.
    pub groups: Vec<DirectoryGroup>,
    /// DNs (normalized) of the groups to push (chosen by filter or name; scope-only
    /// groups are not pushed).
    pub pushed: HashSet<String>,
    /// Set when a search ended early: memberships may be missing, so nobody may be
    /// removed from a group or treated as out of scope.
    pub incomplete: Option<String>,
    /// Configured names no group carries.
    pub missing: Vec<String>,
    /// Nesting cycles met while flattening, as group names (members are still counted once).
    pub cycles: Vec<Vec<String>>,
    /// Groups that could not be used (no name, a name two groups share).
    pub rejected: Vec<Rejected>,
}

impl GroupRead {
    /// The group with this name (case-insensitive).
    pub fn named(&self, name: &str) -> Option<&DirectoryGroup> {
        self.groups.iter().find(|g| g.name.eq_ignore_ascii_case(name))
    }
}

/// A group entry as read, before flattening.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawGroup {
    pub anchor: Anchor,
    pub dn: String,
    pub name: String,
    /// Normalized member DNs.
    pub members: Vec<String>,
}

/// Escapes a value for an RFC 4515 filter (`*`, `(`, `)`, `\` and NUL).
pub fn escape_filter_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '*' => out.push_str("\\2a"),
            '(' => out.push_str("\\28"),
            ')' => out.push_str("\\29"),
            '\\' => out.push_str("\\5c"),
            '\0' => out.push_str("\\00"),
            _ => out.push(c),
        }
    }
    out
}

/// What the directory said about the groups, before member DNs are matched to users:
/// fetched while the users are read (it needs no user), resolved after.
pub struct FetchedGroups {
    universe: Vec<RawGroup>,
    /// Indexes into `universe` of the groups to flatten.
    selected: Vec<usize>,
    /// In-chain: the normalized user DNs the server returned for each selected group.
    in_chain: Option<Vec<Vec<String>>>,
    nested: bool,
    /// Everything but `groups` and `cycles`, already known.
    read: GroupRead,
}

/// Reads and flattens the configured groups. `users_by_dn` maps the normalized DN of every
/// user in scope to its anchor; `user_search` is the configured user base and filter (for
/// AD's in-chain searches).
pub async fn read_groups<D: Directory>(
    directory: &D,
    config: &GroupsConfig,
    decoder: &Decoder,
    user_search: Option<(&str, &str)>,
    users_by_dn: &HashMap<String, Anchor>,
) -> Result<GroupRead, SourceError> {
    Ok(resolve(fetch_groups(directory, config, decoder, user_search).await?, users_by_dn))
}

/// The directory side of a group read: the universe, the selection, and on AD the
/// server-flattened member DNs (one in-chain search per selected group).
pub async fn fetch_groups<D: Directory>(
    directory: &D,
    config: &GroupsConfig,
    decoder: &Decoder,
    user_search: Option<(&str, &str)>,
) -> Result<FetchedGroups, SourceError> {
    let in_chain = match (config.nesting, user_search) {
        (Nesting::InChain, Some(search)) => Some(search),
        _ => None,
    };
    let mut attributes = vec![config.name_attribute.clone()];
    attributes.extend(decoder.anchor_attributes().map(String::from));
    if in_chain.is_none() {
        attributes.extend(config.member_attributes.iter().cloned());
    }
    let subtree = |filter: &str, attributes: Vec<String>| SearchRequest {
        base: config.base_dn.clone(),
        scope: SearchScope::Subtree,
        filter: filter.to_string(),
        attributes,
    };
    let mut requests = vec![subtree(&config.class_filter, attributes)];
    if let Some(filter) = &config.filter {
        requests.push(subtree(filter, vec!["1.1".into()]));
    }
    let mut entries = Vec::new();
    let mut chosen_by_filter = HashSet::new();
    let end = directory
        .search(&requests, &mut |i, entry| match i {
            0 => entries.push(entry),
            _ => {
                chosen_by_filter.insert(normalize_dn(&entry.dn));
            }
        })
        .await?;
    let mut read = GroupRead::default();
    if let ReadEnd::Incomplete { reason } = end {
        read.incomplete = Some(format!("group search: {reason}"));
    }
    let universe: Vec<RawGroup> = entries
        .iter()
        .filter_map(|e| match raw_group(e, config, decoder) {
            Ok(g) => Some(g),
            Err(r) => {
                read.rejected.push(r);
                None
            }
        })
        .collect();
    drop(entries);
    let (selected, missing, ambiguous) = select(&universe, config, &chosen_by_filter);
    read.missing = missing;
    read.rejected.extend(ambiguous);
    read.pushed = selected
        .iter()
        .map(|i| &universe[*i])
        .filter(|g| chosen_by_filter.contains(&g.dn) || config.names.iter().any(|n| n.eq_ignore_ascii_case(&g.name)))
        .map(|g| g.dn.clone())
        .collect();
    let in_chain = match in_chain {
        None => None,
        Some((base, filter)) => {
            let requests: Vec<SearchRequest> = selected
                .iter()
                .map(|i| SearchRequest {
                    base: base.to_string(),
                    scope: SearchScope::Subtree,
                    filter: format!("(&{filter}(memberOf:{RULE_IN_CHAIN}:={}))", escape_filter_value(&universe[*i].dn)),
                    attributes: vec!["1.1".into()],
                })
                .collect();
            let mut members: Vec<Vec<String>> = vec![Vec::new(); selected.len()];
            let end = directory
                .search(&requests, &mut |i, entry: RawEntry| {
                    if let Some(list) = members.get_mut(i) {
                        list.push(normalize_dn(&entry.dn));
                    }
                })
                .await?;
            if let ReadEnd::Incomplete { reason } = end {
                read.incomplete.get_or_insert(format!("in-chain membership search: {reason}"));
            }
            Some(members)
        }
    };
    Ok(FetchedGroups { universe, selected, in_chain, nested: config.nesting != Nesting::Direct, read })
}

/// PURE: the search `dump` makes for groups: every entry `class_filter` matches (the whole
/// nesting universe) with every attribute a read of the dumped file needs — name, anchor,
/// member DNs (also where the server walks the nesting: a file is flattened here) and the
/// attributes `class_filter` and `groups.filter` test, so they select the same groups there.
pub fn dump_request(config: &GroupsConfig, decoder: &Decoder) -> SearchRequest {
    let mut attributes = vec![config.name_attribute.clone()];
    attributes.extend(decoder.anchor_attributes().map(String::from));
    attributes.extend(config.member_attributes.iter().cloned());
    let filters = std::iter::once(&config.class_filter).chain(config.filter.as_ref());
    for filter in filters.filter_map(|f| crate::model::Filter::parse(f).ok()) {
        attributes.extend(filter.attributes().into_iter().map(String::from));
    }
    let mut seen = HashSet::new();
    attributes.retain(|a| seen.insert(a.to_ascii_lowercase()));
    SearchRequest {
        base: config.base_dn.clone(),
        scope: SearchScope::Subtree,
        filter: config.class_filter.clone(),
        attributes,
    }
}

/// PURE: member DNs -> user anchors (users in scope only), nesting flattened here unless
/// the server did it (in-chain).
pub fn resolve(fetched: FetchedGroups, users_by_dn: &impl UsersByDn) -> GroupRead {
    let FetchedGroups { universe, selected, in_chain, nested, mut read } = fetched;
    match in_chain {
        Some(members) => {
            for (i, dns) in selected.iter().zip(members) {
                let anchors = dns.iter().filter_map(|dn| users_by_dn.anchor(dn).cloned()).collect();
                read.groups.push(to_group(&universe[*i], anchors, users_by_dn));
            }
        }
        None => {
            let by_dn: HashMap<&str, &RawGroup> = universe.iter().map(|g| (g.dn.as_str(), g)).collect();
            for i in &selected {
                let g = &universe[*i];
                let flat = flatten(g, &by_dn, users_by_dn, nested);
                for cycle in flat.cycles {
                    if !read.cycles.iter().any(|c| same_cycle(c, &cycle)) {
                        read.cycles.push(cycle);
                    }
                }
                read.groups.push(to_group(g, flat.members, users_by_dn));
            }
        }
    }
    for cycle in &read.cycles {
        tracing::warn!(cycle = %cycle.join(" -> "), "nested groups form a cycle; each member is counted once");
    }
    read
}

fn to_group(g: &RawGroup, members: BTreeSet<Anchor>, users_by_dn: &impl UsersByDn) -> DirectoryGroup {
    let direct = g.members.iter().filter_map(|dn| users_by_dn.anchor(dn).cloned()).collect();
    DirectoryGroup { anchor: g.anchor.clone(), dn: g.dn.clone(), name: g.name.clone(), members, direct }
}

/// One group entry -> [`RawGroup`]; the DN is kept normalized so member DNs match it.
/// Without an anchor attribute (an LDIF without entryUUID) the DN stands in.
fn raw_group(entry: &RawEntry, config: &GroupsConfig, decoder: &Decoder) -> Result<RawGroup, Rejected> {
    let dn = normalize_dn(&entry.dn);
    let name = entry.first_text(&config.name_attribute).ok_or_else(|| Rejected {
        dn: entry.dn.clone(),
        anchor: None,
        reason: format!("group has no {}", config.name_attribute),
    })?;
    let anchor = decoder.anchor(entry).ok().or_else(|| Anchor::new(&format!("dn:{dn}"))).ok_or_else(|| Rejected {
        dn: entry.dn.clone(),
        anchor: None,
        reason: "group has no anchor".into(),
    })?;
    let members = config
        .member_attributes
        .iter()
        .flat_map(|a| entry.values(a))
        .filter_map(|v| std::str::from_utf8(v).ok())
        .map(normalize_dn)
        .collect();
    Ok(RawGroup { anchor, dn, name: name.to_string(), members })
}

/// The groups to flatten (indexes into `universe`): those `groups.filter` chose, those
/// named in `names` and in `scope`, each once. A name two groups carry is refused: which was
/// meant cannot be guessed.
fn select(
    universe: &[RawGroup],
    config: &GroupsConfig,
    chosen_by_filter: &HashSet<String>,
) -> (Vec<usize>, Vec<String>, Vec<Rejected>) {
    let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, g) in universe.iter().enumerate() {
        by_name.entry(g.name.to_lowercase()).or_default().push(i);
    }
    let mut selected: Vec<usize> =
        (0..universe.len()).filter(|i| chosen_by_filter.contains(&universe[*i].dn)).collect();
    let (mut missing, mut ambiguous) = (Vec::new(), Vec::new());
    for name in config.names.iter().chain(&config.scope).chain(&config.mapped) {
        match by_name.get(&name.to_lowercase()).map(Vec::as_slice) {
            Some([one]) => {
                if !selected.contains(one) {
                    selected.push(*one);
                }
            }
            Some(many) if many.len() > 1 => {
                let dns: Vec<&str> = many.iter().map(|i| universe[*i].dn.as_str()).collect();
                ambiguous.push(Rejected {
                    dn: dns.join("; "),
                    anchor: None,
                    reason: format!("{} groups are named {name:?}; rename one or narrow groups.base_dn", many.len()),
                });
                missing.push(name.clone());
            }
            _ => missing.push(name.clone()),
        }
    }
    (selected, missing, ambiguous)
}

/// A group's users, and the nesting cycles met on the way.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Flattened {
    pub members: BTreeSet<Anchor>,
    pub cycles: Vec<Vec<String>>,
}

/// PURE: the users reachable from `group` through member DNs. A member DN is a user (in
/// `users_by_dn`), a group of the universe (followed when `nested`), or neither (a user out
/// of scope, a contact: ignored). Depth-first with the current path kept, so a member that
/// leads back onto the path is a cycle: reported, not followed again.
pub fn flatten(
    group: &RawGroup,
    universe: &HashMap<&str, &RawGroup>,
    users_by_dn: &impl UsersByDn,
    nested: bool,
) -> Flattened {
    let mut out = Flattened::default();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    // (group, index of the next member to look at); the stack is the current path.
    let mut stack: Vec<(&RawGroup, usize)> = vec![(group, 0)];
    while let Some((current, next)) = stack.last_mut() {
        let Some(member) = current.members.get(*next) else {
            done.insert(current.dn.as_str());
            stack.pop();
            continue;
        };
        *next += 1;
        if let Some(anchor) = users_by_dn.anchor(member) {
            out.members.insert(anchor.clone());
            continue;
        }
        if !nested {
            continue;
        }
        let Some(child) = universe.get(member.as_str()) else { continue };
        if let Some(at) = stack.iter().position(|(g, _)| g.dn == child.dn) {
            let cycle: Vec<String> = stack[at..].iter().map(|(g, _)| g.name.clone()).collect();
            out.cycles.push(cycle);
        } else if !done.contains(child.dn.as_str()) {
            stack.push((child, 0));
        }
    }
    out
}

/// Two reports of one cycle started from different groups are rotations of each other.
fn same_cycle(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && (0..a.len()).any(|shift| a.iter().cycle().skip(shift).take(a.len()).eq(b.iter()))
}

#[cfg(test)]
mod tests;
