//! LDAP / Active Directory source (ldap3): simple bind, LDAPS or StartTLS verified against
//! a CA file (which may pin a self-signed server certificate, `tls.rs`) or the system roots,
//! RFC 2696 paged searches streamed entry by entry, search references ignored, AD's ranged
//! attributes fetched whole, every network step under a timeout.
//!
//! The user read ([`Directory::stream`]) and the group searches ([`Directory::search`]) are
//! the same job for the reader thread: a list of searches run one after the other over one
//! connection and one bind (`reader.rs`). `entry.rs` parses the wire entries.
//!
//! Errors before the first entry that make a read impossible (unreachable, TLS, bind, base
//! DN, a filter that does not parse) are [`SourceError`]s; anything that stops the read after
//! it started is [`ReadEnd::Incomplete`], never a quietly shorter list.

mod entry;
pub mod lease;
mod reader;
mod tls;

// For the change channel (`source::changes`): the same connection, bind, entry parsing and
// ranged retrieval as a full read, so a change is read exactly as a cycle reads it.
pub(crate) use entry::to_raw_entry;
pub(crate) use reader::{Reader, connect};

use std::sync::Arc;

use ldap3::LdapConnSettings;

use super::{Directory, ReadEnd, SearchRequest, SearchScope, SourceError};
use crate::config::{DecodeRules, LdapConfig, TlsMode};
use crate::model::RawEntry;

pub struct LdapDirectory {
    config: LdapConfig,
    attributes: Vec<String>,
}

/// Entries handed from the reader thread to the caller in batches, so the thread hop costs
/// one wake-up per batch, not per entry.
const BATCH: usize = 256;
/// Batches in flight: bounds memory while letting decode overlap the next page.
const BATCHES_IN_FLIGHT: usize = 4;

/// What the reader thread sends: entries of the search with this index, then how it ended.
enum Message {
    Batch(usize, Vec<RawEntry>),
    End(Result<ReadEnd, SourceError>),
}

impl LdapDirectory {
    pub fn new(config: LdapConfig, rules: &DecodeRules) -> Self {
        Self { config, attributes: rules.requested_attributes() }
    }

    fn settings(&self) -> Result<LdapConnSettings, SourceError> {
        settings(&self.config)
    }

    /// Runs `searches` on the reader thread and hands their entries to `on_entry`.
    ///
    /// The LDAP conversation runs on a thread of its own with a single-threaded runtime:
    /// ldap3's connection driver and the search stream then share one thread (measured:
    /// about a quarter faster than hopping between a multi-thread runtime's workers), and
    /// the caller decodes a batch while the next one is read.
    async fn run(
        &self,
        searches: Vec<SearchRequest>,
        on_entry: &mut (dyn FnMut(usize, RawEntry) + Send),
    ) -> Result<ReadEnd, SourceError> {
        // ldap3 parses a filter only when it sends the search: checking all of them first
        // makes a bad one an error before anything is read, whichever request it is in.
        if let Some(bad) = searches.iter().find(|s| ldap3::parse_filter(&s.filter).is_err()) {
            return Err(SourceError::SearchRefused { detail: format!("filter {:?} does not parse", bad.filter) });
        }
        let settings = self.settings()?;
        let (tx, mut rx) = tokio::sync::mpsc::channel(BATCHES_IN_FLIGHT);
        let reader = Reader { config: self.config.clone(), searches };
        std::thread::Builder::new()
            .name("ldap-read".into())
            .spawn(move || {
                let end = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(runtime) => runtime.block_on(reader.read(settings, &tx)),
                    Err(e) => Err(SourceError::Internal { detail: format!("cannot start the LDAP reader: {e}") }),
                };
                let _ = tx.blocking_send(Message::End(end));
            })
            .map_err(|e| SourceError::Internal { detail: format!("cannot start the LDAP reader thread: {e}") })?;
        while let Some(message) = rx.recv().await {
            match message {
                Message::Batch(index, entries) => entries.into_iter().for_each(|entry| on_entry(index, entry)),
                Message::End(end) => return end,
            }
        }
        Ok(ReadEnd::Incomplete { reason: "the LDAP reader stopped without a result".into() })
    }
}

/// The connection settings for `config`: timeouts, StartTLS, the CA (or pinned certificate).
pub(crate) fn settings(config: &LdapConfig) -> Result<LdapConnSettings, SourceError> {
    let mut settings =
        LdapConnSettings::new().set_conn_timeout(config.connect_timeout).set_starttls(config.tls == TlsMode::StartTls);
    if let Some(ca) = &config.ca_file {
        let tls = tls::client_config(ca, &config.url)
            .map_err(|detail| SourceError::Tls { url: config.url.clone(), detail })?;
        settings = settings.set_config(Arc::new(tls));
    }
    Ok(settings)
}

impl Directory for LdapDirectory {
    async fn stream(&self, on_entry: &mut (dyn FnMut(RawEntry) + Send)) -> Result<ReadEnd, SourceError> {
        let users = SearchRequest {
            base: self.config.base_dn.clone(),
            scope: SearchScope::Subtree,
            filter: self.config.user_filter.clone(),
            attributes: self.attributes.clone(),
        };
        self.run(vec![users], &mut |_, entry| on_entry(entry)).await
    }

    async fn search(
        &self,
        requests: &[SearchRequest],
        on_entry: &mut (dyn FnMut(usize, RawEntry) + Send),
    ) -> Result<ReadEnd, SourceError> {
        if requests.is_empty() {
            return Ok(ReadEnd::Complete);
        }
        self.run(requests.to_vec(), on_entry).await
    }

    fn describe(&self) -> String {
        let tls = match self.config.tls {
            TlsMode::Ldaps => "LDAPS",
            TlsMode::StartTls => "StartTLS",
            TlsMode::Plain => "no TLS",
        };
        format!("{} ({tls}), base {}, filter {}", self.config.url, self.config.base_dn, self.config.user_filter)
    }
}
