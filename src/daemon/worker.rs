//! The one worker: takes triggers and the change channel's batches, runs cycles and
//! batches one at a time (they never overlap: one writer), applies reloaded config
//! between them, and stops when asked.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{mpsc, watch};

use super::channel::ToWorker;
use super::lease::{LeaseState, Role};
use super::{Trigger, notify};
use crate::config::Config;
use crate::model::{Meta, UnixTime, unix_now};
use crate::scim::client::ScimClient;
use crate::source::AnyDirectory;
use crate::state::StateStore;
use crate::state::sled_store::SledStore;
use crate::sync::{self, CycleOptions, Engine, Shutdown};

/// The production engine over the daemon's one store.
type DaemonEngine = Engine<AnyDirectory, ScimClient, SledStore>;

/// Builds the engine for a config (again on each reload: a new client means a new token).
/// `None` while the config has no usable target: each cycle then fails and says so.
fn build(config: &Config, store: &SledStore) -> Option<DaemonEngine> {
    match Engine::from_config(config, store.clone()) {
        Ok(engine) => Some(engine),
        Err(e) => {
            tracing::error!(error = %e, "cannot build the engine; cycles fail until the config is fixed");
            None
        }
    }
}

pub async fn run(
    config: Config,
    store: SledStore,
    mut triggers: mpsc::Receiver<Trigger>,
    mut changes: mpsc::Receiver<ToWorker>,
    mut shutdown: watch::Receiver<bool>,
    mut reload: watch::Receiver<Config>,
    shared: Shared,
) {
    let Shared { ready, lease } = shared;
    let mut engine = build(&config, &store);
    let mut config = config;
    loop {
        let work = tokio::select! {
            biased;
            _ = shutdown.changed() => break,
            t = triggers.recv() => match t { Some(t) => Work::Cycle(t), None => break },
            Some(m) = changes.recv() => Work::Changes(m),
        };
        if *shutdown.borrow() {
            break;
        }
        if reload.has_changed().unwrap_or(false) {
            config = reload.borrow_and_update().clone();
            engine = build(&config, &store);
        }
        let meta = match store.meta() {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(error = %e, "cannot read state; cycle skipped");
                continue;
            }
        };
        let now = unix_now();
        // [lease] (lease.rs): a standby writes nothing. Its batches are dropped (the first
        // cycle as the holder reads the whole directory, so nothing they carry is lost), its
        // cycles are read-only; every run stops before its next write once the lease is out.
        let role = lease.role();
        let stop = lease.shutdown(&shutdown);
        let trigger = match work {
            Work::Cycle(trigger) => trigger,
            Work::Changes(_) if !role.writes() => {
                tracing::debug!("change batch dropped: this host stands by (the lease holder applies the changes)");
                continue;
            }
            Work::Changes(message) => {
                // Changes wait while the target refuses, as the schedule does; the scheduled
                // cycle after that repairs what they would have done.
                if let Some(why) = skip(Trigger::Schedule, &meta, now) {
                    tracing::warn!(?why, "change batch not applied: the connector waits");
                    continue;
                }
                let Some(engine) = engine.as_ref() else { continue };
                apply_changes(engine, &store, message, &stop, &ready).await;
                continue;
            }
        };
        match skip(trigger, &meta, now) {
            Some(Skip::Quarantined { reason, next_attempt }) => {
                tracing::warn!(%reason, next_attempt, "connector quarantined: scheduled cycle skipped");
                continue;
            }
            Some(Skip::Paused { reason, until }) => {
                tracing::warn!(%reason, until, "the target refuses requests until then: scheduled cycle skipped");
                continue;
            }
            None => {}
        }
        let Some(engine) = engine.as_ref() else {
            sync::record_cycle_error();
            continue;
        };
        let every = config.schedule.full_reconcile_every.as_secs() as i64;
        let full = meta.last_full_reconcile.is_none_or(|t| now - t >= every);
        let options = lease.cycle_options(&role, full, config.target.as_ref().map(|t| t.kind));
        let standby = !role.writes();
        tracing::info!(cycle = meta.cycle_counter + 1, trigger = ?trigger, full = options.full, standby, "cycle started");
        notify::status(&format!("cycle {} running", meta.cycle_counter + 1));
        match engine.run_cycle(&options, &stop).await {
            Ok(report) => {
                if role == Role::Active && stop.deadline_passed() {
                    tracing::warn!("the lease ran out during the cycle: it stopped before its next write");
                }
                let summary = report.summary();
                let outcome = report.outcome();
                tracing::info!(cycle = report.cycle, outcome = outcome.label(), "{summary}");
                notify::status(&summary);
                let quarantined = store.meta().map(|m| m.connector_quarantine.is_some()).unwrap_or(true);
                ready.store(outcome.keeps_ready() && !quarantined, Ordering::Release);
            }
            Err(e) => {
                sync::record_cycle_error();
                tracing::error!(error = %e, "cycle failed before touching Zoom; the next one tries again");
                notify::status(&format!("last cycle failed: {e}"));
            }
        }
    }
}

/// What the worker shares with the daemon's other tasks: readiness for /readyz, and the
/// standby lease (`[lease]`) that says whether this host writes.
pub struct Shared {
    pub ready: Arc<AtomicBool>,
    pub lease: Arc<LeaseState>,
}

/// What the worker was asked for.
enum Work {
    Cycle(Trigger),
    Changes(ToWorker),
}

/// A batch from the change channel, or the cycle it asks for (with `[groups]` every batch
/// is a cycle: memberships need every group). Either stores the channel's position with
/// its meta.
async fn apply_changes(
    engine: &DaemonEngine,
    store: &SledStore,
    message: ToWorker,
    stop: &Shutdown,
    ready: &AtomicBool,
) {
    let result = match message {
        ToWorker::Batch(batch) if engine.groups().is_none() => engine.run_changes(batch, stop).await,
        ToWorker::Batch(batch) => {
            tracing::info!("change batch with [groups]: running a cycle for it");
            engine.run_cycle(&CycleOptions { position: batch.position, ..Default::default() }, stop).await
        }
        ToWorker::Cycle { position, reason } => {
            tracing::info!(%reason, "cycle started for the change channel");
            engine.run_cycle(&CycleOptions { position: Some(position), ..Default::default() }, stop).await
        }
    };
    match result {
        Ok(report) => {
            let outcome = report.outcome();
            tracing::info!(cycle = report.cycle, outcome = outcome.label(), "{}", report.summary());
            if !report.changes {
                let quarantined = store.meta().map(|m| m.connector_quarantine.is_some()).unwrap_or(true);
                ready.store(outcome.keeps_ready() && !quarantined, Ordering::Release);
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "change batch failed before touching Zoom; the channel resumes from its stored position");
        }
    }
}

/// Why a triggered cycle does not run.
#[derive(Debug, PartialEq, Eq)]
enum Skip<'m> {
    /// The connector is on its retry ladder and the next attempt is not due.
    Quarantined { reason: &'m str, next_attempt: UnixTime },
    /// The target paused every request (a daily limit) until then.
    Paused { reason: &'m str, until: UnixTime },
}

/// PURE: whether a cycle `trigger` asks for runs now. Only the schedule waits: a start-up,
/// SIGUSR1 or `sync --now` cycle runs anyway (an operator asked; it stops at once if the
/// target still refuses).
fn skip(trigger: Trigger, meta: &Meta, now: UnixTime) -> Option<Skip<'_>> {
    if trigger != Trigger::Schedule {
        return None;
    }
    if let Some(q) = meta.connector_quarantine.as_ref().filter(|q| now < q.next_attempt) {
        return Some(Skip::Quarantined { reason: &q.reason, next_attempt: q.next_attempt });
    }
    let p = meta.target_paused.as_ref().filter(|p| now < p.until)?;
    Some(Skip::Paused { reason: &p.reason, until: p.until })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ConnectorQuarantine, TargetPause};

    #[test]
    fn only_scheduled_cycles_wait_for_a_quarantine_or_a_pause_to_end() {
        let quarantine =
            |next_attempt| ConnectorQuarantine { reason: "q".into(), since: 0, consecutive: 1, next_attempt };
        let pause = |until| TargetPause { until, reason: "p".into() };
        let both =
            Meta { connector_quarantine: Some(quarantine(200)), target_paused: Some(pause(300)), ..Default::default() };
        let paused = Meta { target_paused: Some(pause(300)), ..Default::default() };
        let cases: [(Trigger, &Meta, UnixTime, Option<Skip<'_>>); 8] = [
            (Trigger::Schedule, &Meta::default(), 100, None),
            (Trigger::Schedule, &both, 100, Some(Skip::Quarantined { reason: "q", next_attempt: 200 })),
            (Trigger::Schedule, &both, 250, Some(Skip::Paused { reason: "p", until: 300 })),
            (Trigger::Schedule, &both, 300, None),
            (Trigger::Schedule, &paused, 299, Some(Skip::Paused { reason: "p", until: 300 })),
            (Trigger::Schedule, &paused, 301, None),
            (Trigger::Manual("SIGUSR1"), &both, 100, None),
            (Trigger::Manual("admin socket"), &paused, 100, None),
        ];
        for (trigger, meta, now, want) in cases {
            assert_eq!(skip(trigger, meta, now), want, "{trigger:?} at {now}");
        }
    }
}
