//! A server the harness started: spawned with its output in a log file, waited for while
//! checking that our own child is alive, and stopped by its own pid, politely first, on drop.

use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A running server child. Dropping it stops the server ([`ServerProcess::stop`]); a struct
/// holding it next to the server's temp dir declares it first, so the server is gone before
/// its directory is removed.
pub struct ServerProcess {
    child: Option<Child>,
    /// Held open for a server that exits on EOF on stdin (`samba -i`).
    stdin: Option<ChildStdin>,
    /// How long [`ServerProcess::stop`] waits after SIGTERM before SIGKILL.
    grace: Duration,
}

/// Why [`ServerProcess::wait_until`] gave up.
#[derive(Debug)]
pub enum NotReady {
    /// Our child exited first (it is reaped: the process no longer has it).
    Exited(ExitStatus),
    TimedOut,
}

impl ServerProcess {
    /// Spawns `command` with stdin closed and stdout and stderr into `log` (created or
    /// truncated); [`ServerProcess::stop`] waits `grace` after SIGTERM.
    pub fn spawn(command: &mut Command, log: &Path, grace: Duration) -> Self {
        Self::spawn_with(command, log, grace, false)
    }

    /// As [`ServerProcess::spawn`], with stdin a pipe held open until the server is stopped:
    /// a server that exits on EOF on stdin (`samba -i`) goes with this process however it
    /// dies.
    pub fn spawn_tied_to_stdin(command: &mut Command, log: &Path, grace: Duration) -> Self {
        Self::spawn_with(command, log, grace, true)
    }

    /// A child spawned by the caller (its output already directed), stopped as above.
    pub fn adopt(child: Child, grace: Duration) -> Self {
        ServerProcess { child: Some(child), stdin: None, grace }
    }

    fn spawn_with(command: &mut Command, log: &Path, grace: Duration, tie_stdin: bool) -> Self {
        let out = std::fs::File::create(log).unwrap();
        let mut child = command
            .stdin(if tie_stdin { Stdio::piped() } else { Stdio::null() })
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        ServerProcess { child: Some(child), stdin, grace }
    }

    /// Polls `ready` every `interval` until it holds, while checking before each poll that
    /// our own child is alive; gives up after `timeout`.
    pub fn wait_until(
        &mut self,
        timeout: Duration,
        interval: Duration,
        mut ready: impl FnMut() -> bool,
    ) -> Result<(), NotReady> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let Some(child) = self.child.as_mut() else { return Err(NotReady::TimedOut) };
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                self.stdin = None;
                return Err(NotReady::Exited(status));
            }
            if ready() {
                return Ok(());
            }
            std::thread::sleep(interval);
        }
        Err(NotReady::TimedOut)
    }

    /// The server's pid (0 once it is stopped, killed or reaped).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// Kills the server at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        self.stdin = None;
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server by its pid (EOF on a tied stdin, SIGTERM, SIGKILL after the grace)
    /// and waits for it.
    pub fn stop(&mut self) {
        self.stdin = None;
        if let Some(child) = self.child.take() {
            stop_by_pid(child, self.grace);
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Every port accepts a TCP connection on 127.0.0.1.
pub fn listening(ports: &[u16]) -> bool {
    ports.iter().all(|&p| std::net::TcpStream::connect(("127.0.0.1", p)).is_ok())
}

/// SIGTERM to the child's pid, wait up to `grace`, then SIGKILL; always reaps it.
fn stop_by_pid(mut child: Child, grace: Duration) {
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if child.try_wait().ok().flatten().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}
