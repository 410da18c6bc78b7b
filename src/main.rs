//! zoomsync binary: parse the command line, set up logging and TLS, run the command.
//!
//! Exit status, for every command:
//!
//! | status | meaning | what next |
//! |---|---|---|
//! | 0 | done; nothing needs an operator | — |
//! | 1 | failed: a Fatal target error (credentials, forbidden, TLS certificate, token endpoint unreachable), also for `plan` when it cannot read the target; a cycle interrupted, state or I/O errors, a user `provision` or `map` cannot find, a mapping rule `map` shows failing for its user | read the message; nothing more was written |
//! | 2 | bad config or usage (clap's usage errors too); nothing was touched | fix the key the message names |
//! | 3 | the directory read was incomplete: nobody was deactivated | check the directory (size limit, outage) |
//! | 4 | done, but something needs an operator: failed operations, held deactivations (`approve`), `check` findings; or Zoom's daily limit paused the cycle (it resumes by itself) | `status`, `quarantine list`, `approve` |
//!
//! Cycles map their outcome with `sync::CycleOutcome::exit_status`; the constants are in
//! `commands/mod.rs`. A panic (a bug) exits 101.

mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;

/// glibc malloc spent ~45% of a 100k-user directory read in malloc/free (entries are built
/// on the LDAP reader thread and freed on another); mimalloc removes most of that.
/// Figures: BENCHMARKS.md, "Directory read".
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // `[logging]` from the config applies from the first line; --json-logs wins.
    let logging = cli.config_path().and_then(zoomsync::config::logging_of);
    let level = logging.as_ref().map_or("info".to_string(), |l| l.level.clone());
    let format = match (cli.json_logs, &logging) {
        (true, _) => zoomsync::config::LogFormat::Json,
        (false, Some(l)) => l.format,
        (false, None) => zoomsync::config::LogFormat::Text,
    };
    zoomsync::telemetry::init(format, &level);
    zoomsync::install_crypto_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("zoomsync: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("zoomsync: {e:#}");
            ExitCode::FAILURE
        }
    }
}
