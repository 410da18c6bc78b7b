//! Shared integration-test harness: private servers on loopback, generated data, config.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod ad;
pub mod data;
pub mod ds389;
pub mod ds389_data;
pub mod group_model;
pub mod groups_data;
pub mod ports;
pub mod process;
pub mod relay;
pub mod samba;
pub mod samba_data;
pub mod scim2;
pub mod slapd;
pub mod tls;
pub mod world;
pub mod world_directory;

/// Finds a server binary or fails the test with how to install it (never skips).
pub fn require_binary(name: &str, package_hint: &str) -> std::path::PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin", "/sbin", "/bin"] {
        let p = std::path::Path::new(dir).join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "{name} is not installed: run `sudo scripts/install-test-deps.sh` \
         (or `apt-get install {package_hint}`) and run the tests again"
    );
}

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
