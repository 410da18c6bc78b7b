//! A faithful local Zoom SCIM 2.0 emulator, for tests, benchmarks, the demo and
//! `zoomsync emulate`. It follows section 11 of `zoom-scim-api.md`; every behaviour where the
//! sources disagree is a [`Knobs`] field whose default is the stricter reading. Routes, control
//! endpoints and knobs are documented in `docs/emulator.md`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use zoomsync::emulator::{Emulator, EmulatorConfig, Route};
//! let emu = Emulator::start(EmulatorConfig::unlimited(), "127.0.0.1:0".parse()?).await?;
//! // point a client at emu.base_url() / emu.token_url() with emu.client_id() …
//! assert_eq!(emu.request_counts().route(Route::GetUser), 0);
//! emu.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - `config`: [`EmulatorConfig`], [`Knobs`]; `ratelimit` and `faults`: their settings and logic.
//! - `running`: [`Emulator::start`] and the [`RunningEmulator`] handle.
//! - `server` (accept loop, dropped connections) → `pipeline` (faults, auth, rate limit, SSO)
//!   → `users` / `groups` (the 11 operations) over `state` (the account data).
//! - `auth`: the token endpoint; `control` + `seed`: `/_emulator/…`; `log`: request counts.
//! - `wire`, `user_json`, `query`, `routes`: bodies, errors, paging/filters, the route table.
//! - `attributes`: the extension attributes Zoom documents, which are never returned, and the
//!   value checks on create/PUT (userType, plan fields, kinds, manager, phone numbers).

mod args;
mod attributes;
mod auth;
mod clock;
mod config;
mod control;
mod faults;
mod groups;
mod log;
mod pipeline;
mod query;
mod ratelimit;
mod routes;
mod running;
mod seed;
mod server;
mod shared;
mod state;
mod user_json;
mod users;
mod wire;

pub use args::{EmulateArgs, run};
pub use attributes::{ContactCenterProvisioning, FIRST_EXTENSION, PhoneProvisioning, USER_TYPES};
pub use config::{
    Credentials, DEFAULT_PLAN_VALUES, DeleteMode, EmulatorConfig, ErrorStyle, ExtraClient, Knobs, Plan, RetryAfterStyle,
};
pub use faults::{FaultConfig, FaultSpec};
pub use log::{RequestCounts, RequestRecord};
pub use ratelimit::{Label, LabelLimit, RateLimit, RatePreset, RateTable};
pub use routes::Route;
pub use running::{Emulator, RunningEmulator};
pub use seed::{ControlError, SeedUser, UserEdit};
pub use server::StartError;
pub use state::{Group, LoginType, Role, User, UserState};
pub use wire::{
    CORE_GROUP, CORE_USER, ENTERPRISE, ERROR, LIST_RESPONSE, PATCH_OP, ZOOM_GROUP, ZOOM_LOGIN, ZOOM_USER, text,
};
