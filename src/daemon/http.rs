//! The metrics listener (127.0.0.1:9464 by default): `/metrics` for Prometheus, `/healthz`
//! (the process answers) and `/readyz` (the last cycle ran without a fatal error and the
//! connector is not quarantined).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::sync::watch;

use super::DaemonError;
use crate::metrics::{CYCLE_DURATION_BUCKETS, CYCLE_DURATION_SECONDS, describe};

/// Installs the global Prometheus recorder (with the cycle histogram's buckets).
pub fn install_recorder() -> Result<PrometheusHandle, DaemonError> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(CYCLE_DURATION_SECONDS.into()), CYCLE_DURATION_BUCKETS)
        .map_err(|e| DaemonError::startup("metrics", e))?
        .install_recorder()
        .map_err(|e| DaemonError::startup("metrics", e))?;
    describe();
    Ok(handle)
}

pub async fn serve(
    listen: SocketAddr,
    handle: PrometheusHandle,
    ready: Arc<AtomicBool>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), DaemonError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| DaemonError::startup("metrics.listen", format!("{listen}: {e}")))?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            upkeep.run_upkeep();
        }
    });
    let app = Router::new()
        .route("/metrics", get(move || std::future::ready(handle.render())))
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/readyz",
            get(move || {
                let ok = ready.load(Ordering::Acquire);
                std::future::ready(if ok {
                    (StatusCode::OK, "ready\n")
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, "not ready: no good cycle yet, or the connector is quarantined\n")
                })
            }),
        );
    tracing::info!(%listen, "metrics on /metrics, health on /healthz and /readyz");
    tokio::spawn(async move {
        let stop = async move {
            let _ = shutdown.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stop).await {
            tracing::error!(error = %e, "metrics listener stopped");
        }
    });
    Ok(())
}
