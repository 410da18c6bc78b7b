//! What a cycle did: per-operation outcomes, counts, the one summary line, and the
//! [`CycleOutcome`] every consumer (metric, exit status, readiness) derives from.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::model::Change;
use crate::model::{Anchor, Rejected, TargetPause, UnixTime};
use crate::plan::{Action, ManagerCounts, Op, Plan};
use crate::scim::ScimError;

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

/// An operation's result as counted (and as the `result` label of the operations metric).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultKind {
    Success,
    Warning,
    Failure,
    NotAttempted,
}

impl ResultKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Warning => "warning",
            Self::Failure => "failure",
            Self::NotAttempted => "not_attempted",
        }
    }
}

impl OutcomeResult {
    pub fn kind(&self) -> ResultKind {
        match self {
            Self::Success => ResultKind::Success,
            Self::Warning(_) => ResultKind::Warning,
            Self::Failed(_) | Self::Fatal(_) => ResultKind::Failure,
            Self::NotAttempted => ResultKind::NotAttempted,
        }
    }

    pub fn name(&self) -> &'static str {
        self.kind().as_str()
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
    /// A change-channel batch rather than a cycle (its summary says "changes").
    pub changes: bool,
    pub users_read: usize,
    pub disabled_read: usize,
    pub rejected: Vec<Rejected>,
    pub incomplete: Option<String>,
    pub reconcile: Option<ReconcileSummary>,
    /// The plan. Once applied, `plan.ops` is empty: the operations moved into the apply
    /// step, and what became of them is in `tally` and `outcomes`.
    pub plan: Plan,
    /// (action, result) -> number of operations.
    pub tally: BTreeMap<(Action, ResultKind), usize>,
    /// Outcomes worth reading: failures, warnings, updates (with their changes), and every
    /// outcome of a one-user run. Plain successes are only counted (the provisioning log has
    /// each one), so a 100,000-user first cycle does not hold 100,000 records here.
    pub outcomes: Vec<Outcome>,
    /// The group step, when `[groups]` is configured.
    pub groups: Option<super::GroupReport>,
    /// What became of the mapped manager DNs (all zero without `mapping.manager`); the
    /// reasons for those left unset are in `plan.notes`.
    pub managers: ManagerCounts,
    /// Why the cycle stopped early (a Fatal target error), if it did.
    pub fatal: Option<String>,
    /// The target refuses requests until a time beyond this cycle (a daily rate limit): the
    /// cycle stopped there; scheduled cycles wait until then.
    pub paused: Option<TargetPause>,
    /// A full reconcile was due but the target could not be listed (a temporary error): the
    /// cycle went on from the state alone, without repairs or adoptions.
    pub target_unread: Option<String>,
    pub interrupted: bool,
    #[serde(with = "humantime_serde")]
    pub duration: Duration,
}

impl CycleReport {
    /// Counts the outcome and keeps it when it is worth reading (or `keep_all`).
    pub fn record(&mut self, outcome: Outcome, keep_all: bool) {
        *self.tally.entry((outcome.action, outcome.result.kind())).or_insert(0) += 1;
        let plain = outcome.result == OutcomeResult::Success && outcome.changes.is_empty();
        if keep_all || !plain {
            self.outcomes.push(outcome);
        }
    }

    fn tallied(&self, action: Option<Action>, results: &[ResultKind]) -> usize {
        let counted = |a: &Action, r: &ResultKind| action.is_none_or(|want| want == *a) && results.contains(r);
        self.tally.iter().filter(|((a, r), _)| counted(a, r)).map(|(_, n)| n).sum()
    }

    pub fn succeeded(&self, action: Action) -> usize {
        self.tallied(Some(action), &[ResultKind::Success, ResultKind::Warning])
    }

    pub fn failed(&self) -> usize {
        self.tallied(None, &[ResultKind::Failure])
    }

    /// Group operations that failed this cycle.
    pub fn group_failures(&self) -> usize {
        self.groups.as_ref().map_or(0, |g| g.failed.len())
    }

    pub fn not_attempted(&self) -> usize {
        self.tallied(None, &[ResultKind::NotAttempted])
    }

    /// Operations that were tried (not those a stop left untouched).
    pub fn attempted(&self) -> usize {
        self.tally.values().sum::<usize>() - self.not_attempted()
    }

    /// Records an error that stops the cycle (Fatal or Paused; the first of each kind is
    /// kept). Returns whether it was one.
    pub fn stop_with(&mut self, e: &ScimError) -> bool {
        match e {
            ScimError::Fatal { .. } => {
                self.fatal.get_or_insert_with(|| e.to_string());
            }
            ScimError::Paused { until, detail } => {
                self.paused.get_or_insert_with(|| TargetPause { until: unix_ceil(*until), reason: detail.clone() });
            }
            _ => return false,
        }
        true
    }

    /// Whether the target stopped the cycle (Fatal or Paused): no further operations.
    pub fn stopped(&self) -> bool {
        self.fatal.is_some() || self.paused.is_some()
    }

    /// How the cycle went, decided once (see [`CycleOutcome`]).
    pub fn outcome(&self) -> CycleOutcome {
        if self.fatal.is_some() {
            CycleOutcome::Fatal
        } else if self.interrupted {
            CycleOutcome::Interrupted
        } else if self.paused.is_some() {
            CycleOutcome::Paused
        } else if self.incomplete.is_some() {
            CycleOutcome::Incomplete
        } else if self.failed() > 0 || self.group_failures() > 0 || !self.plan.held.is_empty() {
            CycleOutcome::Attention
        } else {
            CycleOutcome::Success
        }
    }

    /// The one line per cycle for the journal and `status`.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} {}{}: read {} users ({} rejected{}); created {}, updated {}, reactivated {}, deactivated {}, deleted {}, failed {}, held {}, skipped {}, unchanged {} in {:.1}s",
            if self.changes { "changes" } else { "cycle" },
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
        let m = &self.managers;
        if m.total() > 0 {
            let pending = m.not_yet_on_target;
            let unset = m.total() - m.resolved - pending;
            s.push_str(&format!("; managers: {} resolved, {pending} not on Zoom yet, {unset} left unset", m.resolved));
        }
        if let Some(g) = &self.groups {
            s.push_str(&format!("; {}", g.summary()));
        }
        if let Some(unread) = &self.target_unread {
            s.push_str(&format!("; target NOT READ (no reconcile): {unread}"));
        }
        if let Some(f) = &self.fatal {
            s.push_str(&format!("; STOPPED: {f}"));
        }
        if let Some(p) = &self.paused {
            s.push_str(&format!("; PAUSED until {}: {}", rfc3339(p.until), p.reason));
        }
        if self.interrupted {
            s.push_str("; interrupted by shutdown");
        }
        s
    }
}

/// A moment as UTC RFC 3339 (seconds).
pub fn rfc3339(t: UnixTime) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(t.max(0) as u64)).to_string()
}

/// A moment as [`UnixTime`], rounded up (a pause never ends early).
fn unix_ceil(t: SystemTime) -> UnixTime {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    UnixTime::try_from(secs).unwrap_or(UnixTime::MAX)
}

/// How a finished cycle went, worst first. Computed once by [`CycleReport::outcome`]; the
/// `zoomsync_cycles_total{outcome}` label, the exit status of one-shot commands and the
/// daemon's readiness are all read off it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CycleOutcome {
    /// A Fatal target error stopped it (bad credentials, forbidden, TLS): exit 1;
    /// `outcome="fatal"`; the daemon is not ready until a cycle succeeds.
    Fatal,
    /// SIGTERM stopped it before every operation ran: exit 1; `outcome="interrupted"`; ready.
    Interrupted,
    /// The target refuses requests until a time beyond the cycle (Zoom's daily rate limit):
    /// stopped at the first refusal; exit 4; `outcome="paused"`; ready (nothing is broken);
    /// the daemon skips scheduled cycles until then.
    Paused,
    /// The directory read was cut short, so nobody was deactivated: exit 3;
    /// `outcome="incomplete"`; ready.
    Incomplete,
    /// It ran, but operations failed or a guard holds some for `approve`: exit 4;
    /// `outcome="attention"`; ready.
    Attention,
    /// Everything planned was done: exit 0; `outcome="success"`; ready.
    Success,
}

impl CycleOutcome {
    /// The `outcome` label of `zoomsync_cycles_total`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Fatal => "fatal",
            Self::Interrupted => "interrupted",
            Self::Paused => "paused",
            Self::Incomplete => "incomplete",
            Self::Attention => "attention",
            Self::Success => "success",
        }
    }

    /// The exit status of `sync --once`, `approve --sync` and `provision` (documented in
    /// `main.rs`).
    pub fn exit_status(self) -> u8 {
        match self {
            Self::Fatal | Self::Interrupted => 1,
            Self::Incomplete => 3,
            Self::Paused | Self::Attention => 4,
            Self::Success => 0,
        }
    }

    /// Whether the daemon reports ready (`/readyz`) after such a cycle.
    pub fn keeps_ready(self) -> bool {
        self != Self::Fatal
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
