//! `check` and `dump`: commands that only read the directory.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use zoomsync::config::{Config, SourceConfig};
use zoomsync::model::Filter;
use zoomsync::source::groups::{dump_request, normalize_dn, read_groups};
use zoomsync::source::{self, AnyDirectory, Decoder, Directory, DirectoryRead, ReadEnd, Snapshot, ldif};
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
    let (read, groups_incomplete) = match format {
        DumpFormat::Json => {
            let (_, _, read) = read(&config).await?;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            serde_json::to_writer_pretty(&mut out, read.snapshot())?;
            writeln!(out)?;
            out.flush()?;
            (read, None)
        }
        DumpFormat::Ldif => dump_ldif(&config).await?,
    };
    for r in &read.snapshot().rejected {
        eprintln!("rejected {}: {}", r.dn, r.reason);
    }
    let mut code = ExitCode::SUCCESS;
    if let DirectoryRead::Incomplete { reason, .. } = &read {
        eprintln!("zoomsync: read INCOMPLETE: {reason}");
        code = ExitCode::from(EXIT_INCOMPLETE);
    }
    if let Some(reason) = groups_incomplete {
        eprintln!("zoomsync: group read INCOMPLETE: {reason}");
        code = ExitCode::from(EXIT_INCOMPLETE);
    }
    Ok(code)
}

/// The configured user filter as the LDIF source evaluates it.
fn user_filter(config: &Config) -> Option<Filter> {
    match &config.directory.source {
        SourceConfig::Ldap(l) => Filter::parse(&l.user_filter).ok(),
        SourceConfig::Ldif { filter, .. } => Some(filter.clone()),
    }
}

/// `dump --format ldif`: a fixture. Read back with `kind = "ldif"`, the same `user_filter`
/// and the same `[groups]`, it gives the same users and groups: each user carries what
/// decode keeps plus every attribute the filter tests (objectClass...), and with `[groups]`
/// every group entry `class_filter` matches follows with its name, anchor, member DNs and
/// the attributes its filters test. Users the filter would not match in a file (a server
/// matching `objectCategory=person` against a DN) are written and warned about. Returns
/// the user read and, when the group read was cut short, why.
async fn dump_ldif(config: &Config) -> anyhow::Result<(DirectoryRead, Option<String>)> {
    let filter = user_filter(config);
    let mut directory_config = config.directory.clone();
    if let Some(f) = &filter {
        directory_config.decode.keep_attributes.extend(f.attributes().into_iter().map(String::from));
    }
    let rules = directory_config.decode.clone();
    let directory = AnyDirectory::from_config(&directory_config);
    let decoder = Decoder::new(rules.clone());
    let read = source::read_users(&directory, &decoder).await?;
    let mut groups = Vec::new();
    let mut groups_incomplete = None;
    if let Some(settings) = GroupSync::from_config(config) {
        let request = dump_request(&settings.config, &decoder);
        let end = directory.search(std::slice::from_ref(&request), &mut |_, entry| groups.push(entry)).await?;
        if let ReadEnd::Incomplete { reason } = end {
            groups_incomplete = Some(reason);
        }
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    ldif::write_header(&mut out)?;
    let mut unmatched = 0;
    for user in &read.snapshot().users {
        let entry = ldif::user_entry(&rules, user);
        if filter.as_ref().is_some_and(|f| !f.matches(&entry)) {
            unmatched += 1;
        }
        ldif::write_entry(&mut out, &entry)?;
    }
    for entry in &groups {
        ldif::write_entry(&mut out, entry)?;
    }
    out.flush()?;
    if unmatched > 0 {
        eprintln!(
            "zoomsync: warning: {unmatched} of {} users written do not match directory.user_filter when a file is read \
             (the server matched them, e.g. AD's objectCategory=person against a DN); read back with kind = \"ldif\" \
             and the same filter they are left out: use a filter their attributes satisfy",
            read.snapshot().users.len()
        );
    }
    Ok((read, groups_incomplete))
}
