//! Reading a syncrepl channel's events in tests, shared by `tests/ldap/changes.rs` (slapd)
//! and `tests/ds389/ds389_changes.rs` (389-ds): each wait is for an event, with a generous
//! ceiling, never a sleep for timing.

use std::time::Duration;

use zoomsync::source::changes::{ChangeError, ChangeEvent, SyncreplChannel};

/// How long one event may take to arrive.
pub const EVENT_WAIT: Duration = Duration::from_secs(20);

pub async fn next(channel: &mut SyncreplChannel) -> Result<ChangeEvent, ChangeError> {
    tokio::time::timeout(EVENT_WAIT, channel.next()).await.expect("no event within the wait")
}

/// Events up to and including the first that `stop` accepts.
pub async fn until(channel: &mut SyncreplChannel, stop: impl Fn(&ChangeEvent) -> bool) -> Vec<ChangeEvent> {
    let mut seen = Vec::new();
    loop {
        let event = next(channel).await.unwrap_or_else(|e| panic!("after {seen:#?}: {e}"));
        let done = stop(&event);
        seen.push(event);
        if done {
            return seen;
        }
    }
}

/// The refresh's events through RefreshDone and the cookie that follows it.
pub async fn refresh(channel: &mut SyncreplChannel) -> (Vec<ChangeEvent>, Vec<u8>) {
    let mut events = until(channel, |e| matches!(e, ChangeEvent::RefreshDone { .. })).await;
    if !matches!(events.last(), Some(ChangeEvent::Cookie { .. })) {
        events.extend(until(channel, |e| matches!(e, ChangeEvent::Cookie { .. })).await);
    }
    let Some(ChangeEvent::Cookie { cookie, .. }) = events.last() else { unreachable!() };
    let cookie = cookie.clone();
    (events, cookie)
}

/// The DNs (lower case) of the entries sent whole.
pub fn upserted(events: &[ChangeEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            ChangeEvent::Upsert { entry, .. } => Some(entry.dn.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}
