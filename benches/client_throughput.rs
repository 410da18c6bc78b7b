//! Benchmark: how much of Zoom's rate budget the SCIM client uses, against the in-process
//! emulator on loopback.
//!
//! 1. `matched`: emulator at 50 requests/s per label with 50 ms added latency, client
//!    configured to 50/s, `CLIENT_BENCH_CREATES` creates (default 5,000) -> achieved rate
//!    (target >= 95% of the limit) and 429s (target 0).
//! 2. `misconfigured`: emulator at `legacy_1rps`, client configured to 5/s,
//!    `CLIENT_BENCH_LEGACY_CREATES` creates (default 20) -> all complete, 429s absorbed;
//!    once as is and once with 300 ms latency (rate headers arrive late, so 429s happen).
//!
//! Run: `cargo bench --bench client_throughput`. Prints a Markdown table for BENCHMARKS.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use futures::StreamExt;
use zoomsync::config::{RateLimit, TargetConfig};
use zoomsync::emulator::{
    Emulator, EmulatorConfig, FaultConfig, FaultSpec, RateLimit as EmuRate, RatePreset, Route, RunningEmulator,
};
use zoomsync::model::Anchor;
use zoomsync::model::{Field, ScimUser};
use zoomsync::scim::{ScimClient, Target};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn target(emu: &RunningEmulator, per_second: f64, max_concurrency: usize) -> TargetConfig {
    TargetConfig {
        rate: RateLimit { light_per_second: per_second, medium_per_second: per_second },
        max_concurrency,
        timeout: Duration::from_secs(60),
        connect_timeout: Duration::from_secs(10),
        ..emu.target_config().unwrap()
    }
}

struct Outcome {
    name: &'static str,
    emulator: &'static str,
    client_rate: f64,
    creates: usize,
    ok: usize,
    elapsed: Duration,
    status_429: u64,
    created_on_server: usize,
    limit: f64,
}

/// Sends `n` creates with `in_flight` operations outstanding (the engine's apply stage).
async fn run(
    name: &'static str,
    emulator: &'static str,
    config: EmulatorConfig,
    client_rate: f64,
    limit: f64,
    n: usize,
) -> Outcome {
    let emu = Emulator::start(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let c = ScimClient::new(&target(&emu, client_rate, 8)).unwrap();
    // fetch the token first so the measured window holds creates only
    c.list_users().await.unwrap();
    emu.reset_requests();
    let owners = emu.users().len();
    let started = Instant::now();
    let results: Vec<bool> = futures::stream::iter(0..n)
        .map(|i| {
            let c = &c;
            async move {
                let mut u = ScimUser { active: true, ..ScimUser::default() };
                u.fields.insert(Field::UserName, format!("bench{i}@example.com"));
                u.fields.insert(Field::GivenName, format!("User{i}"));
                let anchor = Anchor::new(&format!("bench-{i}")).unwrap();
                match c.create_user(&anchor, &u).await {
                    Ok(_) => true,
                    Err(e) => {
                        eprintln!("create {i}: {e}");
                        false
                    }
                }
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let counts = emu.request_counts();
    let out = Outcome {
        name,
        emulator,
        client_rate,
        creates: n,
        ok: results.iter().filter(|ok| **ok).count(),
        elapsed,
        status_429: counts.route_status(Route::CreateUser, 429),
        created_on_server: emu.users().len() - owners,
        limit,
    };
    emu.shutdown().await;
    out
}

/// Strict emulator defaults with this rate limit and added latency on every request.
fn emulator(rate_limit: EmuRate, latency_ms: u64) -> EmulatorConfig {
    let global = FaultSpec { latency_ms, ..FaultSpec::default() };
    EmulatorConfig { rate_limit, faults: FaultConfig { global, ..FaultConfig::default() }, ..EmulatorConfig::default() }
}

fn main() {
    zoomsync::install_crypto_provider();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let creates = env_or("CLIENT_BENCH_CREATES", 5_000);
    let legacy_creates = env_or("CLIENT_BENCH_LEGACY_CREATES", 20);
    let outcomes = rt.block_on(async {
        let a = run("matched", "50/s, 50 ms latency", emulator(EmuRate::per_second(50), 50), 50.0, 50.0, creates).await;
        let legacy = emulator(EmuRate::preset(RatePreset::Legacy1Rps), 0);
        let b = run("misconfigured", "legacy_1rps", legacy, 5.0, 1.0, legacy_creates).await;
        // with 300 ms latency several requests are in flight before any rate header is back
        let slow = emulator(EmuRate::preset(RatePreset::Legacy1Rps), 300);
        let c = run("misconfigured", "legacy_1rps, 300 ms latency", slow, 5.0, 1.0, legacy_creates).await;
        vec![a, b, c]
    });
    println!(
        "| scenario | emulator | client rate | creates | succeeded | on server | time | achieved rate | of limit | 429s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for o in &outcomes {
        let rate = o.ok as f64 / o.elapsed.as_secs_f64();
        println!(
            "| {} | {} | {:.0}/s | {} | {} | {} | {:.1} s | {:.2}/s | {:.1}% | {} |",
            o.name,
            o.emulator,
            o.client_rate,
            o.creates,
            o.ok,
            o.created_on_server,
            o.elapsed.as_secs_f64(),
            rate,
            100.0 * rate / o.limit,
            o.status_429
        );
    }
}
