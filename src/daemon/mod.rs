//! `zoomsync run`: the service. A trigger channel of capacity one feeds a single worker, so
//! cycles never overlap and extra triggers coalesce; the scheduler, SIGUSR1 and the admin
//! socket only *ask* for a cycle. SIGTERM/SIGINT let the operation in flight finish, flush
//! state and exit 0; SIGHUP reloads the config (validated first; the old one stays on error).
//!
//! Only this module knows about tasks, signals and systemd.

mod admin_server;
mod channel;
mod http;
mod lease;
mod notify;
mod schedule;
mod worker;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::{mpsc, watch};

use crate::config::{self, ConfigError};
use crate::metrics::{CONNECTOR_QUARANTINED, STATE_INTEGRITY_OK};
use crate::state::sled_store::SledStore;
use crate::state::{Committed, StateError};
use channel::{ChannelState, ToWorker};

/// Why a cycle was asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// The schedule (skipped while the connector is quarantined and not yet due).
    Schedule,
    /// Start-up, SIGUSR1 or the admin socket: runs even while quarantined.
    Manual(&'static str),
}

/// Why the daemon could not start (or had to stop). Config errors exit 2.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("config: {0}")]
    Config(#[from] ConfigError),
    #[error("state: {0}")]
    State(#[from] StateError),
    #[error("{what}: {detail}")]
    Startup { what: &'static str, detail: String },
}

impl DaemonError {
    fn startup(what: &'static str, e: impl std::fmt::Display) -> Self {
        Self::Startup { what, detail: e.to_string() }
    }
}

/// Runs until SIGTERM/SIGINT.
pub async fn run(config_path: PathBuf) -> Result<(), DaemonError> {
    let config = config::load(&config_path)?;
    for warning in config.mapping.warnings() {
        tracing::warn!("{warning}");
    }
    // Registered before the listeners or sd_notify announce anything: a SIGTERM sent the
    // moment the daemon looks up must stop it cleanly, not kill it.
    let signals = Signals::watch().map_err(|e| DaemonError::startup("signal handlers", e))?;
    let prometheus = http::install_recorder()?;
    // Creates state.path 0700 when missing; a store that does not match its integrity
    // record (or that sled cannot read) is refused: no cycle runs on it. The users are
    // counted here once (opening leaves that to a cycle's first read), so a store that lost
    // records is refused as the daemon starts, not by its first cycle.
    let store = match SledStore::from_config(&config.state).and_then(|s| s.verify_users().map(|()| s)) {
        Ok(store) => store,
        Err(refused @ StateError::Integrity { .. }) => {
            return refuse(config, config_path, signals, prometheus, refused).await;
        }
        Err(e) => return Err(e.into()),
    };
    crate::sync::record_commit(&Committed {
        last_snapshot: store.integrity_record().and_then(|r| r.last_snapshot).map(|s| s.written_at),
        ..Default::default()
    });

    let (trigger_tx, trigger_rx) = mpsc::channel::<Trigger>(1);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (reload_tx, reload_rx) = watch::channel(config.clone());
    let ready = Arc::new(AtomicBool::new(false));
    let channel_state = Arc::new(ChannelState::default());
    let lease = Arc::new(lease::LeaseState::new(&config));

    if let Some(listen) = config.metrics.listen {
        http::serve(listen, prometheus, ready.clone(), channel_state.clone(), shutdown_rx.clone()).await?;
    }
    let socket_path = config.admin.socket.clone();
    let admin = admin_server::bind(&socket_path)?;
    tokio::spawn(admin_server::serve(admin, store.clone(), trigger_tx.clone(), lease.clone(), shutdown_rx.clone()));
    // [lease]: the first look before any cycle, so the start-up cycle knows whether it writes.
    let lease_task = lease::start(lease.clone(), trigger_tx.clone(), shutdown_rx.clone()).await;
    let mut scheduler = schedule::start(&config.schedule, trigger_tx.clone()).await?;
    if config.schedule.run_on_start {
        let _ = trigger_tx.try_send(Trigger::Manual("start"));
    }
    tokio::spawn(signals.handle(config_path.clone(), trigger_tx.clone(), shutdown_tx, reload_tx));
    notify::watchdog(shutdown_rx.clone());
    notify::ready(&format!("waiting for the first cycle; admin socket {}", config.admin.socket.display()));
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        admin_socket = %config.admin.socket.display(),
        "zoomsync daemon started"
    );

    // The change channel: started once (a reload that changes the directory needs a
    // restart for it); its batches go to the same worker as the cycles.
    let (changes_tx, changes_rx) = mpsc::channel::<ToWorker>(1);
    let channel = channel::start(&config, store.clone(), changes_tx, shutdown_rx.clone(), channel_state).await;

    let shared = worker::Shared { ready, lease: lease.clone() };
    worker::run(config, store.clone(), trigger_rx, changes_rx, shutdown_rx, reload_rx, shared).await;
    if let Some(channel) = channel {
        channel.abort();
    }
    if let Some(task) = lease_task {
        task.abort();
    }
    lease.release().await;

    notify::stopping();
    scheduler.shutdown().await;
    if let Err(e) = crate::state::StateStore::flush(&store) {
        tracing::error!(error = %e, "flushing state on shutdown failed");
    }
    admin_server::unbind(&socket_path);
    tracing::info!("zoomsync daemon stopped");
    Ok(())
}

/// The state store cannot be trusted: run no cycle, but stay up and say so — the error in
/// the journal, `zoomsync_state_integrity_ok 0` and `zoomsync_connector_quarantined 1` on
/// /metrics (for the alert), /readyz 503, the admin socket answering every request with the
/// refusal, READY=1 with the refusal as STATUS= (so systemd neither times out nor restarts
/// it in a loop) — until SIGTERM, then exit 1 with the refusal (it never ran).
async fn refuse(
    config: config::Config,
    config_path: PathBuf,
    signals: Signals,
    prometheus: metrics_exporter_prometheus::PrometheusHandle,
    refused: StateError,
) -> Result<(), DaemonError> {
    let message = refused.to_string();
    tracing::error!("{message}");
    metrics::gauge!(STATE_INTEGRITY_OK).set(0.0);
    metrics::gauge!(CONNECTOR_QUARANTINED).set(1.0);
    let (trigger_tx, _no_worker) = mpsc::channel::<Trigger>(1);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (reload_tx, _no_reload) = watch::channel(config.clone());
    if let Some(listen) = config.metrics.listen {
        let no_channel = Arc::new(ChannelState::default());
        http::serve(listen, prometheus, Arc::new(AtomicBool::new(false)), no_channel, shutdown_rx.clone()).await?;
    }
    let socket_path = config.admin.socket.clone();
    let admin = admin_server::bind(&socket_path)?;
    tokio::spawn(admin_server::serve_refusal(admin, message.clone(), shutdown_rx.clone()));
    tokio::spawn(signals.handle(config_path, trigger_tx, shutdown_tx, reload_tx));
    notify::watchdog(shutdown_rx.clone());
    notify::ready(&format!("REFUSING to sync: {message}"));
    tracing::warn!(
        "zoomsync daemon refuses to sync until the state is restored; stop it, then `zoomsync state restore`"
    );
    let mut stop = shutdown_rx;
    let _ = stop.wait_for(|s| *s).await;
    notify::stopping();
    admin_server::unbind(&socket_path);
    Err(DaemonError::State(refused))
}

/// The daemon's signals, registered at once (tokio installs a handler when a stream is
/// built; a signal arriving before that takes the default action, which for SIGTERM is death).
struct Signals {
    term: Signal,
    int: Signal,
    hup: Signal,
    usr1: Signal,
}

impl Signals {
    fn watch() -> std::io::Result<Self> {
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
            usr1: signal(SignalKind::user_defined1())?,
        })
    }

    /// SIGTERM/SIGINT: stop. SIGHUP: reload (validate first). SIGUSR1: sync now.
    async fn handle(
        self,
        config_path: PathBuf,
        triggers: mpsc::Sender<Trigger>,
        shutdown: watch::Sender<bool>,
        reload: watch::Sender<config::Config>,
    ) {
        let Self { mut term, mut int, mut hup, mut usr1 } = self;
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = int.recv() => break,
                _ = usr1.recv() => {
                    tracing::info!("SIGUSR1: sync requested");
                    let _ = triggers.try_send(Trigger::Manual("SIGUSR1"));
                }
                _ = hup.recv() => {
                    notify::reloading();
                    match config::load(&config_path) {
                        Ok(new) => {
                            tracing::info!(path = %config_path.display(), "SIGHUP: configuration reloaded; used from the next cycle");
                            let _ = reload.send(new);
                        }
                        Err(e) => tracing::error!(path = %config_path.display(), error = %e, "SIGHUP: new configuration rejected; keeping the old one"),
                    }
                    notify::status("running (configuration reload handled)");
                }
            }
        }
        tracing::info!("stopping: finishing the operation in flight");
        notify::stopping();
        let _ = shutdown.send(true);
    }
}
