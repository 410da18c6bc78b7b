//! PURE: syncrepl events into batches for the worker, and when a batch is ready.
//!
//! Changes are gathered briefly (`QUIET`: the directory has been quiet that long) so a burst
//! becomes a few batches rather than one request round per entry, but never for long
//! (`MAX_WAIT` after the first, or `MAX_ENTRIES`), so a steady stream still flows.

use std::time::{Duration, Instant};

use crate::model::RawEntry;
use crate::source::changes::{ChangeEvent, SearchKind};
use crate::sync::{ChangeBatch, Departure};

/// Quiet time that ends a batch.
pub const QUIET: Duration = Duration::from_millis(500);
/// Longest a change waits for its batch to close.
pub const MAX_WAIT: Duration = Duration::from_secs(3);
/// Entries that close a batch at once.
pub const MAX_ENTRIES: usize = 500;

/// What the collected events ask of the worker.
#[derive(Debug, Default)]
pub struct Collected {
    pub batch: ChangeBatch,
    /// A cycle instead of a batch: group entries changed, or a present phase implied
    /// departures (only a whole read may conclude those, under the guards).
    pub needs_cycle: bool,
    /// The newest cookie per search, to store once this is applied.
    pub users_cookie: Option<Vec<u8>>,
    pub groups_cookie: Option<Vec<u8>>,
    /// Changes counted for `zoomsync_change_events_total`, by kind.
    pub counted: Vec<(&'static str, u64)>,
}

/// Gathers one session's events. In the initial refresh (no stored cookie) the entries
/// are not collected: the refresh is the whole directory, which a cycle reads anyway —
/// the cycle that runs once the refresh is done (`Collector::refreshed`).
#[derive(Debug)]
pub struct Collector {
    collected: Collected,
    first: Option<Instant>,
    last: Option<Instant>,
    /// Searches still in an initial refresh.
    refreshing: Vec<SearchKind>,
    refreshed: bool,
}

impl Collector {
    /// `refreshing`: the searches opened without a stored cookie.
    pub fn new(refreshing: Vec<SearchKind>) -> Self {
        Self { collected: Collected::default(), first: None, last: None, refreshing, refreshed: false }
    }

    pub fn push(&mut self, event: ChangeEvent, now: Instant) {
        let refreshing = |s: SearchKind, r: &[SearchKind]| r.contains(&s);
        match event {
            ChangeEvent::Cookie { search: SearchKind::Users, cookie } => self.collected.users_cookie = Some(cookie),
            ChangeEvent::Cookie { search: SearchKind::Groups, cookie } => self.collected.groups_cookie = Some(cookie),
            ChangeEvent::RefreshDone { search } if refreshing(search, &self.refreshing) => {
                self.refreshing.retain(|s| *s != search);
                self.refreshed = self.refreshing.is_empty();
            }
            ChangeEvent::RefreshDone { .. } => {}
            e if refreshing(search_of(&e), &self.refreshing) => {}
            ChangeEvent::Upsert { search: SearchKind::Users, entry, .. } => self.change(now, "change", |c| {
                c.batch.entries.retain(|e: &RawEntry| e.dn != entry.dn);
                c.batch.entries.push(entry);
            }),
            ChangeEvent::Gone { search: SearchKind::Users, entry_uuid, dn } => self.change(now, "delete", |c| {
                c.batch.gone.push(Departure { entry_uuid: Some(entry_uuid), dn, tombstone: None });
            }),
            ChangeEvent::IdSet { search: SearchKind::Users, entry_uuids, deleted: true } => {
                self.change(now, "delete", |c| {
                    let gone = entry_uuids.into_iter().map(|u| Departure { entry_uuid: Some(u), ..Default::default() });
                    c.batch.gone.extend(gone);
                })
            }
            ChangeEvent::IdSet { deleted: false, .. } | ChangeEvent::PresentPhaseDone { .. } => {
                self.change(now, "present", |c| c.needs_cycle = true)
            }
            // A group changed or left: memberships are the cycle's to work out.
            ChangeEvent::Upsert { .. } | ChangeEvent::Gone { .. } | ChangeEvent::IdSet { .. } => {
                self.change(now, "group", |c| c.needs_cycle = true)
            }
        }
    }

    fn change(&mut self, now: Instant, kind: &'static str, apply: impl FnOnce(&mut Collected)) {
        apply(&mut self.collected);
        match self.collected.counted.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => self.collected.counted.push((kind, 1)),
        }
        self.first.get_or_insert(now);
        self.last = Some(now);
    }

    /// The initial refresh is over and the server gave its cookie: a cycle must run (and
    /// then store the cookie) before any batch. Reported once.
    pub fn take_refreshed(&mut self) -> bool {
        if !self.refreshed || self.collected.users_cookie.is_none() {
            return false;
        }
        self.refreshed = false;
        true
    }

    /// Whether there is something to hand over, and it is time: quiet long enough, waited
    /// long enough, or big enough.
    pub fn ready(&self, now: Instant) -> bool {
        let (Some(first), Some(last)) = (self.first, self.last) else { return false };
        now.duration_since(last) >= QUIET
            || now.duration_since(first) >= MAX_WAIT
            || self.collected.batch.entries.len() >= MAX_ENTRIES
    }

    /// When [`Collector::ready`] turns true if nothing else arrives.
    pub fn deadline(&self) -> Option<Instant> {
        Some((self.last? + QUIET).min(self.first? + MAX_WAIT))
    }

    /// Hands over what was collected; the cookies stay for the next batch to carry on.
    pub fn take(&mut self) -> Collected {
        self.first = None;
        self.last = None;
        let users_cookie = self.collected.users_cookie.clone();
        let groups_cookie = self.collected.groups_cookie.clone();
        let mut out = std::mem::take(&mut self.collected);
        self.collected.users_cookie = users_cookie;
        self.collected.groups_cookie = groups_cookie;
        out.counted.sort();
        out
    }

    /// The newest cookies seen (for the cycle after the initial refresh).
    pub fn cookies(&self) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
        (self.collected.users_cookie.clone(), self.collected.groups_cookie.clone())
    }
}

fn search_of(event: &ChangeEvent) -> SearchKind {
    match event {
        ChangeEvent::Upsert { search, .. }
        | ChangeEvent::Gone { search, .. }
        | ChangeEvent::IdSet { search, .. }
        | ChangeEvent::PresentPhaseDone { search }
        | ChangeEvent::RefreshDone { search }
        | ChangeEvent::Cookie { search, .. } => *search,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upsert(dn: &str) -> ChangeEvent {
        ChangeEvent::Upsert { search: SearchKind::Users, entry_uuid: dn.into(), entry: RawEntry::new(dn) }
    }

    fn cookie(search: SearchKind, c: &str) -> ChangeEvent {
        ChangeEvent::Cookie { search, cookie: c.as_bytes().to_vec() }
    }

    #[test]
    fn the_initial_refresh_is_not_collected_and_ends_in_a_cycle() {
        let t = Instant::now();
        let mut c = Collector::new(vec![SearchKind::Users]);
        c.push(upsert("uid=a"), t);
        c.push(ChangeEvent::RefreshDone { search: SearchKind::Users }, t);
        assert!(!c.take_refreshed(), "no cookie yet");
        c.push(cookie(SearchKind::Users, "c1"), t);
        assert!(!c.ready(t + MAX_WAIT), "nothing collected");
        assert!(c.take_refreshed() && !c.take_refreshed(), "reported once");
        assert_eq!(c.cookies().0.as_deref(), Some(&b"c1"[..]));
        c.push(upsert("uid=b"), t);
        assert_eq!(c.take().batch.entries.len(), 1, "after the refresh, changes are collected");
    }

    #[test]
    fn a_batch_is_ready_when_quiet_after_a_long_wait_or_when_big() {
        let t = Instant::now();
        let mut c = Collector::new(vec![]);
        assert!(!c.ready(t + MAX_WAIT) && c.deadline().is_none(), "nothing to hand over");
        c.push(upsert("uid=a"), t);
        assert!(!c.ready(t + QUIET / 2));
        assert!(c.ready(t + QUIET));
        assert_eq!(c.deadline(), Some(t + QUIET));
        // A steady stream: never quiet, handed over after MAX_WAIT.
        let mut c = Collector::new(vec![]);
        let step = QUIET / 2;
        let mut now = t;
        while now < t + MAX_WAIT {
            assert!(!c.ready(now));
            c.push(upsert(&format!("uid={now:?}")), now);
            now += step;
        }
        assert!(c.ready(now));
        let mut c = Collector::new(vec![]);
        for i in 0..MAX_ENTRIES {
            c.push(upsert(&format!("uid={i}")), t);
        }
        assert!(c.ready(t), "big enough");
    }

    #[test]
    fn events_become_entries_departures_or_a_cycle() {
        let t = Instant::now();
        let mut c = Collector::new(vec![]);
        c.push(upsert("uid=a"), t);
        c.push(upsert("uid=a"), t);
        c.push(ChangeEvent::Gone { search: SearchKind::Users, entry_uuid: "u1".into(), dn: None }, t);
        let ids = vec!["u2".to_string(), "u3".to_string()];
        c.push(ChangeEvent::IdSet { search: SearchKind::Users, entry_uuids: ids, deleted: true }, t);
        c.push(cookie(SearchKind::Users, "c2"), t);
        let got = c.take();
        assert_eq!(got.batch.entries.len(), 1, "the same entry twice is sent once, as last seen");
        assert_eq!(got.batch.gone.len(), 3);
        assert!(!got.needs_cycle);
        assert_eq!(got.users_cookie.as_deref(), Some(&b"c2"[..]));
        assert_eq!(got.counted, vec![("change", 2), ("delete", 2)]);
        assert_eq!(c.take().users_cookie.as_deref(), Some(&b"c2"[..]), "the cookie carries on");

        let mut c = Collector::new(vec![]);
        c.push(ChangeEvent::PresentPhaseDone { search: SearchKind::Users }, t);
        assert!(c.take().needs_cycle, "departures concluded from a present phase: a cycle");
        c.push(upsert("cn=g").clone(), t);
        let mut g = Collector::new(vec![]);
        g.push(
            ChangeEvent::Upsert { search: SearchKind::Groups, entry_uuid: "g".into(), entry: RawEntry::new("cn=g") },
            t,
        );
        assert!(g.take().needs_cycle, "a group change: a cycle");
    }
}
