//! Bodies of the CLI commands. Shared here: loading the config and the exit statuses.

/// `println!` for a line that carries directory or target text (a DN, a name, an error the
/// server sent): every control character is escaped ([`zoomsync::model::printable`]), so
/// an ESC sequence in a DN cannot drive the terminal nor a newline forge a line. The
/// format string itself must not contain a newline.
macro_rules! say {
    ($($arg:tt)*) => { println!("{}", zoomsync::model::printable(&format!($($arg)*))) };
}

/// `eprintln!` as [`say!`].
macro_rules! esay {
    ($($arg:tt)*) => { eprintln!("{}", zoomsync::model::printable(&format!($($arg)*))) };
}

pub mod admin;
pub mod cycle;
pub mod demo;
pub mod directory;
pub mod generate;
pub mod map;
mod plan_view;
pub mod state;

use std::path::Path;
use std::process::ExitCode;

use zoomsync::config::{self, Config};

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

pub use zoomsync::telemetry::peak_rss_mib;
