//! What a cycle did: per-operation outcomes, counts, and the one summary line.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::model::{Anchor, Rejected};
use crate::plan::{Action, Op, Plan};
use crate::scim::Change;

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
    pub anchor: Anchor,
    pub dn: String,
    pub user_name: String,
    pub action: Action,
    pub result: OutcomeResult,
    pub changes: Vec<Change>,
}

impl Outcome {
    pub fn new(op: &Op, result: OutcomeResult, changes: Vec<Change>) -> Self {
        Self {
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
    pub plan: Plan,
    pub outcomes: Vec<Outcome>,
    /// Why the cycle stopped early (a Fatal target error), if it did.
    pub fatal: Option<String>,
    pub interrupted: bool,
    #[serde(with = "humantime_serde")]
    pub duration: Duration,
}

impl CycleReport {
    /// (action, result) -> count of applied operations.
    pub fn counts(&self) -> BTreeMap<(Action, &'static str), usize> {
        let mut out = BTreeMap::new();
        for o in &self.outcomes {
            *out.entry((o.action, o.result.name())).or_insert(0) += 1;
        }
        out
    }

    pub fn succeeded(&self, action: Action) -> usize {
        self.outcomes.iter().filter(|o| o.action == action && o.result.succeeded()).count()
    }

    pub fn failed(&self) -> usize {
        self.outcomes.iter().filter(|o| matches!(o.result, OutcomeResult::Failed(_) | OutcomeResult::Fatal(_))).count()
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
        if let Some(f) = &self.fatal {
            s.push_str(&format!("; STOPPED: {f}"));
        }
        if self.interrupted {
            s.push_str("; interrupted by shutdown");
        }
        s
    }
}
