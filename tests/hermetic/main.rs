//! Hermetic tier: needs no server outside this process. Whole cycles over an in-memory
//! directory and store (`cycle`), the in-process Zoom emulator, the `zoomsync` binary Cargo
//! builds (`demo`, `check`, `emulate`), config parsing and the docs; never slapd, Samba or
//! scim2-server. `cargo test --test hermetic`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../support/mod.rs"]
mod support;

mod cli_check;
mod cli_demo;
mod cli_dump;
mod cli_map;
mod cli_plan;
mod cli_state;
mod config_validation;
mod cycle;
mod dashboard;
mod docs_catalogue;
mod docs_config;
mod emulator_attributes;
mod emulator_groups;
mod emulator_open_model;
mod emulator_ops;
mod emulator_users;
mod recipes;
mod scim_client_groups;
mod scim_client_metrics;
mod scim_client_tls;
mod scim_client_zoom;
mod untrusted_tls;
