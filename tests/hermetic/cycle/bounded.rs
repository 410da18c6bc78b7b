//! Bounded cycles: whatever the target does, a cycle ends in time the retry budget bounds,
//! and says why. A token endpoint that never answers is fetched once for all waiting
//! operations and every timeout counts against the cycle's budget; a daily rate limit
//! pauses the cycle at the first 429 until the time Zoom names; a TLS certificate the client
//! cannot verify stops the cycle as Fatal at the first handshake.
//!
//! Counts, not clocks: held token requests are counted by the emulator's fault budget
//! (`times`), which each one spends when it arrives; the only time bounds are loose (5x).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use metrics::{Counter, Gauge, GaugeFn, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};

use zoomsync::admin::render;
use zoomsync::emulator::{
    EmulatorConfig, FaultConfig, FaultSpec, RateLimit as EmuRate, RatePreset, RetryAfterStyle, Route,
};
use zoomsync::metrics::TARGET_PAUSED_UNTIL_TIMESTAMP_SECONDS;
use zoomsync::model::unix_now;
use zoomsync::plan::Action;
use zoomsync::scim::RetryPolicy;
use zoomsync::state::StateStore;
use zoomsync::sync::CycleOutcome;
use zoomsync::sync::report::rfc3339;

use crate::cycle::world::{HermeticWorld, fast_retries, names};
use crate::untrusted_tls::UntrustedTls;

const PEOPLE: usize = 24;
/// More faults than any test can spend: what is left says how many requests arrived.
const FAULT_BUDGET: u64 = 10_000;

/// Every request to `route` is held for ten minutes (the client's timeout ends it).
fn never_answers(route: Route) -> FaultConfig {
    let mut faults = FaultConfig::default();
    faults.routes.insert(
        route.key().to_string(),
        FaultSpec { timeout_rate: 1.0, timeout_hold_ms: 600_000, times: Some(FAULT_BUDGET), ..FaultSpec::default() },
    );
    faults
}

fn arrived(w: &HermeticWorld, route: Route) -> u64 {
    FAULT_BUDGET - w.zoom.faults().routes[route.key()].times.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_endpoint_that_never_answers_ends_the_cycle_within_the_retry_budget() {
    let timeout = Duration::from_millis(300);
    let retries = RetryPolicy { per_cycle: Duration::from_secs(2), ..fast_retries() };
    let budget = retries.per_cycle;
    let mut w = HermeticWorld::builder(PEOPLE).retries(retries).target(move |t| t.timeout = timeout).start().await;
    // A first cycle over an empty directory reads the target (so the next one needs no
    // list); then everyone arrives and the process restarts without a token.
    let everyone = w.directory_snapshot();
    w.edit(|entries| entries.clear());
    let r = w.cycle().await;
    assert!(r.reconcile.is_some() && r.fatal.is_none(), "{}", r.summary());
    let first_success = w.meta().last_success;
    w.edit(|entries| *entries = everyone);
    w.restart();
    w.zoom.set_faults(never_answers(Route::Token)).unwrap();

    let started = Instant::now();
    let r = tokio::time::timeout(Duration::from_secs(120), w.cycle()).await.expect("the cycle ends");
    let took = started.elapsed();
    let fetches = arrived(&w, Route::Token);

    // Reported as failed, with the reason; the creates in flight failed with it, the rest
    // were not started; nothing written.
    assert_eq!(r.outcome(), CycleOutcome::Fatal, "{fetches} token requests; {}", r.summary());
    let fatal = r.fatal.as_deref().unwrap();
    assert!(fatal.contains("token") && fatal.contains("target.token_url"), "{fatal}");
    assert_eq!(r.succeeded(Action::Create), 0, "{}", r.summary());
    assert_eq!(r.failed() + r.not_attempted(), PEOPLE, "{}", r.summary());
    assert!(r.not_attempted() >= PEOPLE - 8, "at most the 8 in flight failed: {}", r.summary());
    assert!(w.zoom_users().is_empty());
    let meta = w.meta();
    assert!(meta.last_success == first_success && meta.connector_quarantine.is_some(), "{meta:?}");

    // One fetch at a time for all waiting operations, each timeout booked against the
    // budget: at most budget / timeout + 1 fetches, not one (or six) per operation.
    let most = (budget.as_millis() / timeout.as_millis()) as u64 + 1;
    assert!((1..=most).contains(&fetches), "{fetches} token requests for {PEOPLE} creates (at most {most})");
    // Bounded by the budget, not by operations x timeout (7.2 s here); 5x slack.
    assert!(took < (budget + timeout) * 5, "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_zoom_certificate_stops_the_cycle_as_fatal_at_the_first_handshake() {
    let mut w = HermeticWorld::builder(10).max_concurrency(1).start().await;
    let r = w.cycle().await;
    assert_eq!(r.outcome(), CycleOutcome::Success, "{}", r.summary());
    let first_success = w.meta().last_success;
    for i in 0..5 {
        w.edit_person(i, |e| e.set("title", Some("Changed")));
    }
    // Zoom now answers through something presenting a certificate nobody trusts.
    let tls = UntrustedTls::start();
    w.edit_target(|t| t.base_url = tls.url("/scim2/"));
    w.restart();
    let r = w.cycle().await;
    assert_eq!(r.outcome(), CycleOutcome::Fatal, "{}", r.summary());
    assert!(r.fatal.as_deref().unwrap().contains("certificate"), "{:?}", r.fatal);
    // One at a time: the first update meets the certificate, the other four never start.
    assert_eq!((r.failed(), r.not_attempted()), (1, 4), "{}", r.summary());
    assert_eq!(tls.connections(), 1, "not retried");
    let meta = w.meta();
    assert!(meta.connector_quarantine.is_some(), "the connector is not ok");
    assert_eq!(meta.last_success, first_success, "last success does not move");
    w.assert_converged(&names(0..10));
}

/// Seconds to the next 00:00 UTC, when Zoom's (and the emulator's) daily counters reset.
fn to_midnight() -> u64 {
    86_400 - unix_now() as u64 % 86_400
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daily_rate_limit_pauses_the_cycle_at_the_first_429_until_zoom_says() {
    for style in [RetryAfterStyle::Seconds, RetryAfterStyle::Iso, RetryAfterStyle::None] {
        if to_midnight() < 30 {
            // The daily counter would reset under the test: start on the new day.
            tokio::time::sleep(Duration::from_secs(to_midnight() + 1)).await;
        }
        let mut zoom = EmulatorConfig::unlimited();
        zoom.rate_limit = EmuRate { light_per_day: Some(3), ..EmuRate::preset(RatePreset::Pro) };
        zoom.knobs.retry_after = style;
        let w = HermeticWorld::builder(PEOPLE).max_concurrency(1).emulator(zoom).start().await;
        let r = tokio::time::timeout(Duration::from_secs(30), w.cycle()).await.expect("the cycle does not wait a day");

        // Three creates fit the day; the fourth meets the limit and the cycle stops there.
        assert_eq!(r.outcome(), CycleOutcome::Paused, "{style:?}: {}", r.summary());
        assert_eq!(r.outcome().exit_status(), 4);
        assert_eq!((r.succeeded(Action::Create), r.failed()), (3, 0), "{style:?}: {}", r.summary());
        assert_eq!(r.not_attempted(), PEOPLE - 3, "{style:?}: {}", r.summary());
        assert_eq!(w.zoom.request_counts().route_status(Route::CreateUser, 429), 1, "{style:?}: stops at the first");

        // Until when: the next 00:00 UTC, in the report, the summary, the meta and `status`.
        let paused = r.paused.clone().unwrap();
        let midnight = unix_now() + to_midnight() as i64;
        assert!((paused.until - midnight).abs() <= 2, "{style:?}: paused until {} not {midnight}", paused.until);
        assert!(paused.reason.contains("429") && paused.reason.contains("daily"), "{}", paused.reason);
        let until = rfc3339(paused.until);
        if style != RetryAfterStyle::Seconds {
            // (delta seconds, rounded up by the server, land up to a second later)
            assert!(until.ends_with("T00:00:00Z"), "{style:?}: {until}");
        }
        assert!(r.summary().contains(&format!("PAUSED until {until}")), "{}", r.summary());
        let meta = w.meta();
        assert_eq!(meta.target_paused, Some(paused));
        assert!(meta.last_success.is_none(), "a paused cycle is no success");
        assert!(meta.connector_quarantine.is_none(), "nothing is broken");
        assert!(w.store.failures().unwrap().is_empty(), "no user is to blame");
        let status = render::status(&w.store, false).unwrap();
        assert!(status.contains(&format!("target: PAUSED until {until}")), "{status}");
    }
}

/// Gauges only, recorded thread-locally (a current-thread runtime keeps the cycle on it).
#[derive(Default, Clone)]
struct Gauges(Arc<Mutex<BTreeMap<String, f64>>>);

struct GaugeHandle(Gauges, String);

impl GaugeFn for GaugeHandle {
    fn increment(&self, value: f64) {
        *self.0.0.lock().unwrap().entry(self.1.clone()).or_default() += value;
    }
    fn decrement(&self, value: f64) {
        self.increment(-value);
    }
    fn set(&self, value: f64) {
        self.0.0.lock().unwrap().insert(self.1.clone(), value);
    }
}

impl Recorder for Gauges {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, _: &Key, _: &Metadata<'_>) -> Counter {
        Counter::noop()
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(Arc::new(GaugeHandle(self.clone(), key.name().to_string())))
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

impl Gauges {
    fn get(&self, name: &str) -> Option<f64> {
        self.0.lock().unwrap().get(name).copied()
    }
}

#[test]
fn the_pause_is_a_metric_and_the_next_good_cycle_lifts_it() {
    let gauges = Gauges::default();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    metrics::with_local_recorder(&gauges, || {
        rt.block_on(async {
            if to_midnight() < 30 {
                tokio::time::sleep(Duration::from_secs(to_midnight() + 1)).await;
            }
            let mut zoom = EmulatorConfig::unlimited();
            zoom.rate_limit = EmuRate { light_per_day: Some(3), ..EmuRate::preset(RatePreset::Pro) };
            let w = HermeticWorld::builder(5).max_concurrency(1).emulator(zoom).start().await;
            let r = w.cycle().await;
            let until = r.paused.as_ref().expect("paused").until;
            assert_eq!(gauges.get(TARGET_PAUSED_UNTIL_TIMESTAMP_SECONDS), Some(until as f64));

            // The limit is lifted (a new day): the next cycle does the rest and clears it.
            w.zoom.set_rate_limit(EmuRate::preset(RatePreset::Off));
            let r = w.cycle().await;
            assert_eq!(r.outcome(), CycleOutcome::Success, "{}", r.summary());
            assert_eq!(r.succeeded(Action::Create), 2);
            assert_eq!(gauges.get(TARGET_PAUSED_UNTIL_TIMESTAMP_SECONDS), Some(0.0));
            let meta = w.meta();
            assert!(meta.target_paused.is_none() && meta.last_success.is_some(), "{meta:?}");
            assert!(!render::status(&w.store, false).unwrap().contains("PAUSED"));
        });
    });
}
