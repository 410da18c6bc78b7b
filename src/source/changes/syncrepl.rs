//! RFC 4533 refreshAndPersist: one persistent search, the server's messages turned into
//! [`ChangeEvent`]s on a channel.
//!
//! One search per connection (the caller opens a second channel for groups): each search
//! has its own cookie, its own refresh and its own failure (e-syncRefreshRequired ends one
//! search, not the other), so one channel is one search whose state the caller keeps in one
//! place, and a reconnect restarts exactly the search that failed. A connection and a bind
//! more are cheap next to that.
//!
//! The search runs without a client timeout (a persistent search is quiet for as long as
//! the directory is); a connection that drops ends the stream (ldap3 reports the end of the
//! socket), which is [`ChangeError::Disconnected`].

use std::time::Duration;

use ldap3::controls::{MakeCritical, RefreshMode, SyncRequest};
use ldap3::{Ldap, LdapError, Scope, SearchStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::ds389::{Ds389Names, Naming};
use super::translate::{done_events, message_events};
use super::{ChangeError, ChangeEvent, ChangeSearch, SearchKind};
use crate::config::LdapConfig;
use crate::source::ldap::{self, to_raw_entry};
use crate::source::root_dse::{self, RootDse, ServerKind};

/// Attributes every syncrepl search asks for besides the caller's: the anchor the sync
/// controls name (entryUUID) and when the entry changed (both operational: named).
pub const SYNCREPL_ATTRIBUTES: &[&str] = &["entryUUID", "modifyTimestamp"];

/// Events read ahead of the caller. The server is not slowed by a slow caller beyond this
/// (ldap3 queues what arrives meanwhile), so it bounds only this hop.
const EVENTS_IN_FLIGHT: usize = 1024;

type Item = Result<ChangeEvent, ChangeError>;

/// A running refreshAndPersist search. Dropping it ends the search and closes the
/// connection.
pub struct SyncreplChannel {
    events: mpsc::Receiver<Item>,
    task: JoinHandle<()>,
    search: SearchKind,
    ended: bool,
}

impl SyncreplChannel {
    /// Connects, binds and starts the search, resuming from `cookie` when given (`None`: a
    /// full refresh). Errors before the search started are returned here; everything after
    /// comes from [`SyncreplChannel::next`].
    pub async fn open(
        config: &LdapConfig,
        search: ChangeSearch,
        cookie: Option<Vec<u8>>,
    ) -> Result<SyncreplChannel, ChangeError> {
        let settings = ldap::settings(config).map_err(ChangeError::Connect)?;
        let mut connection = ldap::connect(config, settings).await.map_err(ChangeError::Connect)?;
        let naming = naming(&mut connection, config, &search.base).await;
        let attributes = with_required(&search.attributes);
        let resumed = cookie.is_some();
        let control = SyncRequest { mode: RefreshMode::RefreshAndPersist, cookie, reload_hint: false }.critical();
        let stream = connection
            .with_controls(control)
            .streaming_search(&search.base, Scope::Subtree, &search.filter, attributes.clone())
            .await
            .map_err(|e| match e {
                LdapError::FilterParsing => {
                    ChangeError::Refused { detail: format!("filter {:?} does not parse", search.filter) }
                }
                other => ChangeError::Disconnected { detail: format!("the search could not start: {other}") },
            })?;
        let (tx, events) = mpsc::channel(EVENTS_IN_FLIGHT);
        let session = Session { search: search.kind, timeout: config.timeout, attributes, resumed, naming };
        let task = tokio::spawn(pump(connection, stream, session, tx));
        Ok(SyncreplChannel { events, task, search: search.kind, ended: false })
    }

    /// The next event. After an error the session is over (every later call says
    /// Disconnected): open a new channel as [`super::next_step`] says.
    pub async fn next(&mut self) -> Result<ChangeEvent, ChangeError> {
        if !self.ended {
            match self.events.recv().await {
                Some(Ok(event)) => return Ok(event),
                Some(Err(error)) => {
                    self.ended = true;
                    return Err(error);
                }
                None => self.ended = true,
            }
        }
        Err(ChangeError::Disconnected { detail: format!("the {:?} change channel has ended", self.search) })
    }

    /// Which search this channel watches.
    pub fn search(&self) -> SearchKind {
        self.search
    }
}

impl Drop for SyncreplChannel {
    fn drop(&mut self) {
        // Dropping the stream and the last handle ends ldap3's connection task, which
        // closes the socket: the server ends the persistent search with it.
        self.task.abort();
    }
}

/// The caller's attributes plus [`SYNCREPL_ATTRIBUTES`] (names compared without case).
fn with_required(attributes: &[String]) -> Vec<String> {
    let mut all = attributes.to_vec();
    for required in SYNCREPL_ATTRIBUTES {
        if !all.iter().any(|a| a.eq_ignore_ascii_case(required)) {
            all.push((*required).to_string());
        }
    }
    all
}

/// How the server names entries in its sync controls, from its root DSE (read on the
/// channel's own connection, as the service account): 389-ds names them by nsUniqueId
/// (`ds389.rs`). A root DSE that cannot be read says nothing: entryUUID, as RFC 4533 servers
/// other than 389-ds use.
async fn naming(connection: &mut Ldap, config: &LdapConfig, base: &str) -> Naming {
    let request = root_dse::request();
    let read = connection
        .with_timeout(config.timeout)
        .search(&request.base, Scope::Base, &request.filter, request.attributes)
        .await
        .and_then(ldap3::SearchResult::success);
    let server = match read {
        Ok((entries, _)) => entries
            .into_iter()
            .filter_map(|e| to_raw_entry(e.0))
            .find(|e| e.dn.trim().is_empty())
            .and_then(|e| RootDse::from_entry(&e).server()),
        Err(_) => None,
    };
    match server {
        Some(ServerKind::Ds389) => Naming::NsUniqueId(Ds389Names::new(base)),
        _ => Naming::EntryUuid,
    }
}

/// What the pump needs to know about its search.
struct Session {
    search: SearchKind,
    /// The client timeout of one plain read (the persistent search itself has none).
    timeout: Duration,
    /// What the search asked for (an entry read again is read with the same).
    attributes: Vec<String>,
    /// The search carried a cookie (see [`done_events`]).
    resumed: bool,
    naming: Naming,
}

/// Reads the stream to its end, handing on events, then the error that ended it.
async fn pump(
    connection: Ldap,
    mut stream: SearchStream<'static, String, Vec<String>>,
    mut session: Session,
    tx: mpsc::Sender<Item>,
) {
    // The handle the search was started from is kept for as long as the search runs, and
    // reads entries again on the same connection.
    let mut connection = connection;
    let search = session.search;
    let end = loop {
        let (events, error) = match stream.next().await {
            Ok(Some(message)) => match message_events(search, message.0, &message.1) {
                Ok(events) => (events, None),
                Err(malformed) => (Vec::new(), Some(malformed.into())),
            },
            Ok(None) => {
                let result = stream.finish().await;
                let (events, error) = done_events(search, session.resumed, result.rc, &result.text, &result.ctrls);
                (events, Some(error))
            }
            Err(e) => (Vec::new(), Some(ChangeError::Disconnected { detail: e.to_string() })),
        };
        match hand_on(events, &mut session, &mut connection, &tx).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(unplaced) => break unplaced,
        }
        if let Some(error) = error {
            break error;
        }
    };
    let _ = tx.send(Err(end)).await;
}

/// Sends `events` in order, each completed and placed (see `ds389.rs`); `Ok(false)` when
/// the receiver is gone, the error at the first event that fails (nothing after it is
/// sent: a later cookie must not be stored past a change that was not handed on).
async fn hand_on(
    events: Vec<ChangeEvent>,
    session: &mut Session,
    connection: &mut Ldap,
    tx: &mpsc::Sender<Item>,
) -> Result<bool, ChangeError> {
    for event in events {
        let event = match session.naming.needs_reread(&event) {
            true => match reread(connection, session, event).await? {
                Some(event) => event,
                None => continue,
            },
            false => event,
        };
        if tx.send(Ok(session.naming.place(event)?)).await.is_err() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The entry of an Upsert read again at its DN with the search's attributes (a Base search
/// on the channel's connection). `None` when it is no longer there: deleted or moved since,
/// which the persist phase reports in its turn.
async fn reread(
    connection: &mut Ldap,
    session: &Session,
    event: ChangeEvent,
) -> Result<Option<ChangeEvent>, ChangeError> {
    let ChangeEvent::Upsert { search, entry_uuid, entry } = event else { return Ok(Some(event)) };
    let what = format!("reading {:?} again (389-ds sent it without its operational attributes)", entry.dn);
    let ldap3::SearchResult(found, result) = connection
        .with_timeout(session.timeout)
        .search(&entry.dn, Scope::Base, "(objectClass=*)", session.attributes.clone())
        .await
        .map_err(|e| ChangeError::Disconnected { detail: format!("{what}: {e}") })?;
    const NO_SUCH_OBJECT: u32 = 32;
    match result.rc {
        0 => {}
        NO_SUCH_OBJECT => return Ok(None),
        rc => return Err(ChangeError::Disconnected { detail: format!("{what}: rc={rc} {}", result.text.trim()) }),
    }
    let fresh = found.into_iter().filter_map(|e| to_raw_entry(e.0)).next();
    Ok(fresh.map(|entry| ChangeEvent::Upsert { search, entry_uuid, entry }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_uuid_and_modify_timestamp_are_always_asked_for_once() {
        assert_eq!(with_required(&["uid".into()]), vec!["uid", "entryUUID", "modifyTimestamp"]);
        assert_eq!(with_required(&["entryuuid".into(), "mail".into()]), vec!["entryuuid", "mail", "modifyTimestamp"]);
    }
}
