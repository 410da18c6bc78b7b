//! The reader thread's side: connect, bind once, run each search paged over that one
//! connection, complete ranged attributes, and hand entries on in batches.

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, Scope};
use tokio::sync::mpsc::Sender;

use super::entry::to_raw_entry;
use super::{BATCH, Message};
use crate::config::{LdapConfig, TlsMode};
use crate::model::RawEntry;
use crate::source::range::{self, Pending};
use crate::source::{ReadEnd, SearchRequest, SearchScope, SourceError};

/// LDAP result codes we tell apart.
const RC_INVALID_CREDENTIALS: u32 = 49;
const RC_NO_SUCH_OBJECT: u32 = 32;
const RC_REFERRAL: u32 = 10;
const RC_TIME_LIMIT: u32 = 3;
const RC_SIZE_LIMIT: u32 = 4;
const RC_ADMIN_LIMIT: u32 = 11;

/// What the reader thread owns: the connection settings and the searches to run, in order.
pub(crate) struct Reader {
    pub(crate) config: LdapConfig,
    pub(crate) searches: Vec<SearchRequest>,
}

/// The batch being filled for the search under way, and how many entries were handed on
/// over the whole job (a failure before the first is an error, after it an incomplete read).
struct Out<'a> {
    tx: &'a Sender<Message>,
    index: usize,
    batch: Vec<RawEntry>,
    delivered: u64,
}

impl Out<'_> {
    /// Queues one entry; `false` when the caller stopped reading.
    async fn push(&mut self, entry: RawEntry) -> bool {
        self.delivered += 1;
        self.batch.push(entry);
        self.batch.len() < BATCH || self.flush().await
    }

    /// Sends what is queued (batches carry their search's index, so one is flushed at the
    /// end of each search); `false` when the caller stopped reading.
    async fn flush(&mut self) -> bool {
        if self.batch.is_empty() {
            return true;
        }
        let full = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        self.tx.send(Message::Batch(self.index, full)).await.is_ok()
    }

    /// `error` if nothing was handed on yet (the read never started), else `Incomplete`.
    fn stopped(&self, error: SourceError, reason: String) -> Result<ReadEnd, SourceError> {
        if self.delivered == 0 { Err(error) } else { Ok(ReadEnd::Incomplete { reason }) }
    }
}

fn consumer_gone() -> ReadEnd {
    ReadEnd::Incomplete { reason: "the caller stopped reading".into() }
}

impl Reader {
    pub(super) async fn read(self, settings: LdapConnSettings, tx: &Sender<Message>) -> Result<ReadEnd, SourceError> {
        let mut ldap = self.connect(settings).await?;
        let mut out = Out { tx, index: 0, batch: Vec::with_capacity(BATCH), delivered: 0 };
        for (index, request) in self.searches.iter().enumerate() {
            out.index = index;
            let end = self.search(&mut ldap, index, request, &mut out).await;
            if !out.flush().await {
                return Ok(consumer_gone());
            }
            match end? {
                ReadEnd::Complete => {}
                incomplete => return Ok(incomplete),
            }
        }
        let _ = ldap.unbind().await;
        Ok(ReadEnd::Complete)
    }

    /// Connects and binds (anonymously when no bind DN is configured).
    async fn connect(&self, settings: LdapConnSettings) -> Result<Ldap, SourceError> {
        connect(&self.config, settings).await
    }

    /// How a search is named in reasons: the user read has one, group reads several.
    fn label(&self, index: usize, request: &SearchRequest) -> String {
        match self.searches.len() {
            1 => format!("the search under {}", request.base),
            n => format!("search {} of {n} (under {}, filter {})", index + 1, request.base, request.filter),
        }
    }

    /// One paged search, its entries queued on `out`.
    async fn search(
        &self,
        ldap: &mut Ldap,
        index: usize,
        request: &SearchRequest,
        out: &mut Out<'_>,
    ) -> Result<ReadEnd, SourceError> {
        let cfg = &self.config;
        let what = self.label(index, request);
        let scope = match request.scope {
            SearchScope::Base => Scope::Base,
            SearchScope::Subtree => Scope::Subtree,
        };
        let adapters: Vec<Box<dyn Adapter<'_, String, Vec<String>>>> =
            vec![Box::new(EntriesOnly::new()), Box::new(PagedResults::new(cfg.page_size))];
        let started = ldap
            .with_timeout(cfg.timeout)
            .streaming_search_with(adapters, &request.base, scope, &request.filter, request.attributes.clone())
            .await;
        let mut stream = match started {
            Ok(stream) => stream,
            Err(LdapError::FilterParsing) => {
                let detail = format!("filter {:?} does not parse", request.filter);
                return out.stopped(SourceError::SearchRefused { detail: detail.clone() }, format!("{what}: {detail}"));
            }
            Err(e) => {
                let reason = format!("{what} could not start: {e}");
                return out.stopped(connect_error(cfg, e), reason);
            }
        };
        let mut seen: u64 = 0;
        loop {
            match stream.next().await {
                Ok(Some(entry)) => {
                    let Some(mut raw) = to_raw_entry(entry.0) else {
                        let _ = stream.finish().await;
                        return Ok(ReadEnd::Incomplete {
                            reason: format!("{what}: malformed entry from the server after {seen} entries"),
                        });
                    };
                    if range::has_ranged(&raw)
                        && let Err(reason) = self.complete_ranges(ldap, &mut raw).await
                    {
                        let _ = stream.finish().await;
                        return Ok(ReadEnd::Incomplete { reason: format!("{what}: {reason}") });
                    }
                    seen += 1;
                    if !out.push(raw).await {
                        return Ok(consumer_gone());
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    return Ok(ReadEnd::Incomplete { reason: format!("{what} stopped after {seen} entries: {e}") });
                }
            }
        }
        let result = stream.finish().await;
        match result.rc {
            0 => Ok(ReadEnd::Complete),
            RC_NO_SUCH_OBJECT if seen == 0 => out.stopped(
                SourceError::BaseDnNotFound { base_dn: request.base.clone() },
                format!("{what}: the base {} does not exist", request.base),
            ),
            RC_REFERRAL if seen == 0 => out.stopped(
                SourceError::SearchRefused {
                    detail: format!("the server referred the search elsewhere; is {} on this server?", request.base),
                },
                format!("{what}: the server referred the search elsewhere"),
            ),
            rc => Ok(ReadEnd::Incomplete {
                reason: format!("{what}: {}", ended_early(rc, &result.text, seen, cfg.page_size)),
            }),
        }
    }

    /// Fetches the rest of every ranged attribute of `entry` (Base searches on its DN over
    /// the same connection, while the outer search waits) and merges the values under the
    /// plain names. The reason names the DN and the attribute.
    pub(crate) async fn complete_ranges(&self, ldap: &mut Ldap, entry: &mut RawEntry) -> Result<(), String> {
        let mut pending = range::normalize(entry).map_err(|e| format!("entry {}: {e}", entry.dn))?;
        let dn = entry.dn.clone();
        while let Some(p) = pending.pop() {
            let failed = |e: String| format!("ranged retrieval of {} of {dn} stopped: {e}", p.attribute);
            let reply = self.fetch(ldap, &dn, &p).await.map_err(failed)?;
            if let Some(next) = range::absorb(entry, &p, reply).map_err(failed)? {
                pending.push(next);
            }
        }
        Ok(())
    }

    /// One follow-up: the entry at `dn` with only `pending`'s next chunk.
    async fn fetch(&self, ldap: &mut Ldap, dn: &str, pending: &Pending) -> Result<RawEntry, String> {
        let attribute = pending.request();
        let ldap3::SearchResult(entries, result) = ldap
            .with_timeout(self.config.timeout)
            .search(dn, Scope::Base, "(objectClass=*)", vec![attribute.as_str()])
            .await
            .map_err(|e| format!("asking for {attribute}: {e}"))?;
        if result.rc != 0 {
            return Err(with_text(format!("asking for {attribute}: rc={}", result.rc), &result.text));
        }
        let mut entries = entries.into_iter();
        match (entries.next(), entries.next()) {
            (Some(entry), None) => {
                to_raw_entry(entry.0).ok_or_else(|| format!("asking for {attribute}: malformed entry"))
            }
            (None, _) => Err(format!("asking for {attribute}: the entry is gone")),
            (Some(_), Some(_)) => Err(format!("asking for {attribute}: a Base search returned several entries")),
        }
    }
}

/// Connects and binds (anonymously when no bind DN is configured); the connection is driven
/// on the current runtime.
pub(crate) async fn connect(cfg: &LdapConfig, settings: LdapConnSettings) -> Result<Ldap, SourceError> {
    if cfg.tls == TlsMode::Plain {
        tracing::warn!(url = %cfg.url, "directory.insecure = true: LDAP without TLS, the bind password travels in clear");
    }
    let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &cfg.url).await.map_err(|e| connect_error(cfg, e))?;
    ldap3::drive!(conn);
    if let Some(bind) = &cfg.bind {
        let result = ldap
            .with_timeout(cfg.timeout)
            .simple_bind(&bind.dn, bind.password.expose())
            .await
            .map_err(|e| connect_error(cfg, e))?;
        match result.rc {
            0 => {}
            RC_INVALID_CREDENTIALS => return Err(SourceError::InvalidCredentials { bind_dn: bind.dn.clone() }),
            rc => {
                return Err(SourceError::BindFailed {
                    bind_dn: bind.dn.clone(),
                    detail: with_text(format!("rc={rc}"), &result.text),
                });
            }
        }
    }
    Ok(ldap)
}

/// `head`, and the server's diagnostic text after a blank when it sent one.
fn with_text(head: String, text: &str) -> String {
    match text.trim() {
        "" => head,
        text => format!("{head} {text}"),
    }
}

/// Why the server ended a search early, in the operator's terms: which limit was hit and
/// what to change. A size limit met within the first page may be one counted per page
/// (389-ds: a page as large as the limit stops at it, a smaller one does not); one reached
/// after whole pages counts the whole search (OpenLDAP's `size.prtotal`), where smaller pages
/// do not help. A page size above OpenLDAP's `size.pr`
/// is refused before any entry (rc=11).
fn ended_early(rc: u32, text: &str, seen: u64, page_size: i32) -> String {
    let result = |name: &str| match text.trim() {
        "" => format!("rc={rc} {name}"),
        text => format!("rc={rc} {name}: {text}"),
    };
    match rc {
        RC_SIZE_LIMIT if seen <= u64::try_from(page_size).unwrap_or(0) => format!(
            "the server's size limit stopped it after {seen} entries ({}), within the first page \
             (directory.page_size = {page_size}): a limit counted per page (389-ds: nsslapd-sizelimit or \
             nsslapd-pagedsizelimit, or nsSizeLimit / nsPagedSizeLimit on the bind account) is avoided with a \
             page_size below {seen}; a limit on the whole search (OpenLDAP: limits ... size.prtotal) must be \
             raised for the bind account",
            result("sizeLimitExceeded")
        ),
        RC_SIZE_LIMIT => format!(
            "the server's size limit for the whole search stopped it after {seen} entries, read in pages of \
             directory.page_size = {page_size} ({}): smaller pages do not help; raise the size limit for the bind \
             account (OpenLDAP: limits ... size.prtotal or size.hard; 389-ds: nsSizeLimit / nsPagedSizeLimit on the \
             account, or nsslapd-sizelimit; AD: MaxResultSetSize)",
            result("sizeLimitExceeded")
        ),
        RC_ADMIN_LIMIT if seen == 0 => format!(
            "the server refused page size {page_size} ({}): lower directory.page_size to the server's per-page \
             limit (OpenLDAP: limits ... size.pr; AD: MaxPageSize), or raise that limit for the bind account",
            result("adminLimitExceeded")
        ),
        RC_ADMIN_LIMIT => format!(
            "an administrative limit of the server stopped it after {seen} entries ({}): raise it for the bind \
             account (389-ds: nsslapd-lookthroughlimit or nsLookThroughLimit on the account), or narrow user_filter",
            result("adminLimitExceeded")
        ),
        RC_TIME_LIMIT => format!(
            "the server's time limit stopped it after {seen} entries ({}): raise the time limit for the bind \
             account (OpenLDAP: limits ... time; 389-ds: nsslapd-timelimit or nsTimeLimit on the account)",
            result("timeLimitExceeded")
        ),
        rc => format!("the server ended it after {seen} entries with {}", with_text(format!("rc={rc}"), text)),
    }
}

/// Maps a connect or bind-time error to what the operator should fix.
fn connect_error(cfg: &LdapConfig, e: LdapError) -> SourceError {
    let url = cfg.url.clone();
    match e {
        LdapError::Rustls { source } => SourceError::Tls { url, detail: super::tls::describe(&source) },
        LdapError::DNSName { source } => SourceError::Tls { url, detail: source.to_string() },
        LdapError::Io { source } => match source.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
            Some(tls) => SourceError::Tls { url, detail: super::tls::describe(tls) },
            None => SourceError::Unreachable { url, detail: source.to_string() },
        },
        LdapError::Timeout { .. } => SourceError::Unreachable { url, detail: "timed out".into() },
        LdapError::LdapResult { result } if cfg.tls == TlsMode::StartTls => SourceError::Tls {
            url,
            detail: format!("StartTLS refused by the server: rc={} {}", result.rc, result.text),
        },
        other => SourceError::Unreachable { url, detail: other.to_string() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_is_named_with_what_to_change_and_no_stray_blank() {
        let per_page = ended_early(RC_SIZE_LIMIT, "", 150, 500);
        assert!(per_page.contains("after 150 entries (rc=4 sizeLimitExceeded)"), "{per_page}");
        assert!(per_page.contains("page_size below 150"), "{per_page}");
        assert!(ended_early(RC_SIZE_LIMIT, "", 500, 500).contains("within the first page"));
        let whole = ended_early(RC_SIZE_LIMIT, " ", 100, 40);
        assert!(whole.contains("whole search") && whole.contains("smaller pages do not help"), "{whole}");
        assert!(!whole.contains("  ") && !whole.contains("exceeded )"), "{whole}");
        let refused = ended_early(RC_ADMIN_LIMIT, "illegal pagedResults page size", 0, 500);
        assert!(refused.contains("refused page size 500 (rc=11 adminLimitExceeded: illegal pagedResults page size)"));
        assert_eq!(ended_early(51, "", 7, 500), "the server ended it after 7 entries with rc=51");
        assert_eq!(ended_early(51, "busy", 7, 500), "the server ended it after 7 entries with rc=51 busy");
    }
}
