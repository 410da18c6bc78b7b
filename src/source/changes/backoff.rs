//! PURE: what the caller does after a change channel or poll failed — the reconnect
//! policy in one table-tested function, so the daemon's loop only follows it.

use std::time::Duration;

use super::ChangeError;

/// The first wait before reconnecting; doubled per failure in a row.
const FIRST_WAIT: Duration = Duration::from_secs(1);
/// The longest wait: the scheduled cycles cover changes meanwhile.
const LONGEST_WAIT: Duration = Duration::from_secs(300);
/// Malformed messages in a row after which the channel is given up (a server that keeps
/// sending what we cannot read will not stop doing so).
const MALFORMED_LIMIT: u32 = 3;

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextStep {
    /// Wait, then open the channel again from the last stored cookie or position.
    Resume { after: Duration },
    /// Drop the cookie or position, run a full cycle, then open the channel without one
    /// (after the wait, when refreshes themselves keep failing).
    FullRefresh { after: Duration },
    /// Stop the change channel: scheduled cycles only, with the reason for logs and status.
    FallBack { reason: String },
}

/// PURE: the step after `error`, the `failures_in_a_row`-th (1 for the first) since the last
/// session that delivered an event.
pub fn next_step(error: &ChangeError, failures_in_a_row: u32) -> NextStep {
    let wait = |n: u32| wait_after(n);
    match error {
        // The first refresh right away; a refresh that keeps being refused backs off.
        ChangeError::RefreshRequired { .. } => {
            NextStep::FullRefresh { after: wait(failures_in_a_row.saturating_sub(1)) }
        }
        ChangeError::Disconnected { .. } | ChangeError::Connect(_) => {
            NextStep::Resume { after: wait(failures_in_a_row) }
        }
        ChangeError::Malformed { detail } if failures_in_a_row >= MALFORMED_LIMIT => NextStep::FallBack {
            reason: format!(
                "the server sent {failures_in_a_row} malformed change messages in a row, the last: {detail}"
            ),
        },
        ChangeError::Malformed { .. } => NextStep::Resume { after: wait(failures_in_a_row) },
        ChangeError::Unsupported { detail } | ChangeError::Refused { detail } => {
            NextStep::FallBack { reason: detail.clone() }
        }
    }
}

/// 0 → no wait; n → FIRST_WAIT × 2^(n−1), at most LONGEST_WAIT.
fn wait_after(n: u32) -> Duration {
    match n {
        0 => Duration::ZERO,
        n => FIRST_WAIT.saturating_mul(1u32.checked_shl(n - 1).unwrap_or(u32::MAX)).min(LONGEST_WAIT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceError;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn the_table() {
        let disconnected = ChangeError::Disconnected { detail: "eof".into() };
        let refresh = ChangeError::RefreshRequired { detail: "4096".into() };
        let malformed = ChangeError::Malformed { detail: "x".into() };
        let connect = ChangeError::Connect(SourceError::Unreachable { url: "u".into(), detail: "d".into() });
        let cases: Vec<(&ChangeError, u32, NextStep)> = vec![
            (&disconnected, 1, NextStep::Resume { after: secs(1) }),
            (&disconnected, 2, NextStep::Resume { after: secs(2) }),
            (&disconnected, 5, NextStep::Resume { after: secs(16) }),
            (&disconnected, 9, NextStep::Resume { after: secs(256) }),
            (&disconnected, 10, NextStep::Resume { after: secs(300) }),
            (&disconnected, 40, NextStep::Resume { after: secs(300) }),
            (&disconnected, u32::MAX, NextStep::Resume { after: secs(300) }),
            (&connect, 1, NextStep::Resume { after: secs(1) }),
            (&refresh, 1, NextStep::FullRefresh { after: secs(0) }),
            (&refresh, 2, NextStep::FullRefresh { after: secs(1) }),
            (&refresh, 4, NextStep::FullRefresh { after: secs(4) }),
            (&malformed, 1, NextStep::Resume { after: secs(1) }),
            (&malformed, 2, NextStep::Resume { after: secs(2) }),
        ];
        for (error, n, expected) in cases {
            assert_eq!(next_step(error, n), expected, "{error:?} #{n}");
        }
        assert!(matches!(next_step(&malformed, 3), NextStep::FallBack { reason } if reason.contains("3 malformed")));
        let unsupported = ChangeError::Unsupported { detail: "no syncprov".into() };
        assert_eq!(next_step(&unsupported, 1), NextStep::FallBack { reason: "no syncprov".into() });
        let refused = ChangeError::Refused { detail: "rc=50".into() };
        assert_eq!(next_step(&refused, 1), NextStep::FallBack { reason: "rc=50".into() });
    }
}
