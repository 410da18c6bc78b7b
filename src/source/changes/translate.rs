//! PURE: what one syncrepl message means — a SearchResultEntry with its Sync State
//! control, a Sync Info intermediate message, or the SearchResultDone that ends the session —
//! as [`ChangeEvent`]s or the [`ChangeError`] that ends the channel.

use ldap3::asn1::{StructureTag, TagClass};
use ldap3::controls::Control;

use super::ber::Malformed;
use super::sync_controls::{self, EntryState, SyncInfoValue};
use super::{ChangeError, ChangeEvent, SearchKind};
use crate::source::ldap::to_raw_entry;

/// LDAPMessage tags (RFC 4511): SearchResultEntry, SearchResultReference.
const SEARCH_RESULT_ENTRY: u64 = 4;
const SEARCH_RESULT_REFERENCE: u64 = 19;

/// e-syncRefreshRequired (RFC 4533 §2.5): the server cannot resume from the cookie.
pub(super) const RC_REFRESH_REQUIRED: u32 = 4096;
const RC_UNAVAILABLE_CRITICAL_EXTENSION: u32 = 12;
const RC_PROTOCOL_ERROR: u32 = 2;
const RC_UNWILLING_TO_PERFORM: u32 = 53;
/// Codes a server ends a search with when it is going away or overloaded: try again later.
const RC_TRANSIENT: &[u32] = &[3, 11, 51, 52, 80];

/// The events one message of the search carries, in order (a cookie after what it covers).
pub(super) fn message_events(
    search: SearchKind,
    tag: StructureTag,
    controls: &[Control],
) -> Result<Vec<ChangeEvent>, Malformed> {
    if tag.class != TagClass::Application {
        return Err(Malformed::new(format!("a message with a non-application tag [{}]", tag.id)));
    }
    match tag.id {
        SEARCH_RESULT_ENTRY => entry_events(search, tag, controls),
        sync_controls::INTERMEDIATE_RESPONSE => Ok(match sync_controls::sync_info(tag)? {
            Some(info) => info_events(search, info),
            None => Vec::new(),
        }),
        // Referrals to other servers are not followed (as in a full read).
        SEARCH_RESULT_REFERENCE => Ok(Vec::new()),
        other => Err(Malformed::new(format!("an unexpected message (application tag {other})"))),
    }
}

fn entry_events(search: SearchKind, tag: StructureTag, controls: &[Control]) -> Result<Vec<ChangeEvent>, Malformed> {
    let value = controls
        .iter()
        .find(|c| c.1.ctype == sync_controls::SYNC_STATE_OID)
        .ok_or_else(|| Malformed::new("an entry without a Sync State control"))?
        .1
        .val
        .as_deref()
        .ok_or_else(|| Malformed::new("a Sync State control without a value"))?;
    let state = sync_controls::sync_state(value)?;
    let entry = to_raw_entry(tag).ok_or_else(|| Malformed::new("a malformed SearchResultEntry"))?;
    let entry_uuid = state.entry_uuid;
    let mut events = vec![match state.state {
        EntryState::Delete => ChangeEvent::Gone { search, entry_uuid, dn: Some(entry.dn).filter(|dn| !dn.is_empty()) },
        // Present without attributes: unchanged since the cookie, named so the present phase
        // can tell it from a deleted one.
        EntryState::Present if entry.attrs.is_empty() => {
            ChangeEvent::IdSet { search, entry_uuids: vec![entry_uuid], deleted: false }
        }
        EntryState::Present | EntryState::Add | EntryState::Modify => ChangeEvent::Upsert { search, entry_uuid, entry },
    }];
    events.extend(state.cookie.map(|cookie| ChangeEvent::Cookie { search, cookie }));
    Ok(events)
}

fn info_events(search: SearchKind, info: SyncInfoValue) -> Vec<ChangeEvent> {
    let mut events = Vec::new();
    let cookie = match info {
        SyncInfoValue::NewCookie(cookie) => Some(cookie),
        SyncInfoValue::RefreshDelete { cookie, refresh_done } => {
            events.extend(refresh_done.then_some(ChangeEvent::RefreshDone { search }));
            cookie
        }
        SyncInfoValue::RefreshPresent { cookie, refresh_done } => {
            events.push(ChangeEvent::PresentPhaseDone { search });
            events.extend(refresh_done.then_some(ChangeEvent::RefreshDone { search }));
            cookie
        }
        SyncInfoValue::SyncIdSet { cookie, refresh_deletes, entry_uuids } => {
            events.push(ChangeEvent::IdSet { search, entry_uuids, deleted: refresh_deletes });
            cookie
        }
    };
    // The cookie covers the phase or set it came with, so it follows their events.
    events.extend(cookie.map(|cookie| ChangeEvent::Cookie { search, cookie }));
    events
}

/// How the session ended when the server sent SearchResultDone: the events still to hand
/// on (a final cookie) and the error that ends the channel (a refreshAndPersist search that
/// ends at all is over, whatever the code). `resumed`: the search carried a cookie — a
/// refusal is then the cookie's (slapd answers a cookie ahead of its own state with rc=53
/// "consumer state is newer than provider!"), and the way on is a refresh without it.
pub(super) fn done_events(
    search: SearchKind,
    resumed: bool,
    rc: u32,
    text: &str,
    controls: &[Control],
) -> (Vec<ChangeEvent>, ChangeError) {
    let detail = match text.trim() {
        "" => format!("rc={rc}"),
        text => format!("rc={rc} {text}"),
    };
    let mut events = Vec::new();
    let done = controls.iter().find(|c| c.1.ctype == sync_controls::SYNC_DONE_OID).and_then(|c| c.1.val.as_deref());
    if rc == 0
        && let Some(value) = done
    {
        match sync_controls::sync_done(value) {
            Ok(done) => events.extend(done.cookie.map(|cookie| ChangeEvent::Cookie { search, cookie })),
            Err(m) => return (events, m.into()),
        }
    }
    let error = match rc {
        RC_REFRESH_REQUIRED => ChangeError::RefreshRequired { detail: format!("e-syncRefreshRequired ({detail})") },
        RC_UNAVAILABLE_CRITICAL_EXTENSION => ChangeError::Unsupported {
            detail: format!("the server does not offer content synchronization on this base ({detail})"),
        },
        0 => ChangeError::Disconnected { detail: format!("the server ended the persistent search ({detail})") },
        RC_PROTOCOL_ERROR | RC_UNWILLING_TO_PERFORM if resumed => ChangeError::RefreshRequired {
            detail: format!("the server refused to resume from the stored cookie ({detail})"),
        },
        rc if RC_TRANSIENT.contains(&rc) => {
            ChangeError::Disconnected { detail: format!("the server ended the search ({detail})") }
        }
        _ => ChangeError::Refused { detail },
    };
    (events, error)
}

#[cfg(test)]
mod tests {
    use ldap3::asn1::PL;
    use ldap3::controls::RawControl;

    use super::*;

    const UUID: [u8; 16] = [0x11; 16];
    const UUID_TEXT: &str = "11111111-1111-1111-1111-111111111111";

    fn p(class: TagClass, id: u64, bytes: &[u8]) -> StructureTag {
        StructureTag { class, id, payload: PL::P(bytes.to_vec()) }
    }

    fn c(class: TagClass, id: u64, parts: Vec<StructureTag>) -> StructureTag {
        StructureTag { class, id, payload: PL::C(parts) }
    }

    fn entry(dn: &str, attrs: &[(&str, &str)]) -> StructureTag {
        let attributes = attrs
            .iter()
            .map(|(n, v)| {
                c(
                    TagClass::Universal,
                    16,
                    vec![
                        p(TagClass::Universal, 4, n.as_bytes()),
                        c(TagClass::Universal, 17, vec![p(TagClass::Universal, 4, v.as_bytes())]),
                    ],
                )
            })
            .collect();
        c(
            TagClass::Application,
            4,
            vec![p(TagClass::Universal, 4, dn.as_bytes()), c(TagClass::Universal, 16, attributes)],
        )
    }

    fn state_control(state: u8, cookie: Option<&[u8]>) -> Control {
        let mut inner = vec![0x0a, 1, state, 0x04, 16];
        inner.extend(UUID);
        if let Some(c) = cookie {
            inner.extend([0x04, u8::try_from(c.len()).unwrap()]);
            inner.extend(c);
        }
        let mut value = vec![0x30, u8::try_from(inner.len()).unwrap()];
        value.extend(inner);
        Control(None, RawControl { ctype: sync_controls::SYNC_STATE_OID.into(), crit: false, val: Some(value) })
    }

    const S: SearchKind = SearchKind::Users;

    #[test]
    fn an_added_entry_is_an_upsert_then_its_cookie() {
        let events =
            message_events(S, entry("uid=a,dc=x", &[("entryUUID", UUID_TEXT)]), &[state_control(1, Some(b"ck"))])
                .unwrap();
        match &events[..] {
            [ChangeEvent::Upsert { entry_uuid, entry, .. }, ChangeEvent::Cookie { cookie, .. }] => {
                assert_eq!(entry_uuid, UUID_TEXT);
                assert_eq!(entry.first_text("entryuuid"), Some(UUID_TEXT));
                assert_eq!(cookie, b"ck");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn delete_is_gone_and_bare_present_is_an_id() {
        let gone = message_events(S, entry("uid=a,dc=x", &[]), &[state_control(3, None)]).unwrap();
        assert_eq!(
            gone,
            vec![ChangeEvent::Gone { search: S, entry_uuid: UUID_TEXT.into(), dn: Some("uid=a,dc=x".into()) }]
        );
        let present = message_events(S, entry("uid=a,dc=x", &[]), &[state_control(0, None)]).unwrap();
        assert_eq!(
            present,
            vec![ChangeEvent::IdSet { search: S, entry_uuids: vec![UUID_TEXT.into()], deleted: false }]
        );
    }

    #[test]
    fn an_entry_without_its_control_is_malformed() {
        assert!(message_events(S, entry("uid=a,dc=x", &[("cn", "a")]), &[]).is_err());
        let mut empty = state_control(1, None);
        empty.1.val = None;
        assert!(message_events(S, entry("uid=a,dc=x", &[("cn", "a")]), &[empty]).is_err());
        assert!(message_events(S, p(TagClass::Application, 4, b"x"), &[state_control(1, None)]).is_err());
        assert!(message_events(S, p(TagClass::Application, 7, b""), &[]).is_err());
    }

    #[test]
    fn refresh_present_ends_the_present_phase_before_refresh_done_and_cookie() {
        // [2] { cookie "ck" } : refreshDone defaults to TRUE.
        let value = vec![0xa2, 4, 0x04, 2, b'c', b'k'];
        let message = c(
            TagClass::Application,
            25,
            vec![p(TagClass::Context, 0, sync_controls::SYNC_INFO_OID.as_bytes()), p(TagClass::Context, 1, &value)],
        );
        assert_eq!(
            message_events(S, message, &[]).unwrap(),
            vec![
                ChangeEvent::PresentPhaseDone { search: S },
                ChangeEvent::RefreshDone { search: S },
                ChangeEvent::Cookie { search: S, cookie: b"ck".to_vec() },
            ]
        );
    }

    #[test]
    fn how_a_session_ends() {
        let (events, error) = done_events(S, false, 4096, "", &[]);
        assert!(events.is_empty());
        assert!(matches!(error, ChangeError::RefreshRequired { .. }));
        assert!(matches!(done_events(S, false, 12, "", &[]).1, ChangeError::Unsupported { .. }));
        assert!(matches!(done_events(S, false, 52, "", &[]).1, ChangeError::Disconnected { .. }));
        assert!(matches!(done_events(S, false, 0, "", &[]).1, ChangeError::Disconnected { .. }));
        assert_eq!(
            done_events(S, false, 50, "no access", &[]).1,
            ChangeError::Refused { detail: "rc=50 no access".into() }
        );
        // Refused with a cookie: the cookie's fault, refresh without it; without one, refused.
        let newer = "consumer state is newer than provider!";
        assert!(matches!(done_events(S, true, 53, newer, &[]).1, ChangeError::RefreshRequired { .. }));
        assert!(matches!(done_events(S, false, 53, newer, &[]).1, ChangeError::Refused { .. }));
        assert!(matches!(done_events(S, true, 50, "", &[]).1, ChangeError::Refused { .. }));
        let done = Control(
            None,
            RawControl {
                ctype: sync_controls::SYNC_DONE_OID.into(),
                crit: false,
                val: Some(vec![0x30, 4, 0x04, 2, b'c', b'k']),
            },
        );
        let (events, _) = done_events(S, false, 0, "", &[done]);
        assert_eq!(events, vec![ChangeEvent::Cookie { search: S, cookie: b"ck".to_vec() }]);
    }
}
