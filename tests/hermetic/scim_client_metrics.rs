//! The SCIM client's metrics: names from `scim::metric_names`, bounded labels, and counts
//! that match what happened (attempts, retries by reason, token renewals, throttle waits).
//! A small in-test recorder is installed thread-locally around a current-thread runtime.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics::{
    Counter, CounterFn, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};
use zoomsync::config::TargetConfig;
use zoomsync::emulator::{Emulator, EmulatorConfig, FaultConfig, FaultSpec, Route};
use zoomsync::model::Anchor;
use zoomsync::model::{Field, ScimUser};
use zoomsync::scim::metric_names::*;
use zoomsync::scim::{RetryPolicy, ScimClient, Target};

#[derive(Default)]
struct Store {
    counters: Mutex<BTreeMap<String, u64>>,
    histograms: Mutex<BTreeMap<String, usize>>,
}

struct Handle {
    store: Arc<Store>,
    key: String,
}

impl CounterFn for Handle {
    fn increment(&self, value: u64) {
        *self.store.counters.lock().unwrap().entry(self.key.clone()).or_default() += value;
    }
    fn absolute(&self, value: u64) {
        self.store.counters.lock().unwrap().insert(self.key.clone(), value);
    }
}

impl HistogramFn for Handle {
    fn record(&self, _value: f64) {
        *self.store.histograms.lock().unwrap().entry(self.key.clone()).or_default() += 1;
    }
}

#[derive(Default)]
struct TestRecorder(Arc<Store>);

fn key_text(key: &Key) -> String {
    let labels: Vec<String> = key.labels().map(|l| format!("{}={}", l.key(), l.value())).collect();
    if labels.is_empty() { key.name().to_string() } else { format!("{}{{{}}}", key.name(), labels.join(",")) }
}

impl Recorder for TestRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(Arc::new(Handle { store: self.0.clone(), key: key_text(key) }))
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(Arc::new(Handle { store: self.0.clone(), key: key_text(key) }))
    }
}

#[test]
fn metrics_count_attempts_retries_and_renewals() {
    let recorder = TestRecorder::default();
    let store = recorder.0.clone();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    metrics::with_local_recorder(&recorder, || {
        rt.block_on(async {
            let emu = Emulator::start(EmulatorConfig::unlimited(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
            zoomsync::install_crypto_provider();
            let cfg =
                TargetConfig { max_concurrency: 4, timeout: Duration::from_secs(5), ..emu.target_config().unwrap() };
            let policy = RetryPolicy { base_delay: Duration::from_millis(5), ..RetryPolicy::default() };
            let c = ScimClient::new(&cfg).unwrap().with_retry_policy(policy);
            let mut faults = FaultConfig::default();
            faults.routes.insert(
                Route::CreateUser.key().into(),
                FaultSpec { error_rate: 1.0, error_status: 503, times: Some(2), ..FaultSpec::default() },
            );
            emu.set_faults(faults).unwrap();
            let mut u = ScimUser { active: true, ..ScimUser::default() };
            u.fields.insert(Field::UserName, "m@example.com".into());
            let created = c.create_user(&Anchor::new("m").unwrap(), &u).await.unwrap();
            emu.expire_tokens();
            c.get_user(&created.id).await.unwrap();
            assert!(c.get_user("missing").await.is_err());
            emu.shutdown().await;
        });
    });
    let counters = store.counters.lock().unwrap().clone();
    let get = |k: &str| counters.get(k).copied().unwrap_or(0);
    assert_eq!(get(&format!("{HTTP_REQUESTS_TOTAL}{{method=POST,status_class=5xx}}")), 2, "{counters:#?}");
    // the create, plus two token fetches (POST, 2xx)
    assert_eq!(get(&format!("{HTTP_REQUESTS_TOTAL}{{method=POST,status_class=2xx}}")), 3, "{counters:#?}");
    assert_eq!(get(&format!("{HTTP_REQUESTS_TOTAL}{{method=GET,status_class=4xx}}")), 2, "401 and 404: {counters:#?}");
    assert_eq!(get(&format!("{HTTP_REQUESTS_TOTAL}{{method=GET,status_class=2xx}}")), 1, "{counters:#?}");
    assert_eq!(get(&format!("{HTTP_RETRIES_TOTAL}{{reason=5xx}}")), 2);
    assert_eq!(get(&format!("{HTTP_RETRIES_TOTAL}{{reason=401}}")), 1);
    assert_eq!(get(OAUTH_TOKEN_RENEWALS_TOTAL), 2);
    let histograms = store.histograms.lock().unwrap().clone();
    let requests: u64 = counters.iter().filter(|(k, _)| k.starts_with(HTTP_REQUESTS_TOTAL)).map(|(_, v)| v).sum();
    assert_eq!(histograms.get(HTTP_REQUEST_DURATION_SECONDS).copied().unwrap_or(0) as u64, requests);
    // one throttle wait per SCIM attempt (token fetches are not throttled)
    assert_eq!(histograms.get(THROTTLE_WAIT_SECONDS).copied().unwrap_or(0), 3 + 3);
    for k in counters.keys() {
        assert!(k.starts_with("zoomsync_"), "{k}");
    }
}
