//! `check` and `dump`: commands that only read the directory.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use zoomsync::config::Config;
use zoomsync::source::groups::{normalize_dn, read_groups};
use zoomsync::source::{self, AnyDirectory, Decoder, Directory, DirectoryRead, Snapshot};
use zoomsync::sync::GroupSync;

use super::{EXIT_ATTENTION, EXIT_INCOMPLETE, load_config, peak_rss_mib};

async fn read(config: &Config) -> anyhow::Result<(AnyDirectory, Decoder, DirectoryRead)> {
    let directory = AnyDirectory::from_config(&config.directory);
    let decoder = Decoder::new(config.directory.decode.clone());
    let read = source::read_users(&directory, &decoder).await?;
    Ok((directory, decoder, read))
}

/// With `[groups]`: what each configured group holds (users in scope, nesting flattened),
/// and every name not found. Returns false when something needs the operator.
async fn check_groups(
    config: &Config,
    directory: &AnyDirectory,
    decoder: &Decoder,
    snapshot: &Snapshot,
) -> anyhow::Result<bool> {
    let Some(settings) = GroupSync::from_config(config) else { return Ok(true) };
    let users_by_dn = snapshot.users.iter().map(|u| (normalize_dn(&u.dn), u.anchor.clone())).collect();
    let read = read_groups(directory, &settings.config, decoder, settings.user_search(), &users_by_dn).await?;
    println!("groups: {} found (nesting: {:?})", read.groups.len(), settings.config.nesting);
    for g in &read.groups {
        let role = if read.pushed.contains(&g.dn) { "pushed" } else { "scope only" };
        println!("  {}: {} users in scope ({role}) — {}", g.name, g.members.len(), g.dn);
    }
    super::plan_view::print_group_findings(&read.missing, &read.rejected, &read.cycles, read.incomplete.as_deref());
    Ok(read.missing.is_empty() && read.rejected.is_empty() && read.incomplete.is_none())
}

pub async fn check(path: &Path) -> anyhow::Result<ExitCode> {
    let config = match load_config(path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    println!("config: {} OK", path.display());
    let started = std::time::Instant::now();
    let (directory, decoder, read) = read(&config).await?;
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
    let groups_ok = check_groups(&config, &directory, &decoder, snapshot).await?;
    match read {
        DirectoryRead::Complete(_) if !groups_ok => Ok(ExitCode::from(EXIT_ATTENTION)),
        DirectoryRead::Complete(_) => Ok(ExitCode::SUCCESS),
        DirectoryRead::Incomplete { reason, .. } => {
            println!("read INCOMPLETE: {reason}; a sync would deactivate nobody");
            Ok(ExitCode::from(EXIT_INCOMPLETE))
        }
    }
}

/// What `dump` writes: LDIF (RFC 2849) or JSON.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum DumpFormat {
    Ldif,
    Json,
}

pub async fn dump(path: &Path, format: DumpFormat) -> anyhow::Result<ExitCode> {
    let config = match load_config(path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let (_, _, read) = read(&config).await?;
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
