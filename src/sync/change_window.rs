//! The change channel's applied removals over `safety.change_window`: what earlier
//! batches deactivated or deleted counts against the limits together with a new batch's.
//! In memory: a restart starts the window afresh (the scheduled cycle's own limit stays).

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use crate::model::UnixTime;

/// The change channel's applied removals, for the rolling window.
#[derive(Debug, Default)]
pub struct ChangeWindow {
    applied: Mutex<VecDeque<UnixTime>>,
}

impl ChangeWindow {
    /// Removals applied within `window` seconds before `now`.
    pub fn recent(&self, now: UnixTime, window: UnixTime) -> u64 {
        let mut applied = self.applied.lock().unwrap_or_else(PoisonError::into_inner);
        while applied.front().is_some_and(|t| now - *t >= window) {
            applied.pop_front();
        }
        applied.len() as u64
    }

    pub fn record(&self, now: UnixTime, removals: usize) {
        let mut applied = self.applied.lock().unwrap_or_else(PoisonError::into_inner);
        applied.extend(std::iter::repeat_n(now, removals));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_forgets_removals_older_than_it() {
        let w = ChangeWindow::default();
        w.record(100, 3);
        w.record(150, 2);
        assert_eq!(w.recent(160, 3600), 5);
        assert_eq!(w.recent(3700, 3600), 2, "the three at 100 are an hour old");
        assert_eq!(w.recent(3750, 3600), 0);
    }
}
