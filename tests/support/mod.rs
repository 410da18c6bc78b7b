//! Shared integration-test harness, included by every tier binary (`tests/<tier>/main.rs`,
//! `#[path = "../support/mod.rs"] mod support;`) and by the benches that start a server:
//! private servers on loopback, generated data, config, the emulator driven over HTTP.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod ad;
pub mod data;
pub mod emulator;
pub mod servers;
pub mod world;
pub mod world_directory;

/// Client retries for tests: the same attempts as production, milliseconds apart.
pub fn fast_retries() -> zoomsync::scim::RetryPolicy {
    use std::time::Duration;
    zoomsync::scim::RetryPolicy {
        max_attempts: 6,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(100),
        max_retry_after: Duration::from_secs(5),
        per_request: Duration::from_secs(20),
        per_cycle: Duration::from_secs(60),
    }
}
