//! A private scim2-server (PyPI, python-scim) for one test: from the venv at
//! `$ZOOMSYNC_TEST_VENV` or `<repo>/target/test-venv`, on a free loopback port below 32768,
//! with a bearer token and dynamic tenants (each test can take its own `/<tenant>/v2`),
//! stopped by its own pid on drop. A missing binary fails the test with the install command.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::ports::free_port;
use super::process::ServerProcess;

pub struct Scim2Server {
    /// Declared before `dir`: the server stops before its log is removed.
    process: ServerProcess,
    log: PathBuf,
    /// Holds the log; kept until the server is dropped.
    dir: tempfile::TempDir,
    pub port: u16,
    pub token: String,
    /// Barriers sent so far; each one's marker is unique.
    barriers: AtomicUsize,
}

/// The venv holding scim2-server.
pub fn venv() -> PathBuf {
    std::env::var_os("ZOOMSYNC_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-venv"))
}

fn binary() -> PathBuf {
    let bin = venv().join("bin/scim2-server");
    if !bin.is_file() {
        panic!(
            "scim2-server is not installed at {}: run `scripts/install-test-deps.sh` (it runs \
             `python3 -m venv target/test-venv && target/test-venv/bin/pip install scim2-server`) \
             and run the tests again",
            bin.display()
        );
    }
    bin
}

impl Scim2Server {
    /// Starts the server and waits until `GET /v2/ServiceProviderConfig` answers.
    pub fn start() -> Self {
        let bin = binary();
        let dir = tempfile::Builder::new().prefix("zoomsync-scim2-").tempdir().unwrap();
        let log = dir.path().join("scim2-server.log");
        let token = format!("test-token-{}", std::process::id());
        let mut last_log = String::new();
        for _ in 0..5 {
            let port = free_port();
            let mut process = ServerProcess::spawn(
                Command::new(&bin).args(["--hostname", "127.0.0.1", "--port", &port.to_string()]).args([
                    "--bearer-token",
                    &token,
                    "--dynamic-tenants",
                ]),
                &log,
                Duration::from_secs(5),
            );
            // The readiness probe answers.
            if process.wait_until(Duration::from_secs(30), Duration::from_millis(50), || probe(port)).is_ok() {
                return Scim2Server { process, log, dir, port, token, barriers: AtomicUsize::new(0) };
            }
            last_log = std::fs::read_to_string(&log).unwrap_or_default();
        }
        panic!("scim2-server did not start on a free port:\n{last_log}");
    }

    /// Base URL of a tenant's isolated store, with the trailing slash the client expects.
    pub fn tenant_url(&self, tenant: &str) -> String {
        format!("http://127.0.0.1:{}/{tenant}/v2/", self.port)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A URL for the test's own look at the server: it carries [`INSPECTION`], so the request
    /// counts below leave it out.
    pub fn inspection_url(&self, tenant: &str, path_and_query: &str) -> String {
        let sep = if path_and_query.contains('?') { '&' } else { '?' };
        format!("{}{path_and_query}{sep}{INSPECTION}", self.tenant_url(tenant))
    }

    /// Requests zoomsync sent, as logged so far. Only request lines count (the log also carries
    /// the server's own messages) and the test's own inspections do not.
    pub fn requests_logged(&self) -> usize {
        self.request_lines().len()
    }

    /// zoomsync's request lines in the access log, in order, once the log has caught up.
    pub fn request_lines(&self) -> Vec<String> {
        self.settle();
        let methods = ["\"GET /", "\"POST /", "\"PUT /", "\"PATCH /", "\"DELETE /"];
        self.log_text()
            .lines()
            .filter(|l| methods.iter().any(|m| l.contains(m)) && !l.contains(INSPECTION))
            .map(String::from)
            .collect()
    }

    /// Waits until the log holds every request answered so far. wsgiref writes a request's
    /// log line after the client has its answer, so a count read straight after a request can
    /// miss it, and a later count then charges it to whatever ran next (seen on a busy CI
    /// machine). A marked request sent now is logged after those earlier ones finish; its line
    /// is the barrier. Waits for an event, not for a time: the bound only stops a hung server.
    fn settle(&self) {
        let marker = format!("{INSPECTION}&barrier={}", self.barriers.fetch_add(1, Ordering::Relaxed));
        let _ = get(self.port, &format!("/v2/ServiceProviderConfig?{marker}"));
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.log_text().contains(&marker) {
            assert!(Instant::now() < deadline, "scim2-server never logged {marker}:\n{}", self.log_text());
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// The query parameter that marks the tests' own requests in the access log.
pub const INSPECTION: &str = "inspection=test";

/// The answer to a plain HTTP/1.0 GET, or nothing if the server did not answer. Plain std TCP:
/// the server speaks HTTP/1.0 and closes. The whole answer is read: a client that hangs up
/// early makes wsgiref fail the write and skip the request's log line.
fn get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200)).ok()?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let req = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    s.write_all(req.as_bytes()).ok()?;
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    Some(String::from_utf8_lossy(&answer).into_owned())
}

/// `GET /v2/ServiceProviderConfig` gets an HTTP answer. It is open without a token (RFC 7644);
/// with `--dynamic-tenants` the tenant-less root answers 404 "Unknown tenant", which also
/// proves the server is up.
fn probe(port: u16) -> bool {
    let Some(line) = get(port, "/v2/ServiceProviderConfig") else { return false };
    ["200", "404"]
        .iter()
        .any(|code| line.starts_with(&format!("HTTP/1.0 {code}")) || line.starts_with(&format!("HTTP/1.1 {code}")))
}
