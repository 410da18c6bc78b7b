//! LDAP tier: a private OpenLDAP slapd per test (`slapd`, `slapadd`, `ldapsearch` and
//! `ldapmodify` from `slapd ldap-utils`, and `openssl`), with the in-process Zoom emulator and
//! the `zoomsync` binary. `cargo test --test ldap`; `scripts/install-test-deps.sh` installs slapd.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../support/mod.rs"]
mod support;

mod change_channel;
mod changes;
mod cli_check;
mod cli_engine;
mod daemon;
mod ldap_search;
mod ldap_source;
mod open_model;
mod standby;
mod sync_crash;
mod sync_engine;
mod sync_groups;
mod sync_resilience;
