//! PURE: the RFC 4533 response values — Sync State (per entry), Sync Done (end of a
//! refreshOnly search) and Sync Info (intermediate messages) — read without panicking.
//!
//! ldap3 0.12 has parsers for all three, but they `panic!` on any unexpected shape (an
//! unknown state, a missing element, a constructed boolean); a server bug or a proxy in the
//! way would abort the task. These return [`Malformed`] instead, and the channel reports it
//! as [`super::ChangeError::Malformed`].

use ldap3::asn1::{PL, StructureTag, TagClass};

use super::ber::{self, Malformed};
use super::uuid::uuid_text;

pub(super) const SYNC_STATE_OID: &str = "1.3.6.1.4.1.4203.1.9.1.2";
pub(super) const SYNC_DONE_OID: &str = "1.3.6.1.4.1.4203.1.9.1.3";
pub(super) const SYNC_INFO_OID: &str = "1.3.6.1.4.1.4203.1.9.1.4";
/// LDAPMessage tag of an IntermediateResponse (RFC 4511 §4.13).
pub(super) const INTERMEDIATE_RESPONSE: u64 = 25;

/// `syncStateValue.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EntryState {
    Present,
    Add,
    Modify,
    Delete,
}

/// The Sync State control of one SearchResultEntry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SyncStateValue {
    pub(super) state: EntryState,
    /// Text form, as the entryUUID attribute reads.
    pub(super) entry_uuid: String,
    pub(super) cookie: Option<Vec<u8>>,
}

/// The Sync Done control of a SearchResultDone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SyncDoneValue {
    pub(super) cookie: Option<Vec<u8>>,
    pub(super) refresh_deletes: bool,
}

/// A Sync Info intermediate message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SyncInfoValue {
    NewCookie(Vec<u8>),
    /// The end of a delete phase (deletions were listed explicitly).
    RefreshDelete {
        cookie: Option<Vec<u8>>,
        refresh_done: bool,
    },
    /// The end of a present phase (every entry still present has been named).
    RefreshPresent {
        cookie: Option<Vec<u8>>,
        refresh_done: bool,
    },
    /// Many entries at once: deleted when `refresh_deletes`, else present and unchanged.
    SyncIdSet {
        cookie: Option<Vec<u8>>,
        refresh_deletes: bool,
        entry_uuids: Vec<String>,
    },
}

/// `syncStateValue ::= SEQUENCE { state ENUMERATED, entryUUID syncUUID, cookie syncCookie OPTIONAL }`
pub(super) fn sync_state(value: &[u8]) -> Result<SyncStateValue, Malformed> {
    const WHAT: &str = "Sync State control";
    let tag = ber::parse_whole(value, WHAT)?;
    if !ber::is_universal(&tag, ber::SEQUENCE) {
        return Err(Malformed::new(format!("{WHAT}: not a SEQUENCE")));
    }
    let mut parts = ber::children(tag, WHAT)?.into_iter();
    let state = match parts.next() {
        Some(t) if ber::is_universal(&t, ber::ENUMERATED) => ber::integer(&ber::primitive(t, WHAT)?, WHAT)?,
        _ => return Err(Malformed::new(format!("{WHAT}: no state"))),
    };
    let state = match state {
        0 => EntryState::Present,
        1 => EntryState::Add,
        2 => EntryState::Modify,
        3 => EntryState::Delete,
        other => return Err(Malformed::new(format!("{WHAT}: unknown state {other}"))),
    };
    let entry_uuid = match parts.next() {
        Some(t) if ber::is_universal(&t, ber::OCTET_STRING) => uuid(&ber::primitive(t, WHAT)?, WHAT)?,
        _ => return Err(Malformed::new(format!("{WHAT}: no entryUUID"))),
    };
    let cookie = match parts.next() {
        None => None,
        Some(t) if ber::is_universal(&t, ber::OCTET_STRING) => Some(ber::primitive(t, WHAT)?),
        Some(_) => return Err(Malformed::new(format!("{WHAT}: the cookie is not an OCTET STRING"))),
    };
    if parts.next().is_some() {
        return Err(Malformed::new(format!("{WHAT}: more than three elements")));
    }
    Ok(SyncStateValue { state, entry_uuid, cookie })
}

/// `syncDoneValue ::= SEQUENCE { cookie syncCookie OPTIONAL, refreshDeletes BOOLEAN DEFAULT FALSE }`
pub(super) fn sync_done(value: &[u8]) -> Result<SyncDoneValue, Malformed> {
    const WHAT: &str = "Sync Done control";
    let tag = ber::parse_whole(value, WHAT)?;
    if !ber::is_universal(&tag, ber::SEQUENCE) {
        return Err(Malformed::new(format!("{WHAT}: not a SEQUENCE")));
    }
    let (cookie, refresh_deletes, uuids) = cookie_flag_uuids(ber::children(tag, WHAT)?, false, false, WHAT)?;
    if uuids.is_some() {
        return Err(Malformed::new(format!("{WHAT}: a SET of UUIDs")));
    }
    Ok(SyncDoneValue { cookie, refresh_deletes })
}

/// The Sync Info value of an IntermediateResponse; `Ok(None)` for an intermediate
/// response of another extension (not ours to read).
pub(super) fn sync_info(message: StructureTag) -> Result<Option<SyncInfoValue>, Malformed> {
    const WHAT: &str = "Sync Info message";
    if message.class != TagClass::Application || message.id != INTERMEDIATE_RESPONSE {
        return Err(Malformed::new(format!("{WHAT}: not an IntermediateResponse")));
    }
    let (mut name, mut value) = (None, None);
    for part in ber::children(message, WHAT)? {
        match (part.class, part.id) {
            (TagClass::Context, 0) if name.is_none() => name = Some(ber::primitive(part, WHAT)?),
            (TagClass::Context, 1) if value.is_none() => value = Some(ber::primitive(part, WHAT)?),
            _ => return Err(Malformed::new(format!("{WHAT}: unexpected element [{}]", part.id))),
        }
    }
    if name.as_deref() != Some(SYNC_INFO_OID.as_bytes()) {
        return Ok(None);
    }
    let Some(value) = value else {
        return Err(Malformed::new(format!("{WHAT}: no value")));
    };
    let tag = ber::parse_whole(&value, WHAT)?;
    if tag.class != TagClass::Context {
        return Err(Malformed::new(format!("{WHAT}: not a context-specific choice")));
    }
    let info = match (tag.id, tag.payload) {
        (0, PL::P(cookie)) => SyncInfoValue::NewCookie(cookie),
        (1, PL::C(parts)) => {
            let (cookie, refresh_done, uuids) = cookie_flag_uuids(parts, true, false, WHAT)?;
            no_uuids(uuids, WHAT)?;
            SyncInfoValue::RefreshDelete { cookie, refresh_done }
        }
        (2, PL::C(parts)) => {
            let (cookie, refresh_done, uuids) = cookie_flag_uuids(parts, true, false, WHAT)?;
            no_uuids(uuids, WHAT)?;
            SyncInfoValue::RefreshPresent { cookie, refresh_done }
        }
        (3, PL::C(parts)) => {
            let (cookie, refresh_deletes, uuids) = cookie_flag_uuids(parts, false, true, WHAT)?;
            let Some(entry_uuids) = uuids else {
                return Err(Malformed::new(format!("{WHAT}: syncIdSet without syncUUIDs")));
            };
            SyncInfoValue::SyncIdSet { cookie, refresh_deletes, entry_uuids }
        }
        (id, _) => return Err(Malformed::new(format!("{WHAT}: unknown or misshapen choice [{id}]"))),
    };
    Ok(Some(info))
}

fn no_uuids(uuids: Option<Vec<String>>, what: &str) -> Result<(), Malformed> {
    match uuids {
        None => Ok(()),
        Some(_) => Err(Malformed::new(format!("{what}: a SET of UUIDs outside syncIdSet"))),
    }
}

/// `cookie OCTET STRING OPTIONAL, flag BOOLEAN DEFAULT <default>[, SET OF syncUUID]`, in that
/// order, each at most once (`with_set`: the SET is allowed, and required by the caller).
type CookieFlagUuids = (Option<Vec<u8>>, bool, Option<Vec<String>>);

fn cookie_flag_uuids(
    parts: Vec<StructureTag>,
    default: bool,
    with_set: bool,
    what: &str,
) -> Result<CookieFlagUuids, Malformed> {
    let (mut cookie, mut flag, mut uuids) = (None, None, None);
    // Elements must come in this order: 0 cookie, 1 flag, 2 set.
    let mut next_allowed = 0;
    for part in parts {
        let position = if ber::is_universal(&part, ber::OCTET_STRING) {
            0
        } else if ber::is_universal(&part, ber::BOOLEAN) {
            1
        } else if with_set && ber::is_universal(&part, ber::SET) {
            2
        } else {
            return Err(Malformed::new(format!("{what}: unexpected element (tag {})", part.id)));
        };
        if position < next_allowed {
            return Err(Malformed::new(format!("{what}: elements out of order")));
        }
        next_allowed = position + 1;
        match position {
            0 => cookie = Some(ber::primitive(part, what)?),
            1 => flag = Some(ber::boolean(&ber::primitive(part, what)?, what)?),
            _ => {
                let mut list = Vec::new();
                for item in ber::children(part, what)? {
                    if !ber::is_universal(&item, ber::OCTET_STRING) {
                        return Err(Malformed::new(format!("{what}: a syncUUID that is not an OCTET STRING")));
                    }
                    list.push(uuid(&ber::primitive(item, what)?, what)?);
                }
                uuids = Some(list);
            }
        }
    }
    Ok((cookie, flag.unwrap_or(default), uuids))
}

fn uuid(bytes: &[u8], what: &str) -> Result<String, Malformed> {
    uuid_text(bytes).ok_or_else(|| Malformed::new(format!("{what}: a syncUUID of {} bytes (not 16)", bytes.len())))
}

#[cfg(test)]
mod tests {
    use ldap3::controls::ControlParser;

    use super::*;

    const UUID: [u8; 16] =
        [0x8b, 0xf2, 0x6a, 0x7e, 0x4a, 0x1c, 0x10, 0x3d, 0x9b, 0x0e, 0x5f, 0x3f, 0xa1, 0xb2, 0xc3, 0xd4];
    const UUID_TEXT: &str = "8bf26a7e-4a1c-103d-9b0e-5f3fa1b2c3d4";

    /// One BER element (short lengths only: the test values are small).
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag, u8::try_from(content.len()).unwrap()];
        out.extend_from_slice(content);
        out
    }

    fn state_value(state: u8, uuid: &[u8], cookie: Option<&[u8]>) -> Vec<u8> {
        let mut inner = tlv(0x0a, &[state]);
        inner.extend(tlv(0x04, uuid));
        if let Some(c) = cookie {
            inner.extend(tlv(0x04, c));
        }
        tlv(0x30, &inner)
    }

    fn intermediate(value: Vec<u8>) -> StructureTag {
        StructureTag {
            class: TagClass::Application,
            id: INTERMEDIATE_RESPONSE,
            payload: PL::C(vec![
                StructureTag { class: TagClass::Context, id: 0, payload: PL::P(SYNC_INFO_OID.as_bytes().to_vec()) },
                StructureTag { class: TagClass::Context, id: 1, payload: PL::P(value) },
            ]),
        }
    }

    #[test]
    fn sync_state_with_and_without_cookie() {
        let v = sync_state(&state_value(1, &UUID, None)).unwrap();
        assert_eq!(v, SyncStateValue { state: EntryState::Add, entry_uuid: UUID_TEXT.into(), cookie: None });
        let v = sync_state(&state_value(3, &UUID, Some(b"rid=000,csn=1"))).unwrap();
        assert_eq!(v.state, EntryState::Delete);
        assert_eq!(v.cookie.as_deref(), Some(&b"rid=000,csn=1"[..]));
        assert_eq!(sync_state(&state_value(0, &UUID, None)).unwrap().state, EntryState::Present);
        assert_eq!(sync_state(&state_value(2, &UUID, None)).unwrap().state, EntryState::Modify);
    }

    #[test]
    fn sync_done_defaults_refresh_deletes_to_false() {
        assert_eq!(sync_done(&tlv(0x30, &[])).unwrap(), SyncDoneValue { cookie: None, refresh_deletes: false });
        let mut inner = tlv(0x04, b"c");
        inner.extend(tlv(0x01, &[0xff]));
        assert_eq!(
            sync_done(&tlv(0x30, &inner)).unwrap(),
            SyncDoneValue { cookie: Some(b"c".to_vec()), refresh_deletes: true }
        );
    }

    #[test]
    fn sync_info_choices() {
        assert_eq!(sync_info(intermediate(tlv(0x80, b"ck"))).unwrap(), Some(SyncInfoValue::NewCookie(b"ck".to_vec())));
        // refreshDelete [1] with only a cookie: refreshDone defaults to TRUE.
        assert_eq!(
            sync_info(intermediate(tlv(0xa1, &tlv(0x04, b"ck")))).unwrap(),
            Some(SyncInfoValue::RefreshDelete { cookie: Some(b"ck".to_vec()), refresh_done: true })
        );
        // refreshPresent [2] with refreshDone FALSE.
        assert_eq!(
            sync_info(intermediate(tlv(0xa2, &tlv(0x01, &[0])))).unwrap(),
            Some(SyncInfoValue::RefreshPresent { cookie: None, refresh_done: false })
        );
        // syncIdSet [3]: refreshDeletes TRUE, two UUIDs.
        let mut set = tlv(0x04, &UUID);
        set.extend(tlv(0x04, &[0; 16]));
        let mut inner = tlv(0x01, &[1]);
        inner.extend(tlv(0x31, &set));
        assert_eq!(
            sync_info(intermediate(tlv(0xa3, &inner))).unwrap(),
            Some(SyncInfoValue::SyncIdSet {
                cookie: None,
                refresh_deletes: true,
                entry_uuids: vec![UUID_TEXT.into(), "00000000-0000-0000-0000-000000000000".into()],
            })
        );
        // Without the flag, refreshDeletes defaults to FALSE (present entries).
        let only_set = tlv(0x31, &tlv(0x04, &UUID));
        assert!(matches!(
            sync_info(intermediate(tlv(0xa3, &only_set))).unwrap(),
            Some(SyncInfoValue::SyncIdSet { refresh_deletes: false, .. })
        ));
    }

    #[test]
    fn another_extensions_intermediate_message_is_not_ours() {
        let mut message = intermediate(vec![]);
        if let PL::C(parts) = &mut message.payload {
            parts[0].payload = PL::P(b"1.2.3.4".to_vec());
        }
        assert_eq!(sync_info(message), Ok(None));
    }

    /// Values ldap3's own parsers panic on: ours say Malformed (the guard the channel relies on).
    #[test]
    fn malformed_values_are_errors_where_ldap3_panics() {
        let bad_states: Vec<Vec<u8>> = vec![
            vec![],
            vec![0x30],
            vec![0x30, 0x05, 0x0a],
            state_value(9, &UUID, None),
            state_value(1, &UUID[..15], None),
            tlv(0x30, &tlv(0x0a, &[1])),
            tlv(0x04, &UUID),
            {
                let mut v = state_value(1, &UUID, None);
                v.push(0);
                v
            },
        ];
        for bad in &bad_states {
            assert!(sync_state(bad).is_err(), "{bad:02x?}");
        }
        // ldap3's parser on the same: it panics for the unknown state (among others).
        let ldap3_panics = std::panic::catch_unwind(|| {
            <ldap3::controls::SyncState as ControlParser>::parse(&state_value(9, &UUID, None))
        });
        assert!(ldap3_panics.is_err(), "ldap3's SyncState parser no longer panics: the guard may be revisited");

        for bad in [tlv(0x30, &tlv(0x02, &[1])), tlv(0x30, &tlv(0x01, &[1, 1])), vec![0xff]] {
            assert!(sync_done(&bad).is_err(), "{bad:02x?}");
        }
        for bad in [
            vec![],
            tlv(0x04, b"x"),
            tlv(0xa4, &[]),
            tlv(0xa0, &[]),
            tlv(0x81, b"x"),
            tlv(0xa3, &tlv(0x01, &[1])),
            tlv(0xa3, &tlv(0x31, &tlv(0x04, b"short"))),
            tlv(0xa1, &{
                let mut v = tlv(0x01, &[1]);
                v.extend(tlv(0x04, b"ck"));
                v
            }),
        ] {
            assert!(sync_info(intermediate(bad.clone())).is_err(), "{bad:02x?}");
        }
    }
}
