//! A private scim2-server (PyPI, python-scim) for one test: from the venv at
//! `$ZOOMSYNC_TEST_VENV` or `<repo>/target/test-venv`, on a free loopback port below 32768,
//! with a bearer token and dynamic tenants (each test can take its own `/<tenant>/v2`),
//! stopped by its own pid on drop. A missing binary fails the test with the install command.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

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
                return Scim2Server { process, log, dir, port, token };
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

    /// Requests in the server's access log so far. Only request lines count: the log also
    /// carries the server's own messages, and one of those once made a no-change cycle look
    /// like it had sent a request.
    pub fn requests_logged(&self) -> usize {
        self.request_lines().len()
    }

    /// The access log's request lines, in order.
    pub fn request_lines(&self) -> Vec<String> {
        let methods = ["\"GET /", "\"POST /", "\"PUT /", "\"PATCH /", "\"DELETE /"];
        self.log_text().lines().filter(|l| methods.iter().any(|m| l.contains(m))).map(String::from).collect()
    }
}

/// `GET /v2/ServiceProviderConfig` gets an HTTP answer. It is open without a token (RFC 7644);
/// with `--dynamic-tenants` the tenant-less root answers 404 "Unknown tenant", which also
/// proves the server is up. Plain std TCP: the server speaks HTTP/1.0 and closes.
fn probe(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req = format!("GET /v2/ServiceProviderConfig HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 16];
    let mut got = 0;
    while got < head.len() {
        match s.read(&mut head[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    let line = String::from_utf8_lossy(&head[..got]);
    ["200", "404"]
        .iter()
        .any(|code| line.starts_with(&format!("HTTP/1.0 {code}")) || line.starts_with(&format!("HTTP/1.1 {code}")))
}
