//! The one worker: takes triggers, runs cycles one at a time, applies reloaded config
//! between cycles, and stops when asked.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{mpsc, watch};

use super::{Trigger, notify};
use crate::config::Config;
use crate::model::unix_now;
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
    mut shutdown: watch::Receiver<bool>,
    mut reload: watch::Receiver<Config>,
    ready: Arc<AtomicBool>,
) {
    let mut engine = build(&config, &store);
    let mut config = config;
    loop {
        let trigger = tokio::select! {
            biased;
            _ = shutdown.changed() => break,
            t = triggers.recv() => match t { Some(t) => t, None => break },
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
        if let (Trigger::Schedule, Some(q)) = (trigger, &meta.connector_quarantine) {
            if now < q.next_attempt {
                tracing::warn!(reason = %q.reason, next_attempt = q.next_attempt, "connector quarantined: scheduled cycle skipped");
                continue;
            }
        }
        if let (Trigger::Schedule, Some(p)) = (trigger, &meta.target_paused) {
            if now < p.until {
                tracing::warn!(reason = %p.reason, until = p.until, "the target refuses requests until then: scheduled cycle skipped");
                continue;
            }
        }
        let Some(engine) = engine.as_ref() else {
            sync::record_cycle_error();
            continue;
        };
        let every = config.schedule.full_reconcile_every.as_secs() as i64;
        let full = meta.last_full_reconcile.is_none_or(|t| now - t >= every);
        tracing::info!(cycle = meta.cycle_counter + 1, trigger = ?trigger, full, "cycle started");
        notify::status(&format!("cycle {} running", meta.cycle_counter + 1));
        let options = CycleOptions { full, ..Default::default() };
        match engine.run_cycle(&options, &Shutdown::new(shutdown.clone())).await {
            Ok(report) => {
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
