//! The metrics listener (127.0.0.1:9464 by default): `/metrics` for Prometheus, `/healthz`
//! (the process answers) and `/readyz` (the last cycle ran without a fatal error and the
//! connector is not quarantined).
//!
//! The listener cannot be starved and cannot starve the cycle: at most
//! [`MAX_CONNECTIONS`] connections are served at once — a further one is accepted and
//! closed at once, so it holds a descriptor for no longer than the accept (leaving it in
//! the kernel's backlog instead would keep it waiting behind idle peers, and let the
//! backlog fill with connections nobody will answer); a request's headers must arrive
//! within [`HEADER_READ_TIMEOUT`] (also between keep-alive requests, so an idle connection
//! is closed after it), and no connection lives longer than [`CONNECTION_LIFETIME`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::channel::ChannelState;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::sync::{Semaphore, watch};

use super::DaemonError;
use crate::metrics::{
    CHANGE_LATENCY_BUCKETS, CHANGE_LATENCY_SECONDS, CYCLE_DURATION_BUCKETS, CYCLE_DURATION_SECONDS, describe,
};

/// Installs the global Prometheus recorder (with the cycle histogram's buckets).
pub fn install_recorder() -> Result<PrometheusHandle, DaemonError> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(CYCLE_DURATION_SECONDS.into()), CYCLE_DURATION_BUCKETS)
        .map_err(|e| DaemonError::startup("metrics", e))?
        .set_buckets_for_metric(Matcher::Full(CHANGE_LATENCY_SECONDS.into()), CHANGE_LATENCY_BUCKETS)
        .map_err(|e| DaemonError::startup("metrics", e))?
        .install_recorder()
        .map_err(|e| DaemonError::startup("metrics", e))?;
    describe();
    Ok(handle)
}

/// Connections served at once; a further one is closed as soon as it is accepted.
pub const MAX_CONNECTIONS: usize = 64;
/// A request's headers (the first, or the next on a kept-alive connection) must arrive
/// within this, or the connection is closed.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// No connection is kept longer than this (a scrape takes milliseconds).
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);
/// Pause after a failed accept (e.g. EMFILE) before the next, instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// `/readyz`: ready after a good cycle while the connector is not quarantined. A change
/// channel that is down does not make the daemon unready (the cycles carry on), but the
/// answer says so.
fn readiness(ready: bool, channel_running: bool, channel_up: bool) -> (StatusCode, &'static str) {
    match (ready, channel_running && !channel_up) {
        (false, _) => {
            (StatusCode::SERVICE_UNAVAILABLE, "not ready: no good cycle yet, or the connector is quarantined\n")
        }
        (true, false) => (StatusCode::OK, "ready\n"),
        (true, true) => (StatusCode::OK, "ready; the change channel is down: changes wait for the scheduled cycle\n"),
    }
}

pub async fn serve(
    listen: SocketAddr,
    handle: PrometheusHandle,
    ready: Arc<AtomicBool>,
    channel: Arc<ChannelState>,
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
                std::future::ready(readiness(ok, channel.running(), channel.up.load(Ordering::Acquire)))
            }),
        );
    tracing::info!(%listen, "metrics on /metrics, health on /healthz and /readyz");
    tokio::spawn(async move {
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        loop {
            let accepted = tokio::select! {
                _ = shutdown.wait_for(|s| *s) => break,
                accepted = listener.accept() => accepted,
            };
            let stream = match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "metrics listener: accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                tracing::debug!("metrics listener: {MAX_CONNECTIONS} connections open, closing a new one");
                drop(stream);
                continue;
            };
            let service = TowerToHyperService::new(app.clone());
            tokio::spawn(async move {
                let _slot = slot;
                let mut builder = http1::Builder::new();
                builder.timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
                let connection = builder.serve_connection(TokioIo::new(stream), service);
                match tokio::time::timeout(CONNECTION_LIFETIME, connection).await {
                    Ok(Err(e)) => tracing::debug!(error = %e, "metrics connection closed"),
                    Ok(Ok(())) => {}
                    Err(_) => tracing::debug!("metrics connection closed: open too long"),
                }
            });
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_table() {
        let not_ready = StatusCode::SERVICE_UNAVAILABLE;
        for (ready, running, up, status, says) in [
            (false, false, false, not_ready, "not ready"),
            (false, true, false, not_ready, "not ready"),
            (true, false, false, StatusCode::OK, "ready\n"),
            (true, true, true, StatusCode::OK, "ready\n"),
            (true, true, false, StatusCode::OK, "change channel is down"),
        ] {
            let (s, text) = readiness(ready, running, up);
            assert_eq!(s, status, "{ready} {running} {up}");
            assert!(text.contains(says), "{text}");
        }
    }
}
