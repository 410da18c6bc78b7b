//! `sync --once`, `plan`, `provision` and `approve`: commands that run the engine once.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use zoomsync::admin::render;
use zoomsync::admin::socket::{self, AdminRequest};
use zoomsync::config::Config;
use zoomsync::model::Anchor;
use zoomsync::plan::Limits;
use zoomsync::scim::client::ScimClient;
use zoomsync::source::{self, AnyDirectory, Decoder};
use zoomsync::state::memory::MemoryStore;
use zoomsync::state::sled_store::SledStore;
use zoomsync::state::{StateError, StateStore};
use zoomsync::sync::{self, CycleOptions, CycleReport, Engine, Shutdown};

use super::plan_view;
use super::{EXIT_ATTENTION, EXIT_INCOMPLETE, load_config, peak_rss_mib, require_target};

/// Everything one engine run needs, built from the config.
struct Parts {
    config: Config,
    directory: AnyDirectory,
    decoder: Decoder,
    client: ScimClient,
}

fn parts(path: &Path) -> Result<Parts, ExitCode> {
    let config = load_config(path)?;
    let target = require_target(&config, path)?;
    let client = ScimClient::new(&target).map_err(|e| {
        eprintln!("zoomsync: target: {e}");
        ExitCode::FAILURE
    })?;
    Ok(Parts {
        directory: AnyDirectory::from_config(&config.directory),
        decoder: Decoder::new(config.directory.decode.clone()),
        client,
        config,
    })
}

fn open_store(config: &Config) -> anyhow::Result<SledStore> {
    let path = &config.state.path;
    std::fs::create_dir_all(path).with_context(|| format!("cannot create state directory {}", path.display()))?;
    SledStore::open(path).map_err(|e| match e {
        StateError::Locked { .. } => anyhow::anyhow!("{e}; stop it or use its admin commands"),
        other => anyhow::anyhow!(other),
    })
}

async fn cycle<S: StateStore + Clone + 'static>(
    parts: &Parts,
    store: &S,
    options: &CycleOptions,
) -> anyhow::Result<CycleReport> {
    cycle_with_progress(parts, store, options, None).await
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

async fn cycle_with_progress<S: StateStore + Clone + 'static>(
    parts: &Parts,
    store: &S,
    options: &CycleOptions,
    bar: Option<&indicatif::ProgressBar>,
) -> anyhow::Result<CycleReport> {
    let update = |done: usize, total: usize| {
        if let Some(bar) = bar {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
    };
    parts.client.begin_cycle();
    let engine = Engine {
        directory: &parts.directory,
        decoder: &parts.decoder,
        mapping: &parts.config.mapping,
        target: &parts.client,
        store,
        limits: Limits::from_config(&parts.config.safety),
        concurrency: parts.config.target.as_ref().map_or(1, |t| t.max_concurrency),
        progress: bar.map(|_| &update as &(dyn Fn(usize, usize) + Sync)),
        groups: sync::GroupSync::from_config(&parts.config),
    };
    let report = sync::run_cycle(&engine, options, &Shutdown::never()).await?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(report)
}

/// The exit status a finished cycle deserves.
fn status_of(report: &CycleReport) -> ExitCode {
    if report.fatal.is_some() {
        ExitCode::FAILURE
    } else if report.incomplete.is_some() {
        ExitCode::from(EXIT_INCOMPLETE)
    } else if report.failed() > 0 || report.group_failures() > 0 || !report.plan.held.is_empty() {
        ExitCode::from(EXIT_ATTENTION)
    } else {
        ExitCode::SUCCESS
    }
}

pub async fn sync_once(path: &Path, full: bool) -> anyhow::Result<ExitCode> {
    let parts = match parts(path) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let store = open_store(&parts.config)?;
    let bar = progress_bar();
    let report =
        cycle_with_progress(&parts, &store, &CycleOptions { full, ..Default::default() }, bar.as_ref()).await?;
    plan_view::print_outcomes(&report);
    tracing::info!(cycle = report.cycle, "{}", report.summary());
    println!("{}", report.summary());
    if let Some(mib) = peak_rss_mib() {
        println!("peak memory {mib:.1} MiB");
    }
    Ok(status_of(&report))
}

pub async fn plan(path: &Path, full: bool, json: bool) -> anyhow::Result<ExitCode> {
    let parts = match parts(path) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let options = CycleOptions { full, dry_run: true, ..Default::default() };
    // A dry run writes nothing; with no state yet, plan against an empty in-memory store.
    let report = if parts.config.state.path.join("db").exists() {
        let store = open_store(&parts.config)?;
        let report = cycle(&parts, &store, &options).await?;
        plan_view::show(&report, &store, json)?;
        report
    } else {
        let store = MemoryStore::default();
        let report = cycle(&parts, &store, &options).await?;
        plan_view::show(&report, &store, json)?;
        report
    };
    Ok(if report.incomplete.is_some() { ExitCode::from(EXIT_INCOMPLETE) } else { ExitCode::SUCCESS })
}

pub async fn approve(path: &Path, sync_now: bool) -> anyhow::Result<ExitCode> {
    let config = match load_config(path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    // The running daemon records the approval and queues a cycle.
    if let Some(answer) = socket::call(&config.admin.socket, &AdminRequest::Approve).await? {
        print!("{}", answer.output);
        return Ok(if answer.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE });
    }
    let parts = match parts(path) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let store = open_store(&parts.config)?;
    let Some(text) = render::approve(&store)? else {
        println!("nothing is held: no operation waits for approval");
        return Ok(ExitCode::SUCCESS);
    };
    print!("{text}");
    if !sync_now {
        println!("approved; the next cycle applies them");
        return Ok(ExitCode::SUCCESS);
    }
    let report = cycle(&parts, &store, &CycleOptions::default()).await?;
    plan_view::print_outcomes(&report);
    println!("{}", report.summary());
    Ok(status_of(&report))
}

/// `zoomsync run`: the daemon, until SIGTERM.
pub async fn run_daemon(path: &Path) -> anyhow::Result<ExitCode> {
    match zoomsync::daemon::run(path.to_path_buf()).await {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(zoomsync::daemon::DaemonError::Config(e)) => {
            eprintln!("zoomsync: config {}: {e}", path.display());
            Ok(ExitCode::from(super::EXIT_CONFIG))
        }
        Err(e) => Err(e.into()),
    }
}

/// Provision on demand: one user now, showing each step (as Entra's "provision on demand").
pub async fn provision(path: &Path, selector: &str) -> anyhow::Result<ExitCode> {
    let parts = match parts(path) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let store = open_store(&parts.config)?;
    println!("1. read: searching the directory for {selector:?}");
    let read = source::read_users(&parts.directory, &parts.decoder).await?;
    let wanted = selector.to_ascii_lowercase();
    let found = read.snapshot().users.iter().find(|u| {
        u.anchor.as_str() == wanted
            || u.dn.eq_ignore_ascii_case(selector)
            || u.user_name == wanted
            || ["uid", "mail", "samaccountname"]
                .iter()
                .any(|a| u.attrs.values(a).any(|v| v.eq_ignore_ascii_case(selector)))
    });
    let anchor: Anchor = match found {
        Some(u) => {
            println!("   found {} (anchor {}, userName {})", u.dn, u.anchor, u.user_name);
            println!(
                "2. scope: in scope (matches directory.user_filter); {}",
                if u.disabled { "disabled" } else { "enabled" }
            );
            u.anchor.clone()
        }
        None => {
            let known = store
                .users()?
                .into_iter()
                .find(|k| k.anchor.as_str() == wanted || k.dn.eq_ignore_ascii_case(selector) || k.user_name == wanted);
            match known {
                Some(k) => {
                    println!("   not in the directory scope; zoomsync manages it as {} ({})", k.user_name, k.dn);
                    println!("2. scope: out of scope (gone, moved or filtered out)");
                    k.anchor
                }
                None => {
                    if let Some(r) = read.snapshot().rejected.iter().find(|r| r.dn.eq_ignore_ascii_case(selector)) {
                        println!("   {} was rejected: {}", r.dn, r.reason);
                    } else {
                        println!("   no such user in the directory scope or in zoomsync's state");
                    }
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
    };
    match store.user(&anchor)? {
        Some(k) => println!("3. match: Zoom user {} ({}, {:?})", k.zoom_id, k.user_name, k.lifecycle),
        None => println!(
            "3. match: no Zoom user recorded yet (create; an existing Zoom user with the same userName is adopted)"
        ),
    }
    let report = cycle(&parts, &store, &CycleOptions { only: Some(anchor), ..Default::default() }).await?;
    match (report.outcomes.first(), report.plan.held.first(), report.plan.skipped.first()) {
        (Some(o), _, _) => println!("4. action: {} — {}", o.action.name(), o.reason),
        (None, Some(op), _) => {
            println!("4. action: {} held — {}", op.action.name(), report.plan.guard.clone().unwrap_or_default())
        }
        (None, None, Some(skip)) => println!("4. action: none — {}", skip.reason),
        (None, None, None) => println!("4. action: none — already in step"),
    }
    match report.outcomes.first() {
        Some(o) => {
            println!(
                "5. result: {}{}",
                o.result.name(),
                o.result.detail().map(|d| format!(" — {d}")).unwrap_or_default()
            );
            for c in &o.changes {
                println!(
                    "   {}: {} -> {}",
                    c.field.config_name(),
                    c.old.as_deref().unwrap_or("∅"),
                    c.new.as_deref().unwrap_or("∅")
                );
            }
        }
        None => println!("5. result: nothing sent"),
    }
    Ok(status_of(&report))
}
