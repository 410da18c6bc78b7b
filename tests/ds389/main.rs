//! 389 Directory Server tier: a private ns-slapd per test (`support::servers::ds389`), run
//! from a dse.ldif the harness writes — no dscreate, no systemd. Needs Debian's 389-ds-base
//! and libnss3-tools (`scripts/install-test-deps.sh`). `cargo test --test ds389`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../support/mod.rs"]
mod support;

mod ds389_changes;
mod ds389_check;
mod ds389_source;
mod ds389_sync;
