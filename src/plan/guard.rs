//! PURE: the guards against doing harm. Destructive operations (deactivate, delete) go
//! only when the read was complete, the directory is not empty, and their number is within
//! both limits — or an operator approved exactly those operations.

use std::collections::HashSet;

use std::collections::HashMap;

use super::{Action, Op, Plan};
use crate::config::SafetyConfig;
use crate::model::Anchor;
use crate::model::{HeldOp, KnownUser, Lifecycle, UnixTime};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    pub max_deactivations: u64,
    pub max_deactivation_percent: f64,
    /// Seconds a user stays deactivated before DELETE; `None` = never delete.
    pub delete_after: Option<UnixTime>,
    /// Seconds over which the change channel's removals count together.
    pub change_window: UnixTime,
}

impl Limits {
    pub fn from_config(safety: &SafetyConfig) -> Self {
        Self {
            max_deactivations: safety.max_deactivations,
            max_deactivation_percent: safety.max_deactivation_percent,
            delete_after: safety.delete_after.map(|d| d.as_secs() as UnixTime),
            change_window: safety.change_window.as_secs() as UnixTime,
        }
    }

    /// No limits (tests, and the property test).
    pub fn unlimited() -> Self {
        Self { max_deactivations: u64::MAX, max_deactivation_percent: 100.0, delete_after: None, change_window: 3600 }
    }

    /// How many destructive operations one cycle may do without approval. The percentage
    /// always allows at least one, so a small directory can lose one person.
    pub fn allowed(&self, managed: usize) -> u64 {
        let by_percent = ((managed as f64) * self.max_deactivation_percent / 100.0).floor() as u64;
        self.max_deactivations.min(by_percent.max(1))
    }
}

pub fn held_op(op: &Op) -> HeldOp {
    HeldOp {
        anchor: op.anchor.clone(),
        dn: op.dn.clone(),
        user_name: op.user_name.clone(),
        action: op.action.name().into(),
    }
}

/// What the guards need to know about the read.
pub(super) struct ReadFacts {
    pub incomplete: Option<String>,
    /// The directory returned no users at all (not even rejected ones).
    pub empty: bool,
    /// Removals the change channel applied or holds within its rolling window (0 for a cycle).
    pub recent_removals: u64,
}

pub(super) struct GuardInput<'a> {
    pub facts: ReadFacts,
    pub known: &'a HashMap<Anchor, KnownUser>,
    pub limits: Limits,
    pub approved: &'a [HeldOp],
}

fn managed_active(known: &HashMap<Anchor, KnownUser>) -> usize {
    known.values().filter(|k| k.lifecycle == Lifecycle::Active).count()
}

pub(super) fn apply(input: &GuardInput<'_>, plan: &mut Plan, destructive: Vec<Op>) {
    if destructive.is_empty() {
        return;
    }
    if let Some(reason) = &input.facts.incomplete {
        // Not held for approval: an incomplete read is no basis for any removal at all.
        plan.guard = Some(format!(
            "directory read incomplete ({reason}): {} deactivation(s)/deletion(s) not planned",
            destructive.len()
        ));
        return;
    }
    let approved: HashSet<(&str, &str)> =
        input.approved.iter().map(|h| (h.anchor.as_str(), h.action.as_str())).collect();
    let (pre_approved, rest): (Vec<Op>, Vec<Op>) =
        destructive.into_iter().partition(|o| approved.contains(&(o.anchor.as_str(), o.action.name())));
    plan.ops.extend(pre_approved);
    if rest.is_empty() {
        return;
    }
    let managed = managed_active(input.known);
    let allowed = input.limits.allowed(managed);
    let deletes = rest.iter().filter(|o| o.action == Action::Delete).count();
    let recent = input.facts.recent_removals;
    let reason = if input.facts.empty {
        Some("the directory returned no users at all".to_string())
    } else if rest.len() as u64 + recent > allowed {
        let window = match recent {
            0 => String::new(),
            n => format!(" with the {n} the change channel applied or held within safety.change_window"),
        };
        Some(format!(
            "{} deactivation(s)/deletion(s) ({} delete){window} exceed the limit of {} for {} managed active users \
             (safety.max_deactivations = {}, safety.max_deactivation_percent = {})",
            rest.len(),
            deletes,
            allowed,
            managed,
            input.limits.max_deactivations,
            input.limits.max_deactivation_percent
        ))
    } else {
        None
    };
    match reason {
        Some(reason) => {
            plan.guard = Some(format!("{reason}; held until `zoomsync approve`"));
            plan.held = rest;
        }
        None => plan.ops.extend(rest),
    }
}
