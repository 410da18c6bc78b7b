//! The admin socket protocol: one JSON request line, one JSON response line, then close.
//!
//! sled locks its files, so while the daemon runs the CLI asks it over a Unix socket with
//! owner-only permissions (in the systemd RuntimeDirectory) instead of opening the store.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

use super::render::HistoryQuery;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum AdminRequest {
    Status { json: bool },
    SyncNow,
    Approve,
    QuarantineList { all: bool },
    QuarantineRelease { selector: Option<String>, all: bool },
    History(HistoryQuery),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AdminResponse {
    pub ok: bool,
    pub output: String,
}

/// Why talking to the daemon failed (it is there, but the exchange broke).
#[derive(Debug, thiserror::Error)]
#[error("admin socket {path}: {detail}")]
pub struct AdminError {
    pub path: String,
    pub detail: String,
}

/// Sends one request to the running daemon. `Ok(None)`: no daemon listens on `socket`
/// (no file, or connection refused: a stale socket), so the caller opens the store itself.
pub async fn call(socket: &Path, request: &AdminRequest) -> Result<Option<AdminResponse>, AdminError> {
    let err = |detail: String| AdminError { path: socket.display().to_string(), detail };
    let stream = match UnixStream::connect(socket).await {
        Ok(s) => s,
        Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused) => {
            return Ok(None);
        }
        Err(e) => return Err(err(e.to_string())),
    };
    let (read, mut write) = stream.into_split();
    let mut line = serde_json::to_string(request).map_err(|e| err(e.to_string()))?;
    line.push('\n');
    write.write_all(line.as_bytes()).await.map_err(|e| err(e.to_string()))?;
    write.shutdown().await.map_err(|e| err(e.to_string()))?;
    let mut answer = String::new();
    BufReader::new(read).read_line(&mut answer).await.map_err(|e| err(e.to_string()))?;
    serde_json::from_str(&answer).map(Some).map_err(|e| err(format!("unreadable answer: {e}")))
}
