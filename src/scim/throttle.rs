//! Spending Zoom's rate budget: one governor bucket per rate-limit label, a bound on
//! requests in flight, and slowing down when Zoom says the budget is short.
//!
//! The budget is the account's, shared with every other app, and the server's bucket is the
//! one that counts. So our buckets allow almost no burst (the server keeps its burst as
//! headroom for delay jitter and other apps); a 429 halves our rate for a while (down to
//! 1/16) and closes the label until `Retry-After`; an `X-RateLimit-Remaining` of 0 closes
//! it for one server refill interval. Decisions are pure functions; the state is small.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{Semaphore, SemaphorePermit};

use super::metric_names::THROTTLE_WAIT_SECONDS;
use crate::config::RateLimit;

/// Zoom's rate-limit label of an operation. Users: get/create/put/patch/delete are Light,
/// lists Medium. Groups (undocumented except the list) follow the emulator's choice: get
/// and delete Light, list, create and patch Medium.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    Light,
    Medium,
}

/// Most halvings after repeated 429s (1/16 of the configured rate).
pub const MAX_SLOWDOWN: u32 = 4;
/// Quiet time after which one halving is undone.
pub const RECOVERY: Duration = Duration::from_secs(10);

/// The configured rate divided by 2^level.
pub fn slowed_rate(configured: f64, level: u32) -> f64 {
    configured / f64::from(1u32 << level.min(MAX_SLOWDOWN))
}

/// How long to hold a label after an answer said `remaining` of `limit` per second are
/// left: nothing while there are tokens, one refill interval when there are none.
pub fn low_remaining_pause(remaining: Option<u32>, limit: Option<u32>) -> Option<Duration> {
    match (remaining?, limit?) {
        (0, limit) if limit > 0 => Some(Duration::from_secs_f64(1.0 / f64::from(limit))),
        _ => None,
    }
}

fn limiter(rate: f64) -> Arc<DefaultDirectRateLimiter> {
    let rate = if rate.is_finite() && rate > 0.0 { rate } else { 1.0 };
    let period = Duration::from_secs_f64(1.0 / rate).max(Duration::from_micros(1));
    let quota =
        Quota::with_period(period).unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN)).allow_burst(NonZeroU32::MIN);
    Arc::new(RateLimiter::direct(quota))
}

struct LabelState {
    configured: f64,
    level: u32,
    changed: Instant,
    limiter: Arc<DefaultDirectRateLimiter>,
    /// No request of this label starts before this instant.
    closed_until: Option<Instant>,
}

impl LabelState {
    fn new(configured: f64) -> Self {
        Self { configured, level: 0, changed: Instant::now(), limiter: limiter(configured), closed_until: None }
    }

    fn set_level(&mut self, level: u32, now: Instant) {
        if level != self.level {
            self.level = level;
            self.limiter = limiter(slowed_rate(self.configured, level));
            tracing::info!(rate_per_second = slowed_rate(self.configured, level), "SCIM request rate adjusted");
        }
        self.changed = now;
    }

    fn close_for(&mut self, wait: Duration, now: Instant) {
        let until = now + wait;
        if self.closed_until.is_none_or(|c| c < until) {
            self.closed_until = Some(until);
        }
    }
}

/// Rate buckets plus the in-flight bound. Shared by all requests of one client.
pub struct Throttle {
    light: Mutex<LabelState>,
    medium: Mutex<LabelState>,
    slots: Semaphore,
}

/// What an answer said about the budget.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Feedback {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub remaining: Option<u32>,
    pub limit: Option<u32>,
}

impl Throttle {
    pub fn new(rate: &RateLimit, max_concurrency: usize) -> Self {
        Self {
            light: Mutex::new(LabelState::new(rate.light_per_second)),
            medium: Mutex::new(LabelState::new(rate.medium_per_second)),
            slots: Semaphore::new(max_concurrency.max(1)),
        }
    }

    fn state(&self, label: Label) -> std::sync::MutexGuard<'_, LabelState> {
        match label {
            Label::Light => &self.light,
            Label::Medium => &self.medium,
        }
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for a slot, for the label to open and for a rate token. Hold the permit for
    /// the attempt only (not across backoff sleeps).
    pub async fn admit(&self, label: Label) -> Option<SemaphorePermit<'_>> {
        let started = Instant::now();
        let permit = self.slots.acquire().await.ok();
        loop {
            let (closed, limiter) = {
                let s = self.state(label);
                (s.closed_until, Arc::clone(&s.limiter))
            };
            if let Some(until) = closed
                && until > Instant::now()
            {
                tokio::time::sleep_until(tokio::time::Instant::from_std(until)).await;
                continue;
            }
            limiter.until_ready().await;
            // A 429 may have closed the label while we waited for the token.
            if self.state(label).closed_until.is_none_or(|u| u <= Instant::now()) {
                break;
            }
        }
        metrics::histogram!(THROTTLE_WAIT_SECONDS).record(started.elapsed().as_secs_f64());
        permit
    }

    /// Adjusts the label after an answer.
    pub fn observe(&self, label: Label, fb: Feedback) {
        let now = Instant::now();
        let mut s = self.state(label);
        if fb.status == 429 {
            let next = (s.level + 1).min(MAX_SLOWDOWN);
            s.set_level(next, now);
            let wait = fb.retry_after.unwrap_or_else(|| Duration::from_secs_f64(1.0 / slowed_rate(s.configured, next)));
            // A daily-limit Retry-After (hours) must not stall the process: the request loop
            // pauses the cycle instead (and does not pass such a wait on); as a safety,
            // hold the label for at most a minute.
            s.close_for(wait.min(Duration::from_secs(60)), now);
            return;
        }
        if let Some(pause) = low_remaining_pause(fb.remaining, fb.limit) {
            s.close_for(pause, now);
        }
        if s.level > 0 && now.duration_since(s.changed) >= RECOVERY {
            let prev = s.level - 1;
            s.set_level(prev, now);
        }
    }

    /// The current halving level of a label (0 = configured rate).
    pub fn slowdown(&self, label: Label) -> u32 {
        self.state(label).level
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slowdown_halves_and_stops_at_one_sixteenth() {
        assert_eq!(slowed_rate(80.0, 0), 80.0);
        assert_eq!(slowed_rate(80.0, 1), 40.0);
        assert_eq!(slowed_rate(80.0, 4), 5.0);
        assert_eq!(slowed_rate(80.0, 9), 5.0);
    }

    #[test]
    fn empty_remaining_pauses_one_refill() {
        assert_eq!(low_remaining_pause(Some(0), Some(50)), Some(Duration::from_millis(20)));
        assert_eq!(low_remaining_pause(Some(0), Some(1)), Some(Duration::from_secs(1)));
        assert_eq!(low_remaining_pause(Some(3), Some(50)), None);
        assert_eq!(low_remaining_pause(None, Some(50)), None);
        assert_eq!(low_remaining_pause(Some(0), Some(0)), None);
    }

    #[test]
    fn a_429_slows_the_label_and_closes_it() {
        let t = Throttle::new(&RateLimit { light_per_second: 10.0, medium_per_second: 5.0 }, 2);
        let fb = Feedback { status: 429, retry_after: Some(Duration::from_secs(2)), ..Feedback::default() };
        t.observe(Label::Light, fb);
        t.observe(Label::Light, fb);
        assert_eq!((t.slowdown(Label::Light), t.slowdown(Label::Medium)), (2, 0));
        let closed = t.state(Label::Light).closed_until.unwrap();
        assert!(closed > Instant::now() + Duration::from_secs(1));
        // a daily-limit Retry-After holds the label for a minute at most
        t.observe(Label::Medium, Feedback { retry_after: Some(Duration::from_secs(7200)), ..fb });
        let closed = t.state(Label::Medium).closed_until.unwrap();
        assert!(closed <= Instant::now() + Duration::from_secs(60));
    }
}
