//! The text (or JSON) of `status`, `quarantine` and `history`, rendered from a state store.
//! The CLI prints it when the daemon is stopped; the daemon sends it over its admin socket.

use std::fmt::Write;
use std::time::{Duration, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::model::Anchor;
use crate::model::{Lifecycle, UnixTime, printable, unix_now};
use crate::state::{HistoryFilter, StateError, StateStore};

fn when(t: UnixTime) -> String {
    let at = UNIX_EPOCH + Duration::from_secs(t.max(0) as u64);
    humantime::format_rfc3339_seconds(at).to_string()
}

fn json(value: &impl Serialize) -> Result<String, StateError> {
    serde_json::to_string_pretty(value).map_err(|e| StateError::Storage(e.to_string()))
}

/// What the daemon knows of the standby lease (`[lease]`), for `status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LeaseStatus {
    /// This host's name in the lease.
    pub me: String,
    /// This host holds the lease and writes to the target.
    pub active: bool,
    /// Who holds it (as last read) and until when.
    pub holder: Option<String>,
    pub expires: Option<UnixTime>,
    /// When this host last lost it (another host took it, or it ran out unrenewed).
    pub lost_at: Option<UnixTime>,
    /// The last look's problem (LDAP unreachable, entry missing, value broken).
    pub problem: Option<String>,
}

pub fn status<S: StateStore>(store: &S, as_json: bool) -> Result<String, StateError> {
    status_with_lease(store, as_json, None)
}

/// `status`, with the daemon's lease line when it runs with `[lease]`.
pub fn status_with_lease<S: StateStore>(
    store: &S,
    as_json: bool,
    lease: Option<&LeaseStatus>,
) -> Result<String, StateError> {
    let meta = store.meta()?;
    let users = store.users()?;
    let failures = store.failures()?;
    let active = users.iter().filter(|k| k.lifecycle == Lifecycle::Active).count();
    let privileged = users.iter().filter(|k| k.privileged).count();
    let refused: Vec<_> = users.iter().filter(|k| k.rename_refused.is_some()).collect();
    let not_kept: Vec<_> = users.iter().filter(|k| !k.not_kept.is_empty()).collect();
    let quarantined = failures.iter().filter(|f| f.quarantined).count();
    if as_json {
        return json(&serde_json::json!({
            "last_cycle": meta.last_cycle_summary,
            "last_success": meta.last_success,
            "last_full_reconcile": meta.last_full_reconcile,
            "managed_users": users.len(),
            "active": active,
            "deactivated": users.len() - active,
            "privileged": privileged,
            "rename_refused": refused.iter().map(|k| serde_json::json!({"anchor": k.anchor, "user_name": k.user_name, "asked": k.rename_refused})).collect::<Vec<_>>(),
            "values_not_kept": not_kept.iter().map(|k| serde_json::json!({"anchor": k.anchor, "user_name": k.user_name, "asked": k.not_kept})).collect::<Vec<_>>(),
            "held": meta.held,
            "failing_objects": failures.len(),
            "quarantined_objects": quarantined,
            "connector_quarantine": meta.connector_quarantine,
            "target_paused": meta.target_paused,
            "approval_applying": meta.approval_applying,
            "approval_interrupted": meta.approval_interrupted,
            "change_channel": meta.change_channel,
            "lease": lease,
        }));
    }
    let now = unix_now();
    let mut out = String::new();
    let _ = writeln!(out, "last cycle: {}", printable(meta.last_cycle_summary.as_deref().unwrap_or("none yet")));
    match meta.last_success {
        Some(t) => _ = writeln!(out, "last success: {} ({}s ago)", when(t), now - t),
        None => _ = writeln!(out, "last success: never"),
    }
    let _ = writeln!(out, "last full reconcile: {}", meta.last_full_reconcile.map_or("never".into(), when));
    if let Some(lease) = lease {
        let _ = writeln!(out, "{}", lease_line(lease, now));
    }
    match &meta.change_channel {
        Some(c) => {
            let _ = writeln!(
                out,
                "change channel: {}, position {} (stored {}s ago)",
                c.mechanism,
                printable(&c.describe),
                now - c.stored_at
            );
            if let Some((at, summary)) = &c.last_batch {
                let _ = writeln!(out, "  last batch {}s ago: {}", now - at, printable(summary));
            }
        }
        None => _ = writeln!(out, "change channel: no position stored (off, or not started yet)"),
    }
    let _ = writeln!(
        out,
        "managed users: {} ({} active, {} deactivated, {} Zoom owners/admins left alone)",
        users.len(),
        active,
        users.len() - active,
        privileged
    );
    for k in &refused {
        let _ = writeln!(
            out,
            "  WARNING {}: Zoom kept this userName instead of {:?}",
            printable(&k.user_name),
            printable(k.rename_refused.as_deref().unwrap_or(""))
        );
    }
    for k in &not_kept {
        for (field, asked) in k.not_kept.iter() {
            let _ = writeln!(
                out,
                "  WARNING {}: Zoom did not keep {} {:?} (not re-sent while the directory asks for it)",
                printable(&k.user_name),
                field.config_name(),
                printable(asked)
            );
        }
    }
    match &meta.held {
        Some(h) => {
            let _ =
                writeln!(out, "HELD: {} operation(s) since {}: {}", h.ops.len(), when(h.since), printable(&h.reason));
            for op in &h.ops {
                let _ = writeln!(out, "  {:<10} {:<40} {}", op.action, printable(&op.user_name), printable(&op.dn));
            }
            let _ = writeln!(out, "  review with `zoomsync plan`, apply with `zoomsync approve`");
        }
        None => _ = writeln!(out, "held operations: none"),
    }
    if let Some(run) = &meta.approval_interrupted {
        let rest = if meta.held.is_some() {
            "the rest are held again — run `zoomsync approve` to apply them"
        } else {
            "nothing of it is held now"
        };
        let _ = writeln!(
            out,
            "INTERRUPTED APPROVAL: an approval of {} operation(s) was being applied by cycle {}, which did not \
             finish; {rest}",
            run.ops, run.cycle
        );
    }
    if let Some(run) = &meta.approval_applying {
        let _ = writeln!(
            out,
            "approval: cycle {} is applying an approval of {} operation(s) (if no cycle is running, it did not \
             finish: the next cycle holds the rest again)",
            run.cycle, run.ops
        );
    }
    let _ = writeln!(
        out,
        "failing objects: {} ({} quarantined; see `zoomsync quarantine list`)",
        failures.len(),
        quarantined
    );
    match &meta.connector_quarantine {
        Some(q) => {
            _ = writeln!(
                out,
                "connector: QUARANTINED since {} ({} in a row): {}; next attempt {}",
                when(q.since),
                q.consecutive,
                printable(&q.reason),
                when(q.next_attempt)
            )
        }
        None => _ = writeln!(out, "connector: ok"),
    }
    if let Some(p) = meta.target_paused.as_ref().filter(|p| p.until > now) {
        let _ = writeln!(
            out,
            "target: PAUSED until {} ({}s from now): {}; scheduled cycles wait until then",
            when(p.until),
            p.until - now,
            p.reason
        );
    }
    Ok(out)
}

/// PURE: the `status` line for the lease.
fn lease_line(lease: &LeaseStatus, now: UnixTime) -> String {
    let me = printable(&lease.me);
    let mut line = match (&lease.holder, lease.expires) {
        _ if lease.active => format!(
            "lease: ACTIVE: this host ({me}) holds it until {}; it writes to the target",
            lease.expires.map_or("?".into(), when)
        ),
        (Some(holder), Some(expires)) if expires > now && !holder.eq_ignore_ascii_case(&lease.me) => format!(
            "lease: STANDBY: {} holds it until {} ({}s from now); this host ({me}) runs read-only cycles \
             and writes nothing",
            printable(holder),
            when(expires),
            expires - now
        ),
        _ => format!("lease: STANDBY: this host ({me}) does not hold it and writes nothing"),
    };
    if let Some(at) = lease.lost_at {
        let _ = write!(line, "; it LOST the lease at {} ({}s ago)", when(at), now - at);
    }
    if let Some(problem) = &lease.problem {
        let _ = write!(line, "; last look: {}", printable(problem));
    }
    line
}

pub fn quarantine_list<S: StateStore>(store: &S, all: bool) -> Result<String, StateError> {
    let mut failures: Vec<_> = store.failures()?.into_iter().filter(|f| all || f.quarantined).collect();
    failures.sort_by(|a, b| a.user_name.cmp(&b.user_name));
    let mut out = String::new();
    if failures.is_empty() {
        let _ = writeln!(out, "{}", if all { "no failing objects" } else { "nothing is quarantined" });
    }
    for f in &failures {
        let _ = writeln!(out, "{} {}", printable(f.anchor.as_str()), printable(&f.user_name));
        let _ = writeln!(out, "  dn: {}", printable(&f.dn));
        let _ = writeln!(out, "  reason: {}", printable(&f.last_error));
        let _ = writeln!(
            out,
            "  attempts: {} since {}; next attempt {}",
            f.attempts,
            when(f.first_failed),
            when(f.next_attempt)
        );
    }
    Ok(out)
}

/// Releases failure records (anchor or userName, or all). `Ok(None)` when nothing matched.
pub fn quarantine_release<S: StateStore>(
    store: &S,
    selector: Option<&str>,
    all: bool,
) -> Result<Option<String>, StateError> {
    let failures = store.failures()?;
    let wanted = selector.and_then(Anchor::new);
    let chosen: Vec<_> = failures
        .into_iter()
        .filter(|f| {
            all || Some(&f.anchor) == wanted.as_ref() || selector.is_some_and(|s| f.user_name.eq_ignore_ascii_case(s))
        })
        .collect();
    if chosen.is_empty() {
        return Ok(None);
    }
    let mut out = String::new();
    for f in &chosen {
        store.clear_failure(&f.anchor)?;
        let _ = writeln!(
            out,
            "released {} ({}); the next cycle tries it again",
            printable(f.anchor.as_str()),
            printable(&f.user_name)
        );
    }
    store.flush()?;
    Ok(Some(out))
}

/// What `history` asks for; travels over the admin socket too.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HistoryQuery {
    pub user: Option<String>,
    pub since: Option<UnixTime>,
    pub limit: usize,
    pub json: bool,
}

pub fn history<S: StateStore>(store: &S, query: &HistoryQuery) -> Result<String, StateError> {
    let filter = HistoryFilter { user: query.user.clone(), since: query.since };
    let records = store.history(&filter, query.limit.max(1))?;
    let mut out = String::new();
    for r in &records {
        if query.json {
            let _ = writeln!(out, "{}", serde_json::to_string(r).map_err(|e| StateError::Storage(e.to_string()))?);
            continue;
        }
        let _ = writeln!(
            out,
            "{} cycle {} {:<10} {:<8} {} ({})",
            when(r.time),
            r.cycle,
            r.action,
            r.result,
            printable(&r.user_name),
            printable(&r.dn)
        );
        for c in &r.changes {
            let _ = writeln!(
                out,
                "    {}: {} -> {}",
                c.field.config_name(),
                printable(c.old.as_deref().unwrap_or("∅")),
                printable(c.new.as_deref().unwrap_or("∅"))
            );
        }
        if let Some(d) = &r.detail {
            let _ = writeln!(out, "    {}", printable(d));
        }
    }
    Ok(out)
}

/// Records the approval of every held operation; the next cycle applies them.
/// `Ok(None)` when nothing is held.
pub fn approve<S: StateStore>(store: &S) -> Result<Option<String>, StateError> {
    let mut meta = store.meta()?;
    let Some(held) = meta.held.clone() else { return Ok(None) };
    let mut out = format!("approving {} held operation(s) ({}):\n", held.ops.len(), printable(&held.reason));
    for op in &held.ops {
        let _ = writeln!(out, "  {:<10} {:<40} {}", op.action, printable(&op.user_name), printable(&op.dn));
    }
    meta.approved = Some(held.ops);
    store.put_meta(&meta)?;
    store.flush()?;
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lease_line_says_which_host_writes() {
        let base = LeaseStatus { me: "a".into(), ..Default::default() };
        let active = LeaseStatus { active: true, holder: Some("a".into()), expires: Some(1060), ..base.clone() };
        assert!(lease_line(&active, 1000).starts_with("lease: ACTIVE: this host (a) holds it until"));
        let standby = LeaseStatus { holder: Some("b".into()), expires: Some(1060), lost_at: Some(990), ..base.clone() };
        let line = lease_line(&standby, 1000);
        assert!(line.starts_with("lease: STANDBY: b holds it until"), "{line}");
        assert!(line.contains("(60s from now); this host (a) runs read-only cycles"), "{line}");
        assert!(line.contains("LOST the lease at") && line.contains("(10s ago)"), "{line}");
        let down = LeaseStatus { problem: Some("cannot reach ldaps://x".into()), ..base };
        assert_eq!(
            lease_line(&down, 1000),
            "lease: STANDBY: this host (a) does not hold it and writes nothing; last look: cannot reach ldaps://x"
        );
    }
}
