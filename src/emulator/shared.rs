//! State shared by the request handlers, the control endpoints and [`RunningEmulator`]
//! (super::RunningEmulator): one short-lived std mutex per concern, never held across an
//! await, so injected latency never serialises requests.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use super::auth::Tokens;
use super::config::{Credentials, EmulatorConfig, FaultConfig, Knobs, RateLimit};
use super::log::RequestLog;
use super::ratelimit::Limiter;
use super::state::Store;

/// Locks a mutex, recovering the data if a panicking thread poisoned it (the data is still
/// consistent: every critical section is a few plain assignments).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub struct Shared {
    pub creds: Credentials,
    /// `http://127.0.0.1:PORT`
    pub origin: String,
    /// The configuration at start, for `reset_all`.
    pub start: EmulatorConfig,
    knobs: RwLock<Arc<Knobs>>,
    pub store: Mutex<Store>,
    pub tokens: Mutex<Tokens>,
    pub rate_limit: Mutex<RateLimit>,
    pub limiter: Mutex<Limiter>,
    pub faults: Mutex<FaultConfig>,
    pub log: Mutex<RequestLog>,
    /// Users with a write in flight (only tracked while latency is injected).
    pub busy: Mutex<HashSet<String>>,
}

impl Shared {
    pub fn new(config: EmulatorConfig, origin: String) -> Self {
        let store = Store::new(config.owner_user_name.as_deref(), config.knobs.ids_with_ampersand);
        Self {
            creds: config.credentials.clone(),
            origin,
            knobs: RwLock::new(Arc::new(config.knobs.clone())),
            store: Mutex::new(store),
            tokens: Mutex::new(Tokens::default()),
            rate_limit: Mutex::new(config.rate_limit.clone()),
            limiter: Mutex::new(Limiter::new(&config.rate_limit)),
            faults: Mutex::new(config.faults.clone()),
            log: Mutex::new(RequestLog::new(config.request_log_capacity)),
            busy: Mutex::new(HashSet::new()),
            start: config,
        }
    }

    /// A cheap snapshot of the knobs for one request.
    pub fn knobs(&self) -> Arc<Knobs> {
        self.knobs.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub fn set_knobs(&self, knobs: Knobs) -> Result<(), String> {
        knobs.validate()?;
        lock(&self.store).ids_with_ampersand = knobs.ids_with_ampersand;
        *self.knobs.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(knobs);
        Ok(())
    }

    /// Replaces the rate limit and starts with full buckets and zero daily counters.
    pub fn set_rate_limit(&self, rate: RateLimit) {
        *lock(&self.limiter) = Limiter::new(&rate);
        *lock(&self.rate_limit) = rate;
    }

    pub fn set_faults(&self, faults: FaultConfig) -> Result<(), String> {
        faults.validate()?;
        *lock(&self.faults) = faults;
        Ok(())
    }

    /// Fresh account data (default group, owner), empty log, full buckets. Knobs, faults,
    /// rate-limit settings and tokens stay, unless `all`, which restores the start config.
    pub fn reset(&self, all: bool) {
        if all {
            let start = self.start.clone();
            *self.knobs.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(start.knobs.clone());
            *lock(&self.faults) = start.faults.clone();
            *lock(&self.rate_limit) = start.rate_limit.clone();
            lock(&self.tokens).expire_all();
        }
        let knobs = self.knobs();
        *lock(&self.store) = Store::new(self.start.owner_user_name.as_deref(), knobs.ids_with_ampersand);
        let rate = lock(&self.rate_limit).clone();
        *lock(&self.limiter) = Limiter::new(&rate);
        lock(&self.log).clear();
        lock(&self.busy).clear();
    }
}

/// Marks a user as having a write in flight; unmarks on drop (also when the request future
/// is dropped with its connection).
pub struct BusyGuard {
    shared: Arc<Shared>,
    id: String,
}

impl BusyGuard {
    /// `None` if another write to this user is in flight.
    pub fn acquire(shared: &Arc<Shared>, id: &str) -> Option<Self> {
        lock(&shared.busy).insert(id.to_string()).then(|| Self { shared: shared.clone(), id: id.to_string() })
    }
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        lock(&self.shared.busy).remove(&self.id);
    }
}
