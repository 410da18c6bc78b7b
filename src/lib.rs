//! zoomsync keeps Zoom's users and groups in step with an on-prem LDAP directory or Active
//! Directory through Zoom's SCIM 2.0 API.
//!
//! The heart is three pure steps over owned data: **decode** directory entries into users,
//! **map** them to the SCIM users we want, **plan** the difference from what we last pushed.
//! Adapters sit around them behind traits: the directory, the SCIM target, the state store.
//! One engine ([`sync::Engine`], built once from the config) runs a cycle through them.
//!
//! # Layout, bottom to top
//!
//! 0. [`model`]: the vocabulary every step shares — anchors and directory users, the SCIM
//!    user and its fields, the records of what was pushed (known users and groups,
//!    lifecycle, failures, held operations, history), the LDAP filter. Imports nothing of
//!    the crate.
//! 1. [`config`]: strict TOML -> validated [`config::Config`] (plain data, secrets from files
//!    or credentials, the `[mapping]` rules). Imports only `model`.
//!    [`expr`]: mapping expressions (minijinja), compiled at load, evaluated per user.
//!    Imports only `model`.
//! 2. Adapters and pure steps, which import `model` and `config` and never each other:
//!    - [`source`]: the directory adapters (LDAP, LDIF, in-memory), the pure decode, groups;
//!    - [`scim`]: the SCIM target trait, its error classes and the HTTP client;
//!    - [`state`]: the state store trait, sled and in-memory stores;
//!    - [`mapping`]: directory user -> SCIM user (pure);
//!    - [`plan`]: the plan, guards, reconcile, failure ladders and the group plan (pure);
//!    - [`telemetry`]: tracing setup (text for journald, or JSON);
//!    - [`emulator`]: a local Zoom SCIM server for tests, benchmarks, the demo and `emulate`.
//! 3. [`metrics`]: every metric name, described once (it re-exports the HTTP client's names).
//! 4. [`sync`]: the engine and its cycle — the only module that knows all three adapters.
//! 5. [`admin`]: status, quarantine, history and approve views; the admin socket protocol.
//! 6. [`daemon`]: `zoomsync run` — schedule, worker, signals, listeners.
//!
//! Above the library, in the binary: `commands` (one file per group of commands; print and
//! map outcomes to exit statuses), `cli` (clap) and `main`.
//!
//! **Dependency rule:** a module imports only modules of a lower layer (items of this
//! file excepted); modules of layer 2 do not import each other; no two files import each
//! other. The `layering` test reads the sources and fails on any breach.

pub mod admin;
pub mod config;
pub mod daemon;
pub mod emulator;
pub mod expr;
pub mod mapping;
pub mod metrics;
pub mod model;
pub mod plan;
pub mod scim;
pub mod source;
pub mod state;
pub mod sync;
pub mod telemetry;

#[cfg(test)]
mod layering;

/// Installs the process-wide rustls crypto provider (ring). Call once before any TLS client
/// is built; a second call is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
