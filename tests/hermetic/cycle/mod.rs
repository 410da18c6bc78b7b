//! Whole cycles, hermetically: the real [`zoomsync::sync::Engine::run_cycle`], end to end,
//! with no external server at all.
//!
//! Each test builds a [`world::HermeticWorld`]: generated OpenLDAP-style people and groups
//! in a [`zoomsync::source::memory::MemoryDirectory`] (edited between cycles), the Zoom
//! emulator in this process on `127.0.0.1:0`, the real HTTP client (S2S OAuth, retries with
//! millisecond backoff) and a [`zoomsync::state::memory::MemoryStore`] whose clones share one
//! store, so a "restart" is a new engine over the same state. Nothing here needs slapd,
//! Samba or scim2-server on PATH, nothing binds a fixed port, and no test sleeps for
//! correctness: points of failure are chosen by counting (emulator `times` faults, a target
//! wrapper that stops after K creates), never by timers.
//!
//! The slapd-based tests (`sync_engine`, `sync_resilience`, `sync_crash`, `sync_groups`)
//! remain the proof against a real directory server and the real binary; this tier covers
//! the same scenarios in a few seconds so every change to the engine can run them:
//!
//! - `lifecycle`: create with the mapped fields, the no-change cycle (zero requests), a
//!   title update, renames (accepted, and Zoom keeping the old userName), deactivation of
//!   locked and removed people, reactivation.
//! - `guards`: mass removal held until approved, an incomplete read and an empty directory
//!   deactivating nobody.
//! - `quarantine`: a user Zoom rejects is quarantined and released by a directory edit; a
//!   wrong client secret is fatal and quarantines the connector.
//! - `adoption`: existing Zoom users adopted, not duplicated; ownership conflicts, pending
//!   invitees and admins handled.
//! - `groups`: nested groups pushed, a move costing one remove and one add, a no-change
//!   cycle costing nothing.
//! - `managers`: manager DNs sent as the managers' Zoom ids, filled in the cycle after a
//!   manager is created; out-of-scope managers left unset with a note in the plan.
//! - `crash`: a cycle stopped mid-way (shutdown, a crash between the Zoom write and the state
//!   write) and finished by a new engine on the same store; lost answers, 5xx and 429s
//!   retried without duplicates.

pub mod directory;
mod target;
mod world;

mod adoption;
mod bounded;
mod convergence;
mod crash;
mod groups;
mod guards;
mod lifecycle;
mod managers;
mod memo;
mod quarantine;
mod secrets;
