//! The group step of a cycle (applying it: `apply.rs`): fetch groups while the users are read, flatten them to the
//! users in scope, narrow the users to the scoping groups, and after the user operations push group links and membership.
//!
//! Membership is applied after the users so new hires have Zoom ids; the plan is computed
//! again after linking so a group found or created this cycle gets its members at once.

use std::collections::{HashMap, HashSet};

mod apply;

use apply::GroupApply;

use super::engine::GroupSync;
use super::read::State;
use super::report::{CycleReport, GroupReport};
use super::{CycleError, Engine, Shutdown};
use crate::config::GroupsConfig;
use crate::model::Anchor;
use crate::model::{KnownGroup, KnownUser, MemberPatch, UnixTime};
use crate::plan::Desired;
use crate::plan::groups::{self, DesiredGroup, GroupPlan, GroupPlanInput};
use crate::scim::Target;
use crate::scim::group_body::{ZOOM_PATCH_MAX_CHARS, member_batches};
use crate::source::Directory;
use crate::source::groups::{FetchedGroups, GroupRead, normalize_dn};
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
        let user_ids = step.user_ids(&state.known);
        let apply = GroupApply {
            target: &engine.target,
            store: &engine.store,
            now,
            cycle: cycle.cycle,
            report: &mut report,
            user_ids: &user_ids,
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
    let users_by_dn: HashMap<String, Anchor> =
        desired.users.iter().map(|u| (normalize_dn(&u.dn), u.anchor.clone())).collect();
    crate::source::groups::resolve(fetched, &users_by_dn)
}

/// After the user read: resolve the groups, apply group-based scope to `desired`, and set
/// up the step (its group state arrives with the user state) and its report.
pub fn prepare<'a>(
    settings: &'a GroupSync,
    fetched: FetchedGroups,
    desired: &mut Desired,
) -> (GroupStep<'a>, GroupReport) {
    let read = resolve(fetched, desired);
    let out_of_scope = apply_scope(desired, &read, &settings.config.scope);
    let complete = desired.incomplete.is_none() && read.incomplete.is_none();
    let in_scope = desired.users.iter().map(|u| u.anchor.clone()).collect();
    let step = GroupStep {
        desired: desired_groups(&read, &settings.config, &in_scope),
        in_scope,
        keep: desired.unreadable.clone(),
        removals_allowed: complete,
        deletions_allowed: complete && read.missing.is_empty(),
        config: &settings.config,
        known: HashMap::new(),
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
    (step, report)
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

/// The groups to push, with their Zoom names and their members in scope (scoping-only
/// groups are not pushed; members out of scope are not zoomsync's to manage).
pub fn desired_groups(read: &GroupRead, config: &GroupsConfig, in_scope: &HashSet<Anchor>) -> Vec<DesiredGroup> {
    read.groups
        .iter()
        .filter(|g| read.pushed.contains(&g.dn))
        .map(|g| DesiredGroup {
            anchor: g.anchor.clone(),
            dn: g.dn.clone(),
            zoom_name: config.zoom_name(&g.name),
            members: g.members.iter().filter(|a| in_scope.contains(*a)).cloned().collect(),
        })
        .collect()
}

/// Everything the step needs once the users are done.
pub struct GroupStep<'a> {
    pub desired: Vec<DesiredGroup>,
    /// Users in scope (the only ones a group may hold).
    pub in_scope: HashSet<Anchor>,
    /// Members never removed this cycle (held deactivations, unreadable entries).
    pub keep: HashSet<Anchor>,
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
        user_ids: &'b HashMap<Anchor, String>,
    ) -> GroupPlanInput<'b> {
        GroupPlanInput {
            desired: &self.desired,
            known,
            user_ids,
            keep: &self.keep,
            removals_allowed: self.removals_allowed,
            deletions_allowed: self.deletions_allowed,
            delete_created: self.config.delete_created,
            batch: &zoom_batches,
        }
    }

    /// Zoom ids of the managed users in scope, from the cycle's state.
    pub fn user_ids(&self, known: &HashMap<Anchor, KnownUser>) -> HashMap<Anchor, String> {
        known
            .values()
            .filter(|k| self.in_scope.contains(&k.anchor))
            .map(|k| (k.anchor.clone(), k.zoom_id.clone()))
            .collect()
    }

    /// The plan without doing anything (`plan`, dry runs). Users the user plan creates have
    /// no Zoom id yet; they count as members to add (with a placeholder id never sent).
    pub fn plan<'b>(
        &self,
        mut user_ids: HashMap<Anchor, String>,
        planned_creates: impl Iterator<Item = &'b Anchor>,
    ) -> GroupPlan {
        for anchor in planned_creates.filter(|a| self.in_scope.contains(*a)) {
            user_ids.entry(anchor.clone()).or_insert_with(|| format!("(new user {anchor})"));
        }
        groups::plan_groups(&self.input(&self.known, &user_ids))
    }
}

/// Membership PATCHes cut at Zoom's body limit (the generic profile accepts the same).
fn zoom_batches(add: &[String], remove: &[String]) -> Vec<MemberPatch> {
    member_batches(add, remove, ZOOM_PATCH_MAX_CHARS)
}

#[cfg(test)]
mod tests;
