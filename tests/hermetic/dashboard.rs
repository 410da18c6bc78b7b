//! docs/grafana/zoomsync.json is a Grafana dashboard (the classic JSON model) that charts
//! every metric zoomsync exports, queries no other, and has a panel for every alert of
//! docs/prometheus/alerts.yml.
//!
//! What zoomsync exports is read from the code, not listed here: `zoomsync::metrics::describe()`
//! (which the daemon calls when it installs its Prometheus recorder) runs against a recorder
//! that keeps each declared name and kind. A metric added to src/metrics.rs is therefore
//! required on the dashboard, and a renamed one fails the panel that still uses the old name.
//!
//! The metric names of a PromQL expression are its identifiers followed by a `{` selector
//! and every `zoomsync_…` identifier (the dashboard writes every selector with braces:
//! `{job=~"$job", instance=~"$instance"}`). alerts.yml is read line by line (no YAML crate
//! here): an alert is `- alert: Name`, its expression what follows until `annotations:`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Mutex;

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use regex::Regex;
use serde_json::Value;

const DASHBOARD: &str = "docs/grafana/zoomsync.json";
const ALERTS: &str = "docs/prometheus/alerts.yml";
/// Grafana 9.0 (schema 36) introduced the panel/target `datasource` objects used here.
const MIN_SCHEMA_VERSION: u64 = 36;
/// Histograms the daemon gives buckets (`install_recorder` in src/daemon/http.rs). The
/// exporter renders every other histogram as a summary: `{quantile="…"}` series under its
/// own name plus `_sum`/`_count`, and no `_bucket`.
const BUCKETED: &[&str] = &[zoomsync::metrics::CYCLE_DURATION_SECONDS, zoomsync::metrics::CHANGE_LATENCY_SECONDS];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// Keeps what `describe()` declares; records nothing.
#[derive(Default)]
struct Declared(Mutex<BTreeMap<String, Kind>>);

impl Declared {
    fn add(&self, key: KeyName, kind: Kind) {
        self.0.lock().unwrap().insert(key.as_str().to_string(), kind);
    }
}

impl Recorder for Declared {
    fn describe_counter(&self, key: KeyName, _: Option<Unit>, _: SharedString) {
        self.add(key, Kind::Counter);
    }
    fn describe_gauge(&self, key: KeyName, _: Option<Unit>, _: SharedString) {
        self.add(key, Kind::Gauge);
    }
    fn describe_histogram(&self, key: KeyName, _: Option<Unit>, _: SharedString) {
        self.add(key, Kind::Histogram);
    }
    fn register_counter(&self, _: &Key, _: &Metadata<'_>) -> Counter {
        Counter::noop()
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

/// Every metric zoomsync exports, with its kind.
fn exported() -> BTreeMap<String, Kind> {
    let declared = Declared::default();
    metrics::with_local_recorder(&declared, zoomsync::metrics::describe);
    declared.0.into_inner().unwrap()
}

/// The exported metric a series name belongs to (`…_bucket`, `…_sum`, `…_count` of a
/// histogram), or why it belongs to none.
fn metric_of<'a>(series: &'a str, exported: &BTreeMap<String, Kind>) -> Result<&'a str, String> {
    let bucketed = |name: &str| BUCKETED.contains(&name);
    match exported.get(series) {
        Some(Kind::Histogram) if bucketed(series) => {
            return Err(format!("{series} has buckets, so no series of its own name: use _bucket, _sum or _count"));
        }
        Some(_) => return Ok(series),
        None => {}
    }
    for suffix in ["_bucket", "_sum", "_count"] {
        let Some(base) = series.strip_suffix(suffix) else { continue };
        if exported.get(base) == Some(&Kind::Histogram) {
            if suffix == "_bucket" && !bucketed(base) {
                return Err(format!("{base} is exported as a summary (no buckets): {series} does not exist"));
            }
            return Ok(base);
        }
    }
    Err(format!("{series} is not a metric zoomsync exports (src/metrics.rs)"))
}

/// The metric names an expression queries.
fn series_in(expr: &str) -> BTreeSet<String> {
    let selector = Regex::new(r"([A-Za-z_:][A-Za-z0-9_:]*)\s*\{").unwrap();
    let ours = Regex::new(r"\bzoomsync_[A-Za-z0-9_:]*").unwrap();
    let no_strings = Regex::new(r#""[^"]*""#).unwrap().replace_all(expr, "\"\"");
    let mut names: BTreeSet<String> = selector.captures_iter(&no_strings).map(|c| c[1].to_string()).collect();
    names.extend(ours.find_iter(&no_strings).map(|m| m.as_str().to_string()));
    names
}

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn dashboard() -> Value {
    serde_json::from_str(&read(DASHBOARD)).unwrap_or_else(|e| panic!("{DASHBOARD} is not JSON: {e}"))
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Every PromQL expression of the dashboard: panel targets and query variables, with where.
fn expressions(dash: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for panel in dash["panels"].as_array().into_iter().flatten() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            out.push((format!("panel {:?}", str_of(panel, "title")), str_of(target, "expr").to_string()));
        }
    }
    for var in dash["templating"]["list"].as_array().into_iter().flatten() {
        if str_of(var, "type") == "query" {
            let query = var["query"].get("query").unwrap_or(&var["query"]);
            out.push((format!("variable ${}", str_of(var, "name")), query.as_str().unwrap_or("").to_string()));
        }
    }
    out
}

#[test]
fn the_dashboard_is_a_grafana_dashboard_model() {
    let dash = dashboard();
    let schema = dash["schemaVersion"].as_u64().expect("schemaVersion: a number");
    assert!(schema >= MIN_SCHEMA_VERSION, "schemaVersion {schema} < {MIN_SCHEMA_VERSION}");
    assert!(!str_of(&dash, "title").is_empty() && !str_of(&dash, "uid").is_empty(), "title and uid");
    let panels = dash["panels"].as_array().expect("panels: an array");
    assert!(panels.len() >= 10, "{} panels", panels.len());

    let mut ids = BTreeSet::new();
    let mut cells: BTreeMap<(u64, u64), String> = BTreeMap::new();
    for panel in panels {
        let title = str_of(panel, "title");
        assert!(!title.is_empty(), "a panel without a title: {panel}");
        let id = panel["id"].as_u64().unwrap_or_else(|| panic!("{title}: no numeric id"));
        assert!(ids.insert(id), "{title}: id {id} is used twice");
        let grid = |k: &str| panel["gridPos"][k].as_u64().unwrap_or_else(|| panic!("{title}: gridPos.{k}"));
        let (h, w, x, y) = (grid("h"), grid("w"), grid("x"), grid("y"));
        assert!(h > 0 && w > 0 && x + w <= 24, "{title}: gridPos outside the 24-column grid");
        for cell in (x..x + w).flat_map(|cx| (y..y + h).map(move |cy| (cx, cy))) {
            if let Some(other) = cells.insert(cell, title.to_string()) {
                panic!("{title} overlaps {other} at {cell:?}");
            }
        }
        if str_of(panel, "type") == "row" {
            continue;
        }
        assert!(!str_of(panel, "type").is_empty(), "{title}: no type");
        assert!(!str_of(panel, "description").is_empty(), "{title}: no description");
        assert_eq!(str_of(&panel["datasource"], "type"), "prometheus", "{title}: datasource");
        assert!(!str_of(&panel["datasource"], "uid").is_empty(), "{title}: datasource uid");
        let targets = panel["targets"].as_array().filter(|t| !t.is_empty());
        let targets = targets.unwrap_or_else(|| panic!("{title}: no targets"));
        let mut refs = BTreeSet::new();
        for target in targets {
            assert!(!str_of(target, "expr").trim().is_empty(), "{title}: a target without expr");
            assert!(refs.insert(str_of(target, "refId")), "{title}: refId repeated or missing");
        }
    }
}

#[test]
fn the_dashboard_charts_every_exported_metric_and_no_other() {
    let exported = exported();
    // The three change-channel names are declared ahead of the channel itself.
    for name in ["zoomsync_change_channel_up", "zoomsync_change_events_total", "zoomsync_change_latency_seconds"] {
        assert!(exported.contains_key(name), "{name} is not declared in src/metrics.rs");
    }
    let mut charted = BTreeSet::new();
    let mut problems = Vec::new();
    for (place, expr) in expressions(&dashboard()) {
        let series = series_in(&expr);
        if series.is_empty() {
            problems.push(format!("{place}: queries no metric: {expr}"));
        }
        for name in series {
            match metric_of(&name, &exported) {
                Ok(metric) => {
                    charted.insert(metric.to_string());
                }
                Err(why) => problems.push(format!("{place}: {why}")),
            }
        }
    }
    for name in exported.keys().filter(|n| !charted.contains(n.as_str())) {
        problems.push(format!("{name} is exported but no panel charts it"));
    }
    assert!(problems.is_empty(), "{DASHBOARD}:\n{}", problems.join("\n"));
}

/// Each alert of alerts.yml with the zoomsync metrics its expression reads.
fn alerts() -> BTreeMap<String, BTreeSet<String>> {
    let exported = exported();
    let mut alerts: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in read(ALERTS).lines() {
        let trimmed = line.trim_start();
        if let Some(name) = trimmed.strip_prefix("- alert:") {
            let name = name.trim().to_string();
            alerts.insert(name.clone(), BTreeSet::new());
            current = Some(name);
        } else if trimmed.starts_with("annotations:") || trimmed.starts_with("- name:") {
            current = None;
        } else if let Some(name) = &current
            && !trimmed.starts_with('#')
        {
            let metrics =
                series_in(trimmed).into_iter().filter_map(|s| metric_of(&s, &exported).ok().map(String::from));
            alerts.get_mut(name).unwrap().extend(metrics);
        }
    }
    alerts
}

#[test]
fn every_alert_has_a_panel_that_charts_what_it_watches() {
    let alerts = alerts();
    assert!(alerts.len() >= 10, "only {} alerts read from {ALERTS}: {alerts:?}", alerts.len());
    let exported = exported();
    let dash = dashboard();
    let panels = dash["panels"].as_array().unwrap();
    let mut problems = Vec::new();
    for (alert, watched) in &alerts {
        let naming: Vec<&Value> = panels
            .iter()
            .filter(|p| {
                str_of(p, "title").contains(alert.as_str()) || str_of(p, "description").contains(alert.as_str())
            })
            .collect();
        if naming.is_empty() {
            problems.push(format!("{alert}: no panel names it in its title or description"));
            continue;
        }
        if watched.is_empty() {
            continue; // e.g. ZoomsyncDown watches Prometheus's own `up`
        }
        let charts_it = naming.iter().any(|p| {
            p["targets"].as_array().into_iter().flatten().any(|t| {
                series_in(str_of(t, "expr")).iter().any(|s| metric_of(s, &exported).is_ok_and(|m| watched.contains(m)))
            })
        });
        if !charts_it {
            problems.push(format!("{alert}: the panels naming it chart none of {watched:?}"));
        }
    }
    assert!(problems.is_empty(), "{DASHBOARD} against {ALERTS}:\n{}", problems.join("\n"));
}

#[test]
fn series_names_are_read_from_promql() {
    let expr = r#"sum(rate(zoomsync_http_retries_total{job=~"$job", reason="429"}[15m])) / sum by (le) (rate(up{job="x"}[5m]))"#;
    let names: Vec<_> = series_in(expr).into_iter().collect();
    assert_eq!(names, ["up", "zoomsync_http_retries_total"]);
    let exported = exported();
    assert_eq!(metric_of("zoomsync_cycle_duration_seconds_bucket", &exported), Ok("zoomsync_cycle_duration_seconds"));
    assert!(metric_of("zoomsync_throttle_wait_seconds_bucket", &exported).is_err(), "a summary has no _bucket");
    assert!(metric_of("zoomsync_cycle_duration_seconds", &exported).is_err());
    assert!(metric_of("up", &exported).is_err());
}
