//! `zoomsync run`: the service. A trigger channel of capacity one feeds a single worker, so
//! cycles never overlap and extra triggers coalesce; the scheduler, SIGUSR1 and the admin
//! socket only *ask* for a cycle. SIGTERM/SIGINT let the operation in flight finish, flush
//! state and exit 0; SIGHUP reloads the config (validated first; the old one stays on error).
//!
//! Only this module knows about tasks, signals and systemd.

mod admin_server;
mod http;
mod notify;
mod schedule;
mod worker;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::{mpsc, watch};

use crate::config::{self, ConfigError};
use crate::state::StateError;
use crate::state::sled_store::SledStore;

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
    // Registered before the listeners or sd_notify announce anything: a SIGTERM sent the
    // moment the daemon looks up must stop it cleanly, not kill it.
    let signals = Signals::watch().map_err(|e| DaemonError::startup("signal handlers", e))?;
    let prometheus = http::install_recorder()?;
    std::fs::create_dir_all(&config.state.path)
        .map_err(|e| DaemonError::startup("state directory", format!("{}: {e}", config.state.path.display())))?;
    let store = SledStore::open(&config.state.path)?;

    let (trigger_tx, trigger_rx) = mpsc::channel::<Trigger>(1);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (reload_tx, reload_rx) = watch::channel(config.clone());
    let ready = Arc::new(AtomicBool::new(false));

    if let Some(listen) = config.metrics.listen {
        http::serve(listen, prometheus, ready.clone(), shutdown_rx.clone()).await?;
    }
    let socket_path = config.admin.socket.clone();
    let admin = admin_server::bind(&socket_path)?;
    tokio::spawn(admin_server::serve(admin, store.clone(), trigger_tx.clone(), shutdown_rx.clone()));
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

    worker::run(config, store.clone(), trigger_rx, shutdown_rx, reload_rx, ready).await;

    notify::stopping();
    let _ = scheduler.shutdown().await;
    if let Err(e) = crate::state::StateStore::flush(&store) {
        tracing::error!(error = %e, "flushing state on shutdown failed");
    }
    admin_server::unbind(&socket_path);
    tracing::info!("zoomsync daemon stopped");
    Ok(())
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
