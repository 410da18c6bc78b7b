//! One cycle's bookkeeping and its small stages: begin (meta, clock, counter), scope (the
//! read as the plan's input, group-based scope), plan, the dry-run ending, and holding what
//! the guards held.

use std::collections::HashMap;
use std::time::Instant;

use super::GroupSync;
use super::groups::{self, GroupStep};
use super::mapping_memo::MappingMemo;
use super::read::{Read, State};
use super::{CycleOptions, CycleReport};
use crate::model::{Anchor, ApprovalRun, HeldOps, KnownUser, Meta, UnixTime, unix_now};
use crate::plan::{self, Desired, Limits, Note, Plan, PlanInput};
use crate::state::{StateError, StateStore};

pub(super) struct Cycle<'o> {
    pub started: Instant,
    /// The clock every decision of this cycle uses.
    pub now: UnixTime,
    /// Meta as the cycle began (the counter, held and approved operations).
    pub meta: Meta,
    pub options: &'o CycleOptions,
    /// Users whose rename, or another value, the target did not keep, as loaded (gauges).
    pub refused: Refused,
    pub report: CycleReport,
}

/// Users with values the target did not keep, by kind.
#[derive(Clone, Copy, Debug, Default)]
pub struct Refused {
    pub renames: usize,
    pub values: usize,
}

impl<'o> Cycle<'o> {
    pub fn begin<S: StateStore>(store: &S, options: &'o CycleOptions) -> Result<Self, StateError> {
        let meta = store.meta()?;
        let report = CycleReport {
            cycle: meta.cycle_counter + 1,
            dry_run: options.dry_run,
            changes: options.changes,
            ..Default::default()
        };
        Ok(Self { started: Instant::now(), now: unix_now(), meta, options, refused: Refused::default(), report })
    }

    /// The read as the plan's input: counts for the report; with groups, member DNs matched
    /// to the users in scope and group-based scope applied (which may narrow the users).
    pub fn scope<'g>(
        &mut self,
        read: Read,
        settings: Option<&'g GroupSync>,
        memo: Option<&MappingMemo>,
    ) -> (Desired, State, Option<GroupStep<'g>>) {
        let Read { mut desired, rejected, users_read, disabled_read, groups, mut state } = read;
        self.report.users_read = users_read;
        self.report.disabled_read = disabled_read;
        self.report.rejected = rejected;
        let mut step = None;
        if let (Some(settings), Some(fetched)) = (settings, groups) {
            let known = std::mem::take(&mut state.groups).into_iter().map(|g| (g.anchor.clone(), g)).collect();
            let (prepared, group_report, unmapped) = groups::prepare(settings, fetched, &mut desired, known, memo);
            self.report.rejected.extend(unmapped);
            tracing::debug!(elapsed = ?self.started.elapsed(), groups = group_report.groups_read, "groups read and flattened");
            self.report.groups = Some(group_report);
            step = Some(prepared);
        }
        self.report.incomplete = desired.incomplete.clone();
        self.refused = Refused {
            renames: state.known.values().filter(|k| k.rename_refused.is_some()).count(),
            values: state.known.values().filter(|k| !k.not_kept.is_empty()).count(),
        };
        (desired, state, step)
    }

    /// First cycle, after state loss, `--full`, or the daemon's schedule asked for it.
    pub fn reconcile_due(&self) -> bool {
        self.options.full || self.meta.last_full_reconcile.is_none()
    }

    /// The pure plan over this cycle's read and state (one anchor for `provision`), with
    /// the notes of the stages before it.
    pub fn plan(&self, limits: &Limits, mut desired: Desired, state: &State, notes: Vec<Note>) -> Plan {
        let only_known: HashMap<Anchor, KnownUser>;
        let known = match &self.options.only {
            Some(only) => {
                desired.users.retain(|d| &d.anchor == only);
                only_known = state.known.get(only).map(|k| (only.clone(), k.clone())).into_iter().collect();
                &only_known
            }
            None => &state.known,
        };
        // An approval is for the next cycle, which reads everything again; a batch of changes
        // holds what the guards hold, as it is.
        let approved = match self.options.changes {
            true => Vec::new(),
            false => self.meta.approved.clone().unwrap_or_default(),
        };
        let mut plan = plan::plan(PlanInput {
            desired,
            known,
            failures: &state.failures,
            now: self.now,
            limits: *limits,
            approved: &approved,
        });
        plan.notes = notes;
        tracing::debug!(elapsed = ?self.started.elapsed(), ops = plan.ops.len(), rss = %crate::telemetry::rss(), "planned");
        plan
    }

    /// A dry run ends here: the report carries the whole plan, the group plan included
    /// (as the planned user operations would leave the users: members of users the plan
    /// creates or reactivates count as adds, of users it deactivates as removals).
    pub fn planned(mut self, plan: Plan, groups: Option<GroupStep<'_>>, state: &State) -> CycleReport {
        if let (Some(step), Some(report)) = (&groups, &mut self.report.groups) {
            report.plan = step.plan(&state.known, &plan.ops);
        }
        self.report.plan = plan;
        self.report.duration = self.started.elapsed();
        self.report
    }

    /// Counts the cycle and records what the guards hold (for `status` and `approve`); an
    /// approval is used up by this cycle. `provision` leaves both alone.
    ///
    /// An approval is applied once, by the cycle that takes it: should that cycle crash
    /// mid-way, the next one does not apply the rest (the guards hold it again, safe by
    /// default) but records the interrupted approval for `status`. The mark is set here, as
    /// the cycle takes the approval, and cleared by [`super::record::finish`] once the cycle
    /// has applied it; still set here, the cycle that took it never finished.
    ///
    /// An approval recorded (admin socket) while this cycle read and planned was not seen by
    /// its plan: it is kept for the next cycle, which `approve` has asked for, rather than
    /// overwritten by the meta this cycle began with.
    pub fn hold<S: StateStore>(&mut self, store: &S, plan: &Plan) -> Result<(), StateError> {
        let arrived = store.meta()?.approved.filter(|_| self.meta.approved.is_none() || self.options.changes);
        self.meta.cycle_counter = self.report.cycle;
        if self.options.changes {
            self.meta.held = held_with(self.meta.held.take(), plan, self.now);
        } else if self.options.only.is_none() {
            self.meta.held = (!plan.held.is_empty()).then(|| HeldOps {
                reason: plan.guard.clone().unwrap_or_default(),
                since: self.meta.held.as_ref().map_or(self.now, |h| h.since),
                ops: plan.held.iter().map(plan::held_op).collect(),
            });
            match self.meta.approval_applying.take() {
                Some(crashed) => {
                    tracing::warn!(
                        cycle = crashed.cycle,
                        ops = crashed.ops,
                        held = plan.held.len(),
                        "the cycle applying an approval did not finish; what is left is held again"
                    );
                    self.meta.approval_interrupted = Some(crashed);
                }
                None if plan.held.is_empty() => self.meta.approval_interrupted = None,
                None => {}
            }
            if let Some(approved) = self.meta.approved.take() {
                self.meta.approval_applying = Some(ApprovalRun { cycle: self.report.cycle, ops: approved.len() });
                self.meta.approval_interrupted = None;
            }
        }
        if arrived.is_some() {
            self.meta.approved = arrived;
        }
        store.put_meta(&self.meta)
    }
}

/// What is held after a batch of changes: what was held, and what this batch holds too
/// (each operation once), under this batch's reason when it held anything.
fn held_with(held: Option<HeldOps>, plan: &Plan, now: UnixTime) -> Option<HeldOps> {
    if plan.held.is_empty() {
        return held;
    }
    let mut held = held.unwrap_or(HeldOps { reason: String::new(), since: now, ops: Vec::new() });
    for op in plan.held.iter().map(plan::held_op) {
        if !held.ops.iter().any(|h| h.anchor == op.anchor && h.action == op.action) {
            held.ops.push(op);
        }
    }
    held.reason = plan.guard.clone().unwrap_or(held.reason);
    Some(held)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Anchor, HeldOp};
    use crate::state::memory::MemoryStore;

    fn approval() -> Vec<HeldOp> {
        vec![HeldOp {
            anchor: Anchor::new("a").unwrap(),
            dn: "uid=a".into(),
            user_name: "a@example.com".into(),
            action: "deactivate".into(),
        }]
    }

    /// `approve` answered while a cycle (or a batch of changes) ran: the approval survives
    /// that cycle's meta write, for the next cycle to apply.
    #[test]
    fn an_approval_recorded_during_a_cycle_is_kept_for_the_next() {
        for changes in [false, true] {
            let store = MemoryStore::default();
            let options = CycleOptions { changes, ..Default::default() };
            let mut cycle = Cycle::begin(&store, &options).unwrap();
            let mut meta = store.meta().unwrap();
            meta.approved = Some(approval());
            store.put_meta(&meta).unwrap();
            cycle.hold(&store, &Plan::default()).unwrap();
            let after = store.meta().unwrap();
            assert_eq!(after.approved, Some(approval()), "changes: {changes}");
            assert!(after.approval_applying.is_none(), "not taken by a cycle that never planned with it");
        }
        // An approval the cycle began with is taken by it, as before.
        let store = MemoryStore::default();
        let mut meta = store.meta().unwrap();
        meta.approved = Some(approval());
        store.put_meta(&meta).unwrap();
        let options = CycleOptions::default();
        let mut cycle = Cycle::begin(&store, &options).unwrap();
        cycle.hold(&store, &Plan::default()).unwrap();
        let after = store.meta().unwrap();
        assert!(after.approved.is_none() && after.approval_applying.is_some());
    }
}
