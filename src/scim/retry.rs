//! PURE: every retry decision of the SCIM client, as plain functions of their inputs.
//!
//! The client's request loop is the only place that retries; it asks [`decide`] after each
//! retryable failure and sleeps for what it answers. Time comes in as arguments (elapsed
//! time, the wall clock for `Retry-After` dates, a jitter draw), so tests need no sleeping.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Why an attempt is repeated; the `reason` label of `zoomsync_http_retries_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryReason {
    /// No answer within the request timeout.
    Timeout,
    /// The TCP/TLS connection could not be opened.
    Connect,
    /// The connection broke before a complete answer (dropped, reset).
    Connection,
    /// A 5xx answer.
    ServerError,
    /// A 429 answer.
    RateLimited,
    /// A 401: the token was renewed once and the attempt repeated.
    Unauthorized,
    /// The OAuth token endpoint itself failed temporarily.
    Token,
}

impl RetryReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RetryReason::Timeout => "timeout",
            RetryReason::Connect => "connect",
            RetryReason::Connection => "connection",
            RetryReason::ServerError => "5xx",
            RetryReason::RateLimited => "429",
            RetryReason::Unauthorized => "401",
            RetryReason::Token => "token",
        }
    }
}

/// Limits on retrying. `Default` suits Zoom: a handful of attempts, seconds of backoff,
/// a few minutes per operation and a quarter of an hour per cycle, so a sick target turns
/// into `ScimError::Retryable` (and the engine's quarantine) instead of an endless cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per operation, the first one included.
    pub max_attempts: u32,
    /// First backoff ceiling; doubles per retry.
    pub base_delay: Duration,
    /// Largest backoff ceiling.
    pub max_delay: Duration,
    /// Longest server-requested wait (`Retry-After`) honoured inside one operation; a longer
    /// one (Zoom's daily limit: until 00:00 UTC) pauses the cycle (`ScimError::Paused`).
    pub max_retry_after: Duration,
    /// Time one operation may spend from its first attempt until a retry would start.
    pub per_request: Duration,
    /// Total retry time all operations of one cycle may spend (reset by `begin_cycle`):
    /// backoff sleeps, attempts that timed out, and failed token fetches.
    pub per_cycle: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
            per_request: Duration::from_secs(180),
            per_cycle: Duration::from_secs(900),
        }
    }
}

/// Exponential backoff with full jitter: uniform in `0..=min(max_delay, base * 2^retry)`.
/// `jitter` is a draw in `0.0..1.0` (clamped), so the caller owns the randomness.
pub fn backoff(policy: &RetryPolicy, retry: u32, jitter: f64) -> Duration {
    let ceiling = policy.base_delay.saturating_mul(1u32 << retry.min(20)).min(policy.max_delay);
    ceiling.mul_f64(jitter.clamp(0.0, 1.0))
}

/// What the request loop does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Sleep this long, then try again.
    Retry(Duration),
    /// Stop and return `ScimError::Retryable` with this hint and reason.
    GiveUp { retry_after: Option<Duration>, why: &'static str },
    /// The server asked for a wait longer than the client waits (a daily limit): stop the
    /// cycle for this long (`ScimError::Paused`).
    Pause(Duration),
}

/// Where one operation stands when an attempt failed retryably.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempts {
    /// Attempts made so far (at least 1).
    pub made: u32,
    /// Time since the first attempt started.
    pub elapsed: Duration,
    /// Retry time already spent by the whole cycle (see [`CycleBudget`]).
    pub cycle_spent: Duration,
}

/// Decides after a retryable failure. `server_wait` is a parsed `Retry-After`; without one
/// the wait is [`backoff`] with the given jitter draw.
pub fn decide(policy: &RetryPolicy, at: Attempts, server_wait: Option<Duration>, jitter: f64) -> Decision {
    if let Some(wait) = server_wait
        && wait > policy.max_retry_after
    {
        return Decision::Pause(wait);
    }
    if at.made >= policy.max_attempts {
        return Decision::GiveUp { retry_after: server_wait, why: "attempts exhausted" };
    }
    let wait = server_wait.unwrap_or_else(|| backoff(policy, at.made.saturating_sub(1), jitter));
    if at.elapsed.saturating_add(wait) > policy.per_request {
        return Decision::GiveUp { retry_after: server_wait, why: "per-operation retry time exhausted" };
    }
    if at.cycle_spent.saturating_add(wait) > policy.per_cycle {
        return Decision::GiveUp { retry_after: server_wait, why: "per-cycle retry time exhausted" };
    }
    Decision::Retry(wait)
}

/// How long until the next 00:00 UTC, when Zoom's daily limits reset (a daily-limit 429
/// without `Retry-After` pauses until then). Never zero: at midnight itself, a whole day.
pub fn until_utc_midnight(now: SystemTime) -> Duration {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let into_day = Duration::new(since_epoch.as_secs() % 86_400, since_epoch.subsec_nanos());
    Duration::from_secs(86_400) - into_day
}

/// Retry time spent by all operations of the current cycle; shared by concurrent requests.
/// Once a wait has been refused the budget counts as exhausted until [`reset`](Self::reset),
/// so the rest of the cycle fails fast instead of squeezing in ever smaller waits.
#[derive(Debug, Default)]
pub struct CycleBudget {
    spent_ms: AtomicU64,
    exhausted: AtomicBool,
}

impl CycleBudget {
    pub fn reset(&self) {
        self.spent_ms.store(0, Ordering::Relaxed);
        self.exhausted.store(false, Ordering::Relaxed);
    }

    pub fn spent(&self) -> Duration {
        Duration::from_millis(self.spent_ms.load(Ordering::Relaxed))
    }

    /// What [`decide`] should see as spent: everything, once the budget is exhausted.
    pub fn spent_for_decision(&self) -> Duration {
        if self.exhausted.load(Ordering::Relaxed) { Duration::MAX } else { self.spent() }
    }

    pub fn mark_exhausted(&self) {
        self.exhausted.store(true, Ordering::Relaxed);
    }

    /// Books `wait` if the total stays within `cap`; otherwise books nothing, marks the
    /// budget exhausted and returns false.
    pub fn try_spend(&self, wait: Duration, cap: Duration) -> bool {
        let add = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        let cap = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
        let booked = !self.exhausted.load(Ordering::Relaxed)
            && self
                .spent_ms
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |spent| {
                    let next = spent.saturating_add(add);
                    (next <= cap).then_some(next)
                })
                .is_ok();
        if !booked {
            self.mark_exhausted();
        }
        booked
    }
}

/// Parses `Retry-After`: delta seconds, an HTTP-date, or an ISO 8601 / RFC 3339 timestamp
/// (Zoom's documented `2020-05-31T00:00:00Z`). A moment in the past is a zero wait; text
/// that is none of these is `None` (the caller falls back to backoff).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    if v.bytes().all(|b| b.is_ascii_digit()) {
        return v.parse::<u64>().ok().map(Duration::from_secs);
    }
    let at = httpdate::parse_http_date(v).ok().or_else(|| parse_iso8601(v))?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.frac](Z|±HH:MM|±HHMM)`; a timestamp without zone is UTC.
fn parse_iso8601(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() < 19 || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok())?
    };
    let sep = |i: usize, c: u8| b.get(i) == Some(&c);
    if !(sep(4, b'-') && sep(7, b'-') && sep(13, b':') && sep(16, b':')) {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut nanos = 0u32;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let padded = format!("{:0<9}", &frac[..digits.min(9)]);
        nanos = padded.parse().ok()?;
        rest = &frac[digits..];
    }
    let offset_secs = match rest {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let hm = rest[1..].replace(':', "");
            if hm.len() != 4 || !hm.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let (oh, om) = (hm[..2].parse::<i64>().ok()?, hm[2..].parse::<i64>().ok()?);
            sign * (oh * 3600 + om * 60)
        }
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset_secs;
    let secs = u64::try_from(secs).ok()?;
    UNIX_EPOCH.checked_add(Duration::new(secs, nanos))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_SECS: u64 = 1_795_305_600; // 2026-11-22T00:00:00Z

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(NOW_SECS)
    }

    #[test]
    fn retry_after_forms() {
        let s = Duration::from_secs;
        let table: &[(&str, Option<Duration>)] = &[
            ("0", Some(s(0))),
            ("  7 ", Some(s(7))),
            ("120", Some(s(120))),
            ("Sun, 22 Nov 2026 00:00:30 GMT", Some(s(30))),
            ("2026-11-22T00:01:00Z", Some(s(60))),
            ("2026-11-22t00:00:05z", Some(s(5))),
            ("2026-11-22T00:00:01.500Z", Some(Duration::from_millis(1500))),
            ("2026-11-22T01:00:10+01:00", Some(s(10))),
            ("2026-11-21T19:00:20-0500", Some(s(20))),
            ("2026-11-22 00:00:02", Some(s(2))),
            // past dates are "now"
            ("2020-05-31T00:00:00Z", Some(s(0))),
            ("Sat, 21 Nov 2026 23:00:00 GMT", Some(s(0))),
            // garbage
            ("", None),
            ("soon", None),
            ("-5", None),
            ("1.5", None),
            ("2026-13-01T00:00:00Z", None),
            ("2026-11-22T00:00:00+5", None),
            ("2026-11-22T00:00:00Q", None),
            ("2026-11-22T00:00", None),
            ("99999999999999999999999", None),
        ];
        for (text, want) in table {
            assert_eq!(parse_retry_after(text, now()), *want, "{text:?}");
        }
    }

    #[test]
    fn iso_parser_agrees_with_known_instants() {
        assert_eq!(parse_iso8601("1970-01-01T00:00:00Z"), Some(UNIX_EPOCH));
        assert_eq!(parse_iso8601("2000-02-29T00:00:00Z"), Some(UNIX_EPOCH + Duration::from_secs(951_782_400)));
    }

    #[test]
    fn backoff_ladder_doubles_with_full_jitter_and_caps() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            ..RetryPolicy::default()
        };
        let ceilings = [100, 200, 400, 800, 1000, 1000];
        for (retry, ceiling) in ceilings.iter().enumerate() {
            let retry = retry as u32;
            assert_eq!(backoff(&p, retry, 1.0), Duration::from_millis(*ceiling));
            assert_eq!(backoff(&p, retry, 0.0), Duration::ZERO);
            for j in [0.1, 0.5, 0.999] {
                let d = backoff(&p, retry, j);
                assert!(d <= Duration::from_millis(*ceiling), "{retry} {j} {d:?}");
            }
        }
        assert_eq!(backoff(&p, 2, 0.5), Duration::from_millis(200));
        assert_eq!(backoff(&p, 1_000, 2.0), Duration::from_secs(1));
        assert_eq!(backoff(&p, 1, -1.0), Duration::ZERO);
    }

    fn at(made: u32, elapsed_ms: u64, cycle_ms: u64) -> Attempts {
        Attempts { made, elapsed: Duration::from_millis(elapsed_ms), cycle_spent: Duration::from_millis(cycle_ms) }
    }

    #[test]
    fn decisions_follow_budgets() {
        let p = RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(5),
            per_request: Duration::from_secs(10),
            per_cycle: Duration::from_secs(20),
        };
        let ms = Duration::from_millis;
        assert_eq!(decide(&p, at(1, 0, 0), None, 1.0), Decision::Retry(ms(100)));
        assert_eq!(decide(&p, at(3, 0, 0), None, 0.5), Decision::Retry(ms(200)));
        assert_eq!(decide(&p, at(1, 0, 0), Some(ms(3000)), 0.0), Decision::Retry(ms(3000)));
        // attempts exhausted
        assert!(matches!(decide(&p, at(4, 0, 0), None, 0.5), Decision::GiveUp { why: "attempts exhausted", .. }));
        // per-request budget: 9.95 s spent + up to 0.1 s wait > 10 s
        assert!(matches!(
            decide(&p, at(1, 9_950, 0), None, 1.0),
            Decision::GiveUp { why: "per-operation retry time exhausted", .. }
        ));
        assert_eq!(decide(&p, at(1, 9_900, 0), None, 1.0), Decision::Retry(ms(100)));
        // per-cycle budget
        assert!(matches!(
            decide(&p, at(1, 0, 19_950), None, 1.0),
            Decision::GiveUp { why: "per-cycle retry time exhausted", .. }
        ));
        // a Retry-After beyond what we wait inside an operation: the cycle pauses that long,
        // whatever else is left
        assert_eq!(
            decide(&p, at(1, 0, 0), Some(Duration::from_secs(3600)), 0.5),
            Decision::Pause(Duration::from_secs(3600))
        );
        assert_eq!(
            decide(&p, at(9, 60_000, 60_000), Some(Duration::from_secs(86_400)), 0.5),
            Decision::Pause(Duration::from_secs(86_400))
        );
        let Decision::GiveUp { retry_after, .. } = decide(&p, at(4, 0, 0), Some(ms(10)), 0.0) else {
            panic!("expected give-up")
        };
        assert_eq!(retry_after, Some(ms(10)));
    }

    #[test]
    fn the_daily_reset_is_the_next_utc_midnight() {
        assert_eq!(until_utc_midnight(now()), Duration::from_secs(86_400));
        assert_eq!(until_utc_midnight(now() + Duration::from_secs(1)), Duration::from_secs(86_399));
        assert_eq!(until_utc_midnight(now() - Duration::from_millis(1500)), Duration::from_millis(1500));
    }

    #[test]
    fn cycle_budget_books_until_the_cap_and_resets() {
        let b = CycleBudget::default();
        let cap = Duration::from_secs(1);
        assert!(b.try_spend(Duration::from_millis(600), cap));
        assert!(b.try_spend(Duration::from_millis(400), cap));
        assert!(!b.try_spend(Duration::from_millis(1), cap));
        assert_eq!(b.spent(), cap);
        assert_eq!(b.spent_for_decision(), Duration::MAX);
        b.reset();
        assert_eq!(b.spent(), Duration::ZERO);
        assert!(b.try_spend(Duration::from_millis(1), cap));
        // a refused wait exhausts the budget even though smaller waits would still fit
        assert!(!b.try_spend(Duration::from_secs(5), cap));
        assert!(!b.try_spend(Duration::ZERO, cap));
        assert_eq!(b.spent(), Duration::from_millis(1));
        let p = RetryPolicy { per_cycle: cap, ..RetryPolicy::default() };
        let at = Attempts { made: 1, elapsed: Duration::ZERO, cycle_spent: b.spent_for_decision() };
        assert!(matches!(decide(&p, at, None, 0.0), Decision::GiveUp { .. }));
    }

    #[test]
    fn reason_labels_are_stable() {
        let all = [
            RetryReason::Timeout,
            RetryReason::Connect,
            RetryReason::Connection,
            RetryReason::ServerError,
            RetryReason::RateLimited,
            RetryReason::Unauthorized,
            RetryReason::Token,
        ];
        let labels: std::collections::BTreeSet<_> = all.iter().map(|r| r.as_str()).collect();
        assert_eq!(labels.len(), all.len());
    }
}
