//! `check` and `dump`: commands that only read the directory.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use zoomsync::config::Config;
use zoomsync::source::{self, AnyDirectory, Decoder, Directory, DirectoryRead};

use super::{EXIT_INCOMPLETE, load_config, peak_rss_mib};
use crate::cli::DumpFormat;

async fn read(config: &Config) -> anyhow::Result<(AnyDirectory, DirectoryRead)> {
    let directory = AnyDirectory::from_config(&config.directory);
    let decoder = Decoder::new(config.directory.decode.clone());
    let read = source::read_users(&directory, &decoder).await?;
    Ok((directory, read))
}

pub async fn check(path: &Path) -> anyhow::Result<ExitCode> {
    let config = match load_config(path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    println!("config: {} OK", path.display());
    let started = std::time::Instant::now();
    let (directory, read) = read(&config).await?;
    let elapsed = started.elapsed();
    let snapshot = read.snapshot();
    println!("directory: {}", directory.describe());
    let entries = snapshot.users.len() + snapshot.rejected.len();
    match peak_rss_mib() {
        Some(mib) => println!("read: {entries} entries in {:.3} s; peak memory {mib:.1} MiB", elapsed.as_secs_f64()),
        None => println!("read: {entries} entries in {:.3} s", elapsed.as_secs_f64()),
    }
    println!("users in scope: {} ({} disabled)", snapshot.users.len(), snapshot.disabled_count());
    println!("rejected entries: {}", snapshot.rejected.len());
    for r in &snapshot.rejected {
        println!("  {}: {}", r.dn, r.reason);
    }
    match read {
        DirectoryRead::Complete(_) => Ok(ExitCode::SUCCESS),
        DirectoryRead::Incomplete { reason, .. } => {
            println!("read INCOMPLETE: {reason}; a sync would deactivate nobody");
            Ok(ExitCode::from(EXIT_INCOMPLETE))
        }
    }
}

pub async fn dump(path: &Path, format: DumpFormat) -> anyhow::Result<ExitCode> {
    let config = match load_config(path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let (_, read) = read(&config).await?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match format {
        DumpFormat::Json => {
            serde_json::to_writer_pretty(&mut out, read.snapshot())?;
            writeln!(out)?;
        }
        DumpFormat::Ldif => {
            source::ldif::write_users(&mut out, &config.directory.decode, &read.snapshot().users)?;
        }
    }
    out.flush()?;
    for r in &read.snapshot().rejected {
        eprintln!("rejected {}: {}", r.dn, r.reason);
    }
    Ok(match read {
        DirectoryRead::Complete(_) => ExitCode::SUCCESS,
        DirectoryRead::Incomplete { reason, .. } => {
            eprintln!("zoomsync: read INCOMPLETE: {reason}");
            ExitCode::from(EXIT_INCOMPLETE)
        }
    })
}
