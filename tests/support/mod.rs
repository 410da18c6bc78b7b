//! Shared integration-test harness: private servers on loopback, generated data, config.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod data;
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
