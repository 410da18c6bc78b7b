//! `e164(number, "GB")`: a directory phone number as E.164 (`+442079460018`), with the
//! `phonenumber` crate (a port of Google's libphonenumber with its metadata): national
//! prefixes, trunk "(0)", extensions and per-country lengths are its job, not a regex's.
//!
//! It is also slow (≈10 µs a number: its parser and validator run many regexes), which
//! would make `e164` a second per 100,000 users in every cycle, changed or not. So results
//! are memoised per process by (default country, input text): a pure function's cache,
//! bounded by [`CACHE_MAX`] entries (≈20 MiB at most; emptied when full), so a no-change
//! cycle looks each number up instead of parsing it again.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};

use minijinja::{Error, Value};
use phonenumber::Mode;
use phonenumber::country::Id;

use super::values::{fail, text};

/// A default country by ISO 3166 alpha-2 code (`GB`, `us`), for numbers written without
/// `+`. Also used by `analyze` to check a constant code at compile time.
pub(super) fn country(code: &str) -> Result<Id, String> {
    Id::from_str(&code.trim().to_ascii_uppercase())
        .map_err(|_| format!("e164: unknown country code {code:?} (use an ISO 3166 alpha-2 code such as \"GB\")"))
}

/// A missing or blank number stays missing; one that does not parse, or is not a valid
/// number for its country, rejects the user. An extension is dropped (E.164 has none).
pub(super) fn e164(value: Value, default_country: Option<Value>) -> Result<Value, Error> {
    let Some(raw) = text("e164", &value)? else { return Ok(Value::UNDEFINED) };
    if raw.trim().is_empty() {
        return Ok(Value::UNDEFINED);
    }
    let country = match &default_country {
        Some(code) => match text("e164", code)? {
            Some(code) => Some(country(&code).map_err(fail)?),
            None => None,
        },
        None => None,
    };
    match cached(country, &raw) {
        Some(formatted) => Ok(Value::from(&*formatted)),
        None => Err(fail(format!("e164: cannot parse '{raw}' as a phone number"))),
    }
}

/// Most entries the memo holds: a directory of 100,000 users with two numbers each fits.
pub(super) const CACHE_MAX: usize = 262_144;

type Memo = HashMap<Option<Id>, HashMap<Box<str>, Option<Box<str>>>>;

static CACHE: LazyLock<Mutex<(usize, Memo)>> = LazyLock::new(|| Mutex::new((0, HashMap::new())));

/// [`format`], memoised. The lock is held only for the look-up and the insert (a poisoned
/// lock is taken over: at worst the entry count is off by one).
fn cached(country: Option<Id>, raw: &str) -> Option<Box<str>> {
    let lock = || -> MutexGuard<'_, (usize, Memo)> { CACHE.lock().unwrap_or_else(PoisonError::into_inner) };
    if let Some(result) = lock().1.get(&country).and_then(|m| m.get(raw)).cloned() {
        return result;
    }
    let result = format(country, raw);
    let mut guard = lock();
    let (entries, memo) = &mut *guard;
    if *entries >= CACHE_MAX {
        memo.clear();
        *entries = 0;
    }
    if memo.entry(country).or_default().insert(raw.into(), result.clone()).is_none() {
        *entries += 1;
    }
    result
}

/// The E.164 form, or `None` when the text does not parse or is not a valid number.
fn format(country: Option<Id>, raw: &str) -> Option<Box<str>> {
    let number = phonenumber::parse(country, without_trunk_zero(raw)).ok()?;
    if !phonenumber::is_valid(&number) {
        return None;
    }
    let formatted = number.format().mode(Mode::E164).to_string();
    is_e164(&formatted).then(|| formatted.into())
}

/// `+44 (0)20 …`: the "(0)" is the national trunk prefix written beside the country code,
/// which is wrong in international form; libphonenumber would read it as a digit.
fn without_trunk_zero(raw: &str) -> std::borrow::Cow<'_, str> {
    if raw.trim_start().starts_with('+') && raw.contains("(0)") {
        raw.replacen("(0)", "", 1).into()
    } else {
        raw.into()
    }
}

/// `+`, a first digit 1–9 and 7–15 digits in all (ITU-T E.164).
pub(super) fn is_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else { return false };
    (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0')
}
