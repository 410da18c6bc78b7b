//! The apply stage: planned operations through the target with bounded concurrency,
//! committing state after each success and keeping the cycle's loaded state current.
//!
//! Level-triggered: a failed operation only updates its failure record; the next cycle
//! sees the same difference and tries again. A crash between a target write and the state
//! write is repaired by the next cycle (a repeated create answers 409 and is adopted).

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;

use super::cycle::Cycle;
use super::read::State;
use super::report::{Outcome, OutcomeResult};
use super::{CycleError, Engine, Shutdown};
use crate::model::attribute::ZOOM_USER;
use crate::model::{Anchor, Change, FailureClass, Field, ScimUser};
use crate::model::{FailureRecord, HistoryRecord, KnownUser, Lifecycle, Origin, UnixTime, all_as_changes};
use crate::plan::kept;
use crate::plan::quarantine::record_failure;
use crate::plan::reconcile::remote_view;
use crate::plan::{Action, Op, Plan, apply_changes, changes, fingerprint, with_list_entries};
use crate::scim::{ScimError, Target};
use crate::source::Directory;
use crate::state::{StateError, StateStore};

/// Applies the plan's operations; the plan itself (held, skipped...) goes into the report.
/// A Fatal error stops new operations; so does a pause (the target refuses requests until
/// a time beyond the cycle: the operation that met it and those not started are counted as
/// not attempted, and the report says until when); so does SIGTERM (the ones in flight
/// finish).
pub(super) async fn users<D: Directory, T: Target, S: StateStore + Clone + 'static>(
    engine: &Engine<D, T, S>,
    cycle: &mut Cycle<'_>,
    state: &mut State,
    mut plan: Plan,
    shutdown: &Shutdown,
) -> Result<(), CycleError> {
    let ops = std::mem::take(&mut plan.ops);
    cycle.report.plan = plan;
    let stop = AtomicBool::new(false);
    let ctx = ApplyContext {
        target: &engine.target,
        store: &engine.store,
        create_only: &engine.create_only,
        managed: &engine.managed,
        now: cycle.now,
        cycle: cycle.report.cycle,
        stop: &stop,
        shutdown,
        known: &state.known,
        owners: state.known.values().map(|k| (k.zoom_id.as_str(), &k.anchor)).collect(),
        failures: &state.failures,
        written: Mutex::new(Vec::new()),
        paused: Mutex::new(None),
    };
    let keep_all = cycle.options.only.is_some();
    let total = ops.len();
    // Plain progress lines for logs (about every tenth, at most every 1000 operations).
    let log_every = (total / 10).clamp(1, 1000);
    let mut results =
        futures::stream::iter(ops.into_iter().map(|op| apply_op(&ctx, op))).buffer_unordered(engine.concurrency);
    while let Some(outcome) = results.next().await {
        let outcome = outcome?;
        if let OutcomeResult::Fatal(detail) = &outcome.result {
            cycle.report.fatal.get_or_insert_with(|| detail.clone());
        }
        cycle.report.record(outcome, keep_all);
        let done: usize = cycle.report.tally.values().sum();
        if let Some(progress) = &engine.progress {
            progress(done, total);
        }
        if total >= 100 && done % log_every == 0 {
            tracing::info!(done, total, "applying operations");
        }
    }
    drop(results);
    if let Some(pause) = ctx.paused.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner()) {
        cycle.report.stop_with(&pause);
    }
    let written = ctx.written.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
    state.update(written);
    cycle.report.interrupted = shutdown.is_requested() && cycle.report.not_attempted() > 0;
    Ok(())
}

/// A state write of the apply step, mirrored into the cycle's loaded state afterwards.
pub(super) enum Written {
    User(KnownUser),
    UserGone(Anchor),
    Failure(FailureRecord),
    FailureCleared(Anchor),
}

impl State {
    fn update(&mut self, written: Vec<Written>) {
        for w in written {
            match w {
                Written::User(k) => {
                    self.known.insert(k.anchor.clone(), k);
                }
                Written::UserGone(a) => {
                    self.known.remove(&a);
                }
                Written::Failure(f) => {
                    self.failures.insert(f.anchor.clone(), f);
                }
                Written::FailureCleared(a) => {
                    self.failures.remove(&a);
                }
            }
        }
    }
}

/// What every operation of one cycle shares.
struct ApplyContext<'a, T: Target, S: StateStore> {
    target: &'a T,
    store: &'a S,
    create_only: &'a BTreeSet<Field>,
    managed: &'a BTreeSet<Field>,
    now: UnixTime,
    cycle: u64,
    /// Set by a Fatal error: operations not yet started are not attempted.
    stop: &'a AtomicBool,
    shutdown: &'a Shutdown,
    /// State as loaded (and reconciled) for this cycle: each operation reads its own record here.
    known: &'a HashMap<Anchor, KnownUser>,
    /// Zoom id -> the anchor that owns it, for the adoption check.
    owners: HashMap<&'a str, &'a Anchor>,
    failures: &'a HashMap<Anchor, FailureRecord>,
    /// Every state write, in order, to update the loaded state once the operations are done.
    written: Mutex<Vec<Written>>,
    /// The first `ScimError::Paused` an operation met.
    paused: Mutex<Option<ScimError>>,
}

impl<T: Target, S: StateStore> ApplyContext<'_, T, S> {
    fn note(&self, w: Written) {
        if let Ok(mut written) = self.written.lock() {
            written.push(w);
        }
    }

    fn put_user(&self, known: &KnownUser, pushed: Option<&ScimUser>) -> Result<(), StateError> {
        self.store.put_user(known, pushed)?;
        self.note(Written::User(known.clone()));
        Ok(())
    }

    fn remove_user(&self, anchor: &Anchor) -> Result<(), StateError> {
        self.store.remove_user(anchor)?;
        self.note(Written::UserGone(anchor.clone()));
        Ok(())
    }

    fn put_failure(&self, failure: FailureRecord) -> Result<(), StateError> {
        self.store.put_failure(&failure)?;
        self.note(Written::Failure(failure));
        Ok(())
    }

    fn clear_failure(&self, anchor: &Anchor) -> Result<(), StateError> {
        self.store.clear_failure(anchor)?;
        self.note(Written::FailureCleared(anchor.clone()));
        Ok(())
    }

    fn failed(&self, op: &Op, detail: &str, class: FailureClass) -> Result<(), StateError> {
        self.put_failure(record_failure(self.failures.get(&op.anchor), op, detail, class, self.now))
    }
}

/// Runs one operation and records its outcome (state, failure record, history).
async fn apply_op<T: Target, S: StateStore>(ctx: &ApplyContext<'_, T, S>, op: Op) -> Result<Outcome, StateError> {
    if ctx.stop.load(Ordering::Acquire) || ctx.shutdown.is_requested() {
        return Ok(Outcome::new(&op, OutcomeResult::NotAttempted, vec![]));
    }
    let result = match op.action {
        Action::Create => create(ctx, &op).await,
        Action::Update => update(ctx, &op, false).await,
        Action::Reactivate => update(ctx, &op, true).await,
        Action::Deactivate => deactivate(ctx, &op).await,
        Action::Delete => delete(ctx, &op).await,
    };
    let outcome = match result {
        Ok(Done { changes, warning }) => {
            if ctx.failures.contains_key(&op.anchor) {
                ctx.clear_failure(&op.anchor)?;
            }
            let result = match warning {
                Some(w) => OutcomeResult::Warning(w),
                None => OutcomeResult::Success,
            };
            Outcome::new(&op, result, changes)
        }
        Err(Failure::State(e)) => return Err(e),
        Err(Failure::Target(error)) => {
            if error.stops_cycle() {
                ctx.stop.store(true, Ordering::Release);
            }
            if let ScimError::Paused { .. } = error {
                // Nothing is wrong with this object: it waits with the rest, no failure record.
                if let Ok(mut paused) = ctx.paused.lock() {
                    paused.get_or_insert(error);
                }
                return Ok(Outcome::new(&op, OutcomeResult::NotAttempted, vec![]));
            }
            let detail = error.to_string();
            ctx.failed(&op, &detail, error.class())?;
            let result = if error.is_fatal() { OutcomeResult::Fatal(detail) } else { OutcomeResult::Failed(detail) };
            Outcome::new(&op, result, vec![])
        }
        Err(Failure::Refused(reason)) => {
            ctx.failed(&op, &reason, FailureClass::Refused)?;
            Outcome::new(&op, OutcomeResult::Failed(reason), vec![])
        }
    };
    ctx.store.append_history(&[history(ctx, &outcome)])?;
    Ok(outcome.without_create_payload())
}

struct Done {
    changes: Vec<Change>,
    warning: Option<String>,
}

enum Failure {
    Target(ScimError),
    /// zoomsync itself refuses (e.g. the Zoom user belongs to another anchor).
    Refused(String),
    State(StateError),
}

impl From<ScimError> for Failure {
    fn from(e: ScimError) -> Self {
        Failure::Target(e)
    }
}

impl From<StateError> for Failure {
    fn from(e: StateError) -> Self {
        Failure::State(e)
    }
}

fn record(op: &Op, zoom_id: &str, pushed: &ScimUser, origin: Origin, fingerprint: u64, now: UnixTime) -> KnownUser {
    KnownUser {
        anchor: op.anchor.clone(),
        zoom_id: zoom_id.to_string(),
        dn: op.dn.clone(),
        user_name: pushed.user_name().to_string(),
        fingerprint,
        lifecycle: if pushed.active { Lifecycle::Active } else { Lifecycle::Deactivated { since: now } },
        origin,
        privileged: false,
        rename_refused: None,
        not_kept: Default::default(),
    }
}

fn desired(op: &Op) -> Result<&ScimUser, Failure> {
    op.desired.as_ref().ok_or_else(|| Failure::Refused("internal: operation without a payload".into()))
}

async fn create<T: Target, S: StateStore>(ctx: &ApplyContext<'_, T, S>, op: &Op) -> Result<Done, Failure> {
    let want = desired(op)?;
    match ctx.target.create_user(&op.anchor, want).await {
        Ok(remote) => {
            ctx.put_user(&record(op, &remote.id, want, Origin::Created, op.fingerprint, ctx.now), Some(want))?;
            Ok(Done { changes: all_as_changes(want), warning: None })
        }
        Err(ScimError::Conflict { detail }) => adopt(ctx, op, want, &detail).await,
        Err(e) => Err(e.into()),
    }
}

/// The userName exists on the target: adopt it if nobody else owns it, then update it.
async fn adopt<T: Target, S: StateStore>(
    ctx: &ApplyContext<'_, T, S>,
    op: &Op,
    want: &ScimUser,
    conflict: &str,
) -> Result<Done, Failure> {
    let Some(mut remote) = ctx.target.find_user(want.user_name()).await? else {
        return Err(Failure::Refused(format!(
            "the target refused the create ({conflict}) but has no user named {}",
            want.user_name()
        )));
    };
    if remote.pending {
        return Err(Failure::Refused(format!(
            "{} is a pending (invited, not yet activated) Zoom user; it cannot be adopted until it is activated or removed",
            want.user_name()
        )));
    }
    if let Some(owner) = ctx.owners.get(remote.id.as_str()).filter(|a| ***a != op.anchor) {
        let dn = ctx.known.get(*owner).map_or("", |k| k.dn.as_str());
        return Err(Failure::Refused(format!(
            "Zoom user {} ({}) already belongs to anchor {owner} ({dn}); two directory entries claim one Zoom account",
            remote.id,
            want.user_name(),
        )));
    }
    // Marked as ours like a user zoomsync creates (generic SCIM: externalId = anchor) before
    // anything is recorded: if the mark fails, nothing is adopted, and the next cycle's create
    // meets the same 409 and tries again.
    if !remote.marked_for(&op.anchor) {
        ctx.target.mark_user(&remote.id, &op.anchor).await?;
    }
    remote.user.retain(ctx.managed);
    let view = remote_view(&ScimUser::default(), &remote);
    let mut known = record(op, &remote.id, &view, Origin::Adopted, fingerprint(&view, ctx.create_only), ctx.now);
    known.privileged = remote.privileged;
    ctx.put_user(&known, Some(&view))?;
    let wanted_changes = changes(&view, want, ctx.create_only, &Default::default());
    let mut result =
        Done { changes: wanted_changes.clone(), warning: Some(format!("adopted existing Zoom user {}", remote.id)) };
    if !wanted_changes.is_empty() {
        let updated = ctx.target.update_user(&remote.id, &with_list_entries(&wanted_changes, want)).await?;
        result.warning = Some(format!("adopted existing Zoom user {} and updated it", updated.id));
    }
    if want.active != remote.user.active && !remote.privileged {
        ctx.target.set_active(&remote.id, want.active).await?;
    }
    known.lifecycle = if want.active { Lifecycle::Active } else { Lifecycle::Deactivated { since: ctx.now } };
    known.fingerprint = op.fingerprint;
    known.user_name = want.user_name().to_string();
    ctx.put_user(&known, Some(want))?;
    Ok(result)
}

async fn update<T: Target, S: StateStore>(
    ctx: &ApplyContext<'_, T, S>,
    op: &Op,
    reactivate: bool,
) -> Result<Done, Failure> {
    let want = desired(op)?;
    let Some(mut known) = ctx.known.get(&op.anchor).cloned() else {
        return Err(Failure::Refused("internal: no state for an update".into()));
    };
    let mut pushed = ctx.store.pushed(&op.anchor)?.unwrap_or_default();
    if reactivate {
        // Zoom may take licences and phone assignments away from a deactivated user, and its
        // user list does not show them: a reactivation sends them again.
        pushed.fields = pushed.fields.iter().filter(|(f, _)| f.path().schema != Some(ZOOM_USER)).collect();
    }
    let wanted_changes = changes(&pushed, want, ctx.create_only, &known.refused_values());
    if reactivate {
        match ctx.target.set_active(&known.zoom_id, true).await {
            Ok(()) => {}
            Err(ScimError::NotFound { .. }) => return forget_gone(ctx, &known),
            Err(e) => return Err(e.into()),
        }
        known.lifecycle = Lifecycle::Active;
        ctx.put_user(&known, None)?;
    }
    let mut now_pushed = apply_changes(&pushed, &wanted_changes);
    now_pushed.active = want.active;
    let mut warning = None;
    if !wanted_changes.is_empty() {
        let remote = match ctx.target.update_user(&known.zoom_id, &with_list_entries(&wanted_changes, want)).await {
            Ok(r) => r,
            Err(ScimError::NotFound { .. }) => return forget_gone(ctx, &known),
            Err(e) => return Err(e.into()),
        };
        warning = kept::check_answer(&mut known, &mut now_pushed, want, &wanted_changes, &remote);
    }
    known.dn = op.dn.clone();
    known.user_name = now_pushed.user_name().to_string();
    known.fingerprint = op.fingerprint;
    ctx.put_user(&known, Some(&now_pushed))?;
    Ok(Done { changes: wanted_changes, warning })
}

fn forget_gone<S: StateStore, T: Target>(ctx: &ApplyContext<'_, T, S>, known: &KnownUser) -> Result<Done, Failure> {
    ctx.remove_user(&known.anchor)?;
    Err(Failure::Refused(format!(
        "Zoom user {} no longer exists; forgotten, it will be created again next cycle",
        known.zoom_id
    )))
}

/// Zoom's list and filter answers carry no roles: look at the user before removing it, and
/// leave owners and admins alone (marked, so later plans skip them without asking).
async fn guard_privileged<T: Target, S: StateStore>(
    ctx: &ApplyContext<'_, T, S>,
    known: &mut KnownUser,
) -> Result<Option<Done>, Failure> {
    match ctx.target.get_user(&known.zoom_id).await {
        Ok(remote) if remote.privileged => {
            known.privileged = true;
            ctx.put_user(known, None)?;
            Ok(Some(Done { changes: vec![], warning: Some("a Zoom owner or admin: left active".into()) }))
        }
        Ok(_) => Ok(None),
        Err(ScimError::NotFound { .. }) => {
            ctx.remove_user(&known.anchor)?;
            Ok(Some(Done { changes: vec![], warning: Some("already gone from the target".into()) }))
        }
        Err(e) => Err(e.into()),
    }
}

async fn deactivate<T: Target, S: StateStore>(ctx: &ApplyContext<'_, T, S>, op: &Op) -> Result<Done, Failure> {
    let Some(mut known) = ctx.known.get(&op.anchor).cloned() else {
        return Ok(Done { changes: vec![], warning: None });
    };
    if let Some(done) = guard_privileged(ctx, &mut known).await? {
        return Ok(done);
    }
    match ctx.target.set_active(&known.zoom_id, false).await {
        Ok(()) => {}
        Err(ScimError::NotFound { .. }) => {
            ctx.remove_user(&op.anchor)?;
            return Ok(Done { changes: vec![], warning: Some("already gone from the target".into()) });
        }
        Err(e) => return Err(e.into()),
    }
    known.lifecycle = Lifecycle::Deactivated { since: ctx.now };
    let mut pushed = ctx.store.pushed(&op.anchor)?.unwrap_or_default();
    pushed.active = false;
    if op.desired.is_some() {
        known.fingerprint = op.fingerprint;
    }
    ctx.put_user(&known, Some(&pushed))?;
    Ok(Done { changes: vec![], warning: None })
}

async fn delete<T: Target, S: StateStore>(ctx: &ApplyContext<'_, T, S>, op: &Op) -> Result<Done, Failure> {
    if let Some(mut known) = ctx.known.get(&op.anchor).cloned() {
        if let Some(done) = guard_privileged(ctx, &mut known).await? {
            return Ok(done);
        }
        match ctx.target.delete_user(&known.zoom_id).await {
            Ok(()) | Err(ScimError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    ctx.remove_user(&op.anchor)?;
    Ok(Done { changes: vec![], warning: None })
}

fn history<T: Target, S: StateStore>(ctx: &ApplyContext<'_, T, S>, o: &Outcome) -> HistoryRecord {
    HistoryRecord {
        time: ctx.now,
        cycle: ctx.cycle,
        anchor: o.anchor.clone(),
        dn: o.dn.clone(),
        user_name: o.user_name.clone(),
        action: o.action.name().to_string(),
        result: o.result.name().to_string(),
        changes: o.changes.clone(),
        detail: o.result.detail().map(String::from),
    }
}
