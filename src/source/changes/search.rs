//! One connection for a whole poll: uSNChanged is counted per DC, so the root DSE, the
//! invocationID and the changed entries must all come from the same server — one
//! connection, not one per read (a name that resolves to several DCs would mix them).
//! Searches are paged, and ranged attributes are completed as in a full read.

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::controls::RawControl;
use ldap3::{Ldap, LdapError, Scope};

use super::ChangeError;
use crate::config::LdapConfig;
use crate::model::RawEntry;
use crate::source::ldap::{self, Reader, to_raw_entry};
use crate::source::range;

/// A bound connection, used for one poll.
pub(super) struct Session {
    ldap: Ldap,
    /// The full read's reader, for its ranged retrieval (AD `member;range=…`).
    reader: Reader,
}

impl Session {
    pub(super) async fn open(config: &LdapConfig) -> Result<Session, ChangeError> {
        let settings = ldap::settings(config).map_err(ChangeError::Connect)?;
        let ldap = ldap::connect(config, settings).await.map_err(ChangeError::Connect)?;
        Ok(Session { ldap, reader: Reader { config: config.clone(), searches: Vec::new() } })
    }

    fn config(&self) -> &LdapConfig {
        &self.reader.config
    }

    /// The entry at `dn` (Base scope) with `attributes`; `None` when there is none.
    pub(super) async fn base_entry(&mut self, dn: &str, attributes: &[&str]) -> Result<Option<RawEntry>, ChangeError> {
        let timeout = self.config().timeout;
        let ldap3::SearchResult(entries, result) = self
            .ldap
            .with_timeout(timeout)
            .search(dn, Scope::Base, "(objectClass=*)", attributes.to_vec())
            .await
            .map_err(|e| disconnected(&format!("reading {dn:?}"), e))?;
        if result.rc != 0 {
            return Err(ChangeError::Refused { detail: format!("reading {dn:?}: rc={} {}", result.rc, result.text) });
        }
        entries
            .into_iter()
            .next()
            .map(|e| to_raw_entry(e.0).ok_or_else(|| ChangeError::Malformed { detail: format!("the entry {dn:?}") }))
            .transpose()
    }

    /// Every entry of a paged subtree search (with `controls` on every page), ranged
    /// attributes completed.
    pub(super) async fn paged(
        &mut self,
        base: &str,
        filter: &str,
        attributes: &[String],
        controls: Vec<RawControl>,
    ) -> Result<Vec<RawEntry>, ChangeError> {
        let (timeout, page_size) = (self.config().timeout, self.config().page_size);
        let what = format!("the search under {base} for {filter}");
        let adapters: Vec<Box<dyn Adapter<'_, String, Vec<String>>>> =
            vec![Box::new(EntriesOnly::new()), Box::new(PagedResults::new(page_size))];
        let mut stream = self
            .ldap
            .with_controls(controls)
            .with_timeout(timeout)
            .streaming_search_with(adapters, base, Scope::Subtree, filter, attributes.to_vec())
            .await
            .map_err(|e| match e {
                LdapError::FilterParsing => {
                    ChangeError::Refused { detail: format!("{what}: the filter does not parse") }
                }
                e => disconnected(&what, e),
            })?;
        let mut entries = Vec::new();
        loop {
            match stream.next().await {
                Ok(Some(entry)) => {
                    let mut raw = to_raw_entry(entry.0)
                        .ok_or_else(|| ChangeError::Malformed { detail: format!("{what}: an entry") })?;
                    if range::has_ranged(&raw) {
                        // The session's own handle: the stream's carries the paging controls.
                        self.reader
                            .complete_ranges(&mut self.ldap, &mut raw)
                            .await
                            .map_err(|reason| ChangeError::Disconnected { detail: format!("{what}: {reason}") })?;
                    }
                    entries.push(raw);
                }
                Ok(None) => break,
                Err(e) => return Err(disconnected(&what, e)),
            }
        }
        let result = stream.finish().await;
        match result.rc {
            0 => Ok(entries),
            rc => Err(ChangeError::Refused { detail: format!("{what}: rc={rc} {}", result.text.trim()) }),
        }
    }

    /// One plain (unpaged) subtree search with `controls`: the entries and the result's
    /// controls (DirSync pages by its own cookie).
    pub(super) async fn with_controls(
        &mut self,
        base: &str,
        filter: &str,
        attributes: &[String],
        controls: Vec<RawControl>,
    ) -> Result<(Vec<RawEntry>, Vec<ldap3::controls::Control>), ChangeError> {
        let timeout = self.config().timeout;
        let what = format!("the search under {base} for {filter}");
        let ldap3::SearchResult(found, result) = self
            .ldap
            .with_controls(controls)
            .with_timeout(timeout)
            .search(base, Scope::Subtree, filter, attributes.to_vec())
            .await
            .map_err(|e| disconnected(&what, e))?;
        if result.rc != 0 {
            return Err(ChangeError::Refused { detail: format!("{what}: rc={} {}", result.rc, result.text.trim()) });
        }
        let mut entries = Vec::with_capacity(found.len());
        for entry in found {
            if entry.is_ref() || entry.is_intermediate() {
                continue;
            }
            entries.push(
                to_raw_entry(entry.0).ok_or_else(|| ChangeError::Malformed { detail: format!("{what}: an entry") })?,
            );
        }
        Ok((entries, result.ctrls))
    }

    pub(super) async fn close(mut self) {
        let _ = self.ldap.unbind().await;
    }
}

fn disconnected(what: &str, e: LdapError) -> ChangeError {
    ChangeError::Disconnected { detail: format!("{what}: {e}") }
}
