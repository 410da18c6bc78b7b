//! The daemon's side of the admin socket: owner-only permissions, one request per
//! connection, answered from the same store the worker uses (sled is shared in-process).
//!
//! Bounded so that no client can starve the daemon: at most [`MAX_CONNECTIONS`] requests
//! are served at once (a further connection is accepted and closed at once, holding a
//! descriptor only for that moment); the request line must arrive within [`IO_TIMEOUT`]
//! and be at most [`MAX_REQUEST_LINE`] bytes (else an error is answered and the connection
//! closed, after reading no more than that), and the answer must be taken within
//! [`IO_TIMEOUT`].

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};

use super::lease::LeaseState;
use super::{DaemonError, Trigger};
use crate::admin::render;
use crate::admin::socket::{AdminRequest, AdminResponse};
use crate::state::StateError;
use crate::state::sled_store::SledStore;

/// Binds the socket, replacing a stale one (a previous daemon that died), mode 0600.
pub fn bind(path: &Path) -> Result<UnixListener, DaemonError> {
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(DaemonError::startup(
                "admin.socket",
                format!("{} is in use: is another zoomsync running?", path.display()),
            ));
        }
        let _ = std::fs::remove_file(path);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| DaemonError::startup("admin.socket", format!("{}: {e}", dir.display())))?;
    }
    let listener = UnixListener::bind(path)
        .map_err(|e| DaemonError::startup("admin.socket", format!("{}: {e}", path.display())))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| DaemonError::startup("admin.socket", format!("{}: {e}", path.display())))?;
    Ok(listener)
}

/// Requests served at once; a further connection is closed as soon as it is accepted.
pub const MAX_CONNECTIONS: usize = 16;
/// The request line must arrive, and the answer be read, within this.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest request line read (the CLI's requests are well under 1 KiB).
pub const MAX_REQUEST_LINE: usize = 64 * 1024;
/// Pause after a failed accept (e.g. EMFILE) before the next, instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

pub fn unbind(path: &Path) {
    let _ = std::fs::remove_file(path);
}

pub async fn serve(
    listener: UnixListener,
    store: SledStore,
    triggers: mpsc::Sender<Trigger>,
    lease: Arc<LeaseState>,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    while let Some((stream, slot)) = accept(&listener, &slots, &mut shutdown).await {
        let (store, triggers, lease) = (store.clone(), triggers.clone(), lease.clone());
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(e) = answer(stream, &store, &triggers, &lease).await {
                tracing::warn!(error = %e, "admin request failed");
            }
        });
    }
}

/// The next connection with a free slot (closing those beyond the limit), or `None` once
/// the daemon shuts down.
async fn accept(
    listener: &UnixListener,
    slots: &Arc<Semaphore>,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<(UnixStream, OwnedSemaphorePermit)> {
    loop {
        let accepted = tokio::select! {
            _ = shutdown.wait_for(|s| *s) => return None,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "admin socket accept failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        match slots.clone().try_acquire_owned() {
            Ok(slot) => return Some((stream, slot)),
            Err(_) => {
                tracing::debug!("admin socket: {MAX_CONNECTIONS} requests in progress, closing a new connection");
                drop(stream);
            }
        }
    }
}

async fn answer(
    stream: UnixStream,
    store: &SledStore,
    triggers: &mpsc::Sender<Trigger>,
    lease: &LeaseState,
) -> std::io::Result<()> {
    reply(stream, |request| handle(request, store, triggers, lease)).await
}

/// Reads one request line and writes the handler's response.
async fn reply(stream: UnixStream, handler: impl FnOnce(AdminRequest) -> AdminResponse) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let response = match read_request(read).await? {
        Ok(line) => match serde_json::from_slice::<AdminRequest>(&line) {
            Ok(request) => handler(request),
            Err(e) => AdminResponse { ok: false, output: format!("bad request: {e}\n") },
        },
        Err(refusal) => AdminResponse { ok: false, output: format!("bad request: {refusal}\n") },
    };
    let mut text = serde_json::to_string(&response).unwrap_or_else(|_| r#"{"ok":false,"output":"encoding"}"#.into());
    text.push('\n');
    let send = async move {
        write.write_all(text.as_bytes()).await?;
        write.shutdown().await
    };
    tokio::time::timeout(IO_TIMEOUT, send)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "the client did not read the answer"))?
}

/// Reads one request line of at most [`MAX_REQUEST_LINE`] bytes within [`IO_TIMEOUT`];
/// `Ok(Err(why))` when it is too long or too slow (answered, then the connection closes).
async fn read_request(read: tokio::net::unix::OwnedReadHalf) -> std::io::Result<Result<Vec<u8>, String>> {
    let mut line = Vec::new();
    let mut reader = BufReader::new(read.take(MAX_REQUEST_LINE as u64 + 1));
    match tokio::time::timeout(IO_TIMEOUT, reader.read_until(b'\n', &mut line)).await {
        Err(_) => Ok(Err(format!("no complete request line within {} s", IO_TIMEOUT.as_secs()))),
        Ok(Err(e)) => Err(e),
        Ok(Ok(_)) if line.len() > MAX_REQUEST_LINE => {
            Ok(Err(format!("request line longer than {} KiB", MAX_REQUEST_LINE / 1024)))
        }
        Ok(Ok(_)) => Ok(Ok(line)),
    }
}

/// While the daemon refuses its state store: every request is answered with the refusal
/// (so `zoomsync status`, `sync --now`, `approve` print why and exit 1).
pub async fn serve_refusal(listener: UnixListener, refusal: String, mut shutdown: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    while let Some((stream, slot)) = accept(&listener, &slots, &mut shutdown).await {
        let output = format!("the zoomsync daemon runs no cycle: {refusal}\n");
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(e) = reply(stream, |_| AdminResponse { ok: false, output }).await {
                tracing::warn!(error = %e, "admin request failed");
            }
        });
    }
}

fn handle(
    request: AdminRequest,
    store: &SledStore,
    triggers: &mpsc::Sender<Trigger>,
    lease: &LeaseState,
) -> AdminResponse {
    let sync_now = |what: &str| match triggers.try_send(Trigger::Manual("admin")) {
        Ok(()) => format!("{what}a cycle is queued\n"),
        Err(_) => format!("{what}a cycle is already queued\n"),
    };
    let result: Result<(bool, String), StateError> = match request {
        AdminRequest::Status { json } => {
            render::status_with_lease(store, json, lease.status().as_ref()).map(|s| (true, s))
        }
        AdminRequest::SyncNow => Ok((true, sync_now(""))),
        AdminRequest::Approve => render::approve(store).map(|r| match r {
            Some(text) => (true, sync_now(&text)),
            None => (true, "nothing is held: no operation waits for approval\n".into()),
        }),
        AdminRequest::QuarantineList { all } => render::quarantine_list(store, all).map(|s| (true, s)),
        AdminRequest::QuarantineRelease { selector, all } => {
            render::quarantine_release(store, selector.as_deref(), all).map(|r| match r {
                Some(text) => (true, text),
                None => (false, "no failure record matches\n".into()),
            })
        }
        AdminRequest::History(query) => render::history(store, &query).map(|s| (true, s)),
    };
    match result {
        Ok((ok, output)) => AdminResponse { ok, output },
        Err(e) => AdminResponse { ok: false, output: format!("{e}\n") },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `request` on one end of a socket pair, answers on the other with `reply`
    /// (every request answered "ok"), and returns the answer the client reads.
    async fn exchange(request: Vec<u8>) -> AdminResponse {
        let (client, server) = UnixStream::pair().unwrap();
        let server = tokio::spawn(reply(server, |_| AdminResponse { ok: true, output: "ok\n".into() }));
        let (mut read, mut write) = client.into_split();
        let writer = tokio::spawn(async move {
            let _ = write.write_all(&request).await;
            write
        });
        // A close with unread request bytes resets the connection: keep what arrived before.
        let mut answer = Vec::new();
        let mut chunk = [0u8; 4096];
        while let Ok(n @ 1..) = read.read(&mut chunk).await {
            answer.extend_from_slice(&chunk[..n]);
        }
        let _ = server.await.unwrap();
        drop(writer.await.unwrap());
        serde_json::from_slice(&answer).unwrap()
    }

    #[tokio::test]
    async fn a_request_line_longer_than_the_limit_is_refused_after_reading_the_limit() {
        let answer = exchange(vec![b'x'; 4 * MAX_REQUEST_LINE]).await;
        assert!(!answer.ok);
        assert!(answer.output.contains("longer than 64 KiB"), "{}", answer.output);
    }

    #[tokio::test]
    async fn a_request_within_the_limit_is_answered() {
        let mut line = serde_json::to_vec(&AdminRequest::SyncNow).unwrap();
        line.push(b'\n');
        assert!(exchange(line).await.ok);
    }

    #[tokio::test]
    async fn a_client_that_never_finishes_its_line_is_answered_after_the_timeout() {
        // Waits the real 10 s (no tokio test-util here).
        let (mut client, server) = UnixStream::pair().unwrap();
        client.write_all(b"{\"command\":").await.unwrap();
        let server = tokio::spawn(reply(server, |_| AdminResponse { ok: true, output: String::new() }));
        let mut answer = String::new();
        BufReader::new(&mut client).read_line(&mut answer).await.unwrap();
        server.await.unwrap().unwrap();
        let answer: AdminResponse = serde_json::from_str(&answer).unwrap();
        assert!(!answer.ok && answer.output.contains("within 10 s"), "{}", answer.output);
    }
}
