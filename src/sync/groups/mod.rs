//! The group step of a cycle (applying it: `apply.rs`): fetch groups while the users are read, flatten them to the
//! users in scope, narrow the users to the scoping groups, and after the user operations push group links and membership.
//!
//! Membership is applied after the users so new hires have Zoom ids; the plan is computed
//! again after linking so a group found or created this cycle gets its members at once.
//! Who may be a member follows `plan::groups::standing` over the state the user operations
//! left: a user deactivated this cycle leaves its groups in the same cycle, one reactivated
//! rejoins them, one whose deactivation is held or failed keeps them.

use std::collections::{HashMap, HashSet};

mod apply;

use apply::GroupApply;

use super::engine::GroupSync;
use super::mapping_memo::MappingMemo;
use super::memberships;
use super::read::State;
use super::report::{CycleReport, GroupReport};
use super::{CycleError, Engine, Shutdown};
use crate::config::GroupsConfig;
use crate::model::{Anchor, DnMap, Rejected};
use crate::model::{KnownGroup, KnownUser, Lifecycle, MemberPatch, UnixTime};
use crate::plan::groups::{self, DesiredGroup, GroupPlan, GroupPlanInput, InDirectory, OnTarget, Standing, standing};
use crate::plan::{Action, Desired, Op};
use crate::scim::Target;
use crate::scim::group_body::{ZOOM_PATCH_MAX_CHARS, member_batches};
use crate::source::Directory;
use crate::source::groups::{FetchedGroups, GroupRead};
use crate::state::StateStore;

/// The group stage, after the users (new hires need Zoom ids): skipped when the cycle was
/// stopped. User ids come from the cycle's state, which the apply stage kept current.
pub(super) async fn apply_after_users<D: Directory, T: Target, S: StateStore + Clone + 'static>(
    engine: &Engine<D, T, S>,
    cycle: &mut CycleReport,
    now: UnixTime,
    step: GroupStep<'_>,
    state: &State,
    shutdown: &Shutdown,
) -> Result<(), CycleError> {
    let Some(mut report) = cycle.groups.take() else { return Ok(()) };
    if !cycle.stopped() && !shutdown.is_requested() {
        let members = step.members(&state.known, on_target);
        let apply = GroupApply {
            target: &engine.target,
            store: &engine.store,
            now,
            cycle: cycle.cycle,
            report: &mut report,
            members: &members,
            users: &state.known,
        };
        if let Some(stop) = apply.run(step).await? {
            cycle.stop_with(&stop);
        }
        tracing::debug!("groups applied");
    }
    cycle.groups = Some(report);
    Ok(())
}

/// Matches the fetched groups' member DNs to the users in scope so far.
pub fn resolve(fetched: FetchedGroups, desired: &Desired) -> GroupRead {
    let users = DnMap::new(desired.users.iter().map(|u| (u.dn.as_str(), &u.anchor)));
    crate::source::groups::resolve(fetched, &users)
}

/// After the user read: resolve the groups, apply group-based scope to `desired`, map the
/// rules that read membership, and set up the step over the groups in state (`known`) and
/// its report. Returns the users those rules rejected, too.
///
/// With no group to push and none in state (groups read only for scope or `member_of`)
/// the step has nothing to do, and the map of every user in scope is not built.
pub fn prepare<'a>(
    settings: &'a GroupSync,
    fetched: FetchedGroups,
    desired: &mut Desired,
    known: HashMap<Anchor, KnownGroup>,
    memo: Option<&MappingMemo>,
) -> (GroupStep<'a>, GroupReport, Vec<Rejected>) {
    let read = resolve(fetched, desired);
    let out_of_scope = apply_scope(desired, &read, &settings.config.scope);
    let rejected = memberships::complete(desired, &read, &settings.mapping, &settings.create_only, memo);
    let complete = desired.incomplete.is_none() && read.incomplete.is_none();
    let idle = read.pushed.is_empty() && known.is_empty();
    let directory = if idle { HashMap::new() } else { in_directory(desired) };
    let step = GroupStep {
        desired: desired_groups(&read, &settings.config, &directory),
        directory,
        removals_allowed: complete,
        deletions_allowed: complete && read.missing.is_empty(),
        config: &settings.config,
        known,
    };
    let report = GroupReport {
        groups_read: read.groups.len(),
        missing: read.missing,
        cycles: read.cycles,
        rejected: read.rejected,
        incomplete: read.incomplete,
        out_of_scope,
        ..Default::default()
    };
    (step, report, rejected)
}

/// PURE: group-based scope. Keeps only users in a scoping group; when the groups could not
/// be read whole, or a scoping group is missing, the read counts as incomplete so nobody is
/// deactivated for it. Returns how many users were dropped.
pub fn apply_scope(desired: &mut Desired, read: &GroupRead, scope: &[String]) -> usize {
    if scope.is_empty() {
        return 0;
    }
    if let Some(reason) = &read.incomplete {
        desired.incomplete.get_or_insert_with(|| format!("groups: {reason}"));
    }
    let missing: Vec<&String> = scope.iter().filter(|s| read.named(s).is_none()).collect();
    if !missing.is_empty() {
        let names: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        desired
            .incomplete
            .get_or_insert_with(|| format!("scoping group(s) not found: {}; nobody is deactivated", names.join(", ")));
    }
    let in_scope: HashSet<&Anchor> =
        scope.iter().filter_map(|s| read.named(s)).flat_map(|g| g.members.iter()).collect();
    let before = desired.users.len();
    desired.users.retain(|u| in_scope.contains(&u.anchor));
    before - desired.users.len()
}

/// PURE: how the directory shows each user it holds: in scope (enabled or disabled) or
/// present but unreadable. A user not in the map is absent.
pub fn in_directory(desired: &Desired) -> HashMap<Anchor, InDirectory> {
    let mut out: HashMap<Anchor, InDirectory> = desired
        .users
        .iter()
        .map(|u| (u.anchor.clone(), if u.user.active { InDirectory::Enabled } else { InDirectory::Disabled }))
        .collect();
    for anchor in &desired.unreadable {
        out.entry(anchor.clone()).or_insert(InDirectory::Unreadable);
    }
    out
}

/// The groups to push, with their Zoom names and their members the directory enables in
/// scope (scoping-only groups are not pushed; members out of scope are not zoomsync's to
/// manage; a disabled member is never wanted in a pushed group).
pub fn desired_groups(
    read: &GroupRead,
    config: &GroupsConfig,
    directory: &HashMap<Anchor, InDirectory>,
) -> Vec<DesiredGroup> {
    let enabled = |a: &&Anchor| directory.get(*a) == Some(&InDirectory::Enabled);
    read.groups
        .iter()
        .filter(|g| read.pushed.contains(&g.dn))
        .map(|g| DesiredGroup {
            anchor: g.anchor.clone(),
            dn: g.dn.clone(),
            zoom_name: config.zoom_name(&g.name),
            members: g.members.iter().filter(enabled).cloned().collect(),
        })
        .collect()
}

/// A managed user on the target as the state records it.
pub fn on_target(k: &KnownUser) -> OnTarget {
    match k.lifecycle {
        Lifecycle::Active => OnTarget::Active,
        Lifecycle::Deactivated { .. } => OnTarget::Deactivated,
    }
}

/// The group rule applied to the managed users: who may be a member, who keeps what it has.
#[derive(Debug, Default)]
pub struct Members {
    /// [`Standing::Member`]: anchor -> target id.
    pub ids: HashMap<Anchor, String>,
    /// [`Standing::Keeps`]: memberships not removed this cycle.
    pub keep: HashSet<Anchor>,
}

/// Everything the step needs once the users are done.
pub struct GroupStep<'a> {
    pub desired: Vec<DesiredGroup>,
    /// The users in scope and the unreadable entries, as the directory shows them.
    pub directory: HashMap<Anchor, InDirectory>,
    pub removals_allowed: bool,
    pub deletions_allowed: bool,
    pub config: &'a GroupsConfig,
    /// The groups in state, loaded with the users while the directory is read.
    pub known: HashMap<Anchor, KnownGroup>,
}

impl GroupStep<'_> {
    pub(super) fn input<'b>(
        &'b self,
        known: &'b HashMap<Anchor, KnownGroup>,
        members: &'b Members,
    ) -> GroupPlanInput<'b> {
        GroupPlanInput {
            desired: &self.desired,
            known,
            user_ids: &members.ids,
            keep: &members.keep,
            removals_allowed: self.removals_allowed,
            deletions_allowed: self.deletions_allowed,
            delete_created: self.config.delete_created,
            batch: &zoom_batches,
        }
    }

    fn in_directory(&self, anchor: &Anchor) -> InDirectory {
        self.directory.get(anchor).copied().unwrap_or(InDirectory::Absent)
    }

    /// The rule over the managed users, each on the target as `target` says (after a
    /// cycle's user operations: as the state records it). Unreadable entries keep their
    /// memberships whether or not they have state.
    pub fn members(&self, users: &HashMap<Anchor, KnownUser>, target: impl Fn(&KnownUser) -> OnTarget) -> Members {
        let mut members = Members::default();
        if self.desired.is_empty() && self.known.is_empty() {
            return members; // no group to plan: nobody's standing matters
        }
        for k in users.values() {
            match standing(self.in_directory(&k.anchor), target(k)) {
                Standing::Member => {
                    members.ids.insert(k.anchor.clone(), k.zoom_id.clone());
                }
                Standing::Keeps => {
                    members.keep.insert(k.anchor.clone());
                }
                Standing::Awaited | Standing::Out => {}
            }
        }
        let unreadable = self.directory.iter().filter(|(_, d)| **d == InDirectory::Unreadable);
        members.keep.extend(unreadable.map(|(a, _)| a.clone()));
        members
    }

    /// The plan without doing anything (`plan`, dry runs): the users as the planned user
    /// operations would leave them. Held operations are not planned, so their users stay
    /// active and keep their groups. Users the plan creates have no target id yet; they
    /// count as members to add (with a placeholder id never sent).
    pub fn plan(&self, users: &HashMap<Anchor, KnownUser>, ops: &[Op]) -> GroupPlan {
        let planned: HashMap<&Anchor, Action> = ops.iter().map(|op| (&op.anchor, op.action)).collect();
        let mut members = self.members(users, |k| match planned.get(&k.anchor) {
            Some(Action::Reactivate) => OnTarget::Active,
            Some(Action::Deactivate) => OnTarget::Deactivated,
            Some(Action::Delete) => OnTarget::Missing,
            Some(Action::Create | Action::Update) | None => on_target(k),
        });
        for op in ops.iter().filter(|op| op.action == Action::Create) {
            if standing(self.in_directory(&op.anchor), OnTarget::Active) == Standing::Member {
                members.ids.entry(op.anchor.clone()).or_insert_with(|| format!("(new user {})", op.anchor));
            }
        }
        groups::plan_groups(&self.input(&self.known, &members))
    }
}

/// Membership PATCHes cut at Zoom's body limit (the generic profile accepts the same).
fn zoom_batches(add: &[String], remove: &[String]) -> Vec<MemberPatch> {
    member_batches(add, remove, ZOOM_PATCH_MAX_CHARS)
}

#[cfg(test)]
mod tests;
