//! PURE: what to do, given what the directory wants and what we know we pushed.
//!
//! `plan` decides per anchor: create, update, deactivate, reactivate, delete, or nothing,
//! then the guards decide whether the destructive part may go now. No I/O: the same
//! function drives `sync`, `plan` and `provision`, and is property-tested.

mod diff;
mod guard;
mod model;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};

pub use diff::{apply_changes, changes, fingerprint};
pub use guard::{Limits, held_op};
pub use model::*;

use crate::model::Anchor;
use crate::state::{FailureRecord, HeldOp, KnownUser, Lifecycle, UnixTime};

/// Everything `plan` looks at.
pub struct PlanInput<'a> {
    pub desired: &'a Desired,
    pub known: &'a HashMap<Anchor, KnownUser>,
    pub failures: &'a HashMap<Anchor, FailureRecord>,
    pub now: UnixTime,
    pub limits: Limits,
    /// Held operations an operator approved (`zoomsync approve`).
    pub approved: &'a [HeldOp],
}

pub fn plan(input: &PlanInput<'_>) -> Plan {
    let PlanInput { desired, known, failures, now, .. } = *input;
    let mut out = Plan::default();
    let mut destructive = Vec::new();
    let mut seen: HashSet<&Anchor> = HashSet::with_capacity(desired.users.len());

    for d in &desired.users {
        seen.insert(&d.anchor);
        if let Some(f) = failures.get(&d.anchor) {
            if f.next_attempt > now && f.source_fingerprint == d.fingerprint {
                out.skipped.push(Skip::new(
                    &d.anchor,
                    &d.dn,
                    d.user.user_name(),
                    format!("quarantined after {} failures until {}: {}", f.attempts, f.next_attempt, f.last_error),
                ));
                continue;
            }
        }
        let op = |action, zoom_id: Option<&str>, reason: &str| Op {
            anchor: d.anchor.clone(),
            dn: d.dn.clone(),
            user_name: d.user.user_name().to_string(),
            action,
            zoom_id: zoom_id.map(String::from),
            desired: Some(d.user.clone()),
            fingerprint: d.fingerprint,
            reason: reason.to_string(),
        };
        match known.get(&d.anchor) {
            None if d.user.active => out.ops.push(op(Action::Create, None, "new in the directory")),
            None => out.skipped.push(Skip::new(
                &d.anchor,
                &d.dn,
                d.user.user_name(),
                "disabled in the directory; not created".into(),
            )),
            Some(k) => match (k.lifecycle, d.user.active) {
                (Lifecycle::Active, true) if k.fingerprint != d.fingerprint => {
                    out.ops.push(op(Action::Update, Some(&k.zoom_id), "attributes changed in the directory"))
                }
                (Lifecycle::Active, true) => out.unchanged += 1,
                (Lifecycle::Active, false) if k.privileged => out.skipped.push(privileged_skip(k)),
                (Lifecycle::Active, false) => {
                    destructive.push(op(Action::Deactivate, Some(&k.zoom_id), "disabled in the directory"))
                }
                (Lifecycle::Deactivated { .. }, true) => {
                    out.ops.push(op(Action::Reactivate, Some(&k.zoom_id), "enabled in the directory again"))
                }
                (Lifecycle::Deactivated { since }, false) => match input.limits.delete_after {
                    Some(grace) if now - since >= grace => destructive.push(op(
                        Action::Delete,
                        Some(&k.zoom_id),
                        "disabled in the directory and deactivated longer than safety.delete_after",
                    )),
                    _ => out.unchanged += 1,
                },
            },
        }
    }

    for (anchor, k) in known {
        if seen.contains(anchor) {
            continue;
        }
        if desired.unreadable.contains(anchor) {
            out.unchanged += 1;
            continue;
        }
        let gone = |action, reason: &str| Op {
            anchor: anchor.clone(),
            dn: k.dn.clone(),
            user_name: k.user_name.clone(),
            action,
            zoom_id: Some(k.zoom_id.clone()),
            desired: None,
            fingerprint: k.fingerprint,
            reason: reason.to_string(),
        };
        match k.lifecycle {
            Lifecycle::Active if k.privileged => out.skipped.push(privileged_skip(k)),
            Lifecycle::Active => destructive.push(gone(Action::Deactivate, "no longer in the directory scope")),
            Lifecycle::Deactivated { since } => match input.limits.delete_after {
                Some(grace) if now - since >= grace => destructive.push(gone(
                    Action::Delete,
                    "gone from the directory and deactivated longer than safety.delete_after",
                )),
                _ => out.unchanged += 1,
            },
        }
    }

    guard::apply(input, &mut out, destructive);
    out.sort();
    out
}

fn privileged_skip(k: &KnownUser) -> Skip {
    Skip::new(&k.anchor, &k.dn, &k.user_name, "a Zoom owner or admin: never deactivated by zoomsync".into())
}
