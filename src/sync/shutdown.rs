//! A shutdown request the cycle checks between operations: the operation in flight
//! finishes, nothing new starts. Besides the daemon's stop (SIGTERM), a [`WriteDeadline`]
//! ends the writing too: a standby's lease (`[lease]`) is only good until a time, and a
//! host that was frozen past it (SIGSTOP, a VM paused) must notice by the clock before its
//! next write, not wait for the task that renews the lease.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Clone)]
pub struct Shutdown {
    stop: Option<tokio::sync::watch::Receiver<bool>>,
    until: Option<WriteDeadline>,
}

impl Shutdown {
    pub fn new(rx: tokio::sync::watch::Receiver<bool>) -> Self {
        Self { stop: Some(rx), until: None }
    }

    /// A handle that never fires (one-shot commands, tests).
    pub fn never() -> Self {
        Self { stop: None, until: None }
    }

    /// Also requested once the wall clock reaches `until`.
    pub fn with_deadline(mut self, until: WriteDeadline) -> Self {
        self.until = Some(until);
        self
    }

    pub fn is_requested(&self) -> bool {
        self.stop.as_ref().is_some_and(|rx| *rx.borrow()) || self.deadline_passed()
    }

    /// Whether it is (only) the write deadline that ends the writing.
    pub fn deadline_passed(&self) -> bool {
        self.until.as_ref().is_some_and(WriteDeadline::passed)
    }
}

/// Until when (Unix milliseconds, wall clock) this process may write; shared between the
/// task that sets it and the cycles that check it. Starts closed.
#[derive(Clone, Debug)]
pub struct WriteDeadline(Arc<AtomicI64>);

impl Default for WriteDeadline {
    fn default() -> Self {
        Self(Arc::new(AtomicI64::new(i64::MIN)))
    }
}

impl WriteDeadline {
    /// Writing is allowed until `unix_ms`.
    pub fn open_until(&self, unix_ms: i64) {
        self.0.store(unix_ms, Ordering::Release);
    }

    /// No more writing.
    pub fn close(&self) {
        self.0.store(i64::MIN, Ordering::Release);
    }

    pub fn until_ms(&self) -> i64 {
        self.0.load(Ordering::Acquire)
    }

    /// Whether the clock has reached the deadline: no write may start.
    pub fn passed(&self) -> bool {
        now_ms() >= self.until_ms()
    }
}

/// The wall clock in Unix milliseconds.
fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_in_the_past_requests_the_stop_without_any_signal() {
        let (_tx, rx) = tokio::sync::watch::channel(false);
        let deadline = WriteDeadline::default();
        let shutdown = Shutdown::new(rx).with_deadline(deadline.clone());
        assert!(shutdown.is_requested(), "closed from the start");
        deadline.open_until(now_ms() + 60_000);
        assert!(!shutdown.is_requested());
        deadline.open_until(now_ms() - 1);
        assert!(shutdown.is_requested() && shutdown.deadline_passed());
        deadline.close();
        assert!(shutdown.is_requested());
        assert!(!Shutdown::never().is_requested());
    }
}
