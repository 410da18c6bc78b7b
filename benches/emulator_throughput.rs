//! Benchmark: requests per second the emulator serves on loopback with rate limits off, for
//! `POST /scim2/Users` (create) and `GET /scim2/Users/{id}` (get), with concurrent keep-alive
//! reqwest clients in the same process (so client and server share the machine's cores).
//!
//! Run: `cargo bench --bench emulator_throughput` (release build). Optional env:
//! `EMU_BENCH_CREATES` (default 40000), `EMU_BENCH_GETS` (default 80000),
//! `EMU_BENCH_CONCURRENCY` (default 32). Prints a Markdown table for BENCHMARKS.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/report.rs"]
mod bench_report;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use zoomsync::emulator::{Emulator, EmulatorConfig, Route};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Phase {
    name: &'static str,
    requests: usize,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
}

impl Phase {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
}

/// Runs `total` requests split over `concurrency` tasks; `make(i)` sends request number i.
async fn phase<F, Fut>(name: &'static str, total: usize, concurrency: usize, make: F) -> Phase
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = u16> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let make = Arc::new(make);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (next, make) = (next.clone(), make.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return lat;
                }
                let t = Instant::now();
                let status = make(i).await;
                assert!(status == 200 || status == 201, "request {i} got {status}");
                lat.push(t.elapsed());
            }
        }));
    }
    let mut all = Vec::with_capacity(total);
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = start.elapsed();
    all.sort();
    Phase { name, requests: total, elapsed, p50: all[all.len() / 2], p99: all[all.len() * 99 / 100] }
}

fn main() {
    zoomsync::install_crypto_provider();
    let creates = env_or("EMU_BENCH_CREATES", 40_000);
    let gets = env_or("EMU_BENCH_GETS", 80_000);
    let concurrency = env_or("EMU_BENCH_CONCURRENCY", 32);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let emu = Emulator::start(EmulatorConfig::unlimited(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
        let http = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().unwrap();
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", emu.client_id(), emu.client_secret()));
        let token_url = format!("{}?grant_type=account_credentials&account_id={}", emu.token_url(), emu.account_id());
        let tok: Value = http
            .post(token_url)
            .header("authorization", format!("Basic {basic}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = Arc::new(format!("Bearer {}", tok["access_token"].as_str().unwrap()));
        let base = Arc::new(emu.base_url());

        let (h, t, b) = (http.clone(), token.clone(), base.clone());
        let create = phase("POST /scim2/Users (create)", creates, concurrency, move |i| {
            let (h, t, b) = (h.clone(), t.clone(), b.clone());
            async move {
                let body = json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": format!("bench{i}@example.com"),
                    "name": {"givenName": "Bench", "familyName": format!("User{i}")},
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Load"},
                });
                let r =
                    h.post(format!("{b}/Users")).header("authorization", t.as_str()).json(&body).send().await.unwrap();
                let s = r.status().as_u16();
                r.bytes().await.unwrap();
                s
            }
        })
        .await;

        let ids: Arc<Vec<String>> = Arc::new(
            emu.users()
                .into_iter()
                .map(|u| percent_encoding::utf8_percent_encode(&u.id, percent_encoding::NON_ALPHANUMERIC).to_string())
                .collect(),
        );
        let (h, t, b) = (http.clone(), token.clone(), base.clone());
        let get = phase("GET /scim2/Users/{id} (get)", gets, concurrency, move |i| {
            let (h, t, b, ids) = (h.clone(), t.clone(), b.clone(), ids.clone());
            async move {
                let id = &ids[i.wrapping_mul(7919) % ids.len()];
                let r = h.get(format!("{b}/Users/{id}")).header("authorization", t.as_str()).send().await.unwrap();
                let s = r.status().as_u16();
                r.bytes().await.unwrap();
                s
            }
        })
        .await;

        let counts = emu.request_counts();
        assert_eq!(counts.route(Route::CreateUser), creates as u64);
        assert_eq!(counts.route(Route::GetUser), gets as u64);
        emu.shutdown().await;

        println!("machine: {}; concurrency {concurrency} keep-alive connections; limits off", bench_report::machine());
        println!("| operation | requests | seconds | requests/s | p50 | p99 |");
        println!("|---|---:|---:|---:|---:|---:|");
        for p in [create, get] {
            println!(
                "| {} | {} | {:.2} | {:.0} | {:.2} ms | {:.2} ms |",
                p.name,
                p.requests,
                p.elapsed.as_secs_f64(),
                p.rps(),
                p.p50.as_secs_f64() * 1e3,
                p.p99.as_secs_f64() * 1e3
            );
        }
    });
}
