//! `check` and `dump`: commands that only read the directory.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use zoomsync::config::{Config, SourceConfig};
use zoomsync::model::{Anchor, Filter};
use zoomsync::source::changes::{Chosen, choose};
use zoomsync::source::groups::dump_request;
use zoomsync::source::root_dse::RootDse;
use zoomsync::source::{
    self, AnyDirectory, DecodeNotes, Decoder, Directory, DirectoryRead, NOTE_EXAMPLES, Noted, ReadEnd, ldif, root_dse,
};
use zoomsync::sync::{GroupSync, InScope, users_in_scope};

use super::{EXIT_ATTENTION, EXIT_INCOMPLETE, load_config, peak_rss_mib};

async fn read(config: &Config) -> anyhow::Result<(AnyDirectory, Decoder, DirectoryRead)> {
    let directory = AnyDirectory::from_config(&config.directory);
    let decoder = Decoder::new(config.directory.decode.clone());
    let read = source::read_users(&directory, &decoder).await?;
    Ok((directory, decoder, read))
}

/// With `[groups]`: what each configured group holds (its members in scope, nesting
/// flattened), and every name not found. Returns false when something needs the operator.
fn print_groups(config: &Config, scoped: &InScope) -> bool {
    let (Some(settings), Some(read)) = (&config.groups, &scoped.groups) else { return true };
    let in_scope: HashSet<&Anchor> = scoped.desired.users.iter().map(|u| &u.anchor).collect();
    say!("groups: {} found (nesting: {:?})", read.groups.len(), settings.nesting);
    for g in &read.groups {
        let scoping = settings.scope.iter().any(|s| s.eq_ignore_ascii_case(&g.name));
        let role = match (read.pushed.contains(&g.dn), scoping) {
            (true, _) => "pushed",
            (false, true) => "scope only",
            (false, false) => "read for member_of, not pushed",
        };
        let members = g.members.iter().filter(|a| in_scope.contains(a)).count();
        say!("  {}: {members} users in scope ({role}) — {}", g.name, g.dn);
    }
    super::plan_view::print_group_findings(&read.missing, &read.rejected, &read.cycles, read.incomplete.as_deref());
    read.missing.is_empty() && read.rejected.is_empty() && read.incomplete.is_none()
}

/// What decode took without rejecting it but the operator may want to fix in the directory:
/// entries with several user-name values (the first is used) and values that are not UTF-8
/// (ignored). Warnings only: the sync does the same with them.
fn print_decode_notes(user_name_attribute: &str, notes: &DecodeNotes) {
    let listed = |noted: &Noted| {
        let more =
            if noted.count > noted.examples.len() { format!(", … (first {NOTE_EXAMPLES})") } else { String::new() };
        format!("{}{more}", noted.examples.join(", "))
    };
    let several = &notes.several_user_names;
    if several.count > 0 {
        println!(
            "warning: {} entries have several {user_name_attribute} values; the first is used: {}",
            several.count,
            listed(several)
        );
    }
    let non_utf8 = &notes.non_utf8;
    if non_utf8.count > 0 {
        println!("warning: {} attribute values are not UTF-8 and were ignored: {}", non_utf8.count, listed(non_utf8));
    }
}

/// The server as its root DSE describes it, and the change channel the daemon would use;
/// findings when the flavour is made for another server or the requested channel cannot
/// run on it. A root DSE that cannot be read is mentioned, never fatal.
async fn print_server(config: &Config, directory: &AnyDirectory) -> Vec<String> {
    match root_dse::read(directory).await {
        Ok(Some(dse)) => {
            say!("server: {}", dse.describe());
            dse.flavor_mismatch(&config.directory.decode).into_iter().chain(print_channel(config, &dse)).collect()
        }
        Ok(None) => Vec::new(),
        Err(e) => {
            say!("server: the root DSE could not be read ({e})");
            Vec::new()
        }
    }
}

/// `change channel: …`: what `directory.changes` chooses on this server, and why.
fn print_channel(config: &Config, dse: &RootDse) -> Option<String> {
    let SourceConfig::Ldap(ldap) = &config.directory.source else { return None };
    let asked = ldap.changes.config_name();
    let name = match choose(ldap.changes, dse, config.directory.decode.flavor) {
        Ok(Chosen::Syncrepl) => "syncrepl (RFC 4533 refreshAndPersist: changes pushed by the server)",
        Ok(Chosen::Usn) => "usn (uSNChanged polled every directory.poll_interval on this DC)",
        Ok(Chosen::DirSync) => "dirsync (polled every directory.poll_interval; reports deletions)",
        Ok(Chosen::Off { reason }) => {
            say!("change channel: off (directory.changes = \"{asked}\"): {reason}; scheduled cycles only");
            return None;
        }
        Err(why) => {
            say!("change channel: none: {why}");
            return Some(why.to_string());
        }
    };
    say!("change channel: {name} (directory.changes = \"{asked}\")");
    None
}

/// Reads the users (and groups) as a cycle does and applies `[groups] scope` as the cycle
/// does; says what needs attention (exit 4): no user in scope, a flavour made for another
/// server, a group problem. An incomplete read is exit 3.
pub async fn check(path: &Path) -> anyhow::Result<ExitCode> {
    let config = match load_config(path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    say!("config: {} OK", path.display());
    for warning in config.mapping.warnings() {
        say!("mapping: {warning}");
    }
    let directory = AnyDirectory::from_config(&config.directory);
    let started = std::time::Instant::now();
    let scoped = users_in_scope(&config, &directory).await?;
    let elapsed = started.elapsed();
    say!("directory: {}", directory.describe());
    let mut attention: Vec<String> = print_server(&config, &directory).await;
    let entries = scoped.users_read + scoped.rejected.len();
    match peak_rss_mib() {
        Some(mib) => say!("read: {entries} entries in {:.3} s; peak memory {mib:.1} MiB", elapsed.as_secs_f64()),
        None => say!("read: {entries} entries in {:.3} s", elapsed.as_secs_f64()),
    }
    say!("users in scope: {} ({} disabled)", scoped.desired.users.len(), scoped.disabled());
    if config.groups.as_ref().is_some_and(|g| !g.scope.is_empty()) {
        say!("  groups.scope: {} of {} users are in no scoping group", scoped.out_of_scope, scoped.users_read);
    }
    let decode = &config.directory.decode;
    if let (n @ 1.., Some(fallback)) = (scoped.fallback_anchors, &decode.anchor_fallback) {
        say!(
            "note: {n} entries are anchored on {fallback}, having no readable {anchor}. Should {anchor} become \
             readable later (an ACI, the entryUUID plugin's fixup task), their anchors change and they look like \
             new users: set directory.anchor_attribute = \"{fallback}\" to keep them",
            anchor = decode.anchor_attribute
        );
    }
    say!("rejected entries: {}", scoped.rejected.len());
    for r in &scoped.rejected {
        say!("  {}: {}", r.dn, r.reason);
    }
    print_decode_notes(&decode.user_name_attribute, &scoped.notes);
    let groups_ok = print_groups(&config, &scoped);
    attention.extend(scoped.nobody_in_scope(&config));
    for problem in &attention {
        say!("needs attention: {problem}");
    }
    Ok(match &scoped.read_incomplete {
        Some(reason) => {
            say!("read INCOMPLETE: {reason}; a sync would deactivate nobody");
            ExitCode::from(EXIT_INCOMPLETE)
        }
        None if !groups_ok || !attention.is_empty() => ExitCode::from(EXIT_ATTENTION),
        None => ExitCode::SUCCESS,
    })
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
        esay!("rejected {}: {}", r.dn, r.reason);
    }
    let mut code = ExitCode::SUCCESS;
    if let DirectoryRead::Incomplete { reason, .. } = &read {
        esay!("zoomsync: read INCOMPLETE: {reason}");
        code = ExitCode::from(EXIT_INCOMPLETE);
    }
    if let Some(reason) = groups_incomplete {
        esay!("zoomsync: group read INCOMPLETE: {reason}");
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
