//! The daemon's side of the admin socket: owner-only permissions, one request per
//! connection, answered from the same store the worker uses (sled is shared in-process).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, watch};

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

pub fn unbind(path: &Path) {
    let _ = std::fs::remove_file(path);
}

pub async fn serve(
    listener: UnixListener,
    store: SledStore,
    triggers: mpsc::Sender<Trigger>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let stream = tokio::select! {
            _ = shutdown.wait_for(|s| *s) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "admin socket accept failed");
                    continue;
                }
            },
        };
        let (store, triggers) = (store.clone(), triggers.clone());
        tokio::spawn(async move {
            if let Err(e) = answer(stream, &store, &triggers).await {
                tracing::warn!(error = %e, "admin request failed");
            }
        });
    }
}

async fn answer(stream: UnixStream, store: &SledStore, triggers: &mpsc::Sender<Trigger>) -> std::io::Result<()> {
    reply(stream, |request| handle(request, store, triggers)).await
}

/// Reads one request line and writes the handler's response.
async fn reply(stream: UnixStream, handler: impl FnOnce(AdminRequest) -> AdminResponse) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    BufReader::new(read).read_line(&mut line).await?;
    let response = match serde_json::from_str::<AdminRequest>(&line) {
        Ok(request) => handler(request),
        Err(e) => AdminResponse { ok: false, output: format!("bad request: {e}") },
    };
    let mut text = serde_json::to_string(&response).unwrap_or_else(|_| r#"{"ok":false,"output":"encoding"}"#.into());
    text.push('\n');
    write.write_all(text.as_bytes()).await?;
    write.shutdown().await
}

/// While the daemon refuses its state store: every request is answered with the refusal
/// (so `zoomsync status`, `sync --now`, `approve` print why and exit 1).
pub async fn serve_refusal(listener: UnixListener, refusal: String, mut shutdown: watch::Receiver<bool>) {
    loop {
        let stream = tokio::select! {
            _ = shutdown.wait_for(|s| *s) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "admin socket accept failed");
                    continue;
                }
            },
        };
        let output = format!("the zoomsync daemon runs no cycle: {refusal}\n");
        tokio::spawn(async move {
            if let Err(e) = reply(stream, |_| AdminResponse { ok: false, output }).await {
                tracing::warn!(error = %e, "admin request failed");
            }
        });
    }
}

fn handle(request: AdminRequest, store: &SledStore, triggers: &mpsc::Sender<Trigger>) -> AdminResponse {
    let sync_now = |what: &str| match triggers.try_send(Trigger::Manual("admin")) {
        Ok(()) => format!("{what}a cycle is queued\n"),
        Err(_) => format!("{what}a cycle is already queued\n"),
    };
    let result: Result<(bool, String), StateError> = match request {
        AdminRequest::Status { json } => render::status(store, json).map(|s| (true, s)),
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
