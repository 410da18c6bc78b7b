//! Active Directory DirSync (opt-in): the server keeps the place in an opaque cookie and
//! reports deletions too, at the price of replication rights ("Replicating Directory
//! Changes" on the naming context; LDAP_DIRSYNC_OBJECT_SECURITY lifts that but shows only
//! what the account may read) and of a whole naming context as the scope.
//!
//! Pitfalls handled here (MicrosoftDocs, "Polling for changes using the DirSync control"):
//! the search base must be the naming context's root, so entries outside the configured
//! base are dropped here; later polls return only the *changed* attributes, so each
//! changed entry is read again whole (one Base search on the same connection) for the
//! caller to decode as in a full read; tombstones lose objectCategory, so the filter is
//! widened with `(isDeleted=TRUE)` and deletions come back under `CN=Deleted Objects` with
//! their objectGUID. A cookie is best used with the DC that issued it (another may return
//! everything again).

use ldap3::controls::RawControl;

use super::dirsync_control::{self, DIRSYNC_CONTROL, FLAG_OBJECT_SECURITY, MAX_BYTES, SHOW_DELETED_CONTROL};
use super::search::Session;
use super::{ChangeError, ChangeSearch, parenthesized};
use crate::config::LdapConfig;
use crate::model::{RawEntry, is_under, normalize_dn};

/// Rounds of "more data" one poll follows before it stops with an error (a server that
/// never says "done" would otherwise hold the poll forever).
const MAX_ROUNDS: usize = 100_000;

/// What one DirSync poll found, and the cookie to store once it is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirSyncBatch {
    /// Entries under the configured base that were added or changed, whole (as a full read
    /// gives them).
    pub changed: Vec<RawEntry>,
    /// Tombstones (`isDeleted: TRUE`) anywhere in the naming context: objectGUID and what
    /// AD keeps of them; the caller matches them by anchor.
    pub deleted: Vec<RawEntry>,
    /// The cookie for the next poll.
    pub cookie: Vec<u8>,
}

/// Polls a naming context with the DirSync control.
pub struct DirSyncPoller {
    config: LdapConfig,
    search: ChangeSearch,
    flags: i32,
}

impl DirSyncPoller {
    /// Watches the entries `search` selects (its base is where entries must be; the
    /// DirSync search itself runs on the naming context's root).
    pub fn new(config: LdapConfig, search: ChangeSearch) -> Self {
        Self { config, search, flags: 0 }
    }

    /// LDAP_DIRSYNC_OBJECT_SECURITY: no replication right needed; only what the bind
    /// account may read is returned.
    pub fn object_security(mut self) -> Self {
        self.flags |= FLAG_OBJECT_SECURITY;
        self
    }

    /// One poll from `cookie` (`None`: everything, the first time), following "more data"
    /// until the server has sent all of it.
    pub async fn poll(&self, cookie: Option<&[u8]>) -> Result<DirSyncBatch, ChangeError> {
        let mut session = Session::open(&self.config).await?;
        let outcome = self.poll_on(&mut session, cookie).await;
        session.close().await;
        outcome
    }

    async fn poll_on(&self, session: &mut Session, cookie: Option<&[u8]>) -> Result<DirSyncBatch, ChangeError> {
        let root = session.base_entry("", &["defaultNamingContext"]).await?;
        let naming_context = root
            .as_ref()
            .and_then(|r| r.first_text("defaultNamingContext"))
            .ok_or_else(|| ChangeError::Unsupported { detail: "the root DSE names no defaultNamingContext".into() })?
            .to_string();
        let filter = format!("(|{}(isDeleted=TRUE))", parenthesized(&self.search.filter));
        let mut attributes = self.search.attributes.clone();
        for needed in ["objectGUID", "isDeleted"] {
            if !attributes.iter().any(|a| a.eq_ignore_ascii_case(needed)) {
                attributes.push(needed.to_string());
            }
        }
        let incremental = cookie.is_some_and(|c| !c.is_empty());
        let mut cookie = cookie.unwrap_or_default().to_vec();
        let mut found = Vec::new();
        for _ in 0..MAX_ROUNDS {
            let controls = vec![
                RawControl {
                    ctype: DIRSYNC_CONTROL.into(),
                    crit: true,
                    val: Some(dirsync_control::request_value(self.flags, MAX_BYTES, &cookie)),
                },
                RawControl { ctype: SHOW_DELETED_CONTROL.into(), crit: true, val: None },
            ];
            let (entries, controls) = session.with_controls(&naming_context, &filter, &attributes, controls).await?;
            found.extend(entries);
            let value =
                controls.iter().find(|c| c.1.ctype == DIRSYNC_CONTROL).and_then(|c| c.1.val.as_deref()).ok_or_else(
                    || ChangeError::Malformed { detail: "a DirSync search without its response control".into() },
                )?;
            let response = dirsync_control::response(value)?;
            cookie = response.cookie;
            if !response.more {
                let (changed, deleted) = self.sort(found);
                let changed = if incremental { self.read_whole(session, changed).await? } else { changed };
                return Ok(DirSyncBatch { changed, deleted, cookie });
            }
        }
        Err(ChangeError::Malformed { detail: format!("DirSync said \"more data\" {MAX_ROUNDS} times in a row") })
    }

    /// Tombstones apart; live entries kept only under the configured base.
    fn sort(&self, entries: Vec<RawEntry>) -> (Vec<RawEntry>, Vec<RawEntry>) {
        let base = normalize_dn(&self.search.base);
        let (deleted, live): (Vec<_>, Vec<_>) = entries
            .into_iter()
            .partition(|e| e.first_text("isDeleted").is_some_and(|v| v.eq_ignore_ascii_case("TRUE")));
        let changed = live.into_iter().filter(|e| is_under(&normalize_dn(&e.dn), &base)).collect();
        (changed, deleted)
    }

    /// Each changed entry read again with the full attribute list (DirSync sent only what
    /// changed). One that is gone meanwhile is left out: the next poll reports its deletion.
    async fn read_whole(&self, session: &mut Session, changed: Vec<RawEntry>) -> Result<Vec<RawEntry>, ChangeError> {
        let attributes: Vec<&str> = self.search.attributes.iter().map(String::as_str).collect();
        let mut whole = Vec::with_capacity(changed.len());
        for entry in changed {
            if let Some(entry) = session.base_entry(&entry.dn, &attributes).await? {
                whole.push(entry);
            }
        }
        Ok(whole)
    }
}
