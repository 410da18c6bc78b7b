//! The request log: counts of every request by route key and status (kept forever, until
//! reset) plus a bounded list of recent requests. Control endpoints are not logged, so a test
//! can assert exact numbers such as "2,000 creates and zero per-user GETs".

use std::collections::{BTreeMap, VecDeque};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::routes::Route;

/// Status key used for connections closed without a response.
pub const DROPPED: &str = "dropped";

/// One logged request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestRecord {
    pub seq: u64,
    pub method: String,
    /// Route key, e.g. `"GET /scim2/Users/{id}"`; unmatched requests are `"GET (unmatched)"`.
    pub route: String,
    pub path: String,
    pub query: Option<String>,
    /// `None` when the connection was dropped without a response.
    pub status: Option<u16>,
    pub unix_ms: u64,
    /// The app (OAuth client id) the request came from: its Basic credentials on the token
    /// endpoint, its bearer token's app elsewhere; `None` without either (or an unknown token).
    pub client_id: Option<String>,
}

/// Counts since start or the last reset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RequestCounts {
    pub total: u64,
    pub by_route: BTreeMap<String, u64>,
    /// Status code as text (`"201"`), or `"dropped"`.
    pub by_status: BTreeMap<String, u64>,
    pub by_route_status: BTreeMap<String, BTreeMap<String, u64>>,
}

impl RequestCounts {
    /// Requests on a route key such as `"POST /scim2/Users"`.
    pub fn key(&self, key: &str) -> u64 {
        self.by_route.get(key).copied().unwrap_or(0)
    }

    pub fn route(&self, route: Route) -> u64 {
        self.key(route.key())
    }

    pub fn status(&self, status: u16) -> u64 {
        self.by_status.get(&status.to_string()).copied().unwrap_or(0)
    }

    pub fn dropped(&self) -> u64 {
        self.by_status.get(DROPPED).copied().unwrap_or(0)
    }

    pub fn route_status(&self, route: Route, status: u16) -> u64 {
        self.by_route_status.get(route.key()).and_then(|m| m.get(&status.to_string())).copied().unwrap_or(0)
    }
}

pub struct RequestLog {
    counts: RequestCounts,
    recent: VecDeque<RequestRecord>,
    capacity: usize,
    next_seq: u64,
}

impl RequestLog {
    pub fn new(capacity: usize) -> Self {
        Self { counts: RequestCounts::default(), recent: VecDeque::new(), capacity, next_seq: 0 }
    }

    pub fn record(
        &mut self,
        method: &str,
        route: &str,
        path: &str,
        query: Option<&str>,
        status: Option<u16>,
        client_id: Option<String>,
    ) {
        self.next_seq += 1;
        let status_key = status.map_or_else(|| DROPPED.to_string(), |s| s.to_string());
        let c = &mut self.counts;
        c.total += 1;
        *c.by_route.entry(route.to_string()).or_default() += 1;
        *c.by_status.entry(status_key.clone()).or_default() += 1;
        *c.by_route_status.entry(route.to_string()).or_default().entry(status_key).or_default() += 1;
        if self.capacity == 0 {
            return;
        }
        if self.recent.len() == self.capacity {
            self.recent.pop_front();
        }
        let unix_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        self.recent.push_back(RequestRecord {
            seq: self.next_seq,
            method: method.to_string(),
            route: route.to_string(),
            path: path.to_string(),
            query: query.map(str::to_string),
            status,
            unix_ms,
            client_id,
        });
    }

    pub fn counts(&self) -> RequestCounts {
        self.counts.clone()
    }

    /// The last `limit` requests, oldest first.
    pub fn recent(&self, limit: usize) -> Vec<RequestRecord> {
        let skip = self.recent.len().saturating_sub(limit);
        self.recent.iter().skip(skip).cloned().collect()
    }

    pub fn clear(&mut self) {
        self.counts = RequestCounts::default();
        self.recent.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_route_and_status_and_ring_is_bounded() {
        let mut log = RequestLog::new(2);
        log.record("POST", Route::CreateUser.key(), "/scim2/Users", None, Some(201), Some("app".into()));
        log.record("POST", Route::CreateUser.key(), "/scim2/Users", None, Some(409), None);
        log.record("GET", Route::GetUser.key(), "/scim2/Users/x", None, None, None);
        let c = log.counts();
        assert_eq!((c.total, c.route(Route::CreateUser), c.route(Route::FilterUsers)), (3, 2, 0));
        assert_eq!((c.status(201), c.dropped(), c.route_status(Route::CreateUser, 409)), (1, 1, 1));
        let r = log.recent(10);
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].seq, 3);
        log.clear();
        assert_eq!(log.counts().total, 0);
    }
}
