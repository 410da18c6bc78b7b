//! zoomsync keeps Zoom's users and groups in step with an on-prem LDAP directory or Active
//! Directory through Zoom's SCIM 2.0 API.
//!
//! The heart is three pure steps over owned data: **decode** directory entries into users,
//! **map** them to the SCIM users we want, **plan** the difference from what we last pushed.
//! Adapters sit around them behind traits: the directory, the SCIM target, the state store.
//!
//! # Layout
//!
//! - [`config`]: strict TOML -> validated [`config::Config`]; secrets from files/credentials.
//! - [`model`]: [`model::Anchor`], [`model::RawEntry`], [`model::DirectoryUser`], [`model::Rejected`].
//! - [`source`]: the directory adapters (`ldap`, `ldif`) and the pure `decode`.
//! - [`scim`]: the SCIM target trait, its error classes and the managed user fields.
//! - [`emulator`]: a local Zoom SCIM server for tests, benchmarks, the demo and `emulate`.
//! - [`telemetry`]: tracing setup (text for journald, or JSON).
//!
//! Dependency rule: `model` and `source::decode` import nothing async and no I/O crate.

pub mod admin;
pub mod config;
pub mod daemon;
pub mod emulator;
pub mod mapping;
pub mod metrics;
pub mod model;
pub mod plan;
pub mod scim;
pub mod source;
pub mod state;
pub mod sync;
pub mod telemetry;

/// Installs the process-wide rustls crypto provider (ring). Call once before any TLS client
/// is built; a second call is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
