//! Command line: parse, then call the library. The only place (with `main`) that uses anyhow.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::commands;
use crate::commands::directory::DumpFormat;

/// Keeps Zoom users in step with LDAP / Active Directory through Zoom's SCIM API.
#[derive(Debug, Parser)]
#[command(name = "zoomsync", version, about, long_about = None)]
pub struct Cli {
    /// Log as JSON lines instead of text (for log shippers; journald reads text fine).
    #[arg(long, global = true)]
    pub json_logs: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// See zoomsync work in one command: a bundled directory of 50 people and a local Zoom
    /// emulator; runs a first sync, a hire/title change/leaver/rename, and a mass removal
    /// the safety guard holds. Nothing to set up, nothing written to disk.
    Demo,
    /// Validate the config, bind to the directory, name the server (its root DSE; a warning
    /// when `flavor` does not match it), count users in scope as a sync scopes them and list
    /// rejected entries with their DN and reason. Nobody in scope needs attention (exit 4).
    /// Writes nothing.
    Check(ConfigArg),
    /// Write what was read from the directory after decode (for fixtures and bug reports).
    Dump {
        #[command(flatten)]
        config: ConfigArg,
        /// Output format.
        #[arg(long, value_enum, default_value = "ldif")]
        format: DumpFormat,
    },
    /// Run the daemon: a cycle every 40 minutes (see [schedule]), metrics, admin socket.
    /// SIGTERM stops after the operation in flight, SIGHUP reloads the config, SIGUSR1 syncs now.
    Run(ConfigArg),
    /// Run one sync cycle: `--once` here and now, or `--now` by asking the running daemon.
    Sync {
        #[command(flatten)]
        config: ConfigArg,
        /// Run one cycle in this process and exit.
        #[arg(long, required_unless_present = "now", conflicts_with = "now")]
        once: bool,
        /// Ask the running daemon for a cycle now.
        #[arg(long)]
        now: bool,
        /// Also read every Zoom user: adopt existing accounts and repair drift.
        #[arg(long)]
        full: bool,
    },
    /// Show what a sync would do, with reasons and totals. Reads both sides, writes nothing.
    Plan {
        #[command(flatten)]
        config: ConfigArg,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Also read every Zoom user (adoption, drift) as `sync --full` would.
        #[arg(long)]
        full: bool,
    },
    /// Provision one user now (by uid, mail, DN or anchor), showing each step.
    Provision {
        #[command(flatten)]
        config: ConfigArg,
        /// uid, mail, userName, DN or anchor of the user.
        user: String,
    },
    /// Show what the mapping makes of one user (by uid, mail, DN or anchor): for each Zoom
    /// attribute, the rule, the directory values it read and the value sent, absent,
    /// omitted, or the error that would reject the user (exit 1). Reads the directory (and
    /// the groups, with [groups]); needs no target, writes nothing.
    Map {
        #[command(flatten)]
        config: ConfigArg,
        /// uid, mail, userName, DN or anchor of the user.
        user: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Approve the deactivations a safety guard is holding, and apply them now.
    Approve {
        #[command(flatten)]
        config: ConfigArg,
        /// Only record the approval; the next cycle applies it.
        #[arg(long)]
        no_sync: bool,
    },
    /// What zoomsync last did and what it holds: last cycle, held operations, quarantines.
    Status {
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long)]
        json: bool,
    },
    /// Objects skipped after repeated failures: list them, or release them for the next cycle.
    Quarantine {
        #[command(subcommand)]
        action: QuarantineAction,
    },
    /// The provisioning log: one record per operation (newest first).
    History {
        #[command(flatten)]
        config: ConfigArg,
        /// Only this user (anchor, DN or userName).
        #[arg(long)]
        user: Option<String>,
        /// Only records since this time (RFC 3339) or this long ago (e.g. 2h, 7d).
        #[arg(long)]
        since: Option<String>,
        /// At most this many records.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Run a local Zoom SCIM emulator (for tests and trying a mapping safely).
    Emulate(Box<zoomsync::emulator::EmulateArgs>),
    /// Recover the state store after it was refused (emptied, truncated, deleted, corrupt):
    /// restore a snapshot, or rebuild from Zoom. Stop the daemon first.
    State {
        #[command(subcommand)]
        action: StateAction,
    },
    /// Write the man pages or shell completions (for packaging; hidden).
    #[command(hide = true)]
    Generate {
        #[command(subcommand)]
        action: commands::generate::GenerateAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum StateAction {
    /// Replace the store with a snapshot (`<state.path>/snapshots`): managed users, groups,
    /// failures and held operations come back; the damaged store is kept aside.
    Restore {
        #[command(flatten)]
        config: ConfigArg,
        /// The snapshot file to restore.
        #[arg(long, value_name = "FILE", conflicts_with = "latest", required_unless_present = "latest")]
        snapshot: Option<PathBuf>,
        /// Restore the newest snapshot.
        #[arg(long)]
        latest: bool,
    },
    /// Replace the store with what Zoom shows: adopt every Zoom user whose userName a
    /// directory user has, and list the others (never touched). Sends nothing to Zoom.
    Rebuild {
        #[command(flatten)]
        config: ConfigArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum QuarantineAction {
    /// Show quarantined objects: anchor, DN, userName, reason, attempts, next attempt.
    List {
        #[command(flatten)]
        config: ConfigArg,
        /// Also objects that failed but are not yet quarantined.
        #[arg(long)]
        all: bool,
    },
    /// Let the next cycle try an object (or all) again.
    Release {
        #[command(flatten)]
        config: ConfigArg,
        /// Anchor or userName of the object.
        anchor: Option<String>,
        #[arg(long)]
        all: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct ConfigArg {
    /// Config file.
    #[arg(long, short, default_value = zoomsync::config::DEFAULT_CONFIG_PATH, env = "ZOOMSYNC_CONFIG")]
    pub config: PathBuf,
}

impl Cli {
    /// The config file the command will read, if it reads one.
    pub fn config_path(&self) -> Option<&std::path::Path> {
        let c = match &self.command {
            Command::Check(c) | Command::Run(c) => c,
            Command::Dump { config, .. }
            | Command::Sync { config, .. }
            | Command::Plan { config, .. }
            | Command::Provision { config, .. }
            | Command::Map { config, .. }
            | Command::Approve { config, .. }
            | Command::Status { config, .. }
            | Command::History { config, .. }
            | Command::Quarantine { action: QuarantineAction::List { config, .. } }
            | Command::Quarantine { action: QuarantineAction::Release { config, .. } }
            | Command::State { action: StateAction::Restore { config, .. } }
            | Command::State { action: StateAction::Rebuild { config } } => config,
            Command::Demo | Command::Emulate(_) | Command::Generate { .. } => return None,
        };
        Some(&c.config)
    }
}

/// Runs the parsed command; the returned code is the process exit status.
pub async fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    match cli.command {
        Command::Demo => commands::demo::run().await,
        Command::Check(c) => commands::directory::check(&c.config).await,
        Command::Dump { config, format } => commands::directory::dump(&config.config, format).await,
        Command::Run(c) => commands::cycle::run_daemon(&c.config).await,
        Command::Sync { config, now: true, .. } => commands::admin::sync_now(&config.config).await,
        Command::Sync { config, full, .. } => commands::cycle::sync_once(&config.config, full).await,
        Command::Plan { config, json, full } => commands::cycle::plan(&config.config, full, json).await,
        Command::Provision { config, user } => commands::cycle::provision(&config.config, &user).await,
        Command::Map { config, user, json } => commands::map::map(&config.config, &user, json).await,
        Command::Approve { config, no_sync } => commands::cycle::approve(&config.config, !no_sync).await,
        Command::Status { config, json } => commands::admin::status(&config.config, json).await,
        Command::Quarantine { action: QuarantineAction::List { config, all } } => {
            commands::admin::quarantine_list(&config.config, all).await
        }
        Command::Quarantine { action: QuarantineAction::Release { config, anchor, all } } => {
            commands::admin::quarantine_release(&config.config, anchor.as_deref(), all).await
        }
        Command::History { config, user, since, limit, json } => {
            commands::admin::history(&config.config, user, since, limit, json).await
        }
        Command::State { action: StateAction::Restore { config, snapshot, latest } } => {
            commands::state::restore(&config.config, snapshot, latest).await
        }
        Command::State { action: StateAction::Rebuild { config } } => commands::state::rebuild(&config.config).await,
        Command::Generate { action } => commands::generate::run(action, <Cli as clap::CommandFactory>::command()),
        Command::Emulate(args) => {
            zoomsync::emulator::run(*args).await.map_err(anyhow::Error::msg)?;
            Ok(std::process::ExitCode::SUCCESS)
        }
    }
}
