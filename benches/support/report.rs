//! Shared by the benches: medians, the machine line, and writing one section of BENCHMARKS.md.
#![allow(dead_code)]

use std::process::Command;

pub fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

pub fn runs(v: &[f64]) -> String {
    v.iter().map(|x| format!("{x:.2}")).collect::<Vec<_>>().join(", ")
}

pub fn today() -> String {
    let out = Command::new("date").arg("-u").arg("+%Y-%m-%d").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    format!("{cores} cores ({cpu})")
}

/// `100000` as `100,000`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The user count of a bench: `BENCH_USERS` when set (a quick check), else `default`.
pub fn users(default: usize) -> usize {
    std::env::var("BENCH_USERS").ok().map_or(default, |v| v.trim().parse().expect("BENCH_USERS: a number"))
}

/// Resident memory of this process now, MiB (0 where unknown).
pub fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmRSS:"))?.to_string();
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// Peak resident memory of this process, MiB (0 where unknown).
pub fn peak_rss_mib() -> f64 {
    zoomsync::telemetry::peak_rss_mib().unwrap_or(0.0)
}

/// Replaces the section starting at `heading` in BENCHMARKS.md (or appends it).
pub fn update(heading: &str, section: &str) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/BENCHMARKS.md");
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|_| "# Benchmarks\n\nFigures measured by the benches in `benches/`.\n".into());
    let new = match text.find(heading) {
        Some(start) => {
            let after = start + heading.len();
            let end = text[after..].find("\n## ").map_or(text.len(), |i| after + i + 1);
            format!(
                "{}{}{}",
                &text[..start],
                section,
                if end < text.len() { format!("\n{}", &text[end..]) } else { String::new() }
            )
        }
        None => format!("{}\n\n{}", text.trim_end(), section),
    };
    std::fs::write(path, new).unwrap();
}
