//! The group step of a cycle: fetch groups while the users are read, flatten them to the
//! users in scope, narrow the users to the scoping groups, and after the user operations push group links and membership.
//!
//! Membership is applied after the users so new hires have Zoom ids; the plan is computed
//! again after linking so a group found or created this cycle gets its members at once.

use std::collections::{HashMap, HashSet};

use super::engine::GroupSync;
use super::read::State;
use super::report::{CycleReport, GroupFailure, GroupReport};
use super::{CycleError, Engine, Shutdown};
use crate::config::GroupsConfig;
use crate::model::Anchor;
use crate::model::{HistoryRecord, KnownGroup, KnownUser, UnixTime};
use crate::plan::Desired;
use crate::plan::groups::{self, DesiredGroup, GroupChange, GroupOp, GroupPlan, GroupPlanInput};
use crate::scim::group_body::{ZOOM_PATCH_MAX_CHARS, member_batches};
use crate::scim::{ScimError, Target};
use crate::source::Directory;
use crate::source::groups::{FetchedGroups, GroupRead, normalize_dn};
use crate::state::{StateError, StateStore};

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
    if cycle.fatal.is_none() && !shutdown.is_requested() {
        let log = History { now, cycle: cycle.cycle };
        let user_ids = step.user_ids(&state.known);
        if let Some(fatal) = step.apply(&engine.target, &engine.store, &log, &mut report, &user_ids).await? {
            cycle.fatal = Some(fatal);
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
    fn input<'b>(
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

    /// Links/renames/deletes, then membership; state is written after each success.
    /// Returns the fatal error that stopped it, if one did.
    pub async fn apply<T: Target, S: StateStore>(
        mut self,
        target: &T,
        store: &S,
        log: &History,
        report: &mut GroupReport,
        user_ids: &HashMap<Anchor, String>,
    ) -> Result<Option<String>, StateError> {
        let mut known = std::mem::take(&mut self.known);
        let mut structure = GroupPlan::default();
        groups::structure(&self.input(&known, user_ids), &mut structure);
        for op in structure.ops {
            if let Some(fatal) = self.run(target, store, log, report, &mut known, user_ids, op).await? {
                return Ok(Some(fatal));
            }
        }
        let mut membership = GroupPlan::default();
        groups::membership(&self.input(&known, user_ids), &mut membership);
        report.plan.awaiting_user = membership.awaiting_user;
        report.plan.removals_withheld = membership.removals_withheld;
        report.plan.deletions_withheld = structure.deletions_withheld;
        // A group whose link failed above has no id: its members wait for the next cycle.
        let linked: Vec<GroupOp> = membership.ops.into_iter().filter(|op| known.contains_key(&op.anchor)).collect();
        for op in linked {
            if let Some(fatal) = self.run(target, store, log, report, &mut known, user_ids, op).await? {
                return Ok(Some(fatal));
            }
        }
        Ok(None)
    }

    #[allow(clippy::too_many_arguments)]
    async fn run<T: Target, S: StateStore>(
        &self,
        target: &T,
        store: &S,
        log: &History,
        report: &mut GroupReport,
        known: &mut HashMap<Anchor, KnownGroup>,
        user_ids: &HashMap<Anchor, String>,
        op: GroupOp,
    ) -> Result<Option<String>, StateError> {
        match execute(target, known, user_ids, &op).await {
            Ok((name, detail)) => {
                match known.get(&op.anchor) {
                    Some(k) => store.put_group(k)?,
                    None => store.remove_group(&op.anchor)?,
                }
                *report.done.entry(name).or_insert(0) += 1;
                if let GroupChange::Members { anchors, remove, .. } = &op.change {
                    if *remove {
                        report.members_removed += anchors.len();
                    } else {
                        report.members_added += anchors.len();
                    }
                }
                log.record(store, &op, name, "success", detail)?;
                Ok(None)
            }
            Err(e) => {
                if matches!(e, ScimError::NotFound { .. }) && op.zoom_id.is_some() {
                    // Deleted on Zoom: forget the link; the next cycle finds or creates it.
                    known.remove(&op.anchor);
                    store.remove_group(&op.anchor)?;
                }
                tracing::warn!(group = %op.zoom_name, operation = op.change.name(), error = %e, "group operation failed");
                report.failed.push(GroupFailure {
                    group: op.zoom_name.clone(),
                    operation: op.change.name(),
                    error: e.to_string(),
                });
                log.record(store, &op, op.change.name(), "failure", Some(e.to_string()))?;
                Ok(e.is_fatal().then(|| e.to_string()))
            }
        }
    }
}

/// One group operation against the target; updates `known` on success. Returns the name
/// to count it under and a detail for the provisioning log.
async fn execute<T: Target>(
    target: &T,
    known: &mut HashMap<Anchor, KnownGroup>,
    user_ids: &HashMap<Anchor, String>,
    op: &GroupOp,
) -> Result<(&'static str, Option<String>), ScimError> {
    let id = op.zoom_id.clone().or_else(|| known.get(&op.anchor).map(|k| k.zoom_id.clone()));
    match (&op.change, id) {
        (GroupChange::Link, _) => {
            let (remote, created) = match target.find_group(&op.zoom_name).await? {
                Some(found) => (target.get_group(&found.id).await.unwrap_or(found), false),
                None => match target.create_group(&op.zoom_name).await {
                    Ok(g) => (g, true),
                    // The name is taken after all (created meanwhile, or by a create whose
                    // answer was lost): the client found it; link it.
                    Err(e @ ScimError::Conflict { .. }) => (target.find_group(&op.zoom_name).await?.ok_or(e)?, false),
                    Err(e) => return Err(e),
                },
            };
            // Members the target lists that are users we manage count as pushed, so the
            // ones not in the directory group are removed; others are left alone.
            let by_id: HashMap<&str, &Anchor> = user_ids.iter().map(|(a, id)| (id.as_str(), a)).collect();
            let members = remote
                .members
                .iter()
                .flatten()
                .filter_map(|id| by_id.get(id.as_str()).map(|a| ((*a).clone(), id.clone())))
                .collect();
            known.insert(
                op.anchor.clone(),
                KnownGroup {
                    anchor: op.anchor.clone(),
                    dn: op.dn.clone(),
                    zoom_id: remote.id,
                    zoom_name: remote.display_name,
                    created,
                    members,
                },
            );
            Ok(if created { ("group_create", None) } else { ("group_link", Some("linked an existing group".into())) })
        }
        (GroupChange::Rename { from }, Some(id)) => {
            target.rename_group(&id, &op.zoom_name).await?;
            if let Some(k) = known.get_mut(&op.anchor) {
                k.zoom_name = op.zoom_name.clone();
            }
            Ok(("group_rename", Some(format!("renamed from {from:?}"))))
        }
        (GroupChange::Members { patch, anchors, remove }, Some(id)) => {
            target.patch_members(&id, patch).await?;
            if let Some(k) = known.get_mut(&op.anchor) {
                for (anchor, user_id) in anchors.iter().zip(patch.ids()) {
                    if *remove {
                        if k.members.get(anchor) == Some(user_id) {
                            k.members.remove(anchor);
                        }
                    } else {
                        k.members.insert(anchor.clone(), user_id.clone());
                    }
                }
            }
            let verb = if *remove { "removed" } else { "added" };
            Ok((op.change.name(), Some(format!("{verb} {} members", anchors.len()))))
        }
        (GroupChange::Delete, Some(id)) => {
            match target.delete_group(&id).await {
                Ok(()) | Err(ScimError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
            known.remove(&op.anchor);
            Ok(("group_delete", None))
        }
        (GroupChange::Unlink, _) => {
            known.remove(&op.anchor);
            Ok(("group_unlink", Some("directory group gone; the Zoom group was not created by zoomsync".into())))
        }
        (_, None) => Err(ScimError::NotFound { detail: format!("group {} is not linked", op.zoom_name) }),
    }
}

/// Membership PATCHes cut at Zoom's body limit (the generic profile accepts the same).
fn zoom_batches(add: &[String], remove: &[String]) -> Vec<crate::model::MemberPatch> {
    member_batches(add, remove, ZOOM_PATCH_MAX_CHARS)
}

/// Writes group operations to the provisioning log.
pub struct History {
    pub now: UnixTime,
    pub cycle: u64,
}

impl History {
    fn record<S: StateStore>(
        &self,
        store: &S,
        op: &GroupOp,
        action: &str,
        result: &str,
        detail: Option<String>,
    ) -> Result<(), StateError> {
        store.append_history(&[HistoryRecord {
            time: self.now,
            cycle: self.cycle,
            anchor: op.anchor.clone(),
            dn: op.dn.clone(),
            user_name: op.zoom_name.clone(),
            action: action.to_string(),
            result: result.to_string(),
            changes: Vec::new(),
            detail,
        }])
    }
}

#[cfg(test)]
mod tests;
