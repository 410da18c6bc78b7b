//! Command line: parse, then call the library. The only place (with `main`) that uses anyhow.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::commands;

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
    /// Validate the config, bind to the directory, count users in scope and list rejected
    /// entries with their DN and reason. Writes nothing.
    Check(ConfigArg),
    /// Write what was read from the directory after decode (for fixtures and bug reports).
    Dump {
        #[command(flatten)]
        config: ConfigArg,
        /// Output format.
        #[arg(long, value_enum, default_value = "ldif")]
        format: DumpFormat,
    },
    /// Run a local Zoom SCIM emulator (for tests and trying a mapping safely).
    Emulate(Box<zoomsync::emulator::EmulateArgs>),
}

#[derive(Debug, clap::Args)]
pub struct ConfigArg {
    /// Config file.
    #[arg(long, short, default_value = zoomsync::config::DEFAULT_CONFIG_PATH, env = "ZOOMSYNC_CONFIG")]
    pub config: PathBuf,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum DumpFormat {
    Ldif,
    Json,
}

/// Runs the parsed command; the returned code is the process exit status.
pub async fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    match cli.command {
        Command::Check(c) => commands::check(&c.config).await,
        Command::Dump { config, format } => commands::dump(&config.config, format).await,
        Command::Emulate(args) => {
            zoomsync::emulator::run(*args).await.map_err(anyhow::Error::msg)?;
            Ok(std::process::ExitCode::SUCCESS)
        }
    }
}
