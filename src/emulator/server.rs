//! The HTTP server: our own accept loop over hyper, so a fault can close one TCP connection
//! without a response (axum's `serve` cannot), and shutdown can be awaited.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use super::control;
use super::pipeline::{self, Outcome};
use super::shared::Shared;
use super::wire::Reply;

/// Largest request body we read (Zoom's own limit for group PATCH is far below this).
const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
/// How long shutdown waits for requests in flight before closing their connections.
const DRAIN: Duration = Duration::from_secs(2);

/// Why the emulator did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("refusing to listen on non-loopback address {0} without allow_remote (no TLS, no auth on /_emulator)")]
    NotLoopback(SocketAddr),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// Binds and spawns the accept loop; returns the bound address and the loop's handle.
pub async fn spawn(
    shared_for: impl FnOnce(SocketAddr) -> Arc<Shared>,
    addr: SocketAddr,
    stop: watch::Receiver<bool>,
) -> Result<(Arc<Shared>, tokio::task::JoinHandle<()>), StartError> {
    let listener = TcpListener::bind(addr).await.map_err(|source| StartError::Bind { addr, source })?;
    let local = listener.local_addr().map_err(|source| StartError::Bind { addr, source })?;
    let shared = shared_for(local);
    let task = tokio::spawn(accept_loop(listener, shared.clone(), stop));
    Ok((shared, task))
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _peer)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                conns.spawn(serve_connection(stream, shared.clone(), stop.clone()));
            }
            _ = stop.changed() => break,
        }
        while conns.try_join_next().is_some() {}
    }
    drop(listener);
    let drained = tokio::time::timeout(DRAIN, async { while conns.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        conns.abort_all();
        while conns.join_next().await.is_some() {}
    }
}

async fn serve_connection(stream: tokio::net::TcpStream, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let kill = Arc::new(Notify::new());
    let svc_kill = kill.clone();
    let service = service_fn(move |req| handle(shared.clone(), svc_kill.clone(), req));
    let conn = http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        // Dropping the connection future closes the socket without writing a response.
        _ = kill.notified() => {}
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(DRAIN, conn.as_mut()).await;
        }
    }
}

async fn handle(
    shared: Arc<Shared>,
    kill: Arc<Notify>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            Err(Reply::scim_error(413, "The request body is too large."))
        }
        Err(_) => Err(Reply::scim_error(400, "The request body could not be read.")),
    };
    let path = parts.uri.path();
    if path == "/_emulator" || path.starts_with("/_emulator/") {
        let reply = match body {
            Ok(b) => control::handle(&shared, &parts.method, path, parts.uri.query(), &b),
            Err(r) => r,
        };
        return Ok(to_response(reply));
    }
    match pipeline::handle(&shared, &parts, body).await {
        Outcome::Reply(r) => Ok(to_response(r)),
        Outcome::Drop => {
            kill.notify_one();
            std::future::pending().await
        }
    }
}

/// Turns a [`Reply`] into an HTTP response.
pub fn to_response(reply: Reply) -> Response<Full<Bytes>> {
    let bytes = match &reply.body {
        Some(v) => serde_json::to_vec(v).unwrap_or_default(),
        None => Vec::new(),
    };
    let mut resp = Response::new(Full::new(Bytes::from(bytes)));
    *resp.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = resp.headers_mut();
    if reply.body.is_some() {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    }
    for (name, value) in reply.headers {
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value)) {
            headers.insert(n, v);
        }
    }
    resp
}
