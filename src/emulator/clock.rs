//! Calendar helpers of the emulator: Unix seconds, RFC 3339 timestamps (Zoom's `meta` format)
//! and the daily counters' reset at 00:00 UTC. Used by the wire, state and rate-limit code.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch (clamped to 0 for clocks before 1970).
pub fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339, UTC, whole seconds) — Zoom's `meta` timestamp format.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Seconds since the Unix epoch, rounded up (a client waiting until then is never early).
pub fn unix_secs_ceil(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0)).unwrap_or(0)
}

/// Exact time until the next 00:00 UTC, when Zoom's daily counters reset.
pub fn until_utc_midnight(now: SystemTime) -> Duration {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let next = (since.as_secs() / 86_400 + 1) * 86_400;
    Duration::from_secs(next).saturating_sub(since)
}

/// Howard Hinnant's days-from-civil inverse: days since 1970-01-01 -> (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_305_599), "2026-11-21T23:59:59Z");
        assert_eq!(rfc3339(1_590_883_200), "2020-05-31T00:00:00Z");
    }

    #[test]
    fn midnight_is_at_most_a_day_away() {
        let t = UNIX_EPOCH + Duration::from_secs(86_400 * 3 + 10);
        assert_eq!(until_utc_midnight(t), Duration::from_secs(86_390));
        let t = t + Duration::from_millis(250);
        assert_eq!(until_utc_midnight(t), Duration::from_millis(86_389_750));
        assert_eq!(unix_secs_ceil(t + until_utc_midnight(t)), 86_400 * 4);
    }
}
