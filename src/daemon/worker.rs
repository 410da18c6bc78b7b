//! The one worker: takes triggers, runs cycles one at a time, applies reloaded config
//! between cycles, and stops when asked.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{mpsc, watch};

use super::{Trigger, notify};
use crate::config::Config;
use crate::model::unix_now;
use crate::plan::Limits;
use crate::scim::client::ScimClient;
use crate::source::{AnyDirectory, Decoder};
use crate::state::StateStore;
use crate::state::sled_store::SledStore;
use crate::sync::{self, CycleOptions, Engine, Shutdown};

/// The adapters built from one config (rebuilt on reload: a new client means a new token).
struct Adapters {
    config: Config,
    directory: AnyDirectory,
    decoder: Decoder,
    client: Option<ScimClient>,
}

impl Adapters {
    fn new(config: Config) -> Self {
        let client = match config.target.as_ref().map(ScimClient::new) {
            Some(Ok(c)) => Some(c),
            Some(Err(e)) => {
                tracing::error!(error = %e, "cannot build the SCIM client; cycles fail until the config is fixed");
                None
            }
            None => {
                tracing::error!("no [target] section: nothing to sync to");
                None
            }
        };
        Self {
            directory: AnyDirectory::from_config(&config.directory),
            decoder: Decoder::new(config.directory.decode.clone()),
            client,
            config,
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
    let mut adapters = Adapters::new(config);
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
            adapters = Adapters::new(reload.borrow_and_update().clone());
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
        let Some(client) = adapters.client.as_ref() else {
            crate::metrics::record_cycle_error();
            continue;
        };
        let every = adapters.config.schedule.full_reconcile_every.as_secs() as i64;
        let full = meta.last_full_reconcile.is_none_or(|t| now - t >= every);
        tracing::info!(cycle = meta.cycle_counter + 1, trigger = ?trigger, full, "cycle started");
        notify::status(&format!("cycle {} running", meta.cycle_counter + 1));
        client.begin_cycle();
        let engine = Engine {
            directory: &adapters.directory,
            decoder: &adapters.decoder,
            mapping: &adapters.config.mapping,
            target: client,
            store: &store,
            limits: Limits::from_config(&adapters.config.safety),
            concurrency: adapters.config.target.as_ref().map_or(1, |t| t.max_concurrency),
            progress: None,
            groups: sync::GroupSync::from_config(&adapters.config),
        };
        let options = CycleOptions { full, ..Default::default() };
        match sync::run_cycle(&engine, &options, &Shutdown::new(shutdown.clone())).await {
            Ok(report) => {
                let summary = report.summary();
                tracing::info!(cycle = report.cycle, outcome = crate::metrics::cycle_outcome(&report), "{summary}");
                notify::status(&summary);
                let quarantined = store.meta().map(|m| m.connector_quarantine.is_some()).unwrap_or(true);
                ready.store(report.fatal.is_none() && !quarantined, Ordering::Release);
            }
            Err(e) => {
                crate::metrics::record_cycle_error();
                tracing::error!(error = %e, "cycle failed before touching Zoom; the next one tries again");
                notify::status(&format!("last cycle failed: {e}"));
            }
        }
    }
}
