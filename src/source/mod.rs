//! Directory adapters: where users come from.
//!
//! An adapter streams [`RawEntry`]s to a callback and says how the read ended. Decoding and
//! duplicate detection happen in [`Snapshot`], so every adapter behaves the same. A read that
//! ends early is [`DirectoryRead::Incomplete`], a different variant from a complete read, so
//! no caller can mistake a cut-off list for one where users have left.

pub mod changes;
pub mod decode;
pub mod groups;
pub mod ldap;
pub mod ldif;
pub mod lease;
pub mod memory;
mod range;
pub mod root_dse;
mod snapshot;

use std::borrow::Cow;
use std::future::Future;

pub use decode::Decoder;
pub use snapshot::{Convert, DecodeNotes, NOTE_EXAMPLES, Noted, Snapshot, SnapshotBuilder};

use crate::config::{DirectoryConfig, SourceConfig};
use crate::model::{DirectoryUser, Identity, RawEntry};

/// How a stream of entries ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadEnd {
    /// The server (or file) said: that was everything in scope.
    Complete,
    /// The read stopped early: a limit, an error result, a dropped connection.
    Incomplete { reason: String },
}

/// The result of reading the directory.
#[derive(Debug)]
pub enum DirectoryRead<U = DirectoryUser> {
    Complete(Snapshot<U>),
    /// Some entries may be missing: nothing may be treated as absent.
    Incomplete {
        partial: Snapshot<U>,
        reason: String,
    },
}

impl<U> DirectoryRead<U> {
    /// The users read so far, whether or not the read completed.
    pub fn snapshot(&self) -> &Snapshot<U> {
        match self {
            Self::Complete(s) | Self::Incomplete { partial: s, .. } => s,
        }
    }
}

/// Why the directory could not be read at all. Each variant says what the operator fixes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SourceError {
    #[error("cannot reach {url}: {detail}")]
    Unreachable { url: String, detail: String },
    #[error("TLS with {url} failed: {detail} (check directory.ca_file and the server's certificate name)")]
    Tls { url: String, detail: String },
    #[error("bind as {bind_dn} refused: invalid credentials (check the DN and the password file)")]
    InvalidCredentials { bind_dn: String },
    #[error("bind as {bind_dn} failed: {detail}")]
    BindFailed { bind_dn: String, detail: String },
    #[error("base DN {base_dn} does not exist on the server (check directory.base_dn, or groups.base_dn)")]
    BaseDnNotFound { base_dn: String },
    #[error("the server refused the search: {detail}")]
    SearchRefused { detail: String },
    #[error("internal error: {detail}")]
    Internal { detail: String },
    #[error("cannot read LDIF file {path}: {detail}")]
    LdifUnreadable { path: String, detail: String },
    #[error("LDIF file {path}, line {line}: {detail}")]
    LdifSyntax { path: String, line: usize, detail: String },
}

/// How far below `base` a search looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchScope {
    /// The base entry only (AD ranged retrieval of one group's members).
    Base,
    /// The base and everything below it.
    Subtree,
}

/// One search beyond the configured user search (groups, AD in-chain membership).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRequest {
    pub base: String,
    pub scope: SearchScope,
    /// RFC 4515 filter text.
    pub filter: String,
    /// Attributes to return; `["1.1"]` for DNs only.
    pub attributes: Vec<String>,
}

/// A directory that can stream the entries in scope.
pub trait Directory {
    /// Calls `on_entry` for each entry in scope, in server order, and reports how the read
    /// ended. Errors before the first entry that make the read impossible are `Err`.
    fn stream(
        &self,
        on_entry: &mut (dyn FnMut(RawEntry) + Send),
    ) -> impl Future<Output = Result<ReadEnd, SourceError>> + Send;

    /// Runs `requests` one after the other (over one connection where there is one),
    /// calling `on_entry(request_index, entry)` for each entry. Multi-valued attributes a
    /// server hands out in ranges (AD `member;range=0-1499`) arrive whole, under their plain
    /// name. The result is `Incomplete` when any search ended early.
    fn search(
        &self,
        requests: &[SearchRequest],
        on_entry: &mut (dyn FnMut(usize, RawEntry) + Send),
    ) -> impl Future<Output = Result<ReadEnd, SourceError>> + Send;

    /// A one-line description for logs and `check` (URL or path, never a secret).
    fn describe(&self) -> String;
}

/// A borrowed directory reads like the directory itself (a test's or bench's directory can
/// be lent to an engine).
impl<D: Directory + Sync> Directory for &D {
    fn stream(
        &self,
        on_entry: &mut (dyn FnMut(RawEntry) + Send),
    ) -> impl Future<Output = Result<ReadEnd, SourceError>> + Send {
        (**self).stream(on_entry)
    }

    fn search(
        &self,
        requests: &[SearchRequest],
        on_entry: &mut (dyn FnMut(usize, RawEntry) + Send),
    ) -> impl Future<Output = Result<ReadEnd, SourceError>> + Send {
        (**self).search(requests, on_entry)
    }

    fn describe(&self) -> String {
        (**self).describe()
    }
}

/// The configured directory, whichever kind it is.
pub enum AnyDirectory {
    Ldap(ldap::LdapDirectory),
    Ldif(ldif::LdifDirectory),
}

impl AnyDirectory {
    pub fn from_config(config: &DirectoryConfig) -> Self {
        match &config.source {
            SourceConfig::Ldap(l) => Self::Ldap(ldap::LdapDirectory::new(l.clone(), &config.decode)),
            SourceConfig::Ldif { path, filter } => Self::Ldif(ldif::LdifDirectory::new(path.clone(), filter.clone())),
        }
    }
}

impl Directory for AnyDirectory {
    async fn stream(&self, on_entry: &mut (dyn FnMut(RawEntry) + Send)) -> Result<ReadEnd, SourceError> {
        match self {
            Self::Ldap(d) => d.stream(on_entry).await,
            Self::Ldif(d) => d.stream(on_entry).await,
        }
    }

    async fn search(
        &self,
        requests: &[SearchRequest],
        on_entry: &mut (dyn FnMut(usize, RawEntry) + Send),
    ) -> Result<ReadEnd, SourceError> {
        match self {
            Self::Ldap(d) => d.search(requests, on_entry).await,
            Self::Ldif(d) => d.search(requests, on_entry).await,
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Ldap(d) => d.describe(),
            Self::Ldif(d) => d.describe(),
        }
    }
}

/// Reads every user in scope and decodes it, entry by entry (raw entries are not kept).
pub async fn read_users<D: Directory>(directory: &D, decoder: &Decoder) -> Result<DirectoryRead, SourceError> {
    read_converted(directory, Snapshot::builder(decoder)).await
}

/// Reads every user in scope, decoding and converting each as it arrives (sync maps users
/// here, so decoded users never accumulate).
pub async fn read_converted<D: Directory, U: Identity + Send>(
    directory: &D,
    builder: SnapshotBuilder<'_, U>,
) -> Result<DirectoryRead<U>, SourceError> {
    read_observed(directory, builder, &mut |_| {}).await
}

/// [`read_converted`], showing each entry to `observe` before it is decoded (what `check`
/// counts beyond the users, e.g. anchors read from the fallback attribute).
pub async fn read_observed<D: Directory, U: Identity + Send>(
    directory: &D,
    mut builder: SnapshotBuilder<'_, U>,
    observe: &mut (dyn FnMut(&RawEntry) + Send),
) -> Result<DirectoryRead<U>, SourceError> {
    let end = directory
        .stream(&mut |entry| {
            observe(&entry);
            builder.push(&entry)
        })
        .await?;
    let snapshot = builder.finish();
    Ok(match end {
        ReadEnd::Complete => DirectoryRead::Complete(snapshot),
        ReadEnd::Incomplete { reason } => DirectoryRead::Incomplete { partial: snapshot, reason },
    })
}

/// A directory whose entries are held locally (LDIF file, memory): it visits each entry in
/// order, lent (memory) or handed over (a file's parsed record). [`stream_local`] and
/// [`search_local`] are its [`Directory`] reads.
pub(crate) trait LocalEntries {
    fn each_entry(&self, visit: &mut dyn FnMut(Cow<'_, RawEntry>)) -> Result<(), SourceError>;
}

/// [`Directory::stream`] of a local directory: the entries `filter` keeps, in order (a lent
/// entry is cloned only when it is kept). Returns (entries read, entries kept): a local
/// source that keeps none is worth a warning.
pub(crate) fn stream_local(
    entries: &impl LocalEntries,
    filter: &crate::model::Filter,
    on_entry: &mut (dyn FnMut(RawEntry) + Send),
) -> Result<(usize, usize), SourceError> {
    let (mut read, mut kept) = (0usize, 0usize);
    entries.each_entry(&mut |entry| {
        read += 1;
        if filter.matches(&entry) {
            kept += 1;
            on_entry(entry.into_owned());
        }
    })?;
    Ok((read, kept))
}

/// [`Directory::search`] of a local directory: one pass over the entries per request, each
/// evaluated with [`LocalSearch`].
pub(crate) fn search_local(
    entries: &impl LocalEntries,
    requests: &[SearchRequest],
    on_entry: &mut (dyn FnMut(usize, RawEntry) + Send),
) -> Result<ReadEnd, SourceError> {
    for (index, request) in requests.iter().enumerate() {
        let search = LocalSearch::new(request)?;
        entries.each_entry(&mut |entry| {
            if search.matches(&entry) {
                on_entry(index, entry.into_owned());
            }
        })?;
    }
    Ok(ReadEnd::Complete)
}

/// One [`SearchRequest`] evaluated against entries held locally (LDIF file, memory): the
/// base by DN suffix, the filter with [`crate::model::Filter`]. Attribute lists are not applied
/// (callers read only what they asked for).
pub(crate) struct LocalSearch {
    base: String,
    scope: SearchScope,
    filter: crate::model::Filter,
}

impl LocalSearch {
    pub(crate) fn new(request: &SearchRequest) -> Result<Self, SourceError> {
        let filter = crate::model::Filter::parse(&request.filter)
            .map_err(|e| SourceError::SearchRefused { detail: format!("filter {:?}: {e}", request.filter) })?;
        Ok(Self { base: groups::normalize_dn(&request.base), scope: request.scope, filter })
    }

    pub(crate) fn matches(&self, entry: &RawEntry) -> bool {
        let dn = groups::normalize_dn(&entry.dn);
        let in_scope = match self.scope {
            SearchScope::Base => dn == self.base,
            SearchScope::Subtree => crate::model::is_under(&dn, &self.base),
        };
        in_scope && self.filter.matches(entry)
    }
}
