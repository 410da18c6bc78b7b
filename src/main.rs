//! zoomsync binary: parse the command line, set up logging and TLS, run the command.
//! Exit status: 0 success, 1 failure, 2 bad config or usage, 3 directory read incomplete.

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
    let format = if cli.json_logs { zoomsync::config::LogFormat::Json } else { zoomsync::config::LogFormat::Text };
    zoomsync::telemetry::init(format, "info");
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
