//! Stopping a server the harness started: by its own pid, politely first.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// SIGTERM to the child's pid, wait up to `grace`, then SIGKILL; always reaps it.
pub fn stop_by_pid(mut child: Child, grace: Duration) {
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
