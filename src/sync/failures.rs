//! PURE: the per-object failure ladder. After `QUARANTINE_AFTER` consecutive failures an
//! object is quarantined and retried on a growing ladder (next cycle, 6 h, 12 h, 24 h),
//! unless its source data changes or an operator releases it.

use crate::plan::Op;
use crate::state::{FailureRecord, UnixTime};

pub const QUARANTINE_AFTER: u32 = 3;
/// Delay before the next attempt once quarantined, by quarantined attempt (last repeats).
pub const LADDER: [UnixTime; 4] = [0, 6 * 3600, 12 * 3600, 24 * 3600];

/// The record after one more failure of `op` at `now`.
pub fn record_failure(previous: Option<&FailureRecord>, op: &Op, error: &str, now: UnixTime) -> FailureRecord {
    let same_source = previous.is_some_and(|p| p.source_fingerprint == op.fingerprint);
    let attempts = if same_source { previous.map_or(0, |p| p.attempts) + 1 } else { 1 };
    let quarantined = attempts >= QUARANTINE_AFTER;
    let delay = if quarantined {
        let step = (attempts - QUARANTINE_AFTER) as usize;
        LADDER[step.min(LADDER.len() - 1)]
    } else {
        0
    };
    FailureRecord {
        anchor: op.anchor.clone(),
        dn: op.dn.clone(),
        user_name: op.user_name.clone(),
        attempts,
        last_error: error.to_string(),
        first_failed: previous.filter(|_| same_source).map_or(now, |p| p.first_failed),
        last_failed: now,
        next_attempt: now + delay,
        source_fingerprint: op.fingerprint,
        quarantined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Anchor;
    use crate::plan::Action;

    fn op(fp: u64) -> Op {
        Op {
            anchor: Anchor::new("a").unwrap(),
            dn: "uid=a".into(),
            user_name: "a@example.com".into(),
            action: Action::Create,
            zoom_id: None,
            desired: None,
            fingerprint: fp,
            reason: "",
        }
    }

    #[test]
    fn ladder_grows_then_repeats_daily() {
        let mut rec: Option<FailureRecord> = None;
        let mut delays = vec![];
        for t in 0..7 {
            let r = record_failure(rec.as_ref(), &op(1), "rejected", 1000 * t);
            delays.push((r.attempts, r.quarantined, r.next_attempt - r.last_failed));
            rec = Some(r);
        }
        assert_eq!(
            delays,
            vec![
                (1, false, 0),
                (2, false, 0),
                (3, true, 0),
                (4, true, 6 * 3600),
                (5, true, 12 * 3600),
                (6, true, 24 * 3600),
                (7, true, 24 * 3600),
            ]
        );
        assert_eq!(rec.as_ref().unwrap().first_failed, 0);
        let changed = record_failure(rec.as_ref(), &op(2), "rejected", 9000);
        assert_eq!((changed.attempts, changed.quarantined, changed.first_failed), (1, false, 9000));
    }
}
