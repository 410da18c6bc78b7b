//! `format_date(ts, "%Y-%m-%d")`: directory timestamps as text, in UTC, with chrono's
//! strftime formats. Two inputs: LDAP GeneralizedTime (`20240102030405Z`,
//! `20240102030405.0Z`, `202401020304+0100`; RFC 4517 requires the zone, so a bare number
//! is not one) and AD's FILETIME integers (100 ns ticks since 1601, `accountExpires`,
//! `lastLogonTimestamp`; 15 digits or more), where 0 and 9223372036854775807 mean "never"
//! and give undefined.

use std::fmt::Write;

use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use minijinja::{Error, Value};

use super::values::{fail, text};

const DEFAULT_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";

/// A strftime format checked once: `analyze` calls this for a constant format.
pub(super) fn parse_format(format: &str) -> Result<Vec<Item<'_>>, String> {
    StrftimeItems::new(format).parse().map_err(|_| format!("format_date: {format:?} is not a valid strftime format"))
}

pub(super) fn format_date(value: Value, format: Option<Value>) -> Result<Value, Error> {
    let Some(raw) = text("format_date", &value)? else { return Ok(Value::UNDEFINED) };
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(Value::UNDEFINED);
    }
    let format = match &format {
        Some(f) => text("format_date", f)?.unwrap_or_default(),
        None => DEFAULT_FORMAT.into(),
    };
    let items = parse_format(&format).map_err(fail)?;
    let Some(time) = timestamp(raw).map_err(fail)? else { return Ok(Value::UNDEFINED) };
    let mut out = String::new();
    write!(out, "{}", time.format_with_items(items.iter()))
        .map_err(|_| fail(format!("format_date: cannot format '{raw}' with {format:?}")))?;
    Ok(Value::from(out))
}

/// The instant a directory timestamp names; `None` for FILETIME's "never".
pub(super) fn timestamp(raw: &str) -> Result<Option<DateTime<Utc>>, String> {
    let cannot = || format!("format_date: cannot read '{raw}' as a GeneralizedTime or FILETIME");
    if raw.bytes().all(|b| b.is_ascii_digit()) {
        // FILETIME: "0", or 15 digits and more (1970 is 18). A shorter number is more
        // likely a GeneralizedTime without its zone than an instant in 1601.
        if raw != "0" && raw.len() < 15 {
            return Err(format!("{} (a GeneralizedTime needs its zone, e.g. Z)", cannot()));
        }
        let ticks: i64 = raw.parse().map_err(|_| cannot())?;
        return filetime(ticks).ok_or_else(cannot);
    }
    generalized_time(raw).map(Some).ok_or_else(cannot)
}

/// FILETIME ticks; `Some(None)` for 0 and `i64::MAX` ("never").
fn filetime(ticks: i64) -> Option<Option<DateTime<Utc>>> {
    const TICKS_PER_SECOND: i64 = 10_000_000;
    const SECONDS_1601_TO_1970: i64 = 11_644_473_600;
    if ticks == 0 || ticks == i64::MAX {
        return Some(None);
    }
    let seconds = ticks / TICKS_PER_SECOND - SECONDS_1601_TO_1970;
    let nanos = u32::try_from(ticks % TICKS_PER_SECOND * 100).ok()?;
    DateTime::from_timestamp(seconds, nanos).map(Some)
}

/// `YYYYMMDDHH[MM[SS]][(.|,)fraction](Z|±HH[MM])`; the fraction is of the last unit given.
fn generalized_time(raw: &str) -> Option<DateTime<Utc>> {
    let zone_at = raw.find(['Z', 'z', '+', '-'])?;
    let (local, zone) = raw.split_at(zone_at);
    let (whole, fraction) = match local.find(['.', ',']) {
        Some(at) => (&local[..at], Some(&local[at + 1..])),
        None => (local, None),
    };
    if !matches!(whole.len(), 10 | 12 | 14) || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let num = |from: usize, len: usize| whole.get(from..from + len).map_or(Some(0), |s| s.parse::<u32>().ok());
    let date = NaiveDate::from_ymd_opt(i32::try_from(num(0, 4)?).ok()?, num(4, 2)?, num(6, 2)?)?;
    let naive = date.and_hms_opt(num(8, 2)?, num(10, 2)?, num(12, 2)?)?;
    let unit_seconds: i64 = match whole.len() {
        10 => 3600,
        12 => 60,
        _ => 1,
    };
    let naive = naive + fraction_of(fraction, unit_seconds)?;
    let offset = zone_offset(zone)?;
    offset.from_local_datetime(&naive).single().map(|t| t.with_timezone(&Utc))
}

/// The fraction (up to nanoseconds) of a unit of `unit_seconds`, as a duration.
fn fraction_of(fraction: Option<&str>, unit_seconds: i64) -> Option<Duration> {
    let Some(digits) = fraction else { return Some(Duration::zero()) };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = &digits[..digits.len().min(9)];
    let value: i64 = digits.parse().ok()?;
    let scale = 10_i64.pow(u32::try_from(digits.len()).ok()?);
    Some(Duration::nanoseconds(value * 1_000_000_000 / scale * unit_seconds))
}

fn zone_offset(zone: &str) -> Option<FixedOffset> {
    if zone.eq_ignore_ascii_case("z") {
        return FixedOffset::east_opt(0);
    }
    let (sign, digits) = zone.split_at(1);
    if !matches!(digits.len(), 2 | 4) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = digits.get(2..).filter(|m| !m.is_empty()).map_or(Some(0), |m| m.parse().ok())?;
    if hours > 23 || minutes > 59 {
        return None;
    }
    let seconds = (hours * 60 + minutes) * 60;
    FixedOffset::east_opt(if sign == "-" { -seconds } else { seconds })
}
