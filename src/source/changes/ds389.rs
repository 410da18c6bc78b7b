//! PURE: 389-ds's syncUUIDs turned into the identifier a full read anchors on.
//!
//! RFC 4533 names entries by a syncUUID, and OpenLDAP's is the entryUUID — the anchor of the
//! openldap and 389ds flavours — so a departure reported by syncrepl lands on the user the
//! state knows. 389-ds's Content Synchronization plugin names entries by their
//! `nsUniqueId` instead (the plugin's `sync_nsuniqueid2uuid`; only its OpenLDAP-consumer
//! mode, refused with refreshAndPersist, uses entryUUID), and an entry's entryUUID (from
//! the entryUUID plugin) is a different, random UUID. Taken as it comes, a 389-ds deletion
//! names no known user.
//!
//! What 389-ds sends, and how each is placed here ([`Ds389Names`]):
//! - entries sent whole (the refresh, adds, modifies): their `entryUUID` attribute is the
//!   anchor; remembered by syncUUID, and the event carries it. A resumed session's changed
//!   entries come without any operational attribute ([`Naming::needs_reread`]): the channel
//!   reads them again first;
//! - a deletion while persisting: the DN it had (no attributes) — the remembered entryUUID
//!   when the entry was seen in this session, else its nsUniqueId text and that DN, which
//!   the state knows;
//! - a move out of the base while persisting: the entry's *new* DN, outside the base — only
//!   the remembered entryUUID places it;
//! - deletions and moves out while the channel was away (a resumed session): a syncIdSet
//!   of bare syncUUIDs, no DN.
//!
//! A departure that nothing places cannot be applied from the channel: it ends the session
//! with [`ChangeError::RefreshRequired`], so the caller runs a whole read (which concludes
//! every departure, under the guards) and opens a new session, whose refresh names every
//! entry again. Silently dropping it would leave the user active until the next scheduled
//! cycle.

use std::collections::HashMap;

use super::uuid::{nsuniqueid_text, uuid_bytes};
use super::{ChangeError, ChangeEvent};
use crate::model::{RawEntry, is_under, normalize_dn};

/// How the server's syncUUIDs relate to the anchor, decided once per session from the root
/// DSE.
pub(super) enum Naming {
    /// The syncUUID is the entryUUID (OpenLDAP, and any server not known to differ).
    EntryUuid,
    /// 389-ds: the syncUUID is the nsUniqueId.
    NsUniqueId(Ds389Names),
}

impl Naming {
    /// Whether `event` is an entry 389-ds sent without the attributes the search asked for,
    /// which the caller must read again (by DN, with those attributes) before placing it.
    ///
    /// 389-ds sends the entries of a resumed session's refresh (`sync_send_entry_from_changelog`)
    /// with every user attribute and no operational one, whatever the search requested: no
    /// entryUUID or nsUniqueId (the anchor), no nsAccountLock or nsRole (the lock), no
    /// modifyTimestamp. Taken as sent, a lock made while the channel was away would read as
    /// unlocked and the entry would have no anchor. The marker: neither entryUUID nor
    /// modifyTimestamp, which the channel always asks for and every 389-ds entry has.
    pub(super) fn needs_reread(&self, event: &ChangeEvent) -> bool {
        match (self, event) {
            (Naming::NsUniqueId(_), ChangeEvent::Upsert { entry, .. }) => {
                entry.values("entryUUID").is_empty() && entry.values("modifyTimestamp").is_empty()
            }
            _ => false,
        }
    }

    /// The event with its UUIDs as the read's anchors; an error when a departure cannot be
    /// placed (see the module comment).
    pub(super) fn place(&mut self, event: ChangeEvent) -> Result<ChangeEvent, ChangeError> {
        match self {
            Naming::EntryUuid => Ok(event),
            Naming::NsUniqueId(names) => names.place(event),
        }
    }
}

/// One 389-ds session's syncUUID → anchor map, learnt from the entries it sent whole.
pub(super) struct Ds389Names {
    /// The search base, normalized: a departure's DN under it is one the state may know.
    base: String,
    /// syncUUID (nsUniqueId bytes) → the entry's entryUUID text.
    anchors: HashMap<[u8; 16], Box<str>>,
}

impl Ds389Names {
    pub(super) fn new(base: &str) -> Self {
        Self { base: normalize_dn(base), anchors: HashMap::new() }
    }

    fn place(&mut self, event: ChangeEvent) -> Result<ChangeEvent, ChangeError> {
        Ok(match event {
            ChangeEvent::Upsert { search, entry_uuid, entry } => {
                let entry_uuid = self.learn(&entry_uuid, &entry);
                ChangeEvent::Upsert { search, entry_uuid, entry }
            }
            ChangeEvent::Gone { search, entry_uuid, dn } => {
                let entry_uuid = self.departed(&entry_uuid, dn.as_deref())?;
                ChangeEvent::Gone { search, entry_uuid, dn }
            }
            ChangeEvent::IdSet { search, entry_uuids, deleted: true } => {
                let entry_uuids = entry_uuids.iter().map(|u| self.departed(u, None)).collect::<Result<Vec<_>, _>>()?;
                ChangeEvent::IdSet { search, entry_uuids, deleted: true }
            }
            ChangeEvent::IdSet { search, entry_uuids, deleted: false } => {
                let entry_uuids = entry_uuids.iter().map(|u| self.present(u)).collect();
                ChangeEvent::IdSet { search, entry_uuids, deleted: false }
            }
            other => other,
        })
    }

    /// The anchor text of an entry sent whole: its entryUUID when it has one (remembered for
    /// its departure), else its nsUniqueId (the 389ds flavour's fallback anchor).
    fn learn(&mut self, sync_uuid: &str, entry: &RawEntry) -> String {
        let Some(bytes) = uuid_bytes(sync_uuid) else { return sync_uuid.to_string() };
        match entry.first_text("entryUUID") {
            Some(anchor) => {
                self.anchors.insert(bytes, anchor.into());
                anchor.to_string()
            }
            None => nsuniqueid_text(&bytes),
        }
    }

    /// An entry named as present: its anchor when known, else its nsUniqueId text.
    fn present(&self, sync_uuid: &str) -> String {
        match uuid_bytes(sync_uuid) {
            Some(bytes) => self.anchors.get(&bytes).map_or_else(|| nsuniqueid_text(&bytes), |a| a.to_string()),
            None => sync_uuid.to_string(),
        }
    }

    /// A departed entry's anchor (forgotten here: it is gone); with only a DN under the base
    /// to go on, its nsUniqueId text (the DN places it); otherwise an error.
    fn departed(&mut self, sync_uuid: &str, dn: Option<&str>) -> Result<String, ChangeError> {
        let bytes = uuid_bytes(sync_uuid);
        if let Some(anchor) = bytes.and_then(|b| self.anchors.remove(&b)) {
            return Ok(anchor.into());
        }
        match (bytes, dn) {
            (Some(bytes), Some(dn)) if self.under_base(dn) => Ok(nsuniqueid_text(&bytes)),
            (bytes, dn) => Err(ChangeError::RefreshRequired {
                detail: format!(
                    "389 Directory Server reported the departure of nsUniqueId {}{} without anything that names \
                     the user (entryUUID, or a DN under {}): a whole read must conclude it",
                    bytes.map_or_else(|| sync_uuid.to_string(), |b| nsuniqueid_text(&b)),
                    dn.map(|d| format!(" (now {d})")).unwrap_or_default(),
                    self.base
                ),
            }),
        }
    }

    fn under_base(&self, dn: &str) -> bool {
        is_under(&normalize_dn(dn), &self.base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::changes::SearchKind;

    const S: SearchKind = SearchKind::Users;
    const BASE: &str = "ou=People,dc=example,dc=com";
    /// A syncUUID as the control's 16 bytes read (`uuid_text`), and the same as nsUniqueId.
    const SYNC_UUID: &str = "8b78b7a3-ee4e-11f1-b306-9d60c7dae29b";
    const NSUNIQUEID: &str = "8b78b7a3-ee4e11f1-b3069d60-c7dae29b";
    const ENTRY_UUID: &str = "0f6e3b52-6b3f-4a43-9a43-3a1e2c5b7d10";

    fn names() -> Naming {
        Naming::NsUniqueId(Ds389Names::new(BASE))
    }

    fn upsert(attrs: &[(&str, &str)]) -> ChangeEvent {
        let mut entry = RawEntry::new("uid=a,ou=people,dc=example,dc=com");
        for (name, value) in attrs {
            entry.push(name, value.as_bytes().to_vec());
        }
        ChangeEvent::Upsert { search: S, entry_uuid: SYNC_UUID.into(), entry }
    }

    fn gone(dn: Option<&str>) -> ChangeEvent {
        ChangeEvent::Gone { search: S, entry_uuid: SYNC_UUID.into(), dn: dn.map(String::from) }
    }

    fn deleted_set() -> ChangeEvent {
        ChangeEvent::IdSet { search: S, entry_uuids: vec![SYNC_UUID.into()], deleted: true }
    }

    fn uuid_of(event: &ChangeEvent) -> &str {
        match event {
            ChangeEvent::Upsert { entry_uuid, .. } | ChangeEvent::Gone { entry_uuid, .. } => entry_uuid,
            ChangeEvent::IdSet { entry_uuids, .. } => &entry_uuids[0],
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn openldap_naming_changes_nothing() {
        let mut naming = Naming::EntryUuid;
        for event in [upsert(&[("entryUUID", ENTRY_UUID)]), gone(Some("uid=x,dc=elsewhere")), deleted_set()] {
            assert_eq!(naming.place(event.clone()), Ok(event));
        }
    }

    /// Seen whole, then gone: by its entryUUID wherever it went (a move out of the base
    /// names the new DN) and in a deleted syncIdSet.
    #[test]
    fn an_entry_seen_whole_departs_under_its_entry_uuid() {
        for departure in [
            gone(Some("uid=a,ou=People,dc=example,dc=com")),
            gone(Some("uid=a,ou=former,dc=example,dc=com")),
            deleted_set(),
        ] {
            let mut naming = names();
            assert_eq!(uuid_of(&naming.place(upsert(&[("entryUUID", ENTRY_UUID)])).unwrap()), ENTRY_UUID);
            let placed = naming.place(departure.clone()).unwrap();
            assert_eq!(uuid_of(&placed), ENTRY_UUID, "{departure:?}");
        }
    }

    /// Without a readable entryUUID the read anchors on nsUniqueId: so does the channel.
    #[test]
    fn an_entry_without_entry_uuid_is_named_by_its_nsuniqueid() {
        let mut naming = names();
        assert_eq!(uuid_of(&naming.place(upsert(&[("cn", "a")])).unwrap()), NSUNIQUEID);
        assert_eq!(uuid_of(&naming.place(gone(Some("uid=a,ou=people,dc=example,dc=com"))).unwrap()), NSUNIQUEID);
        let present = ChangeEvent::IdSet { search: S, entry_uuids: vec![SYNC_UUID.into()], deleted: false };
        assert_eq!(uuid_of(&naming.place(present).unwrap()), NSUNIQUEID);
    }

    /// Not seen in this session: a deletion under the base keeps its DN (the state knows it)
    /// and is named by nsUniqueId; the DN is compared as a DN (case, blanks).
    #[test]
    fn an_unseen_deletion_under_the_base_is_placed_by_its_dn() {
        for dn in
            ["uid=a,ou=people,dc=example,dc=com", "UID=a, OU=People, DC=example, DC=com", "ou=people,dc=example,dc=com"]
        {
            let placed = names().place(gone(Some(dn))).unwrap();
            assert_eq!(placed, ChangeEvent::Gone { search: S, entry_uuid: NSUNIQUEID.into(), dn: Some(dn.into()) });
        }
    }

    /// Not seen, and nothing that names it: a move out of the base (the new DN), a resumed
    /// session's deleted syncIdSet, a DN that only ends like the base. A whole read decides.
    #[test]
    fn an_unplaceable_departure_asks_for_a_full_refresh() {
        for departure in [
            gone(Some("uid=a,ou=former,dc=example,dc=com")),
            gone(Some("uid=a,xou=people,dc=example,dc=com")),
            gone(None),
            deleted_set(),
        ] {
            match names().place(departure.clone()) {
                Err(ChangeError::RefreshRequired { detail }) => {
                    assert!(detail.contains(NSUNIQUEID) && detail.contains("whole read"), "{detail}")
                }
                other => panic!("{departure:?}: {other:?}"),
            }
        }
    }

    /// A departure is forgotten: the same syncUUID gone again (a second delete phase) is
    /// placed only by what comes with it.
    #[test]
    fn a_departed_entry_is_forgotten() {
        let mut naming = names();
        naming.place(upsert(&[("entryUUID", ENTRY_UUID)])).unwrap();
        naming.place(deleted_set()).unwrap();
        assert!(naming.place(deleted_set()).is_err());
    }

    /// Only a 389-ds entry without entryUUID and modifyTimestamp (sent with user attributes
    /// only) is read again.
    #[test]
    fn entries_sent_without_operational_attributes_are_read_again() {
        let bare = upsert(&[("cn", "a"), ("mail", "a@example.com")]);
        assert!(names().needs_reread(&bare));
        assert!(!Naming::EntryUuid.needs_reread(&bare));
        assert!(!names().needs_reread(&upsert(&[("cn", "a"), ("entryUUID", ENTRY_UUID)])));
        assert!(!names().needs_reread(&upsert(&[("modifyTimestamp", "20260101000000Z")])));
        assert!(!names().needs_reread(&gone(None)));
    }

    #[test]
    fn other_events_pass_through() {
        let mut naming = names();
        for event in [
            ChangeEvent::RefreshDone { search: S },
            ChangeEvent::PresentPhaseDone { search: S },
            ChangeEvent::Cookie { search: S, cookie: b"host:389#cn=sync:ou=people:(uid=*)#12".to_vec() },
        ] {
            assert_eq!(naming.place(event.clone()), Ok(event));
        }
    }
}
