//! PURE: what to do, given what the directory wants and what we know we pushed.
//!
//! `plan` decides per anchor: create, update, deactivate, reactivate, delete, or nothing,
//! then the guards decide whether the destructive part may go now. No I/O: the same
//! function drives `sync`, `plan` and `provision`, and is property-tested.

mod diff;
pub mod groups;
mod guard;
pub mod kept;
pub mod managers;
mod model;
pub mod quarantine;
pub mod reconcile;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};

pub use diff::{apply_changes, changes, fingerprint, with_list_entries};
pub use guard::{Limits, held_op};
pub use managers::{ManagerCounts, ManagerOutcome, ManagerResolution, resolve_managers};
pub use model::*;

use crate::model::{Anchor, QuickSet};
use crate::model::{FailureRecord, HeldOp, KnownUser, Lifecycle, UnixTime};

/// Everything `plan` looks at. `desired` is consumed: operations take their payloads from
/// it and unchanged users' payloads are freed (no copy of a 100,000-user directory).
pub struct PlanInput<'a> {
    pub desired: Desired,
    pub known: &'a HashMap<Anchor, KnownUser>,
    pub failures: &'a HashMap<Anchor, FailureRecord>,
    pub now: UnixTime,
    pub limits: Limits,
    /// Held operations an operator approved (`zoomsync approve`).
    pub approved: &'a [HeldOp],
}

pub fn plan(input: PlanInput<'_>) -> Plan {
    let PlanInput { desired, known, failures, now, limits, approved } = input;
    let Desired { users, unreadable, incomplete, changes } = desired;
    let facts = guard::ReadFacts {
        incomplete,
        // A batch of changes with nothing but departures is not an empty directory.
        empty: changes.is_none() && users.is_empty() && unreadable.is_empty(),
        recent_removals: changes.as_ref().map_or(0, |c| c.recent_removals),
    };
    let mut out = Plan::default();
    let mut destructive = Vec::new();
    // A batch of changes names its departures; a whole read leaves them out: decided after
    // the loop below, from the known users it met (no anchor copies, and no set of the
    // users read when everyone known was read).
    let departures: Vec<&KnownUser> = match &changes {
        None => Vec::new(),
        Some(c) => {
            let present: HashSet<&Anchor> = users.iter().map(|d| &d.anchor).collect();
            c.gone.iter().filter(|a| !present.contains(a)).filter_map(|a| known.get(a)).collect()
        }
    };
    let mut met: Vec<&Anchor> = Vec::with_capacity(known.len().min(users.len()));

    for d in users {
        let found = known.get(&d.anchor);
        if let Some(k) = found {
            met.push(&k.anchor);
        }
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
        let skip = |reason: &str| Skip::new(&d.anchor, &d.dn, d.user.user_name(), reason.to_string());
        // Decide first, then move the payload into the operation (no copy).
        let decision: Option<(Action, Option<&str>, &'static str)> = match found {
            None if d.user.active => Some((Action::Create, None, "new in the directory")),
            None => {
                out.skipped.push(skip("disabled in the directory; not created"));
                None
            }
            Some(k) => match (k.lifecycle, d.user.active) {
                (Lifecycle::Active, true) if k.fingerprint != d.fingerprint => {
                    Some((Action::Update, Some(&k.zoom_id), "attributes changed in the directory"))
                }
                (Lifecycle::Active, true) => {
                    out.unchanged += 1;
                    None
                }
                (Lifecycle::Active, false) if k.privileged => {
                    out.skipped.push(privileged_skip(k));
                    None
                }
                (Lifecycle::Active, false) => Some((Action::Deactivate, Some(&k.zoom_id), "disabled in the directory")),
                (Lifecycle::Deactivated { .. }, true) => {
                    Some((Action::Reactivate, Some(&k.zoom_id), "enabled in the directory again"))
                }
                (Lifecycle::Deactivated { since }, false) => match limits.delete_after {
                    Some(grace) if now - since >= grace => Some((
                        Action::Delete,
                        Some(&k.zoom_id),
                        "disabled in the directory and deactivated longer than safety.delete_after",
                    )),
                    _ => {
                        out.unchanged += 1;
                        None
                    }
                },
            },
        };
        let Some((action, zoom_id, reason)) = decision else { continue };
        let op = Op {
            user_name: d.user.user_name().to_string(),
            zoom_id: zoom_id.map(String::from),
            reason,
            action,
            fingerprint: d.fingerprint,
            anchor: d.anchor,
            dn: d.dn,
            desired: Some(d.user),
        };
        if action.is_destructive() {
            destructive.push(op);
        } else {
            out.ops.push(op);
        }
    }

    let gone = match changes {
        Some(_) => departures,
        None => not_met(known, met),
    };
    for k in gone {
        let anchor = &k.anchor;
        if unreadable.contains(anchor) {
            out.unchanged += 1;
            continue;
        }
        let gone = |action, reason: &'static str| Op {
            anchor: anchor.clone(),
            dn: k.dn.clone(),
            user_name: k.user_name.clone(),
            action,
            zoom_id: Some(k.zoom_id.clone()),
            desired: None,
            fingerprint: k.fingerprint,
            reason,
        };
        match k.lifecycle {
            Lifecycle::Active if k.privileged => out.skipped.push(privileged_skip(k)),
            Lifecycle::Active => destructive.push(gone(Action::Deactivate, "no longer in the directory scope")),
            Lifecycle::Deactivated { since } => match limits.delete_after {
                Some(grace) if now - since >= grace => destructive.push(gone(
                    Action::Delete,
                    "gone from the directory and deactivated longer than safety.delete_after",
                )),
                _ => out.unchanged += 1,
            },
        }
    }

    guard::apply(&guard::GuardInput { facts, known, limits, approved }, &mut out, destructive);
    out.sort();
    out
}

/// The known users a whole read did not meet: none when it met as many as there are (the
/// read's anchors are unique: the snapshot rejects duplicates), else those not among `met`.
fn not_met<'k>(known: &'k HashMap<Anchor, KnownUser>, met: Vec<&Anchor>) -> Vec<&'k KnownUser> {
    if met.len() == known.len() {
        return Vec::new();
    }
    let met: QuickSet<&Anchor> = met.into_iter().collect();
    known.iter().filter(|(a, _)| !met.contains(a)).map(|(_, k)| k).collect()
}

fn privileged_skip(k: &KnownUser) -> Skip {
    Skip::new(&k.anchor, &k.dn, &k.user_name, "a Zoom owner or admin: never deactivated by zoomsync".into())
}
