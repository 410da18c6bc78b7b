//! Fault injection: 5xx answers, added latency, held requests (longer than a client's timeout)
//! and dropped connections, globally or per route, set at start or at run time.
//!
//! A spec for a route replaces the global spec for that route (it is not merged), so a test
//! can make exactly one operation misbehave.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What can go wrong with one request. Rates are probabilities in 0..=1 and are exclusive:
/// one draw decides drop, else timeout, else error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultSpec {
    /// Chance of answering `error_status` instead of handling the request.
    pub error_rate: f64,
    /// The status sent by `error_rate`: a 5xx (500, 502, 503, 504…), or 429 for a burst of
    /// rate-limit answers with Zoom's headers and `Retry-After` per the knob.
    pub error_status: u16,
    /// Added to every matching request, before it is handled.
    pub latency_ms: u64,
    /// Extra random latency, uniform in 0..=jitter_ms.
    pub jitter_ms: u64,
    /// Chance of holding the request for `timeout_hold_ms` and then answering 504.
    pub timeout_rate: f64,
    pub timeout_hold_ms: u64,
    /// Chance of closing the TCP connection without any response.
    pub drop_rate: f64,
    /// For drops and timeouts: apply the request to the state first, then lose the answer
    /// (the "did my create happen?" case) instead of never applying it.
    pub apply_before_fault: bool,
    /// Only the next N error/timeout/drop faults fire, then this spec injects nothing but
    /// latency. `None` = unlimited. Makes "fail the next two creates" deterministic.
    pub times: Option<u64>,
}

impl Default for FaultSpec {
    fn default() -> Self {
        Self {
            error_rate: 0.0,
            error_status: 500,
            latency_ms: 0,
            jitter_ms: 0,
            timeout_rate: 0.0,
            timeout_hold_ms: 120_000,
            drop_rate: 0.0,
            apply_before_fault: false,
            times: None,
        }
    }
}

impl FaultSpec {
    pub fn validate(&self) -> Result<(), String> {
        for (name, r) in
            [("error_rate", self.error_rate), ("timeout_rate", self.timeout_rate), ("drop_rate", self.drop_rate)]
        {
            if !(0.0..=1.0).contains(&r) {
                return Err(format!("{name} must be between 0 and 1, not {r}"));
            }
        }
        if self.error_rate + self.timeout_rate + self.drop_rate > 1.0 + 1e-9 {
            return Err("error_rate + timeout_rate + drop_rate must not exceed 1".to_string());
        }
        if !(500..=599).contains(&self.error_status) && self.error_status != 429 {
            return Err(format!("error_status must be a 5xx or 429, not {}", self.error_status));
        }
        Ok(())
    }

    fn is_noop(&self) -> bool {
        self.latency_ms == 0
            && self.jitter_ms == 0
            && self.error_rate == 0.0
            && self.timeout_rate == 0.0
            && self.drop_rate == 0.0
    }
}

impl FromStr for FaultSpec {
    type Err = String;

    /// `error_rate=0.1,error_status=503,latency=200ms,jitter=50ms,timeout_rate=0.01,
    /// timeout_hold=90s,drop_rate=0.01,apply_before_fault=true,times=2`
    fn from_str(s: &str) -> Result<Self, String> {
        let mut spec = FaultSpec::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').ok_or_else(|| format!("expected key=value, got `{part}`"))?;
            let num = |v: &str| v.parse::<f64>().map_err(|_| format!("`{k}` needs a number, got `{v}`"));
            let ms = |v: &str| {
                humantime::parse_duration(v)
                    .map(|d| d.as_millis() as u64)
                    .or_else(|_| v.parse::<u64>())
                    .map_err(|_| format!("`{k}` needs a duration like 200ms, got `{v}`"))
            };
            match k {
                "error_rate" => spec.error_rate = num(v)?,
                "error_status" => spec.error_status = v.parse().map_err(|_| format!("bad error_status `{v}`"))?,
                "latency" | "latency_ms" => spec.latency_ms = ms(v)?,
                "jitter" | "jitter_ms" => spec.jitter_ms = ms(v)?,
                "timeout_rate" => spec.timeout_rate = num(v)?,
                "timeout_hold" | "timeout_hold_ms" => spec.timeout_hold_ms = ms(v)?,
                "drop_rate" => spec.drop_rate = num(v)?,
                "apply_before_fault" => spec.apply_before_fault = v.parse().map_err(|_| format!("bad bool `{v}`"))?,
                "times" => spec.times = Some(v.parse().map_err(|_| format!("bad times `{v}`"))?),
                other => return Err(format!("unknown fault key `{other}`")),
            }
        }
        spec.validate()?;
        Ok(spec)
    }
}

/// Global spec plus per-route specs keyed by `"METHOD /path/template"` (e.g.
/// `"POST /scim2/Users"`, `"GET /scim2/Users?filter"`) or by path template alone
/// (`"/scim2/Users/{id}"`, any method).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultConfig {
    pub global: FaultSpec,
    pub routes: BTreeMap<String, FaultSpec>,
}

impl FaultConfig {
    pub fn validate(&self) -> Result<(), String> {
        self.global.validate()?;
        for (k, s) in &self.routes {
            s.validate().map_err(|e| format!("{k}: {e}"))?;
        }
        Ok(())
    }

    /// Parses one `--faults` argument: `[ROUTE@]key=value,…` and adds it.
    pub fn add_cli(&mut self, arg: &str) -> Result<(), String> {
        match arg.split_once('@') {
            Some((route, spec)) => {
                self.routes.insert(route.trim().to_string(), spec.parse()?);
            }
            None => self.global = arg.parse()?,
        }
        Ok(())
    }

    /// Decides the fate of one request. `route_key` is `"METHOD /template"`, `path_template`
    /// the template alone; `draw` and `jitter_draw` are uniform in [0, 1).
    pub fn decide(&mut self, route_key: &str, path_template: &str, draw: f64, jitter_draw: f64) -> Decision {
        let spec = if self.routes.contains_key(route_key) {
            self.routes.get_mut(route_key)
        } else {
            self.routes.get_mut(path_template)
        };
        let spec = spec.unwrap_or(&mut self.global);
        if spec.is_noop() {
            return Decision::default();
        }
        let latency = Duration::from_millis(spec.latency_ms + (spec.jitter_ms as f64 * jitter_draw) as u64);
        let mut action = if draw < spec.drop_rate {
            Action::Drop
        } else if draw < spec.drop_rate + spec.timeout_rate {
            Action::Timeout(Duration::from_millis(spec.timeout_hold_ms))
        } else if draw < spec.drop_rate + spec.timeout_rate + spec.error_rate {
            Action::Error(spec.error_status)
        } else {
            Action::None
        };
        if action != Action::None {
            match &mut spec.times {
                Some(0) => action = Action::None,
                Some(n) => *n -= 1,
                None => {}
            }
        }
        Decision { latency, action, apply_first: spec.apply_before_fault }
    }
}

/// What the server does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Decision {
    pub latency: Duration,
    pub action: Action,
    pub apply_first: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Action {
    #[default]
    None,
    Error(u16),
    Timeout(Duration),
    Drop,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_spec_parses_durations_and_routes() {
        let mut c = FaultConfig::default();
        c.add_cli("error_rate=0.5,error_status=503,latency=200ms,jitter=1s").unwrap();
        c.add_cli("POST /scim2/Users@drop_rate=1,times=2").unwrap();
        assert_eq!(c.global.latency_ms, 200);
        assert_eq!(c.global.jitter_ms, 1000);
        assert_eq!(c.routes["POST /scim2/Users"].times, Some(2));
        assert!(c.add_cli("error_rate=2").is_err());
        assert!(c.add_cli("error_status=404,error_rate=0.1").is_err());
        assert!(c.add_cli("bogus=1").is_err());
    }

    #[test]
    fn route_spec_overrides_global_and_times_run_out() {
        let mut c = FaultConfig::default();
        c.global.error_rate = 1.0;
        c.routes
            .insert("POST /scim2/Users".into(), FaultSpec { drop_rate: 1.0, times: Some(1), ..FaultSpec::default() });
        assert_eq!(c.decide("GET /scim2/Users/{id}", "/scim2/Users/{id}", 0.3, 0.0).action, Action::Error(500));
        assert_eq!(c.decide("POST /scim2/Users", "/scim2/Users", 0.3, 0.0).action, Action::Drop);
        assert_eq!(c.decide("POST /scim2/Users", "/scim2/Users", 0.3, 0.0).action, Action::None);
    }

    #[test]
    fn draw_picks_exclusive_action_and_jitter_scales() {
        let mut c = FaultConfig {
            global: FaultSpec {
                drop_rate: 0.1,
                timeout_rate: 0.1,
                error_rate: 0.1,
                jitter_ms: 100,
                ..FaultSpec::default()
            },
            ..FaultConfig::default()
        };
        assert_eq!(c.decide("k", "p", 0.05, 0.5).action, Action::Drop);
        assert_eq!(c.decide("k", "p", 0.15, 0.5).action, Action::Timeout(Duration::from_secs(120)));
        assert_eq!(c.decide("k", "p", 0.25, 0.5).action, Action::Error(500));
        let d = c.decide("k", "p", 0.95, 0.5);
        assert_eq!((d.action, d.latency), (Action::None, Duration::from_millis(50)));
    }
}
