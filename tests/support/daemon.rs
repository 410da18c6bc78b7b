//! The real `zoomsync run` binary as a child process: its log, signals, and waiting for
//! what it logs (events, not timers).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Daemon {
    pub child: Child,
    pub log: PathBuf,
}

impl Daemon {
    /// Starts `zoomsync run --config <config>`, logging to `log` (info, and `rust_log`).
    pub fn start(config: &Path, log: PathBuf, rust_log: &str) -> Daemon {
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_zoomsync"))
            .args(["run", "--config"])
            .arg(config)
            .env("RUST_LOG", rust_log)
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap();
        Daemon { child, log }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill").arg(format!("-{name}")).arg(self.child.id().to_string()).status().unwrap();
        assert!(ok.success());
    }

    /// Waits until `predicate(log)` holds; panics with the log after `secs`.
    pub async fn wait_for(&self, what: &str, secs: u64, predicate: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if predicate(&self.log()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("timed out waiting for {what}; log:\n{}", self.log());
    }

    /// Cycle summary lines the worker logged.
    pub fn cycles_finished(log: &str) -> usize {
        log.lines()
            .filter(|l| l.contains("zoomsync::daemon::worker") && l.contains(": read ") && l.contains("cycle "))
            .count()
    }

    /// Lines that start with a timestamp and contain `text`.
    pub fn count(log: &str, text: &str) -> usize {
        log.lines().filter(|l| l.contains(text)).count()
    }

    /// Stops it as systemd would (SIGTERM) and waits.
    pub fn stop(mut self) {
        self.signal("TERM");
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
