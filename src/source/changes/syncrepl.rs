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

use ldap3::controls::{MakeCritical, RefreshMode, SyncRequest};
use ldap3::{Ldap, LdapError, Scope, SearchStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::translate::{done_events, message_events};
use super::{ChangeError, ChangeEvent, ChangeSearch, SearchKind};
use crate::config::LdapConfig;
use crate::source::ldap;

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
        let attributes = with_required(&search.attributes);
        let resumed = cookie.is_some();
        let control = SyncRequest { mode: RefreshMode::RefreshAndPersist, cookie, reload_hint: false }.critical();
        let stream = connection
            .with_controls(control)
            .streaming_search(&search.base, Scope::Subtree, &search.filter, attributes)
            .await
            .map_err(|e| match e {
                LdapError::FilterParsing => {
                    ChangeError::Refused { detail: format!("filter {:?} does not parse", search.filter) }
                }
                other => ChangeError::Disconnected { detail: format!("the search could not start: {other}") },
            })?;
        let (tx, events) = mpsc::channel(EVENTS_IN_FLIGHT);
        let task = tokio::spawn(pump(connection, stream, search.kind, resumed, tx));
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

/// Reads the stream to its end, handing on events, then the error that ended it.
async fn pump(
    connection: Ldap,
    mut stream: SearchStream<'static, String, Vec<String>>,
    search: SearchKind,
    resumed: bool,
    tx: mpsc::Sender<Item>,
) {
    // The handle the search was started from is kept for as long as the search runs.
    let _connection = connection;
    let end = loop {
        match stream.next().await {
            Ok(Some(message)) => match message_events(search, message.0, &message.1) {
                Ok(events) => {
                    for event in events {
                        if tx.send(Ok(event)).await.is_err() {
                            return;
                        }
                    }
                }
                Err(malformed) => break malformed.into(),
            },
            Ok(None) => {
                let result = stream.finish().await;
                let (events, error) = done_events(search, resumed, result.rc, &result.text, &result.ctrls);
                for event in events {
                    if tx.send(Ok(event)).await.is_err() {
                        return;
                    }
                }
                break error;
            }
            Err(e) => break ChangeError::Disconnected { detail: e.to_string() },
        }
    };
    let _ = tx.send(Err(end)).await;
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
