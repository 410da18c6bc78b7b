//! PURE: group operations, from the flattened directory groups and the cached membership.
//!
//! Zoom does not list a group's members, so membership is pushed as the difference from
//! what zoomsync last pushed (`KnownGroup::members`): a moved user costs one remove and one
//! add, an unchanged group costs nothing. Removals and deletions need complete reads.
//!
//! Deactivated users follow one rule, [`standing`]: a user is in a pushed group only while
//! it is enabled in the directory *and* active on the target, so seat and licence groups
//! show who holds a seat. A user deactivated on the target leaves every pushed group and
//! rejoins when it is reactivated; a user whose deactivation has not happened (held by a
//! guard, failing, quarantined, an owner/admin zoomsync never deactivates) keeps the
//! groups it has and gains none; a user the directory disables before it was ever created
//! is never added.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::model::Anchor;
use crate::model::KnownGroup;
use crate::model::MemberPatch;

/// A directory group as the target should have it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredGroup {
    pub anchor: Anchor,
    pub dn: String,
    pub zoom_name: String,
    /// Flattened user anchors (users in scope only).
    pub members: std::collections::BTreeSet<Anchor>,
}

/// What happens to one group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GroupChange {
    /// Find the Zoom group by name and link it, or create it.
    Link,
    Rename {
        from: String,
    },
    /// One PATCH; `anchors[i]` is the user whose id is `patch.ids()[i]`.
    Members {
        #[serde(skip)]
        patch: MemberPatch,
        anchors: Vec<Anchor>,
        remove: bool,
    },
    /// zoomsync created it and it is no longer pushed (the directory group is gone, or no
    /// longer chosen by `groups.names` / `groups.filter`).
    Delete,
    /// Linked (not created by zoomsync) and no longer pushed: forget it only.
    Unlink,
}

impl GroupChange {
    /// Name used in logs, history and metrics (bounded).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Link => "group_link",
            Self::Rename { .. } => "group_rename",
            Self::Members { remove: false, .. } => "group_add",
            Self::Members { remove: true, .. } => "group_remove",
            Self::Delete => "group_delete",
            Self::Unlink => "group_unlink",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupOp {
    pub anchor: Anchor,
    pub dn: String,
    pub zoom_name: String,
    /// `None` until the group is linked.
    pub zoom_id: Option<String>,
    pub change: GroupChange,
}

/// Cuts (adds, removes) of Zoom user ids into membership PATCHes.
pub type BatchMembers = dyn Fn(&[String], &[String]) -> Vec<MemberPatch> + Sync;

/// A user as the directory shows it this cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InDirectory {
    /// In scope and enabled.
    Enabled,
    /// In scope and disabled (locked, `directory.disabled_attribute`, AD's flag).
    Disabled,
    /// Not in scope: gone, filtered out, in no scoping group.
    Absent,
    /// Present but unreadable (rejected with its anchor): nothing is decided for it.
    Unreadable,
}

/// A user on the target as zoomsync's state has it once this cycle's user operations are
/// done (for a plan: as they would leave it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnTarget {
    /// Never created, deleted, or forgotten.
    Missing,
    Active,
    Deactivated,
}

/// Where a user stands with the pushed groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Added to the groups that list it, and kept in them.
    Member,
    /// Listed and enabled, but not an active target user yet (being created or reactivated,
    /// or failing): counted as awaited, added once it is active.
    Awaited,
    /// Keeps the memberships it has and gains none: its deactivation has not happened yet
    /// (held by a guard, failed, quarantined, or a Zoom owner/admin zoomsync never
    /// deactivates), or its entry is unreadable.
    Keeps,
    /// In no pushed group: deactivated or deleted on the target, or never created.
    Out,
}

/// The one rule for deactivated users and pushed groups (see the module comment).
pub fn standing(directory: InDirectory, target: OnTarget) -> Standing {
    match (directory, target) {
        (InDirectory::Unreadable, _) => Standing::Keeps,
        (InDirectory::Enabled, OnTarget::Active) => Standing::Member,
        (InDirectory::Enabled, OnTarget::Missing | OnTarget::Deactivated) => Standing::Awaited,
        (InDirectory::Disabled | InDirectory::Absent, OnTarget::Active) => Standing::Keeps,
        (InDirectory::Disabled | InDirectory::Absent, OnTarget::Missing | OnTarget::Deactivated) => Standing::Out,
    }
}

/// Everything the group plan looks at.
pub struct GroupPlanInput<'a> {
    /// The pushed groups; their members are the users the directory enables (a disabled
    /// user is never wanted in a pushed group).
    pub desired: &'a [DesiredGroup],
    pub known: &'a HashMap<Anchor, KnownGroup>,
    /// Users who may be members ([`Standing::Member`]): anchor -> target id.
    pub user_ids: &'a HashMap<Anchor, String>,
    /// Users whose memberships are not removed this cycle ([`Standing::Keeps`]).
    pub keep: &'a HashSet<Anchor>,
    /// Every read complete: members may be removed.
    pub removals_allowed: bool,
    /// Every configured group found too: groups may be deleted or unlinked.
    pub deletions_allowed: bool,
    pub delete_created: bool,
    /// Cuts one group's adds and removes into PATCHes the target accepts (in `sync`:
    /// `scim::group_body::member_batches` at Zoom's body limit). Passed in so this pure step
    /// does not import the wire format.
    pub batch: &'a BatchMembers,
}

/// The plan for groups, with what it could not do yet.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GroupPlan {
    pub ops: Vec<GroupOp>,
    /// Members enabled in the directory who are not active target users yet (being
    /// created or reactivated, failing, quarantined): added once they are.
    pub awaiting_user: usize,
    /// Removals not made because a read was incomplete, or the user's deactivation has not
    /// happened yet (held by a guard, failing), or its entry is unreadable.
    pub removals_withheld: usize,
    /// Group deletions/unlinks not made because a read was incomplete or a name is missing.
    pub deletions_withheld: usize,
}

impl GroupPlan {
    /// Members added / removed by the plan's PATCHes.
    pub fn member_counts(&self) -> (usize, usize) {
        self.ops.iter().fold((0, 0), |(a, r), op| match &op.change {
            GroupChange::Members { anchors, remove: false, .. } => (a + anchors.len(), r),
            GroupChange::Members { anchors, remove: true, .. } => (a, r + anchors.len()),
            _ => (a, r),
        })
    }

    pub fn count(&self, name: &str) -> usize {
        self.ops.iter().filter(|op| op.change.name() == name).count()
    }
}

/// Link, rename, delete and unlink: the operations that must run before membership.
pub fn structure(input: &GroupPlanInput<'_>, plan: &mut GroupPlan) {
    let wanted: HashSet<&Anchor> = input.desired.iter().map(|g| &g.anchor).collect();
    for g in input.desired {
        let op = |zoom_id: Option<String>, change| GroupOp {
            anchor: g.anchor.clone(),
            dn: g.dn.clone(),
            zoom_name: g.zoom_name.clone(),
            zoom_id,
            change,
        };
        match input.known.get(&g.anchor) {
            None => plan.ops.push(op(None, GroupChange::Link)),
            Some(k) if k.zoom_name != g.zoom_name => {
                plan.ops.push(op(Some(k.zoom_id.clone()), GroupChange::Rename { from: k.zoom_name.clone() }))
            }
            Some(_) => {}
        }
    }
    let mut gone: Vec<&KnownGroup> = input.known.values().filter(|k| !wanted.contains(&k.anchor)).collect();
    gone.sort_by(|a, b| a.anchor.cmp(&b.anchor));
    for k in gone {
        if !input.deletions_allowed {
            plan.deletions_withheld += 1;
            continue;
        }
        let change = if k.created && input.delete_created { GroupChange::Delete } else { GroupChange::Unlink };
        plan.ops.push(GroupOp {
            anchor: k.anchor.clone(),
            dn: k.dn.clone(),
            zoom_name: k.zoom_name.clone(),
            zoom_id: Some(k.zoom_id.clone()),
            change,
        });
    }
}

/// Membership PATCHes for every desired group, against the cached members (an unlinked
/// group has none yet). Removes come before adds within a group.
pub fn membership(input: &GroupPlanInput<'_>, plan: &mut GroupPlan) {
    let empty = BTreeMap::new();
    for g in input.desired {
        let known = input.known.get(&g.anchor);
        let cached = known.map_or(&empty, |k| &k.members);
        let Diff { add, remove } = diff_members(&g.members, cached, input, plan);
        if add.is_empty() && remove.is_empty() {
            continue;
        }
        let ids = |pairs: &[(&Anchor, &String)]| pairs.iter().map(|(_, id)| (*id).clone()).collect::<Vec<_>>();
        let owner: HashMap<(bool, &str), &Anchor> = remove
            .iter()
            .map(|(a, id)| ((true, id.as_str()), *a))
            .chain(add.iter().map(|(a, id)| ((false, id.as_str()), *a)))
            .collect();
        for patch in (input.batch)(&ids(&add), &ids(&remove)) {
            let is_remove = matches!(patch, MemberPatch::Remove(_));
            let anchors = patch
                .ids()
                .iter()
                .filter_map(|id| owner.get(&(is_remove, id.as_str())).map(|a| (*a).clone()))
                .collect();
            plan.ops.push(GroupOp {
                anchor: g.anchor.clone(),
                dn: g.dn.clone(),
                zoom_name: g.zoom_name.clone(),
                zoom_id: known.map(|k| k.zoom_id.clone()),
                change: GroupChange::Members { patch, anchors, remove: is_remove },
            });
        }
    }
}

/// Members to add and to remove, as (user anchor, Zoom id).
struct Diff<'a> {
    add: Vec<(&'a Anchor, &'a String)>,
    remove: Vec<(&'a Anchor, &'a String)>,
}

/// One group's membership difference. Both sides are sorted by anchor, so one merging walk
/// compares them (a 100,000-member group costs no lookups in the cache). A listed member is
/// added when it may be a member (it has an id in `user_ids`); a cached member whose id
/// changed is swapped; other cached members are removed unless removals are withheld
/// (incomplete read, a user who keeps its groups).
fn diff_members<'a>(
    members: &'a std::collections::BTreeSet<Anchor>,
    cached: &'a BTreeMap<Anchor, String>,
    input: &'a GroupPlanInput<'_>,
    plan: &mut GroupPlan,
) -> Diff<'a> {
    let mut diff = Diff { add: Vec::new(), remove: Vec::new() };
    let mut want = members.iter().map(|a| (a, input.user_ids.get(a))).peekable();
    let mut have = cached.iter().peekable();
    loop {
        let order = match (want.peek(), have.peek()) {
            (None, None) => break,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some((w, _)), Some((h, _))) => (*w).cmp(*h),
        };
        let (wanted, had) = match order {
            std::cmp::Ordering::Less => (want.next(), None),
            std::cmp::Ordering::Greater => (None, have.next()),
            std::cmp::Ordering::Equal => (want.next(), have.next()),
        };
        let wanted_id = wanted.and_then(|(a, id)| id.map(|id| (a, id)));
        if wanted.is_some() && wanted_id.is_none() {
            plan.awaiting_user += 1;
        }
        match (wanted_id, had) {
            (Some((_, id)), Some((_, old))) if id == old => {}
            (Some(pair), Some(old)) => {
                // The old id is not that user any more: always swapped.
                diff.remove.push(old);
                diff.add.push(pair);
            }
            (Some(pair), None) => diff.add.push(pair),
            (None, Some((a, old))) => {
                if !input.removals_allowed || input.keep.contains(a) {
                    plan.removals_withheld += 1;
                } else {
                    diff.remove.push((a, old));
                }
            }
            (None, None) => {}
        }
    }
    diff
}

/// The whole plan (what `plan` shows; `sync` runs the two halves around linking).
pub fn plan_groups(input: &GroupPlanInput<'_>) -> GroupPlan {
    let mut plan = GroupPlan::default();
    structure(input, &mut plan);
    membership(input, &mut plan);
    plan
}

#[cfg(test)]
mod tests;
