//! scim2 tier: a generic SCIM 2.0 server, scim2-server (PyPI) from the venv at
//! `$ZOOMSYNC_TEST_VENV` or `target/test-venv`, one process per test; the engine tests also
//! read from a private slapd (as the LDAP tier). `cargo test --test scim2`;
//! `scripts/install-test-deps.sh` makes the venv.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../support/mod.rs"]
mod support;

mod open_model;
mod scim_client_groups;
mod scim_client_scim2;
mod sync_generic;
mod sync_groups_scim2;
