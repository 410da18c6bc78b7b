//! Shared integration-test harness: private servers on loopback, generated data, config.
//!
//! Each tier binary (`tests/<tier>/main.rs`) includes this directory with
//! `#[path = "../support/mod.rs"] mod support;`, and so do the benches that start a server
//! (`#[path = "../tests/support/mod.rs"]`). Each of them compiles all of it and uses its own
//! slice, and no module here is used by every one of them (the hermetic tier uses only
//! `emulator`, which no other tier uses, and `fast_retries`). So each declaration below
//! carries its own `#[allow(dead_code)]`, for the binaries that do not use it:
//!
//! | item              | used by                                                         |
//! |-------------------|-----------------------------------------------------------------|
//! | `daemon`          | ldap, ad, benches (`change_latency`)                            |
//! | `channel`         | ldap, benches (`change_latency`)                                |
//! | `emulator`        | hermetic                                                        |
//! | `fast_retries`    | hermetic, scim2                                                 |
//! | `servers`         | slapd: ldap, scim2, benches; Samba: ad; scim2-server: scim2;    |
//! |                   | the relay: ldap, ad; ports, tls, process: all of the above;     |
//! |                   | ldap_tools: ldap, scim2, benches (`World`), ad, ds389           |
//! | `reading`         | ldap, ad, ds389                                                 |
//! | `data`            | people, groupOfNames: ldap, scim2, benches; AD entries: ad;     |
//! |                   | the LDIF reader (`data::samba::parse_ldif`): ad, ldap           |
//! | `world`           | `World`: ldap, scim2, benches; `library_cycle`: ad, ds389 too   |
//! | `world_directory` | ldap                                                            |
//! | `ad`              | ad                                                              |
//! | `http_recorder`, `open_model` | ldap, ad                                            |
//! | `servers::ds389`, `data::ds389` | ds389                                             |
//!
//! The allow also covers items inside a module that only some of its users need (e.g.
//! `World::use_scim2`: scim2 only; `World::ldapsearch_seconds`: benches only). An item that
//! no test and no bench uses does not belong here: delete it (drop the allows for a moment
//! and `cargo clippy --all-targets` lists, per binary, what each one leaves unused).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// AD settings for the Samba DC.
#[allow(dead_code)]
pub mod ad;
/// The change channel end to end: the daemon up, timed changes (ldap tests, benches).
#[allow(dead_code)]
pub mod channel;
/// The real daemon as a child process.
#[allow(dead_code)]
pub mod daemon;
/// Generated directory data: slapd people and groups, AD users and groups.
#[allow(dead_code)]
pub mod data;
/// The in-process Zoom emulator driven over HTTP.
#[allow(dead_code)]
pub mod emulator;
/// An HTTP recorder in front of the emulator (request bodies).
#[allow(dead_code)]
pub mod http_recorder;
/// The open attribute model's must-show: data, mapping, expected values, scenario.
#[allow(dead_code)]
pub mod open_model;
/// Reading a configured directory's users: `read`, `complete`.
#[allow(dead_code)]
pub mod reading;
/// Private servers on loopback: slapd, Samba AD DC, scim2-server, an LDAP relay.
#[allow(dead_code)]
pub mod servers;
/// Reading a syncrepl channel's events (the slapd and 389-ds channel tests).
#[allow(dead_code)]
pub mod sync_events;
/// A whole world: slapd, the emulator, a config and state; one library cycle.
#[allow(dead_code)]
pub mod world;
/// A directory that kills its server mid-read.
#[allow(dead_code)]
pub mod world_directory;

/// Client retries for tests: the same attempts as production, milliseconds apart.
#[allow(dead_code)]
pub fn fast_retries() -> zoomsync::scim::RetryPolicy {
    use std::time::Duration;
    zoomsync::scim::RetryPolicy {
        max_attempts: 6,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(100),
        max_retry_after: Duration::from_secs(5),
        per_request: Duration::from_secs(20),
        per_cycle: Duration::from_secs(60),
    }
}
