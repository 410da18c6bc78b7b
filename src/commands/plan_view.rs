//! Printing plans and outcomes for people (text) and programs (JSON).

use serde::Serialize;
use zoomsync::model::Change;
use zoomsync::model::Rejected;
use zoomsync::plan::groups::GroupChange;
use zoomsync::plan::{Action, Op, changes};
use zoomsync::state::StateStore;
use zoomsync::sync::{CycleReport, GroupReport, OutcomeResult};

#[derive(Serialize)]
struct OpView<'a> {
    #[serde(flatten)]
    op: &'a Op,
    changes: Vec<Change>,
}

/// The attribute changes an update would send (read from the stored payload).
fn op_changes<S: StateStore>(op: &Op, store: &S) -> anyhow::Result<Vec<Change>> {
    let (Some(want), Action::Update | Action::Reactivate) = (&op.desired, op.action) else { return Ok(vec![]) };
    let pushed = store.pushed(&op.anchor)?.unwrap_or_default();
    let refused = store.user(&op.anchor)?.map(|k| k.refused_values()).unwrap_or_default();
    Ok(changes(&pushed, want, &Default::default(), &refused))
}

fn change_text(c: &Change) -> String {
    format!("{}: {} -> {}", c.field.config_name(), c.old.as_deref().unwrap_or("∅"), c.new.as_deref().unwrap_or("∅"))
}

pub fn show<S: StateStore>(report: &CycleReport, store: &S, json: bool) -> anyhow::Result<()> {
    let plan = &report.plan;
    if json {
        let ops = plan
            .ops
            .iter()
            .map(|op| Ok(OpView { op, changes: op_changes(op, store)? }))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let held: Vec<OpView> = plan.held.iter().map(|op| OpView { op, changes: vec![] }).collect();
        let value = serde_json::json!({
            "users_read": report.users_read,
            "rejected": report.rejected,
            "incomplete": report.incomplete,
            "reconcile": report.reconcile,
            "target_unread": report.target_unread,
            "ops": ops,
            "held": held,
            "guard": plan.guard,
            "skipped": plan.skipped,
            "notes": plan.notes,
            "managers": report.managers,
            "unchanged": plan.unchanged,
            "totals": totals(report),
            "groups": report.groups,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    say!("directory: {} users read, {} rejected", report.users_read, report.rejected.len());
    for r in &report.rejected {
        say!("  rejected {}: {}", r.dn, r.reason);
    }
    if let Some(reason) = &report.incomplete {
        say!("  read INCOMPLETE: {reason} — nobody will be deactivated");
    }
    if let Some(r) = &report.reconcile {
        say!("target: {} users read; {} adopted, {} drifted, {} gone", r.target_users, r.adopted, r.drift, r.forgotten);
    }
    if let Some(why) = &report.target_unread {
        println!("target: NOT READ ({why}) — planned from the state alone: no drift repaired, nobody adopted");
    }
    for op in &plan.ops {
        say!("{:<10} {:<40} {} — {}", op.action.name(), op.user_name, op.dn, op.reason);
        for c in op_changes(op, store)? {
            say!("{:<10}   {}", "", change_text(&c));
        }
    }
    if let Some(guard) = &plan.guard {
        say!("GUARD: {guard}");
    }
    for op in &plan.held {
        say!("{:<10} {:<40} {} — {} (HELD)", op.action.name(), op.user_name, op.dn, op.reason);
    }
    for s in &plan.skipped {
        say!("{:<10} {:<40} {} — {}", "skip", s.user_name, s.dn, s.reason);
    }
    for n in &plan.notes {
        say!("{:<10} {:<40} {} — {}", "note", n.user_name, n.dn, n.note);
    }
    say!("totals: {}", totals(report));
    if let Some(groups) = &report.groups {
        show_groups(groups);
    }
    Ok(())
}

/// What a group read found that the operator should know (shared by `plan` and `check`).
pub fn print_group_findings(
    missing: &[String],
    rejected: &[Rejected],
    cycles: &[Vec<String>],
    incomplete: Option<&str>,
) {
    for name in missing {
        say!("  NOT FOUND: {name} — no group is deleted or unlinked while a configured group is missing");
    }
    for r in rejected {
        say!("  rejected {}: {}", r.dn, r.reason);
    }
    for cycle in cycles {
        say!("  nesting cycle: {} (members counted once)", cycle.join(" -> "));
    }
    if let Some(reason) = incomplete {
        say!("  group read INCOMPLETE: {reason} — nobody is removed from a group");
    }
}

fn show_groups(g: &GroupReport) {
    say!("groups: {} read, {} rejected", g.groups_read, g.rejected.len());
    print_group_findings(&g.missing, &g.rejected, &g.cycles, g.incomplete.as_deref());
    if g.out_of_scope > 0 {
        say!("  {} users are in no scoping group (out of scope)", g.out_of_scope);
    }
    for op in &g.plan.ops {
        let what = match &op.change {
            GroupChange::Members { anchors, remove: true, .. } => format!("-{} members", anchors.len()),
            GroupChange::Members { anchors, remove: false, .. } => format!("+{} members", anchors.len()),
            GroupChange::Rename { from } => format!("from {from:?}"),
            GroupChange::Link => "find by name or create".to_string(),
            GroupChange::Delete => "created by zoomsync, no longer pushed (gone from the directory or from \
                                     groups.names/filter): deleted"
                .to_string(),
            GroupChange::Unlink => "no longer pushed; not created by zoomsync, so the group is kept".to_string(),
        };
        say!("{:<13} {:<30} {what}", op.change.name(), op.zoom_name);
    }
    let (added, removed) = g.plan.member_counts();
    say!(
        "group totals: {} operations, +{added} -{removed} members, {} members not active on the target yet (being \
         created or reactivated, failing), {} removals withheld (read incomplete, or a deactivation held or not done \
         yet), {} group deletions withheld",
        g.plan.ops.len(),
        g.plan.awaiting_user,
        g.plan.removals_withheld,
        g.plan.deletions_withheld,
    );
}

fn totals(report: &CycleReport) -> String {
    let p = &report.plan;
    format!(
        "create {}, update {}, reactivate {}, deactivate {}, delete {}, held {}, skipped {}, unchanged {}",
        p.count(Action::Create),
        p.count(Action::Update),
        p.count(Action::Reactivate),
        p.count(Action::Deactivate),
        p.count(Action::Delete),
        p.held.len(),
        p.skipped.len(),
        p.unchanged
    )
}

/// After a cycle: the operations that did not simply succeed, and any guard.
pub fn print_outcomes(report: &CycleReport) {
    for o in &report.outcomes {
        match &o.result {
            OutcomeResult::Success => {}
            other => say!(
                "{:<10} {:<40} {} — {}: {}",
                o.action.name(),
                o.user_name,
                o.dn,
                other.name(),
                other.detail().unwrap_or("")
            ),
        }
    }
    for f in report.groups.iter().flat_map(|g| &g.failed) {
        say!("{:<13} {:<30} failure: {}", f.operation, f.group, f.error);
    }
    if let Some(guard) = &report.plan.guard {
        say!("GUARD: {guard}");
        if !report.plan.held.is_empty() {
            say!(
                "  {} operation(s) held: `zoomsync status` lists them, `zoomsync approve` applies them",
                report.plan.held.len()
            );
        }
    }
}
