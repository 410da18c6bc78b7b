//! The directory side of the change channel: learning what changed in the directory
//! between full cycles, in O(changes) rather than O(directory).
//!
//! Three mechanisms, one per server family, chosen by [`choose`]:
//! - [`SyncreplChannel`] (`syncrepl.rs`): RFC 4533 refreshAndPersist on OpenLDAP (syncprov)
//!   and 389-ds (Content Synchronization plugin). One persistent search per connection: the
//!   server pushes [`ChangeEvent`]s, each search with its own cookie.
//! - [`UsnPoller`] (`usn.rs`): Active Directory's `uSNChanged` watermark, read from the same
//!   DC every poll ([`UsnPosition`]: DC name, invocationID, highestCommittedUSN), for a
//!   least-privilege account.
//! - [`DirSyncPoller`] (`dirsync.rs`): AD's DirSync control (opt-in: replication rights),
//!   which also reports deletions.
//!
//! This module only reads and reports. What a change means for the plan, when a cookie or
//! position is stored (after everything before it was applied, in the state store), and
//! how often to poll belong to the caller. Errors say what the caller does next
//! ([`ChangeError`], with [`next_step`] as the table-tested policy for reconnecting).
//!
//! The pure parts: `uuid.rs` (entryUUID text), `ds389.rs` (389-ds names entries in its sync
//! controls by nsUniqueId: mapped to the anchor), `ber.rs` + `sync_controls.rs` +
//! `dirsync_control.rs` (control values read without ldap3's panicking parsers),
//! `translate.rs` (a syncrepl message → events), `choose.rs`, `backoff.rs`.

mod backoff;
mod ber;
mod choose;
mod dirsync;
mod dirsync_control;
mod ds389;
mod search;
mod sync_controls;
mod syncrepl;
mod translate;
mod usn;
mod uuid;

pub use backoff::{NextStep, next_step};
pub use ber::Malformed;
pub use choose::{Chosen, Why, choose};
pub use dirsync::{DirSyncBatch, DirSyncPoller};
pub use dirsync_control::DIRSYNC_CONTROL;
pub use syncrepl::SyncreplChannel;
pub use usn::{FullCycleReason, PollOutcome, UsnPoller, UsnPosition};
pub use uuid::uuid_text;

use crate::model::RawEntry;
use crate::source::SourceError;

/// Which of the configured searches an event or entry belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SearchKind {
    Users,
    Groups,
}

/// One search the change channel watches: base (subtree), filter and the attributes a full
/// read would request (the channel adds what it needs itself, e.g. entryUUID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSearch {
    pub kind: SearchKind,
    pub base: String,
    pub filter: String,
    pub attributes: Vec<String>,
}

/// An entry a poll found changed, with the search it matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    pub search: SearchKind,
    pub entry: RawEntry,
}

/// What a syncrepl session reports, in the server's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeEvent {
    /// An entry added or changed, or sent whole during the refresh. `entry` is what a full
    /// read gives (its `entryuuid` attribute included); `entry_uuid` is the Sync State
    /// control's, in the same text form — on 389-ds, whose controls carry the nsUniqueId,
    /// the entry's entryUUID (its nsUniqueId text when it has none: `ds389.rs`).
    Upsert { search: SearchKind, entry_uuid: String, entry: RawEntry },
    /// An entry deleted, or one that left the base or the filter (renamed out, changed so
    /// the filter no longer matches). Only its entryUUID is sure; the DN when sent. (389-ds:
    /// the entryUUID when this session saw the entry, else its nsUniqueId text with the DN
    /// it had under the base.)
    Gone { search: SearchKind, entry_uuid: String, dn: Option<String> },
    /// Many entries named at once (a syncIdSet, or an entry marked present without
    /// attributes): with `deleted` each is gone; without, each is still present and
    /// unchanged since the cookie (present phase: see [`ChangeEvent::PresentPhaseDone`]).
    IdSet { search: SearchKind, entry_uuids: Vec<String>, deleted: bool },
    /// The present phase ended: every entry still in scope has been named since the session
    /// began (by `Upsert` or `IdSet { deleted: false }`). A known entry not named is gone —
    /// a conclusion that must pass the mass-deactivation guard like any other departure.
    PresentPhaseDone { search: SearchKind },
    /// The refresh ended: the caller now knows everything the server had; what follows is
    /// live changes.
    RefreshDone { search: SearchKind },
    /// A cookie to store once every event before it has been applied; a later session
    /// resumes from it.
    Cookie { search: SearchKind, cookie: Vec<u8> },
}

/// Why a change channel or poll stopped, by what the caller does next.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    /// e-syncRefreshRequired (result 4096) or a stored position that no longer applies: drop
    /// the cookie, run a full cycle, open again without one.
    #[error("the server asks for a full refresh: {detail}")]
    RefreshRequired { detail: String },
    /// The connection dropped or the server ended the session: reconnect after a backoff
    /// and resume from the last stored cookie.
    #[error("the change channel was disconnected: {detail}")]
    Disconnected { detail: String },
    /// The server cannot do this (control not offered, not Active Directory): stay with
    /// scheduled cycles.
    #[error("the server does not support this change mechanism: {detail}")]
    Unsupported { detail: String },
    /// The server refused the search (rights, base, filter, limits): scheduled cycles only
    /// until the operator fixes what `detail` names.
    #[error("the server refused the change search: {detail}")]
    Refused { detail: String },
    /// The server sent something that is not what the RFC says (ldap3's parser would have
    /// panicked): the session is closed; resume from the last stored cookie (everything
    /// before it was read correctly), and fall back to cycles if it repeats.
    #[error("the server sent a malformed change message: {detail}")]
    Malformed { detail: String },
    /// Connecting or binding failed: retry after a backoff; the error names what to fix.
    #[error("cannot open the change channel: {0}")]
    Connect(SourceError),
}

impl From<Malformed> for ChangeError {
    fn from(m: Malformed) -> Self {
        ChangeError::Malformed { detail: m.0 }
    }
}

/// A filter in parentheses, to be combined with another (a config may give
/// `objectClass=user` bare, as ldapsearch allows).
fn parenthesized(filter: &str) -> String {
    let filter = filter.trim();
    if filter.starts_with('(') { filter.to_string() } else { format!("({filter})") }
}
