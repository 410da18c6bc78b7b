//! One sync cycle: read both sides, scope, (reconcile), managers, plan, apply, groups, record.
//!
//! [`Engine::run_cycle`] is the one entry point; `sync --once`, `plan`, `provision`,
//! `approve`, the demo, the daemon and the tests all call it. Only this module knows all
//! three adapters (directory, target, state store); each stage is a function of its own
//! that takes and returns values, and the state loaded at the start is kept current by the
//! stages that write, so nothing is read from the store twice.

mod apply;
mod change_window;
mod changes;
mod cycle;
pub mod desired;
mod engine;
pub mod groups;
mod in_scope;
pub mod locate;
mod managers;
mod mapping_memo;
mod memberships;
mod read;
mod record;
mod repair;
pub mod report;
mod shutdown;

pub use changes::{ChangeBatch, Departure};
pub use engine::{Engine, EngineError, GroupSync, Progress};
pub use in_scope::{InScope, users_in_scope};
pub use record::{record_commit, record_cycle_error};
pub use report::{
    CycleOutcome, CycleReport, GroupFailure, GroupReport, Outcome, OutcomeResult, ReconcileSummary, ResultKind,
};
pub use shutdown::{Shutdown, WriteDeadline};

use crate::model::Anchor;
use crate::scim::{ScimError, Target};
use crate::source::{Directory, SourceError};
use crate::state::{StateError, StateStore};
use cycle::Cycle;

/// How many provisioning-log records are kept.
pub const HISTORY_RETAIN: usize = 100_000;

/// Why a cycle could not run at all. Nothing was changed on the target.
#[derive(Debug, thiserror::Error)]
pub enum CycleError {
    /// Fix the directory settings or wait for the server; the next cycle tries again.
    #[error("directory: {0}")]
    Directory(#[from] SourceError),
    /// The state store failed: stop; an operator must look.
    #[error("state: {0}")]
    State(#[from] StateError),
    /// Reading the target (full reconcile) failed.
    #[error("target: {0}")]
    Target(#[from] ScimError),
}

#[derive(Clone, Debug, Default)]
pub struct CycleOptions {
    /// Read every target user and repair state (also done when state has never reconciled).
    pub full: bool,
    /// Plan only: read both sides, write nothing.
    pub dry_run: bool,
    /// Act on this anchor only (`provision`): no group step.
    pub only: Option<Anchor>,
    /// Full reconcile, its repairs and adoptions written, then stop: nothing is planned or
    /// sent to the target (`state rebuild`). Implies the reconcile.
    pub reconcile_only: bool,
    /// A batch from the change channel (`run_changes`), not a cycle: it takes no approval,
    /// adds what it holds to what is held, and leaves the cycle's records alone.
    pub changes: bool,
    /// The change channel's position once this run is applied: stored with its meta.
    pub position: Option<crate::model::ChannelRecord>,
}

impl<D: Directory, T: Target, S: StateStore + Clone + 'static> Engine<D, T, S> {
    /// Runs one cycle. The target's per-cycle budget is reset first; a stop (Fatal error, a
    /// pause, shutdown) ends it early with what was done recorded.
    pub async fn run_cycle(&self, options: &CycleOptions, shutdown: &Shutdown) -> Result<CycleReport, CycleError> {
        self.target.begin_cycle();
        let mut cycle = Cycle::begin(&self.store, options)?;
        let with_groups = self.groups.is_some() && options.only.is_none();
        // The state's first full read checks the number of users against the integrity
        // record, so the cycle is noted as begun only after it.
        let read = read::both_sides(self, with_groups).await?;
        if !options.dry_run {
            // Before the first write: a crash from here on is not taken for lost records.
            self.store.begin_cycle()?;
        }
        let (mut desired, mut state, groups) = cycle.scope(read, self.groups.as_ref(), Some(&self.memo));
        if cycle.reconcile_due() || options.reconcile_only {
            if let Err(stop) = repair::full_reconcile(self, &mut cycle, &mut state, &desired).await? {
                cycle.report.stop_with(&stop);
                return record::finish(self, cycle, &state);
            }
        }
        if options.reconcile_only && !options.dry_run {
            cycle.meta.cycle_counter = cycle.report.cycle;
            self.store.put_meta(&cycle.meta)?;
            return record::finish(self, cycle, &state);
        }
        // A user whose deactivation is held stays active, so it keeps its groups until the
        // deactivation is approved (`plan::groups::standing`).
        let notes = managers::resolve(&mut cycle, &mut desired, &state, &self.create_only);
        let plan = cycle.plan(&self.limits, desired, &state, notes);
        if options.dry_run {
            return Ok(cycle.planned(plan, groups, &state));
        }
        cycle.hold(&self.store, &plan)?;
        apply::users(self, &mut cycle, &mut state, plan, shutdown).await?;
        if let Some(step) = groups {
            groups::apply_after_users(self, &mut cycle.report, cycle.now, step, &state, shutdown).await?;
        }
        let finished = record::finish(self, cycle, &state);
        free_aside(state);
        finished
    }
}

/// Frees what a cycle is done with on a blocking thread: a state of 100,000 known users
/// (or their decoded entries) takes tens of milliseconds to free, which the cycle need not
/// wait for. Outside a runtime, here.
fn free_aside<T: Send + 'static>(spent: T) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => drop(runtime.spawn_blocking(move || drop(spent))),
        Err(_) => drop(spent),
    }
}
