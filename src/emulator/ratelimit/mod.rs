//! Zoom's rate limits: token buckets per rate-limit label (or per endpoint for the old
//! "1 request/second per endpoint" rule) plus daily counters that reset at 00:00 UTC.
//!
//! The limiter takes `now` as arguments so unit tests never depend on wall-clock speed.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use super::clock::{unix_secs, until_utc_midnight};

/// Zoom's rate-limit label of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Label {
    Light,
    Medium,
}

impl Label {
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Light => "Light",
            Label::Medium => "Medium",
        }
    }
}

/// Named rate tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RatePreset {
    /// Old docs: "Each SCIM2 API endpoint has a rate limit of 1 request/second per account."
    #[serde(rename = "legacy_1rps")]
    Legacy1Rps,
    /// Light 4/s + 6,000/day, Medium 2/s + 2,000/day.
    #[serde(rename = "free")]
    Free,
    /// Light 30/s, Medium 20/s.
    #[serde(rename = "pro")]
    Pro,
    /// Light 80/s, Medium 60/s (Business, Education, Enterprise).
    #[serde(rename = "business_plus")]
    BusinessPlus,
    /// No limits, no headers.
    #[serde(rename = "off")]
    Off,
}

/// A preset plus optional overrides (`per_second` sets both labels, e.g. 50 for tests).
/// Any per-second override switches from per-endpoint to per-label buckets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimit {
    pub preset: RatePreset,
    pub per_second: Option<u32>,
    pub light_per_second: Option<u32>,
    pub medium_per_second: Option<u32>,
    pub light_per_day: Option<u32>,
    pub medium_per_day: Option<u32>,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self::preset(RatePreset::Legacy1Rps)
    }
}

impl RateLimit {
    pub fn preset(preset: RatePreset) -> Self {
        Self {
            preset,
            per_second: None,
            light_per_second: None,
            medium_per_second: None,
            light_per_day: None,
            medium_per_day: None,
        }
    }

    /// Both labels at `n` requests per second, no daily caps.
    pub fn per_second(n: u32) -> Self {
        Self { per_second: Some(n), ..Self::preset(RatePreset::Off) }
    }

    /// The effective table.
    pub fn table(&self) -> RateTable {
        let (mut per_endpoint, mut light, mut medium) = match self.preset {
            RatePreset::Legacy1Rps => (true, LabelLimit::qps(1), LabelLimit::qps(1)),
            RatePreset::Free => (
                false,
                LabelLimit { per_second: Some(4), per_day: Some(6_000) },
                LabelLimit { per_second: Some(2), per_day: Some(2_000) },
            ),
            RatePreset::Pro => (false, LabelLimit::qps(30), LabelLimit::qps(20)),
            RatePreset::BusinessPlus => (false, LabelLimit::qps(80), LabelLimit::qps(60)),
            RatePreset::Off => (false, LabelLimit::default(), LabelLimit::default()),
        };
        let light_qps = self.light_per_second.or(self.per_second);
        let medium_qps = self.medium_per_second.or(self.per_second);
        if light_qps.is_some() || medium_qps.is_some() {
            per_endpoint = false;
        }
        light.per_second = light_qps.or(light.per_second);
        medium.per_second = medium_qps.or(medium.per_second);
        light.per_day = self.light_per_day.or(light.per_day);
        medium.per_day = self.medium_per_day.or(medium.per_day);
        RateTable { per_endpoint, light, medium }
    }
}

impl FromStr for RateLimit {
    type Err = String;

    /// `legacy_1rps`, `free`, `pro`, `business_plus`, `off`, or a number (`50`, `50rps`).
    fn from_str(s: &str) -> Result<Self, String> {
        let preset = match s {
            "legacy_1rps" => RatePreset::Legacy1Rps,
            "free" => RatePreset::Free,
            "pro" => RatePreset::Pro,
            "business_plus" => RatePreset::BusinessPlus,
            "off" => RatePreset::Off,
            other => {
                let n = other.trim_end_matches("rps").parse::<u32>().map_err(|_| {
                    format!("unknown rate preset `{other}` (legacy_1rps, free, pro, business_plus, off, or N rps)")
                })?;
                if n == 0 {
                    return Err("a per-second rate must be at least 1".to_string());
                }
                return Ok(Self::per_second(n));
            }
        };
        Ok(Self::preset(preset))
    }
}

/// Limits of one label; `None` = unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LabelLimit {
    pub per_second: Option<u32>,
    pub per_day: Option<u32>,
}

impl LabelLimit {
    fn qps(n: u32) -> Self {
        Self { per_second: Some(n), per_day: None }
    }
}

/// Resolved limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RateTable {
    /// Buckets per endpoint (legacy rule) instead of per label.
    pub per_endpoint: bool,
    pub light: LabelLimit,
    pub medium: LabelLimit,
}

/// Which limit a 429 is about (`X-RateLimit-Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    Qps,
    Daily,
}

/// The limiter's answer for one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Rate limiting is off for this label: send no headers.
    Unlimited,
    Allowed {
        category: Label,
        limit: u32,
        remaining: u32,
    },
    Denied {
        category: Label,
        kind: LimitKind,
        limit: u32,
        retry_after: Duration,
    },
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Bucket and counter state. Reset by replacing it.
pub struct Limiter {
    table: RateTable,
    buckets: HashMap<&'static str, Bucket>,
    /// label -> (UTC day number, requests that day)
    daily: HashMap<Label, (u64, u32)>,
}

impl Limiter {
    pub fn new(config: &RateLimit) -> Self {
        Self { table: config.table(), buckets: HashMap::new(), daily: HashMap::new() }
    }

    pub fn table(&self) -> RateTable {
        self.table
    }

    /// Admits or refuses one request of `label` on `endpoint` (e.g. `GET /scim2/Users`).
    pub fn check(&mut self, label: Label, endpoint: &'static str, now: Instant, wall: SystemTime) -> Verdict {
        let limits = match label {
            Label::Light => self.table.light,
            Label::Medium => self.table.medium,
        };
        if limits.per_second.is_none() && limits.per_day.is_none() {
            return Verdict::Unlimited;
        }
        let day = unix_secs(wall) / 86_400;
        let used_today = match self.daily.get(&label) {
            Some((d, n)) if *d == day => *n,
            _ => 0,
        };
        if let Some(cap) = limits.per_day
            && used_today >= cap
        {
            return Verdict::Denied {
                category: label,
                kind: LimitKind::Daily,
                limit: cap,
                retry_after: until_utc_midnight(wall),
            };
        }
        let mut remaining = u32::MAX;
        if let Some(rate) = limits.per_second {
            let key = if self.table.per_endpoint { endpoint } else { label.as_str() };
            let cap = f64::from(rate);
            let b = self.buckets.entry(key).or_insert(Bucket { tokens: cap, last: now });
            let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
            b.tokens = (b.tokens + elapsed * cap).min(cap);
            b.last = now;
            if b.tokens < 1.0 {
                let wait = (1.0 - b.tokens) / cap;
                return Verdict::Denied {
                    category: label,
                    kind: LimitKind::Qps,
                    limit: rate,
                    retry_after: Duration::from_secs_f64(wait),
                };
            }
            b.tokens -= 1.0;
            remaining = b.tokens.floor() as u32;
        }
        self.daily.insert(label, (day, used_today + 1));
        // With a daily cap the headers speak about the day, as in Zoom's documented example.
        match (limits.per_day, limits.per_second) {
            (Some(cap), _) => Verdict::Allowed { category: label, limit: cap, remaining: cap - used_today - 1 },
            (None, Some(rate)) => Verdict::Allowed { category: label, limit: rate, remaining },
            (None, None) => Verdict::Unlimited,
        }
    }
}

#[cfg(test)]
mod tests;
