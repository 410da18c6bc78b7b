//! Applies planned operations through the target, committing state after each success.
//!
//! Level-triggered: a failed operation only updates its failure record; the next cycle
//! sees the same difference and tries again. A crash between a target write and the state
//! write is repaired by the next cycle (a repeated create answers 409 and is adopted).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};

use super::report::{Outcome, OutcomeResult};
use crate::model::{Change, Field, RemoteUser, ScimUser};
use crate::model::{FailureRecord, HistoryRecord, KnownUser, Lifecycle, Origin, UnixTime, all_as_changes};
use crate::plan::{Action, Op, apply_changes, changes};
use crate::scim::{ScimError, Target};
use crate::state::{StateError, StateStore};

/// What every operation of one cycle shares.
pub struct ApplyContext<'a, T: Target, S: StateStore> {
    pub target: &'a T,
    pub store: &'a S,
    pub create_only: &'a BTreeSet<Field>,
    pub now: UnixTime,
    pub cycle: u64,
    /// Set by a Fatal error: operations not yet started are not attempted.
    pub stop: &'a AtomicBool,
    pub shutdown: &'a super::Shutdown,
    pub failures: &'a std::collections::HashMap<crate::model::Anchor, FailureRecord>,
}

/// Runs one operation and records its outcome (state, failure record, history).
pub async fn apply_op<T: Target, S: StateStore>(ctx: &ApplyContext<'_, T, S>, op: Op) -> Result<Outcome, StateError> {
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
                ctx.store.clear_failure(&op.anchor)?;
            }
            let result = match warning {
                Some(w) => OutcomeResult::Warning(w),
                None => OutcomeResult::Success,
            };
            Outcome::new(&op, result, changes)
        }
        Err(Failure::State(e)) => return Err(e),
        Err(Failure::Target(error)) => {
            if error.is_fatal() {
                ctx.stop.store(true, Ordering::Release);
            }
            let detail = error.to_string();
            let class = super::failures::class_of(&error);
            let record = super::failures::record_failure(ctx.failures.get(&op.anchor), &op, &detail, class, ctx.now);
            ctx.store.put_failure(&record)?;
            let result = if error.is_fatal() { OutcomeResult::Fatal(detail) } else { OutcomeResult::Failed(detail) };
            Outcome::new(&op, result, vec![])
        }
        Err(Failure::Refused(reason)) => {
            let record =
                super::failures::record_failure(ctx.failures.get(&op.anchor), &op, &reason, "refused", ctx.now);
            ctx.store.put_failure(&record)?;
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
    }
}

fn desired(op: &Op) -> Result<&ScimUser, Failure> {
    op.desired.as_ref().ok_or_else(|| Failure::Refused("internal: operation without a payload".into()))
}

async fn create<T: Target, S: StateStore>(ctx: &ApplyContext<'_, T, S>, op: &Op) -> Result<Done, Failure> {
    let want = desired(op)?;
    match ctx.target.create_user(&op.anchor, want).await {
        Ok(remote) => {
            ctx.store.put_user(&record(op, &remote.id, want, Origin::Created, op.fingerprint, ctx.now), Some(want))?;
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
    let Some(remote) = ctx.target.find_user(want.user_name()).await? else {
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
    if let Some(owner) = ctx.store.users()?.into_iter().find(|k| k.zoom_id == remote.id && k.anchor != op.anchor) {
        return Err(Failure::Refused(format!(
            "Zoom user {} ({}) already belongs to anchor {} ({}); two directory entries claim one Zoom account",
            remote.id,
            want.user_name(),
            owner.anchor,
            owner.dn
        )));
    }
    let view = super::reconcile::remote_view(&ScimUser::default(), &remote);
    let mut known =
        record(op, &remote.id, &view, Origin::Adopted, crate::plan::fingerprint(&view, ctx.create_only), ctx.now);
    known.privileged = remote.privileged;
    ctx.store.put_user(&known, Some(&view))?;
    let wanted_changes = changes(&view, want, ctx.create_only, None);
    let mut result =
        Done { changes: wanted_changes.clone(), warning: Some(format!("adopted existing Zoom user {}", remote.id)) };
    if !wanted_changes.is_empty() {
        let updated = ctx.target.update_user(&remote.id, &wanted_changes).await?;
        result.warning = Some(format!("adopted existing Zoom user {} and updated it", updated.id));
    }
    if want.active != remote.user.active && !remote.privileged {
        ctx.target.set_active(&remote.id, want.active).await?;
    }
    known.lifecycle = if want.active { Lifecycle::Active } else { Lifecycle::Deactivated { since: ctx.now } };
    known.fingerprint = op.fingerprint;
    known.user_name = want.user_name().to_string();
    ctx.store.put_user(&known, Some(want))?;
    Ok(result)
}

async fn update<T: Target, S: StateStore>(
    ctx: &ApplyContext<'_, T, S>,
    op: &Op,
    reactivate: bool,
) -> Result<Done, Failure> {
    let want = desired(op)?;
    let Some(mut known) = ctx.store.user(&op.anchor)? else {
        return Err(Failure::Refused("internal: no state for an update".into()));
    };
    let pushed = ctx.store.pushed(&op.anchor)?.unwrap_or_default();
    let wanted_changes = changes(&pushed, want, ctx.create_only, known.rename_refused.as_deref());
    if reactivate {
        match ctx.target.set_active(&known.zoom_id, true).await {
            Ok(()) => {}
            Err(ScimError::NotFound { .. }) => return forget_gone(ctx, &known),
            Err(e) => return Err(e.into()),
        }
        known.lifecycle = Lifecycle::Active;
        ctx.store.put_user(&known, None)?;
    }
    let mut now_pushed = apply_changes(&pushed, &wanted_changes);
    now_pushed.active = want.active;
    let mut warning = None;
    if !wanted_changes.is_empty() {
        let remote = match ctx.target.update_user(&known.zoom_id, &wanted_changes).await {
            Ok(r) => r,
            Err(ScimError::NotFound { .. }) => return forget_gone(ctx, &known),
            Err(e) => return Err(e.into()),
        };
        warning = check_rename(&mut known, &mut now_pushed, want, &remote);
    }
    known.dn = op.dn.clone();
    known.user_name = now_pushed.user_name().to_string();
    known.fingerprint = op.fingerprint;
    ctx.store.put_user(&known, Some(&now_pushed))?;
    Ok(Done { changes: wanted_changes, warning })
}

/// Zoom may answer 200 to a userName change and keep the old one (managed domains): record
/// what it kept and warn once, rather than retrying every cycle or creating a second user.
fn check_rename(known: &mut KnownUser, pushed: &mut ScimUser, want: &ScimUser, remote: &RemoteUser) -> Option<String> {
    let asked = want.user_name();
    let kept = remote.user.get(Field::UserName)?;
    if kept.eq_ignore_ascii_case(asked) {
        known.rename_refused = None;
        return None;
    }
    known.rename_refused = Some(asked.to_string());
    pushed.fields.insert(Field::UserName, kept.to_string());
    Some(format!(
        "the target kept userName {kept} instead of {asked}; rename it in Zoom (managed domain?) — not retried"
    ))
}

fn forget_gone<S: StateStore, T: Target>(ctx: &ApplyContext<'_, T, S>, known: &KnownUser) -> Result<Done, Failure> {
    ctx.store.remove_user(&known.anchor)?;
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
            ctx.store.put_user(known, None)?;
            Ok(Some(Done { changes: vec![], warning: Some("a Zoom owner or admin: left active".into()) }))
        }
        Ok(_) => Ok(None),
        Err(ScimError::NotFound { .. }) => {
            ctx.store.remove_user(&known.anchor)?;
            Ok(Some(Done { changes: vec![], warning: Some("already gone from the target".into()) }))
        }
        Err(e) => Err(e.into()),
    }
}

async fn deactivate<T: Target, S: StateStore>(ctx: &ApplyContext<'_, T, S>, op: &Op) -> Result<Done, Failure> {
    let Some(mut known) = ctx.store.user(&op.anchor)? else { return Ok(Done { changes: vec![], warning: None }) };
    if let Some(done) = guard_privileged(ctx, &mut known).await? {
        return Ok(done);
    }
    match ctx.target.set_active(&known.zoom_id, false).await {
        Ok(()) => {}
        Err(ScimError::NotFound { .. }) => {
            ctx.store.remove_user(&op.anchor)?;
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
    ctx.store.put_user(&known, Some(&pushed))?;
    Ok(Done { changes: vec![], warning: None })
}

async fn delete<T: Target, S: StateStore>(ctx: &ApplyContext<'_, T, S>, op: &Op) -> Result<Done, Failure> {
    if let Some(mut known) = ctx.store.user(&op.anchor)? {
        if let Some(done) = guard_privileged(ctx, &mut known).await? {
            return Ok(done);
        }
        match ctx.target.delete_user(&known.zoom_id).await {
            Ok(()) | Err(ScimError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    ctx.store.remove_user(&op.anchor)?;
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
