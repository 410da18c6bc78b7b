//! Free loopback ports below 32768 (the ephemeral range starts there, and a TIME-WAIT
//! client socket can hold a port above it). Each test process walks its own stride.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU16, Ordering};

static NEXT: AtomicU16 = AtomicU16::new(0);

/// A port that was free a moment ago on 127.0.0.1. Servers that fail to bind retry.
pub fn free_port() -> u16 {
    let base = 10_000 + (std::process::id() % 2000) as u16 * 10;
    for _ in 0..2000 {
        let offset = NEXT.fetch_add(1, Ordering::Relaxed) % 12_000;
        let port = 10_000 + (base - 10_000 + offset * 7) % 22_000;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port below 32768");
}
