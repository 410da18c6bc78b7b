//! The last stage: record how the cycle ended — meta (last success, summary, connector
//! quarantine), metrics, history retention, flush, and the commit (the integrity record
//! beside the store, and a snapshot when one is due).

use metrics::{counter, gauge, histogram};

use super::cycle::{Cycle, Refused};
use super::read::State;
use super::{CycleError, CycleReport, Engine, GroupReport, HISTORY_RETAIN};
use crate::metrics::*;
use crate::model::{FailureClass, FailureRecord, Meta};
use crate::plan::quarantine::connector_after;
use crate::scim::Target;
use crate::source::Directory;
use crate::state::{Committed, StateStore};

pub(super) fn finish<D: Directory, T: Target, S: StateStore + Clone + 'static>(
    engine: &Engine<D, T, S>,
    cycle: Cycle<'_>,
    state: &State,
) -> Result<CycleReport, CycleError> {
    let Cycle { started, now, options, refused, mut report, .. } = cycle;
    report.duration = started.elapsed();
    if options.dry_run {
        return Ok(report);
    }
    // Read again: the admin socket may have recorded an approval while the cycle ran.
    let mut meta = engine.store.meta()?;
    meta.cycle_counter = meta.cycle_counter.max(report.cycle);
    if let Some(position) = &options.position {
        meta.change_channel = Some(position.clone());
    }
    if options.changes {
        // A batch of changes: its position and summary; the cycle's records stay the
        // last cycle's (the safety net's health is what they report).
        if let Some(channel) = &mut meta.change_channel {
            channel.last_batch = Some((now, report.summary()));
        }
        meta.target_paused = report.paused.clone();
        engine.store.put_meta(&meta)?;
        for ((action, result), n) in &report.tally {
            counter!(OPERATIONS_TOTAL, "action" => action.name(), "result" => result.as_str()).increment(*n as u64);
        }
        gauge!(HELD_OPERATIONS).set(meta.held.as_ref().map_or(0, |h| h.ops.len()) as f64);
        return commit(engine, report);
    }
    if report.fatal.is_none() && !report.interrupted && report.paused.is_none() {
        meta.last_success = Some(now);
    }
    meta.target_paused = report.paused.clone();
    // This cycle's approval: applied, or (stopped, paused, a fatal error) only in part — the
    // next cycle holds the rest again rather than apply an approval twice.
    if meta.approval_applying.as_ref().is_some_and(|run| run.cycle == report.cycle) {
        let run = meta.approval_applying.take();
        if report.fatal.is_some() || report.interrupted || report.paused.is_some() {
            meta.approval_interrupted = run;
        }
    }
    meta.last_cycle_summary = Some(report.summary());
    if options.only.is_none() {
        meta.connector_quarantine = connector_after(
            meta.connector_quarantine.as_ref(),
            report.fatal.as_deref(),
            report.failed(),
            report.attempted(),
            now,
        );
        if let Some(q) = &meta.connector_quarantine {
            tracing::error!(reason = %q.reason, next_attempt = q.next_attempt, "connector quarantined");
        }
    }
    engine.store.put_meta(&meta)?;
    let failures: Vec<&FailureRecord> = state.failures.values().collect();
    record_cycle(&report, &meta, &quarantine_counts(&failures), refused);
    commit(engine, report)
}

/// History retention, flush, and the integrity record.
fn commit<D: Directory, T: Target, S: StateStore + Clone + 'static>(
    engine: &Engine<D, T, S>,
    report: CycleReport,
) -> Result<CycleReport, CycleError> {
    if !report.tally.is_empty() {
        engine.store.trim_history(HISTORY_RETAIN)?;
    }
    engine.store.flush()?;
    match engine.store.commit_cycle() {
        Ok(committed) => record_commit(&committed),
        // The cycle's writes are flushed; the previous record still describes an older
        // generation of this store, which opens (a store ahead of its record is accepted).
        Err(e) => tracing::error!(error = %e, "state integrity record not written"),
    }
    Ok(report)
}

/// The store is trusted (it opened and committed); when its newest snapshot was written.
pub fn record_commit(committed: &Committed) {
    gauge!(STATE_INTEGRITY_OK).set(1.0);
    if let Some(t) = committed.last_snapshot {
        gauge!(STATE_LAST_SNAPSHOT_TIMESTAMP_SECONDS).set(t as f64);
    }
}

/// Quarantined objects by error class (bounded metric labels; every class reported, zeros too).
pub fn quarantine_counts(failures: &[&FailureRecord]) -> Vec<(FailureClass, usize)> {
    FailureClass::ALL
        .into_iter()
        .map(|class| (class, failures.iter().filter(|f| f.quarantined && f.class == class).count()))
        .collect()
}

/// Records a finished cycle and the state it left (quarantines, held operations).
fn record_cycle(report: &CycleReport, meta: &Meta, quarantined: &[(FailureClass, usize)], refused: Refused) {
    counter!(CYCLES_TOTAL, "outcome" => report.outcome().label()).increment(1);
    histogram!(CYCLE_DURATION_SECONDS).record(report.duration.as_secs_f64());
    if let Some(t) = meta.last_success {
        gauge!(LAST_SUCCESS_TIMESTAMP_SECONDS).set(t as f64);
    }
    let disabled = report.disabled_read as f64;
    gauge!(DIRECTORY_ENTRIES, "state" => "enabled").set(report.users_read as f64 - disabled);
    gauge!(DIRECTORY_ENTRIES, "state" => "disabled").set(disabled);
    gauge!(DIRECTORY_ENTRIES, "state" => "rejected").set(report.rejected.len() as f64);
    for ((action, result), n) in &report.tally {
        counter!(OPERATIONS_TOTAL, "action" => action.name(), "result" => result.as_str()).increment(*n as u64);
    }
    gauge!(HELD_OPERATIONS).set(meta.held.as_ref().map_or(0, |h| h.ops.len()) as f64);
    for (class, n) in quarantined {
        gauge!(QUARANTINED_OBJECTS, "reason" => class.as_str()).set(*n as f64);
    }
    gauge!(CONNECTOR_QUARANTINED).set(if meta.connector_quarantine.is_some() { 1.0 } else { 0.0 });
    gauge!(TARGET_PAUSED_UNTIL_TIMESTAMP_SECONDS).set(meta.target_paused.as_ref().map_or(0.0, |p| p.until as f64));
    gauge!(RENAME_REFUSED_USERS).set(refused.renames as f64);
    gauge!(VALUES_NOT_KEPT_USERS).set(refused.values as f64);
    for (outcome, n) in report.managers.by_outcome() {
        gauge!(MANAGER_REFERENCES, "outcome" => outcome).set(n as f64);
    }
    if let Some(groups) = &report.groups {
        record_groups(groups);
    }
}

fn record_groups(groups: &GroupReport) {
    gauge!(DIRECTORY_GROUPS, "state" => "found").set(groups.groups_read as f64);
    gauge!(DIRECTORY_GROUPS, "state" => "missing").set(groups.missing.len() as f64);
    gauge!(DIRECTORY_GROUPS, "state" => "rejected").set(groups.rejected.len() as f64);
    gauge!(GROUP_NESTING_CYCLES).set(groups.cycles.len() as f64);
    for (operation, n) in &groups.done {
        counter!(GROUP_OPERATIONS_TOTAL, "operation" => *operation, "result" => "success").increment(*n as u64);
    }
    for op in &groups.failed {
        counter!(GROUP_OPERATIONS_TOTAL, "operation" => op.operation, "result" => "failure").increment(1);
    }
    counter!(GROUP_MEMBER_CHANGES_TOTAL, "change" => "add").increment(groups.members_added as u64);
    counter!(GROUP_MEMBER_CHANGES_TOTAL, "change" => "remove").increment(groups.members_removed as u64);
}

/// Records a cycle that could not run at all (directory or state error, no engine).
pub fn record_cycle_error() {
    counter!(CYCLES_TOTAL, "outcome" => "error").increment(1);
}
