//! The manager stage, after the scope and the reconcile (adopted users have their ids) and
//! before the plan: manager DNs become the managers' target ids from the cycle's state
//! (`plan::managers`, pure). The counts go to the report (and a gauge), the reasons for
//! managers left unset to the plan's notes, which `plan` and `plan --json` show.

use std::collections::BTreeSet;

use super::cycle::Cycle;
use super::read::State;
use crate::model::Field;
use crate::plan::{Desired, Note, resolve_managers};

/// Resolves the managers in `desired`; returns the notes for the plan (only the one user's
/// for `provision`, though every user's manager is resolved: any may be the manager).
pub(super) fn resolve(
    cycle: &mut Cycle<'_>,
    desired: &mut Desired,
    state: &State,
    create_only: &BTreeSet<Field>,
) -> Vec<Note> {
    let resolution = resolve_managers(desired, &state.known, create_only);
    let counts = resolution.counts;
    if counts.total() > 0 {
        tracing::debug!(elapsed = ?cycle.started.elapsed(), ?counts, "managers resolved");
    }
    cycle.report.managers = counts;
    let mut notes = resolution.notes;
    if let Some(only) = &cycle.options.only {
        notes.retain(|n| &n.anchor == only);
    }
    notes
}
