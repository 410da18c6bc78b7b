//! Applying the group plan: links, renames and deletions first, then membership computed
//! again against the links just made, so a group found or created this cycle gets its members
//! at once. Every success is committed and written to the provisioning log.

use std::collections::HashMap;

use super::{GroupStep, Members};
use crate::model::{Anchor, HistoryRecord, KnownGroup, KnownUser, RemoteGroup, UnixTime};
use crate::plan::groups::{self, GroupChange, GroupOp, GroupPlan};
use crate::scim::{ScimError, Target};
use crate::state::{StateError, StateStore};
use crate::sync::report::{GroupFailure, GroupReport};

/// What the group operations of one cycle share.
pub(in crate::sync) struct GroupApply<'a, T: Target, S: StateStore> {
    pub target: &'a T,
    pub store: &'a S,
    pub now: UnixTime,
    pub cycle: u64,
    pub report: &'a mut GroupReport,
    /// The group rule over the managed users (who may be a member, who keeps its groups).
    pub members: &'a Members,
    /// Every managed user, as this cycle's user operations left it (for a linked group's
    /// listed members).
    pub users: &'a HashMap<Anchor, KnownUser>,
}

impl<T: Target, S: StateStore> GroupApply<'_, T, S> {
    /// Runs the step. Returns the error that stopped it (Fatal or Paused), if one did.
    pub async fn run(mut self, mut step: GroupStep<'_>) -> Result<Option<ScimError>, StateError> {
        let mut known = std::mem::take(&mut step.known);
        let mut structure = GroupPlan::default();
        groups::structure(&step.input(&known, self.members), &mut structure);
        // Target id -> managed user, for the members a linked group lists (built only when
        // something is linked).
        let owners: HashMap<&str, &Anchor> = match structure.ops.iter().any(|op| op.change == GroupChange::Link) {
            true => self.users.values().map(|k| (k.zoom_id.as_str(), &k.anchor)).collect(),
            false => HashMap::new(),
        };
        for op in structure.ops {
            if let Some(fatal) = self.one(&mut known, &owners, op).await? {
                return Ok(Some(fatal));
            }
        }
        let mut membership = GroupPlan::default();
        groups::membership(&step.input(&known, self.members), &mut membership);
        self.report.plan.awaiting_user = membership.awaiting_user;
        self.report.plan.removals_withheld = membership.removals_withheld;
        self.report.plan.deletions_withheld = structure.deletions_withheld;
        // A group whose link failed above has no id: its members wait for the next cycle.
        let linked: Vec<GroupOp> = membership.ops.into_iter().filter(|op| known.contains_key(&op.anchor)).collect();
        for op in linked {
            if let Some(fatal) = self.one(&mut known, &owners, op).await? {
                return Ok(Some(fatal));
            }
        }
        Ok(None)
    }

    /// One operation, its state, report and log. Returns the error when it stops the cycle.
    async fn one(
        &mut self,
        known: &mut HashMap<Anchor, KnownGroup>,
        owners: &HashMap<&str, &Anchor>,
        op: GroupOp,
    ) -> Result<Option<ScimError>, StateError> {
        match execute(self.target, known, owners, &op).await {
            Ok((name, detail)) => {
                match known.get(&op.anchor) {
                    Some(k) => self.store.put_group(k)?,
                    None => self.store.remove_group(&op.anchor)?,
                }
                *self.report.done.entry(name).or_insert(0) += 1;
                if let GroupChange::Members { anchors, remove, .. } = &op.change {
                    match remove {
                        true => self.report.members_removed += anchors.len(),
                        false => self.report.members_added += anchors.len(),
                    }
                }
                self.log(&op, name, "success", detail)?;
                Ok(None)
            }
            Err(e) => {
                if matches!(e, ScimError::NotFound { .. }) && op.zoom_id.is_some() {
                    // Deleted on Zoom: forget the link; the next cycle finds or creates it.
                    known.remove(&op.anchor);
                    self.store.remove_group(&op.anchor)?;
                }
                tracing::warn!(group = %op.zoom_name, operation = op.change.name(), error = %e, "group operation failed");
                let failure =
                    GroupFailure { group: op.zoom_name.clone(), operation: op.change.name(), error: e.to_string() };
                self.report.failed.push(failure);
                self.log(&op, op.change.name(), "failure", Some(e.to_string()))?;
                Ok(e.stops_cycle().then_some(e))
            }
        }
    }

    /// Writes the operation to the provisioning log.
    fn log(&self, op: &GroupOp, action: &str, result: &str, detail: Option<String>) -> Result<(), StateError> {
        self.store.append_history(&[HistoryRecord {
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

/// One group operation against the target; updates `known` on success. Returns the name
/// to count it under and a detail for the provisioning log.
async fn execute<T: Target>(
    target: &T,
    known: &mut HashMap<Anchor, KnownGroup>,
    owners: &HashMap<&str, &Anchor>,
    op: &GroupOp,
) -> Result<(&'static str, Option<String>), ScimError> {
    let id = op.zoom_id.clone().or_else(|| known.get(&op.anchor).map(|k| k.zoom_id.clone()));
    match (&op.change, id) {
        (GroupChange::Link, _) => link(target, known, owners, op).await,
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
                    if !*remove {
                        k.members.insert(anchor.clone(), user_id.clone());
                    } else if k.members.get(anchor) == Some(user_id) {
                        k.members.remove(anchor);
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
            Ok(("group_unlink", Some("no longer pushed; the group was not created by zoomsync, so it is kept".into())))
        }
        (_, None) => Err(ScimError::NotFound { detail: format!("group {} is not linked", op.zoom_name) }),
    }
}

/// Finds the Zoom group by name (a group that exists is linked, never duplicated) or
/// creates it, and records it as known. A group found carrying zoomsync's mark for this
/// directory group (generic SCIM: `externalId` = its anchor, set when zoomsync created it)
/// is recorded as created, so `delete_created` still applies after a state loss; any other
/// group found is only linked, never deleted.
async fn link<T: Target>(
    target: &T,
    known: &mut HashMap<Anchor, KnownGroup>,
    owners: &HashMap<&str, &Anchor>,
    op: &GroupOp,
) -> Result<(&'static str, Option<String>), ScimError> {
    let remote = match target.find_group(&op.zoom_name).await? {
        Some(found) => target.get_group(&found.id).await.unwrap_or(found),
        None => match target.create_group(&op.anchor, &op.zoom_name).await {
            Ok(created) => {
                known.insert(op.anchor.clone(), record(op, created, owners, true));
                return Ok(("group_create", None));
            }
            // The name is taken after all (created meanwhile, or by a create whose answer
            // was lost, which the mark recognises): the client found it; link it.
            Err(e @ ScimError::Conflict { .. }) => target.find_group(&op.zoom_name).await?.ok_or(e)?,
            Err(e) => return Err(e),
        },
    };
    let ours = remote.marked_for(&op.anchor);
    let detail = match ours {
        true => "linked a group zoomsync created (marked with the directory group's anchor)",
        false => "linked an existing group",
    };
    known.insert(op.anchor.clone(), record(op, remote, owners, ours));
    Ok(("group_link", Some(detail.into())))
}

/// The state record of a group just linked or created. Members the target lists that are
/// users zoomsync manages count as pushed, so the ones the group must not hold (not in the
/// directory group, deactivated) are removed; others are left alone.
fn record(op: &GroupOp, remote: RemoteGroup, owners: &HashMap<&str, &Anchor>, created: bool) -> KnownGroup {
    let members = remote
        .members
        .iter()
        .flatten()
        .filter_map(|id| owners.get(id.as_str()).map(|a| ((*a).clone(), id.clone())))
        .collect();
    KnownGroup {
        anchor: op.anchor.clone(),
        dn: op.dn.clone(),
        zoom_id: remote.id,
        zoom_name: remote.display_name,
        created,
        members,
    }
}
