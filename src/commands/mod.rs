//! Bodies of the CLI commands. Shared here: loading the config, opening state, building the
//! engine's adapters, exit statuses.

pub mod admin;
pub mod demo;
pub mod directory;
pub mod engine;
mod plan_view;

use std::path::Path;
use std::process::ExitCode;

use zoomsync::config::{self, Config, TargetConfig};

/// A config (or usage) error: nothing has been touched yet.
pub const EXIT_CONFIG: u8 = 2;
/// The directory read did not complete (nothing was deactivated).
pub const EXIT_INCOMPLETE: u8 = 3;
/// The cycle ran but some operations failed or a guard holds operations.
pub const EXIT_ATTENTION: u8 = 4;

/// Loads the config or prints the error and returns the exit code to use.
pub fn load_config(path: &Path) -> Result<Config, ExitCode> {
    config::load(path).map_err(|e| {
        eprintln!("zoomsync: config {}: {e}", path.display());
        ExitCode::from(EXIT_CONFIG)
    })
}

/// The `[target]` section, required by commands that talk to Zoom.
pub fn require_target(config: &Config, path: &Path) -> Result<TargetConfig, ExitCode> {
    config.target.clone().ok_or_else(|| {
        eprintln!("zoomsync: config {}: target: section is required for this command", path.display());
        ExitCode::from(EXIT_CONFIG)
    })
}

pub use zoomsync::telemetry::peak_rss_mib;
