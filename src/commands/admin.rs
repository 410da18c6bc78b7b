//! `status`, `quarantine list|release`, `history`, `sync --now`: asked of the running daemon
//! over its admin socket; with no daemon, answered from the state store directly.

use std::path::Path;
use std::process::ExitCode;
use std::time::UNIX_EPOCH;

use zoomsync::admin::render::{self, HistoryQuery};
use zoomsync::admin::socket::{self, AdminRequest};
use zoomsync::config::Config;
use zoomsync::model::UnixTime;
use zoomsync::model::unix_now;
use zoomsync::state::sled_store::SledStore;

use super::load_config;

/// What to do when no daemon answers.
enum Offline<'a> {
    Store(&'a dyn Fn(&SledStore) -> anyhow::Result<(bool, String)>),
    Refuse(&'static str),
}

/// Asks the daemon if one runs, else does the work on the store. Prints the answer.
async fn ask(path: &Path, request: AdminRequest, offline: Offline<'_>) -> anyhow::Result<ExitCode> {
    let config = match load_config(path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let (ok, output) = match socket::call(&config.admin.socket, &request).await? {
        Some(answer) => (answer.ok, answer.output),
        None => match offline {
            Offline::Refuse(why) => (false, format!("{why}\n")),
            Offline::Store(work) => match open(&config) {
                Ok(store) => work(&store)?,
                Err(code) => return Ok(code),
            },
        },
    };
    print!("{output}");
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn open(config: &Config) -> Result<SledStore, ExitCode> {
    // No database and no integrity record: nothing ran yet. A record without a database is
    // a lost store, which opening refuses with the way back.
    let path = &config.state.path;
    if !path.join("db").exists() && !path.join(zoomsync::state::integrity::FILE).exists() {
        eprintln!("zoomsync: no state yet at {} (no cycle has run)", path.display());
        return Err(ExitCode::FAILURE);
    }
    SledStore::from_config(&config.state).map_err(|e| {
        eprintln!("zoomsync: {e}");
        ExitCode::FAILURE
    })
}

pub async fn status(path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    ask(path, AdminRequest::Status { json }, Offline::Store(&|s| Ok((true, render::status(s, json)?)))).await
}

pub async fn quarantine_list(path: &Path, all: bool) -> anyhow::Result<ExitCode> {
    ask(path, AdminRequest::QuarantineList { all }, Offline::Store(&|s| Ok((true, render::quarantine_list(s, all)?))))
        .await
}

pub async fn quarantine_release(path: &Path, selector: Option<&str>, all: bool) -> anyhow::Result<ExitCode> {
    if selector.is_none() && !all {
        eprintln!("zoomsync: name an anchor (or userName), or use --all");
        return Ok(ExitCode::from(super::EXIT_CONFIG));
    }
    let request = AdminRequest::QuarantineRelease { selector: selector.map(String::from), all };
    let work = |s: &SledStore| -> anyhow::Result<(bool, String)> {
        Ok(match render::quarantine_release(s, selector, all)? {
            Some(text) => (true, text),
            None => (false, "no failure record matches\n".into()),
        })
    };
    ask(path, request, Offline::Store(&work)).await
}

pub async fn history(
    path: &Path,
    user: Option<String>,
    since: Option<String>,
    limit: usize,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let since = match since {
        None => None,
        Some(text) => Some(
            parse_since(&text)
                .ok_or_else(|| anyhow::anyhow!("--since {text:?}: use an RFC 3339 time or a duration like 2h"))?,
        ),
    };
    let query = HistoryQuery { user, since, limit, json };
    let offline = query.clone();
    ask(path, AdminRequest::History(query), Offline::Store(&move |s| Ok((true, render::history(s, &offline)?)))).await
}

/// `sync --now`: only the running daemon can do that (without one, use `sync --once`).
pub async fn sync_now(path: &Path) -> anyhow::Result<ExitCode> {
    ask(path, AdminRequest::SyncNow, Offline::Refuse("no zoomsync daemon is running; use `zoomsync sync --once`")).await
}

/// `2h` (ago) or an RFC 3339 time.
fn parse_since(text: &str) -> Option<UnixTime> {
    if let Ok(d) = humantime::parse_duration(text) {
        return Some(unix_now() - d.as_secs() as UnixTime);
    }
    let t = humantime::parse_rfc3339_weak(text).ok()?;
    Some(t.duration_since(UNIX_EPOCH).ok()?.as_secs() as UnixTime)
}
