//! The full-reconcile stage: list every target user, load what was pushed for the known
//! users, let the pure `plan::reconcile` decide the repairs, mark the users it adopts as
//! zoomsync's (as created ones are), and write them (state and the cycle's loaded copy alike).

use std::collections::HashMap;

use futures::StreamExt;

use super::cycle::Cycle;
use super::read::State;
use super::{CycleError, Engine, ReconcileSummary};
use crate::model::{Anchor, KnownUser, RemoteUser, ScimUser};
use crate::plan::Desired;
use crate::plan::reconcile::{self, RepairKind};
use crate::scim::{ScimError, Target};
use crate::source::Directory;
use crate::state::{StateError, StateStore};

/// Runs the reconcile when the target can be listed. `Err(stop)`: nothing will work this
/// cycle (Fatal, or Paused by a daily limit; the cycle stops like an operation meeting it).
/// A list that fails otherwise skips the reconcile until the next cycle, said in the report
/// (`target_unread`); creates still adopt on conflict.
pub(super) async fn full_reconcile<D: Directory, T: Target, S: StateStore + Clone + 'static>(
    engine: &Engine<D, T, S>,
    cycle: &mut Cycle<'_>,
    state: &mut State,
    desired: &Desired,
) -> Result<Result<(), ScimError>, CycleError> {
    let mut remote = match engine.target.list_users().await {
        Ok(remote) => remote,
        Err(e) if e.stops_cycle() => return Ok(Err(e)),
        Err(e) => {
            tracing::warn!(error = %e, "full reconcile skipped: cannot list target users");
            cycle.report.target_unread = Some(e.to_string());
            return Ok(Ok(()));
        }
    };
    remote.iter_mut().for_each(|r| r.user.retain(&engine.managed));
    let pushed = pushed_payloads(&engine.store, state, &remote)?;
    let repair = reconcile::reconcile(&state.known, &pushed, &remote, desired, &engine.create_only, cycle.now);
    let dry_run = cycle.options.dry_run;
    let mut summary =
        ReconcileSummary { target_users: remote.len(), forgotten: repair.forget.len(), ..Default::default() };
    for gone in &repair.forget {
        state.known.remove(&gone.anchor);
        if !dry_run {
            engine.store.remove_user(&gone.anchor)?;
        }
    }
    let (adopted, drift): (Vec<_>, Vec<_>) = repair.put.into_iter().partition(|(_, _, k)| *k == RepairKind::Adopted);
    let adopted = match dry_run {
        true => adopted,
        false => match mark_adopted(&engine.target, adopted, &remote, engine.concurrency).await {
            Ok(marked) => marked,
            Err(fatal) => return Ok(Err(fatal)),
        },
    };
    for (record, view, kind) in drift.into_iter().chain(adopted) {
        match kind {
            RepairKind::Drift => summary.drift += 1,
            RepairKind::Adopted => summary.adopted += 1,
        }
        if !dry_run {
            engine.store.put_user(&record, Some(&view))?;
        }
        state.known.insert(record.anchor.clone(), record);
    }
    cycle.report.reconcile = Some(summary);
    if !dry_run {
        cycle.meta.last_full_reconcile = Some(cycle.now);
    }
    Ok(Ok(()))
}

/// Marks the adopted users as zoomsync's own, as created ones are (generic SCIM: externalId
/// = anchor; nothing is sent for Zoom or for a user already carrying it), a few at a time.
/// A user whose mark fails is not adopted here: the plan creates it, the create meets 409
/// and the apply stage adopts (and marks) it. `Err`: a fatal error; nothing will work.
async fn mark_adopted<T: Target>(
    target: &T,
    adopted: Vec<(KnownUser, ScimUser, RepairKind)>,
    remote: &[RemoteUser],
    concurrency: usize,
) -> Result<Vec<(KnownUser, ScimUser, RepairKind)>, ScimError> {
    let by_id: HashMap<&str, &RemoteUser> = remote.iter().map(|r| (r.id.as_str(), r)).collect();
    let marks = adopted.into_iter().map(|(record, view, kind)| {
        let marked = by_id.get(record.zoom_id.as_str()).is_some_and(|r| r.marked_for(&record.anchor));
        async move {
            let result = match marked {
                true => Ok(()),
                false => target.mark_user(&record.zoom_id, &record.anchor).await,
            };
            (record, view, kind, result)
        }
    });
    let mut results = futures::stream::iter(marks).buffer_unordered(concurrency);
    let mut out = Vec::new();
    while let Some((record, view, kind, result)) = results.next().await {
        match result {
            Ok(()) => out.push((record, view, kind)),
            Err(e) if e.is_fatal() => return Err(e),
            Err(e) => {
                tracing::warn!(user = %record.user_name, error = %e, "not adopted by the reconcile: could not mark it as zoomsync's; the create will try again");
            }
        }
    }
    Ok(out)
}

/// The payloads last pushed for the known users still on the target (the only ones the
/// reconcile compares); read once, and a store error stops the cycle rather than passing
/// for "nothing pushed".
fn pushed_payloads<S: StateStore>(
    store: &S,
    state: &State,
    remote: &[crate::model::RemoteUser],
) -> Result<HashMap<Anchor, ScimUser>, StateError> {
    let on_target: std::collections::HashSet<&str> = remote.iter().map(|r| r.id.as_str()).collect();
    let mut pushed = HashMap::new();
    for k in state.known.values().filter(|k| on_target.contains(k.zoom_id.as_str())) {
        if let Some(payload) = store.pushed(&k.anchor)? {
            pushed.insert(k.anchor.clone(), payload);
        }
    }
    Ok(pushed)
}
