//! AD tier: a private Samba AD DC per test (`samba`, `samba-tool`, `ldapadd`, `ldapsearch`,
//! `openssl`, and `ip addr add` rights for a 127.0.0.X of its own: Samba's ports are fixed),
//! with the in-process Zoom emulator. `cargo test --test ad`; `scripts/install-test-deps.sh`
//! installs Samba.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../support/mod.rs"]
mod support;

mod ad_groups;
mod ad_search;
mod ad_source;
mod change_channel;
mod changes;
mod open_model;
