//! Active Directory `uSNChanged` polling (MicrosoftDocs, "Polling for changes using
//! uSNChanged"): a least-privilege account can do it, and each poll costs O(changes).
//!
//! uSNChanged is a per-DC counter that is not replicated, so a position is only valid on
//! the DC that issued it, and only while that DC's database is the one it counted in: the
//! position stores the DC's name and its invocationID (which changes when the DC is
//! restored from backup), and a poll that finds either different asks for a full cycle.
//! The new watermark is the highestCommittedUSN read *before* the query, so a change
//! committed during the query is seen again next time rather than missed.
//!
//! Not covered by uSNChanged (MicrosoftDocs): deletions (optionally read as tombstones with
//! the Show Deleted control, [`UsnPoller::with_deleted`]) and moves out of the base; both
//! are for the periodic full cycle to settle.

use serde::{Deserialize, Serialize};

use super::dirsync_control::SHOW_DELETED_CONTROL;
use super::search::Session;
use super::{ChangeError, ChangeSearch, Changed, parenthesized};
use crate::config::LdapConfig;
use crate::model::RawEntry;
use crate::source::decode::guid_to_text;

/// Where the last poll left off, on which DC and which incarnation of its database. Store
/// it with the synced data, after the changes it covers were applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsnPosition {
    /// The DC's `dnsHostName` (root DSE).
    pub dns_host_name: String,
    /// The DC's `invocationID` (on its `dsServiceName` object), in AD's GUID text form.
    pub invocation_id: String,
    /// The DC's `highestCommittedUSN` read before the changes were searched.
    pub highest_committed_usn: u64,
}

/// Why a poll cannot say what changed, so a full cycle must.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FullCycleReason {
    /// No stored position: the first poll.
    NoPosition,
    /// Another DC answered (uSNChanged is per DC).
    OtherDc { stored: String, now: String },
    /// The DC's database was restored or rebuilt (new invocationID).
    Restored { stored: String, now: String },
    /// The DC's counter is below the stored one (a restore that kept the invocationID).
    UsnBehind { stored: u64, now: u64 },
}

impl std::fmt::Display for FullCycleReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoPosition => write!(f, "no stored uSNChanged position"),
            Self::OtherDc { stored, now } => {
                write!(f, "the position is {stored}'s but {now} answered (uSNChanged is counted per DC)")
            }
            Self::Restored { stored, now } => {
                write!(f, "the DC's invocationID changed from {stored} to {now} (restored from backup?)")
            }
            Self::UsnBehind { stored, now } => {
                write!(f, "the DC's highestCommittedUSN {now} is below the stored {stored}")
            }
        }
    }
}

/// What one poll found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollOutcome {
    /// Run a full cycle, then store `position` (read before it, so nothing is missed).
    FullCycleNeeded { reason: FullCycleReason, position: UsnPosition },
    /// The entries changed since the stored position, tombstones when asked for, and the
    /// position to store once they are applied.
    Changes { changed: Vec<Changed>, deleted: Vec<RawEntry>, position: UsnPosition },
}

/// Polls one DC for entries whose uSNChanged passed the stored position.
pub struct UsnPoller {
    config: LdapConfig,
    searches: Vec<ChangeSearch>,
    deleted: Option<ChangeSearch>,
}

/// Root DSE attributes a poll reads first.
const ROOT_ATTRIBUTES: &[&str] = &["dnsHostName", "highestCommittedUSN", "dsServiceName"];

impl UsnPoller {
    /// Polls `users` (base, filter, attributes of the full read) on the DC `config` names.
    pub fn new(config: LdapConfig, users: ChangeSearch) -> Self {
        Self { config, searches: vec![users], deleted: None }
    }

    /// Also polls `groups`.
    pub fn with_groups(mut self, groups: ChangeSearch) -> Self {
        self.searches.push(groups);
        self
    }

    /// Also reads tombstones (Show Deleted control) deleted since the position: `search.base`
    /// is the naming context (tombstones live in its `CN=Deleted Objects`), `search.filter`
    /// what they must still match (`(objectClass=user)`: a tombstone keeps objectClass but
    /// loses objectCategory and most attributes), `attributes` e.g. objectGUID and
    /// lastKnownParent. By default only administrators may read `CN=Deleted Objects`: a
    /// least-privilege account gets no tombstone and no error (proven on Samba), so this
    /// needs that container's List/Read delegated to the account.
    pub fn with_deleted(mut self, search: ChangeSearch) -> Self {
        self.deleted = Some(search);
        self
    }

    /// One poll, over one connection.
    pub async fn poll(&self, stored: Option<&UsnPosition>) -> Result<PollOutcome, ChangeError> {
        let mut session = Session::open(&self.config).await?;
        let outcome = self.poll_on(&mut session, stored).await;
        session.close().await;
        outcome
    }

    async fn poll_on(&self, session: &mut Session, stored: Option<&UsnPosition>) -> Result<PollOutcome, ChangeError> {
        let position = read_position(session).await?;
        let since = match compare(stored, &position) {
            Ok(since) => since,
            Err(reason) => return Ok(PollOutcome::FullCycleNeeded { reason, position }),
        };
        let mut changed = Vec::new();
        for search in &self.searches {
            let filter = changed_filter(&search.filter, since);
            for entry in session.paged(&search.base, &filter, &search.attributes, Vec::new()).await? {
                changed.push(Changed { search: search.kind, entry });
            }
        }
        let mut deleted = Vec::new();
        if let Some(search) = &self.deleted {
            let filter = changed_filter(&format!("(&(isDeleted=TRUE){})", parenthesized(&search.filter)), since);
            let show_deleted =
                ldap3::controls::RawControl { ctype: SHOW_DELETED_CONTROL.into(), crit: true, val: None };
            deleted = session.paged(&search.base, &filter, &search.attributes, vec![show_deleted]).await?;
        }
        Ok(PollOutcome::Changes { changed, deleted, position })
    }
}

/// The DC's name, invocationID and highestCommittedUSN, in that order of reading.
async fn read_position(session: &mut Session) -> Result<UsnPosition, ChangeError> {
    let not_ad = |what: &str| ChangeError::Unsupported {
        detail: format!("the root DSE has no {what}: uSNChanged polling needs Active Directory"),
    };
    let root = session.base_entry("", ROOT_ATTRIBUTES).await?.ok_or_else(|| not_ad("entry"))?;
    let usn = root.first_text("highestCommittedUSN").ok_or_else(|| not_ad("highestCommittedUSN"))?;
    let highest_committed_usn = usn
        .trim()
        .parse()
        .map_err(|_| ChangeError::Malformed { detail: format!("highestCommittedUSN {usn:?} is not a number") })?;
    let dns_host_name = root.first_text("dnsHostName").ok_or_else(|| not_ad("dnsHostName"))?.to_string();
    let service = root.first_text("dsServiceName").ok_or_else(|| not_ad("dsServiceName"))?.to_string();
    let settings = session.base_entry(&service, &["invocationID"]).await?.ok_or_else(|| ChangeError::Refused {
        detail: format!("the DC's settings object {service} cannot be read (invocationID)"),
    })?;
    let invocation = settings.values("invocationID").first().ok_or_else(|| ChangeError::Refused {
        detail: format!("{service} shows no invocationID to the bind account"),
    })?;
    let invocation: &[u8; 16] = invocation.as_slice().try_into().map_err(|_| ChangeError::Malformed {
        detail: format!("invocationID of {service} has {} bytes, not 16", invocation.len()),
    })?;
    Ok(UsnPosition { dns_host_name, invocation_id: guid_to_text(invocation), highest_committed_usn })
}

/// PURE: the first uSNChanged to search from, or why a full cycle is needed instead.
fn compare(stored: Option<&UsnPosition>, now: &UsnPosition) -> Result<u64, FullCycleReason> {
    let Some(stored) = stored else {
        return Err(FullCycleReason::NoPosition);
    };
    if !stored.dns_host_name.eq_ignore_ascii_case(&now.dns_host_name) {
        return Err(FullCycleReason::OtherDc { stored: stored.dns_host_name.clone(), now: now.dns_host_name.clone() });
    }
    if !stored.invocation_id.eq_ignore_ascii_case(&now.invocation_id) {
        return Err(FullCycleReason::Restored { stored: stored.invocation_id.clone(), now: now.invocation_id.clone() });
    }
    if now.highest_committed_usn < stored.highest_committed_usn {
        return Err(FullCycleReason::UsnBehind {
            stored: stored.highest_committed_usn,
            now: now.highest_committed_usn,
        });
    }
    Ok(stored.highest_committed_usn.saturating_add(1))
}

/// PURE: `(&<filter>(uSNChanged>=<since>))`.
fn changed_filter(filter: &str, since: u64) -> String {
    format!("(&{}(uSNChanged>={since}))", parenthesized(filter))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(host: &str, id: &str, usn: u64) -> UsnPosition {
        UsnPosition { dns_host_name: host.into(), invocation_id: id.into(), highest_committed_usn: usn }
    }

    #[test]
    fn a_position_applies_only_on_its_dc_and_database() {
        let stored = at("dc1.example.test", "a1b2", 100);
        assert_eq!(compare(None, &stored), Err(FullCycleReason::NoPosition));
        assert_eq!(compare(Some(&stored), &at("DC1.example.test", "A1B2", 150)), Ok(101));
        assert_eq!(compare(Some(&stored), &at("dc1.example.test", "a1b2", 100)), Ok(101));
        assert!(matches!(
            compare(Some(&stored), &at("dc2.example.test", "a1b2", 150)),
            Err(FullCycleReason::OtherDc { .. })
        ));
        assert!(matches!(
            compare(Some(&stored), &at("dc1.example.test", "ffff", 150)),
            Err(FullCycleReason::Restored { .. })
        ));
        assert_eq!(
            compare(Some(&stored), &at("dc1.example.test", "a1b2", 99)),
            Err(FullCycleReason::UsnBehind { stored: 100, now: 99 })
        );
    }

    #[test]
    fn the_changed_filter_wraps_the_configured_one() {
        assert_eq!(
            changed_filter("(&(objectClass=user)(objectCategory=person))", 101),
            "(&(&(objectClass=user)(objectCategory=person))(uSNChanged>=101))"
        );
        assert_eq!(changed_filter(" objectClass=user ", 7), "(&(objectClass=user)(uSNChanged>=7))");
    }

    #[test]
    fn the_position_is_stored_as_plain_json() {
        let json = serde_json::to_string(&at("dc1", "id", 5)).unwrap();
        assert_eq!(json, r#"{"dns_host_name":"dc1","invocation_id":"id","highest_committed_usn":5}"#);
        assert_eq!(serde_json::from_str::<UsnPosition>(&json).unwrap(), at("dc1", "id", 5));
    }
}
