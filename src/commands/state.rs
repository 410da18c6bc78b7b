//! `state restore` and `state rebuild`: the way back from a state store that was refused
//! (emptied, truncated, deleted, corrupt) or lost. Both refuse while the daemon runs, keep
//! the damaged files in `<state.path>/damaged-<time>/`, create a new store (new id, new
//! integrity record, a snapshot) and print what came back. On failure the new store is
//! removed and the old integrity record put back, so the store stays refused.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use zoomsync::admin::socket::{self, AdminRequest};
use zoomsync::config::Config;
use zoomsync::model::{HeldOps, Lifecycle, UnixTime, printable};
use zoomsync::scim::Target;
use zoomsync::state::sled_store::SledStore;
use zoomsync::state::snapshot::{self, SnapshotPolicy};
use zoomsync::state::{StateError, StateStore};
use zoomsync::sync::{CycleOptions, Engine, Shutdown};

use super::{EXIT_CONFIG, load_config};

fn when(t: UnixTime) -> String {
    u64::try_from(t)
        .ok()
        .map(|s| humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(s)))
        .map_or_else(|| t.to_string(), |d| d.to_string())
}

fn policy(config: &Config) -> SnapshotPolicy {
    SnapshotPolicy { every: config.state.snapshot_every, keep: config.state.snapshots_keep }
}

/// Refuses while the daemon answers on its admin socket (it holds the store).
async fn daemon_running(config: &Config) -> anyhow::Result<bool> {
    if socket::call(&config.admin.socket, &AdminRequest::Status { json: false }).await?.is_some() {
        esay!(
            "zoomsync: the daemon is running (admin socket {}): stop it first (`systemctl stop zoomsync`)",
            config.admin.socket.display()
        );
        return Ok(true);
    }
    Ok(false)
}

/// Moves the old store aside and creates an empty one. Errors are printed.
fn fresh_store(config: &Config) -> Result<(SledStore, Option<PathBuf>), ExitCode> {
    let dir = &config.state.path;
    let aside = SledStore::set_aside(dir).map_err(|e| {
        match e {
            StateError::Locked { .. } => esay!("zoomsync: {e}; stop it first"),
            other => esay!("zoomsync: cannot move the old store aside: {other}"),
        }
        ExitCode::FAILURE
    })?;
    if let Some(a) = &aside {
        say!("the old store is kept in {}", a.display());
    }
    match SledStore::create(dir, policy(config)) {
        Ok(store) => Ok((store, aside)),
        Err(e) => {
            esay!("zoomsync: cannot create a new store in {}: {e}", dir.display());
            SledStore::abandon_new(dir, aside.as_deref());
            Err(ExitCode::FAILURE)
        }
    }
}

/// The held operations, one per line.
fn held_lines(held: Option<&HeldOps>) -> String {
    let mut out = String::new();
    match held {
        Some(h) if !h.ops.is_empty() => {
            let _ = writeln!(
                out,
                "{} held operation(s) waiting for `zoomsync approve` (held since {}: {}):",
                h.ops.len(),
                when(h.since),
                printable(&h.reason)
            );
            for op in &h.ops {
                let _ = writeln!(out, "  {:<10} {:<40} {}", op.action, printable(&op.user_name), printable(&op.dn));
            }
        }
        _ => out.push_str("held operations: none\n"),
    }
    out
}

/// `zoomsync state restore`: a snapshot back into a new store.
pub async fn restore(path: &Path, file: Option<PathBuf>, latest: bool) -> anyhow::Result<ExitCode> {
    let config = match load_config(path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let snapshots = config.state.path.join(snapshot::DIR);
    let file = match (file, latest) {
        (Some(f), _) => f,
        (None, true) => match snapshot::latest(&snapshots) {
            Some(f) => f,
            None => {
                esay!(
                    "zoomsync: no snapshot in {}: use `--snapshot FILE` (e.g. from a backup), or `zoomsync state rebuild`",
                    snapshots.display()
                );
                return Ok(ExitCode::FAILURE);
            }
        },
        (None, false) => {
            esay!("zoomsync: name a snapshot with --snapshot FILE, or use --latest");
            return Ok(ExitCode::from(EXIT_CONFIG));
        }
    };
    // Checked in full before anything is touched.
    let snap = match snapshot::read(&file) {
        Ok(s) => s,
        Err(e) => {
            esay!("zoomsync: {e}; nothing was changed (try an older one in {})", snapshots.display());
            return Ok(ExitCode::FAILURE);
        }
    };
    if daemon_running(&config).await? {
        return Ok(ExitCode::FAILURE);
    }
    let (store, aside) = match fresh_store(&config) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let imported = snapshot::import(&snap, &store)
        .and_then(|()| store.set_generation(snap.header.generation))
        .and_then(|()| store.commit_cycle());
    if let Err(e) = imported {
        esay!("zoomsync: restoring {} failed: {e}", file.display());
        drop(store);
        SledStore::abandon_new(&config.state.path, aside.as_deref());
        return Ok(ExitCode::FAILURE);
    }
    let deactivated = snap.users.iter().filter(|(u, _)| matches!(u.lifecycle, Lifecycle::Deactivated { .. })).count();
    say!(
        "restored state from {} (written {}, after cycle {}; checksum ok)",
        file.display(),
        when(snap.header.written_at),
        snap.header.generation
    );
    say!(
        "{} user(s) ({} active, {deactivated} deactivated), {} group(s), {} failure record(s)",
        snap.users.len(),
        snap.users.len() - deactivated,
        snap.groups.len(),
        snap.failures.len()
    );
    print!("{}", held_lines(snap.meta.held.as_ref()));
    say!(
        "the next cycle reads every Zoom user again (full reconcile) and repairs what changed since the \
         snapshot; review it with `zoomsync plan`, apply held operations with `zoomsync approve`"
    );
    Ok(ExitCode::SUCCESS)
}

/// `zoomsync state rebuild`: a new store from the target — every Zoom user whose userName
/// a directory user has is adopted; the others are listed, never touched.
pub async fn rebuild(path: &Path) -> anyhow::Result<ExitCode> {
    let config = match load_config(path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    if config.target.is_none() {
        esay!("zoomsync: config {}: target: section is required for this command", path.display());
        return Ok(ExitCode::from(EXIT_CONFIG));
    }
    if daemon_running(&config).await? {
        return Ok(ExitCode::FAILURE);
    }
    let (store, aside) = match fresh_store(&config) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let dir = config.state.path.clone();
    let fail = |store: SledStore, what: String| {
        esay!("zoomsync: rebuild failed: {what}");
        drop(store);
        SledStore::abandon_new(&dir, aside.as_deref());
        Ok(ExitCode::FAILURE)
    };
    let engine = match Engine::from_config(&config, store.clone()) {
        Ok(e) => e,
        Err(e) => return fail(store, e.to_string()),
    };
    let options = CycleOptions { full: true, reconcile_only: true, ..Default::default() };
    let report = match engine.run_cycle(&options, &Shutdown::never()).await {
        Ok(r) => r,
        Err(e) => {
            drop(engine);
            return fail(store, e.to_string());
        }
    };
    let Some(summary) = report.reconcile.clone().filter(|_| report.fatal.is_none()) else {
        let why = report.fatal.clone().unwrap_or_else(|| "the Zoom users could not be listed".into());
        drop(engine);
        return fail(store, why);
    };
    let known = store.users()?;
    let ours: HashSet<&str> = known.iter().map(|k| k.zoom_id.as_str()).collect();
    let remote = engine.target().list_users().await?;
    let mut departures = Vec::new();
    let mut privileged = 0;
    for r in remote.iter().filter(|r| !ours.contains(r.id.as_str()) && !r.pending) {
        // Zoom's list shows no roles: the account's owners and admins are read one by one.
        let is_privileged = r.privileged || engine.target().get_user(&r.id).await.is_ok_and(|u| u.privileged);
        if is_privileged {
            privileged += 1;
        } else {
            departures.push(r);
        }
    }
    say!(
        "rebuilt state from Zoom: {} user(s) under management ({} adopted, {} Zoom user(s) read; {} directory user(s) read)",
        known.len(),
        summary.adopted,
        summary.target_users,
        report.users_read
    );
    if let Some(why) = &report.incomplete {
        say!("WARNING: the directory read was incomplete ({why}): users it missed were not adopted; run it again");
    }
    if departures.is_empty() {
        say!("every other Zoom user is an owner or admin ({privileged}), which zoomsync never manages");
    } else {
        say!(
            "{} Zoom user(s) not tied to a directory user (left the directory, or never zoomsync's; \
             {privileged} owner/admin account(s) not counted). zoomsync will not touch them: deactivate \
             the leavers among them in Zoom, or restore a snapshot, which knows them:",
            departures.len()
        );
        for r in &departures {
            let state = if r.user.active { "active" } else { "inactive" };
            say!("  {:<40} {state:<8} {}", r.user.user_name(), r.id);
        }
    }
    say!("held operations: none (a rebuild cannot know what a guard held; the list above is where they were)");
    say!("nothing was sent to Zoom; the next cycle creates, updates and deactivates as usual");
    Ok(ExitCode::SUCCESS)
}
