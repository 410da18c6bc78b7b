//! A private scim2-server (PyPI, python-scim) for one test: from the venv at
//! `$ZOOMSYNC_TEST_VENV` or `<repo>/target/test-venv`, on a free loopback port below 32768,
//! with a bearer token and dynamic tenants (each test can take its own `/<tenant>/v2`),
//! stopped by its own pid on drop. A missing binary fails the test with the install command.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::ports::free_port;

pub struct Scim2Server {
    child: Option<Child>,
    log: PathBuf,
    /// Holds the log; kept until the server is dropped.
    dir: Option<tempfile::TempDir>,
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
            let out = std::fs::File::create(&log).unwrap();
            let child = Command::new(&bin)
                .args(["--hostname", "127.0.0.1", "--port", &port.to_string()])
                .args(["--bearer-token", &token, "--dynamic-tenants"])
                .stdin(Stdio::null())
                .stdout(out.try_clone().unwrap())
                .stderr(out)
                .spawn()
                .unwrap();
            let mut server =
                Scim2Server { child: Some(child), log: log.clone(), dir: None, port, token: token.clone() };
            if server.wait_ready() {
                server.dir = Some(dir);
                return server;
            }
            last_log = server.log_text();
            server.stop();
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

    /// Polls the readiness probe while checking that our own child is still alive.
    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let Some(child) = self.child.as_mut() else { return false };
            if child.try_wait().unwrap().is_some() {
                return false;
            }
            if probe(self.port) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// SIGTERM by pid, wait up to 5 s, then SIGKILL.
    pub fn stop(&mut self) {
        if let Some(child) = self.child.take() {
            super::process::stop_by_pid(child, Duration::from_secs(5));
        }
    }
}

impl Drop for Scim2Server {
    fn drop(&mut self) {
        self.stop();
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
