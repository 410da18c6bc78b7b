//! One sync cycle: read the directory, map, load state, (reconcile), plan, apply, report.
//!
//! `run_cycle` is the one entry point; `sync --once`, `plan`, `provision`, `approve`, the
//! daemon and the tests all call it. Only this module knows all three adapters.

mod apply;
pub mod desired;
pub mod failures;
pub mod groups;
pub mod reconcile;
pub mod report;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use futures::StreamExt;

pub use groups::GroupSync;
pub use report::{CycleReport, GroupFailure, GroupReport, Outcome, OutcomeResult, ReconcileSummary};

use crate::config::mapping::MappingConfig;
use crate::model::Anchor;
use crate::model::Field;
use crate::model::{HeldOps, KnownUser, UnixTime, unix_now};
use crate::plan::{self, Limits, PlanInput};
use crate::scim::{ScimError, Target};
use crate::source::groups::fetch_groups;
use crate::source::{self, Decoder, Directory, Snapshot, SourceError};
use crate::state::{StateError, StateStore};

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

/// A shutdown request the cycle checks between operations: the operation in flight
/// finishes, nothing new starts.
#[derive(Clone)]
pub struct Shutdown(tokio::sync::watch::Receiver<bool>);

impl Shutdown {
    pub fn new(rx: tokio::sync::watch::Receiver<bool>) -> Self {
        Self(rx)
    }

    /// A handle that never fires (one-shot commands, tests).
    pub fn never() -> Self {
        let (tx, rx) = tokio::sync::watch::channel(false);
        std::mem::forget(tx);
        Self(rx)
    }

    pub fn is_requested(&self) -> bool {
        *self.0.borrow()
    }
}

/// The adapters and settings a cycle runs with.
pub struct Engine<'a, D: Directory, T: Target, S: StateStore + Clone + 'static> {
    pub directory: &'a D,
    pub decoder: &'a Decoder,
    pub mapping: &'a MappingConfig,
    pub target: &'a T,
    pub store: &'a S,
    pub limits: Limits,
    pub concurrency: usize,
    /// Called after each applied operation with (done, total): the CLI draws a progress bar.
    pub progress: Option<&'a (dyn Fn(usize, usize) + Sync)>,
    /// `[groups]`, when configured.
    pub groups: Option<GroupSync<'a>>,
}

#[derive(Clone, Debug, Default)]
pub struct CycleOptions {
    /// Read every target user and repair state (also done when state has never reconciled).
    pub full: bool,
    /// Plan only: read both sides, write nothing.
    pub dry_run: bool,
    /// Act on this anchor only (`provision`).
    pub only: Option<Anchor>,
}

pub async fn run_cycle<D: Directory, T: Target, S: StateStore + Clone + 'static>(
    engine: &Engine<'_, D, T, S>,
    options: &CycleOptions,
    shutdown: &Shutdown,
) -> Result<CycleReport, CycleError> {
    let started = Instant::now();
    let now = unix_now();
    let mut meta = engine.store.meta()?;
    let cycle = meta.cycle_counter + 1;
    let mut report = CycleReport { cycle, dry_run: options.dry_run, ..Default::default() };

    let create_only: BTreeSet<Field> = engine.mapping.create_only();
    // State loads on a blocking thread while the directory is read (mostly waiting on the
    // server): the no-change cycle then costs about one directory read.
    // Groups are fetched at the same time (they need no user until their member DNs are
    // matched); `provision` acts on one user and skips them.
    let group_settings = engine.groups.filter(|_| options.only.is_none());
    let loader = {
        let store = engine.store.clone();
        let with_groups = group_settings.is_some();
        tokio::task::spawn_blocking(move || {
            let groups = if with_groups { store.groups()? } else { Vec::new() };
            Ok::<_, StateError>((store.users()?, store.failures()?, groups))
        })
    };
    let builder = Snapshot::converting(engine.decoder, desired::mapper(engine.mapping, &create_only));
    let group_fetch = async {
        match &group_settings {
            Some(s) => fetch_groups(engine.directory, s.config, engine.decoder, s.user_search).await.map(Some),
            None => Ok(None),
        }
    };
    let (read, fetched) = tokio::join!(source::read_converted(engine.directory, builder), group_fetch);
    let (read, fetched) = (read?, fetched?);
    tracing::debug!(elapsed = ?started.elapsed(), users = read.snapshot().users.len(), rss = %crate::telemetry::rss(), "directory read and mapped");
    report.users_read = read.snapshot().users.len();
    report.disabled_read = read.snapshot().users.iter().filter(|u| !u.user.active).count();
    let (mut desired, rejected) = desired::desired_from_read(read);
    report.rejected = rejected;
    // Group members are matched by DN to the users in scope; groups may narrow the users
    // (group-based scope).
    let mut group_step = None;
    if let (Some(settings), Some(fetched)) = (&group_settings, fetched) {
        let (step, group_report) = groups::prepare(settings, fetched, &mut desired);
        tracing::debug!(elapsed = ?started.elapsed(), groups = group_report.groups_read, "groups read and flattened");
        group_step = Some(step);
        report.groups = Some(group_report);
    }
    report.incomplete = desired.incomplete.clone();

    let (users, failures, known_groups) =
        loader.await.map_err(|e| StateError::Storage(format!("state loader stopped: {e}")))??;
    if let Some(step) = &mut group_step {
        step.known = known_groups.into_iter().map(|g| (g.anchor.clone(), g)).collect();
    }
    let mut known: HashMap<Anchor, KnownUser> = users.into_iter().map(|k| (k.anchor.clone(), k)).collect();
    let failures = failures.into_iter().map(|f| (f.anchor.clone(), f)).collect();
    let renames_refused = known.values().filter(|k| k.rename_refused.is_some()).count();
    tracing::debug!(elapsed = ?started.elapsed(), known = known.len(), rss = %crate::telemetry::rss(), "state loaded");

    if options.full || meta.last_full_reconcile.is_none() {
        let remote = match engine.target.list_users().await {
            Ok(remote) => Some(remote),
            // Nothing will work: stop here like a fatal operation (connector quarantine).
            Err(e) if e.is_fatal() => {
                report.fatal = Some(e.to_string());
                return finish(engine, options, report, started, now, renames_refused);
            }
            // The reconcile waits for the next cycle; creates still adopt on conflict.
            Err(e) => {
                tracing::warn!(error = %e, "full reconcile skipped: cannot list target users");
                None
            }
        };
        if let Some(remote) = remote {
            let store = engine.store;
            let pushed = |a: &Anchor| store.pushed(a).ok().flatten().unwrap_or_default();
            let repair = reconcile::reconcile(&known, &pushed, &remote, &desired, &create_only, now);
            let mut summary =
                ReconcileSummary { target_users: remote.len(), forgotten: repair.forget.len(), ..Default::default() };
            for gone in &repair.forget {
                known.remove(&gone.anchor);
                if !options.dry_run {
                    engine.store.remove_user(&gone.anchor)?;
                }
            }
            for (record, view, kind) in &repair.put {
                match kind {
                    reconcile::RepairKind::Drift => summary.drift += 1,
                    reconcile::RepairKind::Adopted => summary.adopted += 1,
                }
                known.insert(record.anchor.clone(), record.clone());
                if !options.dry_run {
                    engine.store.put_user(record, Some(view))?;
                }
            }
            report.reconcile = Some(summary);
            if !options.dry_run {
                meta.last_full_reconcile = Some(now);
            }
        }
    }

    if let Some(only) = &options.only {
        desired.users.retain(|d| &d.anchor == only);
        known.retain(|a, _| a == only);
    }
    let approved = meta.approved.clone().unwrap_or_default();
    report.plan = plan::plan(PlanInput {
        desired,
        known: &known,
        failures: &failures,
        now,
        limits: engine.limits,
        approved: &approved,
    });
    tracing::debug!(elapsed = ?started.elapsed(), ops = report.plan.ops.len(), rss = %crate::telemetry::rss(), "planned");
    if let Some(step) = &mut group_step {
        // A user whose deactivation is held keeps its groups until it is approved.
        step.keep.extend(report.plan.held.iter().map(|op| op.anchor.clone()));
    }
    if options.dry_run {
        if let (Some(step), Some(groups)) = (&group_step, &mut report.groups) {
            let creates = report.plan.ops.iter().filter(|op| op.action == plan::Action::Create).map(|op| &op.anchor);
            groups.plan = step.plan(step.user_ids(Some(&known), engine.store)?, creates);
        }
        report.duration = started.elapsed();
        return Ok(report);
    }

    meta.cycle_counter = cycle;
    if options.only.is_none() {
        meta.held = (!report.plan.held.is_empty()).then(|| HeldOps {
            reason: report.plan.guard.clone().unwrap_or_default(),
            since: meta.held.as_ref().map_or(now, |h| h.since),
            ops: report.plan.held.iter().map(plan::held_op).collect(),
        });
        meta.approved = None;
    }
    engine.store.put_meta(&meta)?;

    let stop = AtomicBool::new(false);
    let ctx = apply::ApplyContext {
        target: engine.target,
        store: engine.store,
        create_only: &create_only,
        now,
        cycle,
        stop: &stop,
        shutdown,
        failures: &failures,
    };
    let ops = std::mem::take(&mut report.plan.ops);
    let keep_all = options.only.is_some();
    let total = ops.len();
    // Plain progress lines for logs (about every tenth, at most every 1000 operations).
    let log_every = (total / 10).clamp(1, 1000);
    let mut results = futures::stream::iter(ops.into_iter().map(|op| apply::apply_op(&ctx, op)))
        .buffer_unordered(engine.concurrency.max(1));
    while let Some(outcome) = results.next().await {
        let outcome = outcome?;
        if let OutcomeResult::Fatal(detail) = &outcome.result {
            report.fatal.get_or_insert_with(|| detail.clone());
        }
        report.record(outcome, keep_all);
        let done: usize = report.tally.values().sum();
        if let Some(progress) = engine.progress {
            progress(done, total);
        }
        if total >= 100 && done % log_every == 0 {
            tracing::info!(done, total, "applying operations");
        }
    }
    drop(results);
    report.interrupted = shutdown.is_requested() && report.not_attempted() > 0;
    if let (Some(step), Some(mut groups)) = (group_step, report.groups.take()) {
        if report.fatal.is_none() && !shutdown.is_requested() {
            let log = groups::History { now, cycle };
            // Ids change only through creates (and adoptions) and deletes: otherwise the
            // state loaded for this cycle still holds them (no second read of every user).
            let ids_changed = report.succeeded(plan::Action::Create) + report.succeeded(plan::Action::Delete) > 0;
            let user_ids = step.user_ids((!ids_changed).then_some(&known), engine.store)?;
            if let Some(fatal) = step.apply(engine.target, engine.store, &log, &mut groups, &user_ids).await? {
                report.fatal = Some(fatal);
            }
            tracing::debug!(elapsed = ?started.elapsed(), "groups applied");
        }
        report.groups = Some(groups);
    }
    finish(engine, options, report, started, now, renames_refused)
}

/// Records how the cycle ended: meta (last success, summary, connector quarantine),
/// metrics, history retention, flush.
fn finish<D: Directory, T: Target, S: StateStore + Clone + 'static>(
    engine: &Engine<'_, D, T, S>,
    options: &CycleOptions,
    mut report: CycleReport,
    started: Instant,
    now: UnixTime,
    renames_refused: usize,
) -> Result<CycleReport, CycleError> {
    report.duration = started.elapsed();
    if options.dry_run {
        return Ok(report);
    }
    let mut meta = engine.store.meta()?;
    meta.cycle_counter = meta.cycle_counter.max(report.cycle);
    if report.fatal.is_none() && !report.interrupted {
        meta.last_success = Some(now);
    }
    meta.last_cycle_summary = Some(report.summary());
    if options.only.is_none() {
        let attempted: usize = report.tally.values().sum::<usize>() - report.not_attempted();
        meta.connector_quarantine = failures::connector_after(
            meta.connector_quarantine.as_ref(),
            report.fatal.as_deref(),
            report.failed(),
            attempted,
            now,
        );
        if let Some(q) = &meta.connector_quarantine {
            tracing::error!(reason = %q.reason, next_attempt = q.next_attempt, "connector quarantined");
        }
    }
    engine.store.put_meta(&meta)?;
    let quarantined = quarantine_counts(&engine.store.failures()?);
    crate::metrics::record_cycle(&report, &meta, &quarantined, renames_refused);
    if !report.tally.is_empty() {
        engine.store.trim_history(HISTORY_RETAIN)?;
    }
    engine.store.flush()?;
    Ok(report)
}

/// Quarantined objects by error class (bounded metric labels; every class reported, zeros too).
pub fn quarantine_counts(failures: &[crate::model::FailureRecord]) -> Vec<(&'static str, usize)> {
    ["rejected", "refused", "unavailable", "conflict", "not_found", "fatal"]
        .into_iter()
        .map(|class| (class, failures.iter().filter(|f| f.quarantined && f.class == class).count()))
        .collect()
}
