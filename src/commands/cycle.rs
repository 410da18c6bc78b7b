//! `sync --once`, `plan`, `provision`, `approve` and `run`: commands that run the engine.
//! They build it with `Engine::from_config`, print, and map the cycle's outcome to an exit
//! status; the work is the library's.

use std::path::Path;
use std::process::ExitCode;

use zoomsync::admin::render;
use zoomsync::admin::socket::{self, AdminRequest};
use zoomsync::config::Config;
use zoomsync::scim::client::ScimClient;
use zoomsync::source::{self, AnyDirectory};
use zoomsync::state::memory::MemoryStore;
use zoomsync::state::sled_store::SledStore;
use zoomsync::state::{StateError, StateStore};
use zoomsync::sync::locate::{Located, locate};
use zoomsync::sync::{CycleOptions, CycleOutcome, CycleReport, Engine, EngineError, Shutdown};

use super::plan_view;
use super::{EXIT_CONFIG, EXIT_INCOMPLETE, load_config, peak_rss_mib};

type CliEngine<S> = Engine<AnyDirectory, ScimClient, S>;

/// The engine for a config, or the exit status that says why there is none.
fn engine<S: StateStore + Clone + 'static>(config: &Config, path: &Path, store: S) -> Result<CliEngine<S>, ExitCode> {
    Engine::from_config(config, store).map_err(|e| {
        esay!("zoomsync: config {}: {e}", path.display());
        match e {
            EngineError::NoTarget => ExitCode::from(EXIT_CONFIG),
            EngineError::Client(_) => ExitCode::FAILURE,
        }
    })
}

fn open_store(config: &Config) -> anyhow::Result<SledStore> {
    // Creates state.path 0700 when missing; refuses a store that lost its records.
    SledStore::from_config(&config.state).map_err(|e| match e {
        StateError::Locked { .. } => anyhow::anyhow!("{e}; stop it or use its admin commands"),
        other => anyhow::anyhow!(other),
    })
}

/// A progress bar on a terminal for long runs (the engine logs plain progress lines anyway).
fn progress_bar() -> Option<indicatif::ProgressBar> {
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} operations ({eta} left)") {
        bar.set_style(style);
    }
    Some(bar)
}

async fn run_once<S: StateStore + Clone + 'static>(
    engine: &CliEngine<S>,
    options: &CycleOptions,
) -> anyhow::Result<CycleReport> {
    Ok(engine.run_cycle(options, &Shutdown::never()).await?)
}

fn exit(outcome: CycleOutcome) -> ExitCode {
    ExitCode::from(outcome.exit_status())
}

macro_rules! or_exit {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(code) => return Ok(code),
        }
    };
}

pub async fn sync_once(path: &Path, full: bool) -> anyhow::Result<ExitCode> {
    let config = or_exit!(load_config(path));
    let store = open_store(&config)?;
    let mut engine = or_exit!(engine(&config, path, store));
    let bar = progress_bar();
    if let Some(bar) = bar.clone() {
        engine = engine.with_progress(Box::new(move |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }));
    }
    let report = run_once(&engine, &CycleOptions { full, ..Default::default() }).await?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    plan_view::print_outcomes(&report);
    tracing::info!(cycle = report.cycle, "{}", report.summary());
    say!("{}", report.summary());
    if let Some(mib) = peak_rss_mib() {
        say!("peak memory {mib:.1} MiB");
    }
    Ok(exit(report.outcome()))
}

pub async fn plan(path: &Path, full: bool, json: bool) -> anyhow::Result<ExitCode> {
    let config = or_exit!(load_config(path));
    let options = CycleOptions { full, dry_run: true, ..Default::default() };
    // A dry run writes nothing; with no state yet, plan against an empty in-memory store.
    if config.state.path.join("db").exists() {
        let engine = or_exit!(engine(&config, path, open_store(&config)?));
        plan_with(&engine, &options, json).await
    } else {
        let engine = or_exit!(engine(&config, path, MemoryStore::default()));
        plan_with(&engine, &options, json).await
    }
}

/// Plans, and shows the plan — unless the target stopped the dry run (a Fatal error or a
/// pause while reading it): then there is no plan to show, and `plan` fails as `sync --once`
/// would, with the same error and exit status.
async fn plan_with<S: StateStore + Clone + 'static>(
    engine: &CliEngine<S>,
    options: &CycleOptions,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let report = run_once(engine, options).await?;
    if report.stopped() {
        eprintln!("zoomsync: no plan: {}", report.summary());
        return Ok(exit(report.outcome()));
    }
    if let Some(why) = &report.target_unread {
        eprintln!("zoomsync: warning: the target could not be read ({why}); the plan is from the state alone");
    }
    plan_view::show(&report, engine.store(), json)?;
    Ok(if report.incomplete.is_some() { ExitCode::from(EXIT_INCOMPLETE) } else { ExitCode::SUCCESS })
}

pub async fn approve(path: &Path, sync_now: bool) -> anyhow::Result<ExitCode> {
    let config = or_exit!(load_config(path));
    // The running daemon records the approval and queues a cycle.
    if let Some(answer) = socket::call(&config.admin.socket, &AdminRequest::Approve).await? {
        print!("{}", answer.output);
        return Ok(if answer.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE });
    }
    let engine = or_exit!(engine(&config, path, open_store(&config)?));
    let Some(text) = render::approve(engine.store())? else {
        say!("nothing is held: no operation waits for approval");
        return Ok(ExitCode::SUCCESS);
    };
    print!("{text}");
    if !sync_now {
        say!("approved; the next cycle applies them");
        return Ok(ExitCode::SUCCESS);
    }
    let report = run_once(&engine, &CycleOptions::default()).await?;
    plan_view::print_outcomes(&report);
    say!("{}", report.summary());
    Ok(exit(report.outcome()))
}

/// `zoomsync run`: the daemon, until SIGTERM.
pub async fn run_daemon(path: &Path) -> anyhow::Result<ExitCode> {
    match zoomsync::daemon::run(path.to_path_buf()).await {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(zoomsync::daemon::DaemonError::Config(e)) => {
            esay!("zoomsync: config {}: {e}", path.display());
            Ok(ExitCode::from(EXIT_CONFIG))
        }
        Err(e) => Err(e.into()),
    }
}

/// Provision on demand: one user now, showing each step (as Entra's "provision on demand").
pub async fn provision(path: &Path, selector: &str) -> anyhow::Result<ExitCode> {
    let config = or_exit!(load_config(path));
    let engine = or_exit!(engine(&config, path, open_store(&config)?));
    say!("1. read: searching the directory for {selector:?}");
    let read = source::read_users(engine.directory(), engine.decoder()).await?;
    let anchor = match locate(selector, read.snapshot(), engine.store().users()?) {
        Located::InScope(u) => {
            say!("   found {} (anchor {}, userName {})", u.dn, u.anchor, u.user_name);
            let state = if u.disabled { "disabled" } else { "enabled" };
            say!("2. scope: in scope (matches directory.user_filter); {state}");
            u.anchor.clone()
        }
        Located::Managed(k) => {
            say!("   not in the directory scope; zoomsync manages it as {} ({})", k.user_name, k.dn);
            say!("2. scope: out of scope (gone, moved or filtered out)");
            k.anchor
        }
        Located::Rejected(r) => {
            say!("   {} was rejected: {}", r.dn, r.reason);
            return Ok(ExitCode::FAILURE);
        }
        Located::Nowhere => {
            say!("   no such user in the directory scope or in zoomsync's state");
            return Ok(ExitCode::FAILURE);
        }
    };
    match engine.store().user(&anchor)? {
        Some(k) => say!("3. match: Zoom user {} ({}, {:?})", k.zoom_id, k.user_name, k.lifecycle),
        None => say!(
            "3. match: no Zoom user recorded yet (create; an existing Zoom user with the same userName is adopted)"
        ),
    }
    let report = run_once(&engine, &CycleOptions { only: Some(anchor), ..Default::default() }).await?;
    print_provision_result(&report);
    Ok(exit(report.outcome()))
}

/// Steps 4 and 5 of `provision`: what was decided and what came of it.
fn print_provision_result(report: &CycleReport) {
    match (report.outcomes.first(), report.plan.held.first(), report.plan.skipped.first()) {
        (Some(o), _, _) => say!("4. action: {} — {}", o.action.name(), o.reason),
        (None, Some(op), _) => {
            say!("4. action: {} held — {}", op.action.name(), report.plan.guard.clone().unwrap_or_default())
        }
        (None, None, Some(skip)) => say!("4. action: none — {}", skip.reason),
        (None, None, None) => say!("4. action: none — already in step"),
    }
    for n in &report.plan.notes {
        say!("   note: {}", n.note);
    }
    let Some(o) = report.outcomes.first() else {
        say!("5. result: nothing sent");
        return;
    };
    say!("5. result: {}{}", o.result.name(), o.result.detail().map(|d| format!(" — {d}")).unwrap_or_default());
    for c in &o.changes {
        let (old, new) = (c.old.as_deref().unwrap_or("∅"), c.new.as_deref().unwrap_or("∅"));
        say!("   {}: {old} -> {new}", c.field.config_name());
    }
}
