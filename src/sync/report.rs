//! What a cycle did: per-operation outcomes, counts, and the one summary line.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::model::Change;
use crate::model::{Anchor, Rejected};
use crate::plan::{Action, Op, Plan};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "result", content = "detail", rename_all = "snake_case")]
pub enum OutcomeResult {
    Success,
    /// Done, with something the operator should know (adopted, rename refused...).
    Warning(String),
    Failed(String),
    /// Failed in a way that stopped the cycle.
    Fatal(String),
    /// Not started: the cycle stopped (fatal error or shutdown) first.
    NotAttempted,
}

impl OutcomeResult {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Warning(_) => "warning",
            Self::Failed(_) | Self::Fatal(_) => "failure",
            Self::NotAttempted => "not_attempted",
        }
    }

    pub fn detail(&self) -> Option<&str> {
        match self {
            Self::Warning(d) | Self::Failed(d) | Self::Fatal(d) => Some(d),
            Self::Success | Self::NotAttempted => None,
        }
    }

    pub fn succeeded(&self) -> bool {
        matches!(self, Self::Success | Self::Warning(_))
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub reason: &'static str,
    pub anchor: Anchor,
    pub dn: String,
    pub user_name: String,
    pub action: Action,
    pub result: OutcomeResult,
    pub changes: Vec<Change>,
}

impl Outcome {
    /// A create's "changes" are its whole payload: kept in the provisioning log, not in the
    /// cycle report (100,000 creates would otherwise hold a second copy of the directory).
    pub fn without_create_payload(mut self) -> Self {
        if self.action == Action::Create {
            self.changes = Vec::new();
        }
        self
    }

    pub fn new(op: &Op, result: OutcomeResult, changes: Vec<Change>) -> Self {
        Self {
            reason: op.reason,
            anchor: op.anchor.clone(),
            dn: op.dn.clone(),
            user_name: op.user_name.clone(),
            action: op.action,
            result,
            changes,
        }
    }
}

/// Reconcile figures, when the cycle read the whole target.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ReconcileSummary {
    pub target_users: usize,
    pub forgotten: usize,
    pub drift: usize,
    pub adopted: usize,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct CycleReport {
    pub cycle: u64,
    pub dry_run: bool,
    pub users_read: usize,
    pub disabled_read: usize,
    pub rejected: Vec<Rejected>,
    pub incomplete: Option<String>,
    pub reconcile: Option<ReconcileSummary>,
    /// The plan. Once applied, `plan.ops` is empty: the operations moved into the apply
    /// step, and what became of them is in `tally` and `outcomes`.
    pub plan: Plan,
    /// (action, result) -> number of operations.
    pub tally: BTreeMap<(Action, &'static str), usize>,
    /// Outcomes worth reading: failures, warnings, updates (with their changes), and every
    /// outcome of a one-user run. Plain successes are only counted (the provisioning log has
    /// each one), so a 100,000-user first cycle does not hold 100,000 records here.
    pub outcomes: Vec<Outcome>,
    /// The group step, when `[groups]` is configured.
    pub groups: Option<super::GroupReport>,
    /// Why the cycle stopped early (a Fatal target error), if it did.
    pub fatal: Option<String>,
    pub interrupted: bool,
    #[serde(with = "humantime_serde")]
    pub duration: Duration,
}

impl CycleReport {
    /// Counts the outcome and keeps it when it is worth reading (or `keep_all`).
    pub fn record(&mut self, outcome: Outcome, keep_all: bool) {
        *self.tally.entry((outcome.action, outcome.result.name())).or_insert(0) += 1;
        let plain = outcome.result == OutcomeResult::Success && outcome.changes.is_empty();
        if keep_all || !plain {
            self.outcomes.push(outcome);
        }
    }

    fn tallied(&self, action: Action, results: &[&str]) -> usize {
        self.tally.iter().filter(|((a, r), _)| *a == action && results.contains(r)).map(|(_, n)| n).sum()
    }

    pub fn succeeded(&self, action: Action) -> usize {
        self.tallied(action, &["success", "warning"])
    }

    pub fn failed(&self) -> usize {
        self.tally.iter().filter(|((_, r), _)| *r == "failure").map(|(_, n)| n).sum()
    }

    /// Group operations that failed this cycle.
    pub fn group_failures(&self) -> usize {
        self.groups.as_ref().map_or(0, |g| g.failed.len())
    }

    pub fn not_attempted(&self) -> usize {
        self.tally.iter().filter(|((_, r), _)| *r == "not_attempted").map(|(_, n)| n).sum()
    }

    /// The one line per cycle for the journal and `status`.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "cycle {}{}: read {} users ({} rejected{}); created {}, updated {}, reactivated {}, deactivated {}, deleted {}, failed {}, held {}, skipped {}, unchanged {} in {:.1}s",
            self.cycle,
            if self.dry_run { " (plan only)" } else { "" },
            self.users_read,
            self.rejected.len(),
            if self.incomplete.is_some() { ", read INCOMPLETE" } else { "" },
            self.succeeded(Action::Create),
            self.succeeded(Action::Update),
            self.succeeded(Action::Reactivate),
            self.succeeded(Action::Deactivate),
            self.succeeded(Action::Delete),
            self.failed(),
            self.plan.held.len(),
            self.plan.skipped.len(),
            self.plan.unchanged,
            self.duration.as_secs_f64(),
        );
        if let Some(g) = &self.groups {
            s.push_str(&format!("; {}", g.summary()));
        }
        if let Some(f) = &self.fatal {
            s.push_str(&format!("; STOPPED: {f}"));
        }
        if self.interrupted {
            s.push_str("; interrupted by shutdown");
        }
        s
    }
}

/// What the group step saw and did, for the report, `plan` and metrics.
#[derive(Clone, Debug, Default, Serialize)]
pub struct GroupReport {
    pub groups_read: usize,
    /// Configured group names no directory group carries.
    pub missing: Vec<String>,
    pub cycles: Vec<Vec<String>>,
    pub rejected: Vec<Rejected>,
    pub incomplete: Option<String>,
    /// Users dropped because they are in no scoping group.
    pub out_of_scope: usize,
    /// The plan (for a dry run the whole plan; after a sync, what remained to do).
    pub plan: crate::plan::groups::GroupPlan,
    /// Operations done, by change name (group_link, group_create, group_add, ...).
    pub done: std::collections::BTreeMap<&'static str, usize>,
    pub members_added: usize,
    pub members_removed: usize,
    pub failed: Vec<GroupFailure>,
}

impl GroupReport {
    /// The group part of the cycle's summary line.
    pub fn summary(&self) -> String {
        let get = |k: &str| self.done.get(k).copied().unwrap_or(0);
        let mut s = format!(
            "groups: {} read, {} linked, {} created, {} renamed, {} deleted, +{} -{} members, failed {}",
            self.groups_read,
            get("group_link"),
            get("group_create"),
            get("group_rename"),
            get("group_delete"),
            self.members_added,
            self.members_removed,
            self.failed.len(),
        );
        if !self.missing.is_empty() {
            s.push_str(&format!(", NOT FOUND: {}", self.missing.join(", ")));
        }
        if self.out_of_scope > 0 {
            s.push_str(&format!(", {} users out of scope", self.out_of_scope));
        }
        s
    }
}

/// A group operation that failed.
#[derive(Clone, Debug, Serialize)]
pub struct GroupFailure {
    pub group: String,
    pub operation: &'static str,
    pub error: String,
}
