//! LDIF file source (RFC 2849 content records) and the LDIF writer behind `dump`.
//!
//! Reads line by line and hands each record on as soon as it ends, so a large file is
//! never held in memory. Supports comments, folded lines, `::` base64 values, attribute
//! options and `version: 1`; change records and `:<` URL values are refused with the line.

use std::borrow::Cow;
use std::io::{BufRead, Write};
use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::{Directory, LocalEntries, ReadEnd, SearchRequest, SourceError, search_local, stream_local};
use crate::config::{AnchorFormat, DecodeRules};
use crate::model::Filter;
use crate::model::{DirectoryUser, RawEntry};

pub struct LdifDirectory {
    path: PathBuf,
    filter: Filter,
}

impl LdifDirectory {
    pub fn new(path: PathBuf, filter: Filter) -> Self {
        Self { path, filter }
    }
}

impl LocalEntries for LdifDirectory {
    /// Reads the file record by record (never held whole in memory), handing each over.
    fn each_entry(&self, visit: &mut dyn FnMut(Cow<'_, RawEntry>)) -> Result<(), SourceError> {
        let shown = self.path.display().to_string();
        let file = std::fs::File::open(&self.path)
            .map_err(|e| SourceError::LdifUnreadable { path: shown.clone(), detail: e.kind().to_string() })?;
        parse(std::io::BufReader::new(file), &shown, &mut |entry| visit(Cow::Owned(entry)))
    }
}

impl Directory for LdifDirectory {
    /// A local file: read synchronously (it is small next to a network round trip). A file
    /// with no entry, or none the filter matches, is read as an empty directory (which holds
    /// every deactivation) and warned about: it is usually a dump without the attributes the
    /// filter tests, or the wrong file.
    async fn stream(&self, on_entry: &mut (dyn FnMut(RawEntry) + Send)) -> Result<ReadEnd, SourceError> {
        let (read, matched) = stream_local(self, &self.filter, on_entry)?;
        if let Some(warning) = nothing_matched(&self.path.display().to_string(), &self.filter, read, matched) {
            tracing::warn!("{warning}");
        }
        Ok(ReadEnd::Complete)
    }

    /// One pass over the file per request (group reads make one or two).
    async fn search(
        &self,
        requests: &[SearchRequest],
        on_entry: &mut (dyn FnMut(usize, RawEntry) + Send),
    ) -> Result<ReadEnd, SourceError> {
        search_local(self, requests, on_entry)
    }

    fn describe(&self) -> String {
        format!("LDIF file {}", self.path.display())
    }
}

/// PURE: the warning for an LDIF source that yields no user, if it yields none.
pub fn nothing_matched(path: &str, filter: &Filter, read: usize, matched: usize) -> Option<String> {
    if matched > 0 {
        return None;
    }
    if read == 0 {
        return Some(format!("LDIF file {path} holds no entries: it reads as an empty directory"));
    }
    let which = match read {
        1 => format!("the one entry in LDIF file {path} does not"),
        n => format!("none of the {n} entries in LDIF file {path}"),
    };
    Some(format!(
        "{which} match directory.user_filter (it tests {}): it reads as an empty directory. An entry needs the \
         attributes the filter tests (dumps by older zoomsync versions left out objectClass); dump again, or use a \
         filter the file's entries satisfy",
        filter.attributes().join(", ")
    ))
}

/// Parses LDIF content records from `reader`, calling `on_entry` for each.
pub fn parse(reader: impl BufRead, path: &str, on_entry: &mut dyn FnMut(RawEntry)) -> Result<(), SourceError> {
    let err = |line: usize, detail: String| SourceError::LdifSyntax { path: path.to_string(), line, detail };
    let mut record = Record::default();
    // The logical line being assembled from folded physical lines, and where it started.
    let mut logical: Option<(usize, String)> = None;
    let mut first_record = true;
    for (index, line) in reader.lines().enumerate() {
        let number = index + 1;
        let line = line.map_err(|e| SourceError::LdifUnreadable { path: path.to_string(), detail: e.to_string() })?;
        let line = line.strip_suffix('\r').unwrap_or(&line);
        if let Some(cont) = line.strip_prefix(' ') {
            match logical.as_mut() {
                Some((_, text)) => text.push_str(cont),
                None => {
                    return Err(err(number, "continuation line with nothing to continue".into()));
                }
            }
            continue;
        }
        if let Some((at, text)) = logical.take() {
            record.add_line(at, &text, &mut first_record).map_err(|d| err(at, d))?;
        }
        if line.is_empty() {
            if let Some(entry) = record.take().map_err(|(at, d)| err(at, d))? {
                on_entry(entry);
            }
        } else {
            logical = Some((number, line.to_string()));
        }
    }
    if let Some((at, text)) = logical.take() {
        record.add_line(at, &text, &mut first_record).map_err(|d| err(at, d))?;
    }
    if let Some(entry) = record.take().map_err(|(at, d)| err(at, d))? {
        on_entry(entry);
    }
    Ok(())
}

/// The record being read: its entry once `dn:` was seen.
#[derive(Default)]
struct Record {
    entry: Option<RawEntry>,
    start: usize,
}

impl Record {
    fn add_line(&mut self, at: usize, text: &str, first_record: &mut bool) -> Result<(), String> {
        if text.starts_with('#') {
            return Ok(());
        }
        let (name, value) = split_line(text)?;
        let Some(entry) = self.entry.as_mut() else {
            if *first_record && name.eq_ignore_ascii_case("version") {
                return if value == b"1" { Ok(()) } else { Err("only LDIF version 1 is supported".into()) };
            }
            if !name.eq_ignore_ascii_case("dn") {
                return Err(format!("record must start with dn:, found {name}:"));
            }
            let dn = String::from_utf8(value).map_err(|_| "dn is not UTF-8".to_string())?;
            self.entry = Some(RawEntry::new(dn));
            self.start = at;
            *first_record = false;
            return Ok(());
        };
        if name.eq_ignore_ascii_case("changetype") || name.eq_ignore_ascii_case("control") {
            return Err("change records are not supported; give content records (plain entries)".into());
        }
        entry.push(name, value);
        Ok(())
    }

    fn take(&mut self) -> Result<Option<RawEntry>, (usize, String)> {
        Ok(self.entry.take())
    }
}

/// `name: value`, `name:: base64`, or `name:< url` (refused). Options stay in the name.
fn split_line(text: &str) -> Result<(&str, Vec<u8>), String> {
    let colon = text.find(':').ok_or_else(|| format!("{text:?} has no ':'"))?;
    let name = &text[..colon];
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ';' || c == '.') {
        return Err(format!("{name:?} is not an attribute name"));
    }
    let rest = &text[colon + 1..];
    if let Some(b64) = rest.strip_prefix(':') {
        let decoded = B64.decode(b64.trim().as_bytes()).map_err(|e| format!("{name}: invalid base64 value ({e})"))?;
        Ok((name, decoded))
    } else if rest.starts_with('<') {
        Err(format!("{name}: URL values (:<) are not supported"))
    } else {
        Ok((name, rest.trim_start_matches(' ').as_bytes().to_vec()))
    }
}

/// Writes users as LDIF content records that [`parse`] and the same decode rules read back
/// to equal users. GUID anchors are written as the binary value AD would send.
pub fn write_users(out: &mut dyn Write, rules: &DecodeRules, users: &[DirectoryUser]) -> std::io::Result<()> {
    write_header(out)?;
    for user in users {
        write_entry(out, &user_entry(rules, user))?;
    }
    Ok(())
}

/// The LDIF version line that starts a file.
pub fn write_header(out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "version: 1")
}

/// A decoded user as the entry to write: DN, anchor (a GUID as the binary value AD would
/// send) and the attributes the user kept.
pub fn user_entry(rules: &DecodeRules, user: &DirectoryUser) -> RawEntry {
    let mut entry = RawEntry::new(user.dn.clone());
    let anchor = user.anchor.as_str();
    let value = match rules.anchor_format {
        AnchorFormat::Guid => {
            super::decode::guid_from_text(anchor).map_or_else(|| anchor.as_bytes().to_vec(), Vec::from)
        }
        AnchorFormat::Text => anchor.as_bytes().to_vec(),
    };
    entry.push(&rules.anchor_attribute, value);
    for (name, value) in user.attrs.iter() {
        entry.push(name, value.as_bytes().to_vec());
    }
    entry
}

/// One entry as an LDIF content record (a blank line first), values base64 where RFC 2849
/// wants it.
pub fn write_entry(out: &mut dyn Write, entry: &RawEntry) -> std::io::Result<()> {
    writeln!(out)?;
    write_value(out, "dn", entry.dn.as_bytes())?;
    for (name, values) in &entry.attrs {
        for value in values {
            write_value(out, name, value)?;
        }
    }
    Ok(())
}

/// RFC 2849 SAFE-STRING or base64 when it is not.
fn write_value(out: &mut dyn Write, name: &str, value: &[u8]) -> std::io::Result<()> {
    let safe = match value {
        [] => true,
        [first, ..] => {
            !matches!(first, b' ' | b':' | b'<')
                && value.last() != Some(&b' ')
                && value.iter().all(|&b| (0x01..0x80).contains(&b) && b != b'\n' && b != b'\r')
        }
    };
    if safe {
        writeln!(out, "{name}: {}", String::from_utf8_lossy(value))
    } else {
        writeln!(out, "{name}:: {}", B64.encode(value))
    }
}

#[cfg(test)]
mod tests;
