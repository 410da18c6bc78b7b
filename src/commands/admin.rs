//! `status`, `quarantine list|release` and `history`: what zoomsync did and holds.
//! They read the state store directly (the daemon's admin socket serves them while it runs).

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, UNIX_EPOCH};

use zoomsync::model::Anchor;
use zoomsync::state::sled_store::SledStore;
use zoomsync::state::{HistoryFilter, Lifecycle, StateStore, UnixTime};
use zoomsync::sync::unix_now;

use super::load_config;

fn when(t: UnixTime) -> String {
    let at = UNIX_EPOCH + Duration::from_secs(t.max(0) as u64);
    humantime::format_rfc3339_seconds(at).to_string()
}

fn open(path: &Path) -> Result<SledStore, ExitCode> {
    let config = load_config(path)?;
    if !config.state.path.join("db").exists() {
        eprintln!("zoomsync: no state yet at {} (no cycle has run)", config.state.path.display());
        return Err(ExitCode::FAILURE);
    }
    SledStore::open(&config.state.path).map_err(|e| {
        eprintln!("zoomsync: {e}");
        ExitCode::FAILURE
    })
}

pub fn status(path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let store = match open(path) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let meta = store.meta()?;
    let users = store.users()?;
    let failures = store.failures()?;
    let active = users.iter().filter(|k| k.lifecycle == Lifecycle::Active).count();
    let privileged = users.iter().filter(|k| k.privileged).count();
    let refused: Vec<_> = users.iter().filter(|k| k.rename_refused.is_some()).collect();
    let quarantined = failures.iter().filter(|f| f.quarantined).count();
    if json {
        let value = serde_json::json!({
            "last_cycle": meta.last_cycle_summary,
            "last_success": meta.last_success,
            "last_full_reconcile": meta.last_full_reconcile,
            "managed_users": users.len(),
            "active": active,
            "deactivated": users.len() - active,
            "privileged": privileged,
            "rename_refused": refused.iter().map(|k| serde_json::json!({"anchor": k.anchor, "user_name": k.user_name, "asked": k.rename_refused})).collect::<Vec<_>>(),
            "held": meta.held,
            "failing_objects": failures.len(),
            "quarantined_objects": quarantined,
            "connector_quarantine": meta.connector_quarantine,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    let now = unix_now();
    println!("last cycle: {}", meta.last_cycle_summary.as_deref().unwrap_or("none yet"));
    match meta.last_success {
        Some(t) => println!("last success: {} ({}s ago)", when(t), now - t),
        None => println!("last success: never"),
    }
    println!("last full reconcile: {}", meta.last_full_reconcile.map_or("never".into(), when));
    println!(
        "managed users: {} ({} active, {} deactivated, {} Zoom owners/admins left alone)",
        users.len(),
        active,
        users.len() - active,
        privileged
    );
    for k in &refused {
        println!(
            "  WARNING {}: Zoom kept this userName instead of {:?}",
            k.user_name,
            k.rename_refused.as_deref().unwrap_or("")
        );
    }
    match &meta.held {
        Some(h) => {
            println!("HELD: {} operation(s) since {}: {}", h.ops.len(), when(h.since), h.reason);
            for op in &h.ops {
                println!("  {:<10} {:<40} {}", op.action, op.user_name, op.dn);
            }
            println!("  review with `zoomsync plan`, apply with `zoomsync approve`");
        }
        None => println!("held operations: none"),
    }
    println!("failing objects: {} ({} quarantined; see `zoomsync quarantine list`)", failures.len(), quarantined);
    match &meta.connector_quarantine {
        Some(q) => println!(
            "connector: QUARANTINED since {} ({} in a row): {}; next attempt {}",
            when(q.since),
            q.consecutive,
            q.reason,
            when(q.next_attempt)
        ),
        None => println!("connector: ok"),
    }
    Ok(ExitCode::SUCCESS)
}

pub fn quarantine_list(path: &Path, all: bool) -> anyhow::Result<ExitCode> {
    let store = match open(path) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let mut failures: Vec<_> = store.failures()?.into_iter().filter(|f| all || f.quarantined).collect();
    failures.sort_by(|a, b| a.user_name.cmp(&b.user_name));
    if failures.is_empty() {
        println!("{}", if all { "no failing objects" } else { "nothing is quarantined" });
    }
    for f in &failures {
        println!("{} {}", f.anchor, f.user_name);
        println!("  dn: {}", f.dn);
        println!("  reason: {}", f.last_error);
        println!("  attempts: {} since {}; next attempt {}", f.attempts, when(f.first_failed), when(f.next_attempt));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn quarantine_release(path: &Path, anchor: Option<&str>, all: bool) -> anyhow::Result<ExitCode> {
    let store = match open(path) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let failures = store.failures()?;
    let chosen: Vec<_> = match (anchor, all) {
        (_, true) => failures,
        (Some(a), false) => {
            let wanted = Anchor::new(a);
            failures
                .into_iter()
                .filter(|f| Some(&f.anchor) == wanted.as_ref() || f.user_name.eq_ignore_ascii_case(a))
                .collect()
        }
        (None, false) => {
            eprintln!("zoomsync: name an anchor (or userName), or use --all");
            return Ok(ExitCode::from(super::EXIT_CONFIG));
        }
    };
    if chosen.is_empty() {
        println!("no failure record matches");
        return Ok(ExitCode::FAILURE);
    }
    for f in &chosen {
        store.clear_failure(&f.anchor)?;
        println!("released {} ({}); the next cycle tries it again", f.anchor, f.user_name);
    }
    store.flush()?;
    Ok(ExitCode::SUCCESS)
}

pub fn history(
    path: &Path,
    user: Option<String>,
    since: Option<String>,
    limit: usize,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let store = match open(path) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let since = match since {
        None => None,
        Some(text) => Some(
            parse_since(&text)
                .ok_or_else(|| anyhow::anyhow!("--since {text:?}: use an RFC 3339 time or a duration like 2h"))?,
        ),
    };
    let records = store.history(&HistoryFilter { user, since }, limit)?;
    if json {
        for r in &records {
            println!("{}", serde_json::to_string(r)?);
        }
        return Ok(ExitCode::SUCCESS);
    }
    for r in &records {
        println!("{} cycle {} {:<10} {:<8} {} ({})", when(r.time), r.cycle, r.action, r.result, r.user_name, r.dn);
        for c in &r.changes {
            println!(
                "    {}: {} -> {}",
                c.field.config_name(),
                c.old.as_deref().unwrap_or("∅"),
                c.new.as_deref().unwrap_or("∅")
            );
        }
        if let Some(d) = &r.detail {
            println!("    {d}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `2h` (ago) or an RFC 3339 time.
fn parse_since(text: &str) -> Option<UnixTime> {
    if let Ok(d) = humantime::parse_duration(text) {
        return Some(unix_now() - d.as_secs() as UnixTime);
    }
    let t = humantime::parse_rfc3339_weak(text).ok()?;
    Some(t.duration_since(UNIX_EPOCH).ok()?.as_secs() as UnixTime)
}
