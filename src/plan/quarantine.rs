//! PURE: the failure ladders: per object, and for the whole connector.
//!
//! Per object: After `QUARANTINE_AFTER` consecutive failures an
//! object is quarantined and retried on a growing ladder (next cycle, 6 h, 12 h, 24 h),
//! unless its source data changes or an operator releases it.

use super::Op;
use crate::model::{ConnectorQuarantine, FailureClass, FailureRecord, UnixTime};

pub const QUARANTINE_AFTER: u32 = 3;
/// Delay before the next attempt once quarantined, by quarantined attempt (last repeats).
pub const LADDER: [UnixTime; 4] = [0, 6 * 3600, 12 * 3600, 24 * 3600];

/// The record after one more failure of `op` at `now`.
pub fn record_failure(
    previous: Option<&FailureRecord>,
    op: &Op,
    error: &str,
    class: FailureClass,
    now: UnixTime,
) -> FailureRecord {
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
        class,
        first_failed: previous.filter(|_| same_source).map_or(now, |p| p.first_failed),
        last_failed: now,
        next_attempt: now + delay,
        source_fingerprint: op.fingerprint,
        quarantined,
    }
}

/// Whole-connector quarantine after a cycle: a fatal error, or at least 10 failed
/// operations making up more than half of those attempted, moves the job onto the ladder;
/// a cycle without either lifts it.
pub fn connector_after(
    previous: Option<&ConnectorQuarantine>,
    fatal: Option<&str>,
    failed: usize,
    attempted: usize,
    now: UnixTime,
) -> Option<ConnectorQuarantine> {
    let reason = match fatal {
        Some(f) => f.to_string(),
        None if failed >= 10 && failed * 2 > attempted => format!("{failed} of {attempted} operations failed"),
        None => return None,
    };
    let consecutive = previous.map_or(0, |p| p.consecutive) + 1;
    let step = (consecutive as usize - 1).min(LADDER.len() - 1);
    Some(ConnectorQuarantine {
        reason,
        since: previous.map_or(now, |p| p.since),
        consecutive,
        next_attempt: now + LADDER[step],
    })
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
            let r = record_failure(rec.as_ref(), &op(1), "rejected", FailureClass::Rejected, 1000 * t);
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
        let changed = record_failure(rec.as_ref(), &op(2), "rejected", FailureClass::Rejected, 9000);
        assert_eq!((changed.attempts, changed.quarantined, changed.first_failed), (1, false, 9000));
    }

    #[test]
    fn connector_ladder_and_lift() {
        assert_eq!(connector_after(None, None, 3, 4, 0), None, "few failures: no quarantine");
        let first = connector_after(None, Some("fatal: bad credentials"), 0, 0, 100).unwrap();
        assert_eq!((first.consecutive, first.next_attempt), (1, 100));
        let second = connector_after(Some(&first), None, 20, 30, 200).unwrap();
        assert_eq!((second.consecutive, second.since, second.next_attempt), (2, 100, 200 + 6 * 3600));
        assert!(second.reason.contains("20 of 30"));
        let mut last = second;
        for _ in 0..5 {
            last = connector_after(Some(&last), Some("fatal"), 0, 0, 300).unwrap();
        }
        assert_eq!(last.next_attempt, 300 + 24 * 3600);
        assert_eq!(connector_after(Some(&last), None, 0, 10, 400), None, "a good cycle lifts it");
    }
}
