//! The SCIM target: Zoom's `/scim2` API or a generic RFC 7644 server.
//!
//! [`Target`] is what the sync engine calls; `client` implements it over HTTP with OAuth or a
//! bearer token, a rate budget and retries (the only place retry decisions are made).
//! Errors are classified by what the caller does next ([`ScimError`]).

pub mod client;
pub mod errors;
pub mod group_body;
pub mod metric_names;
pub mod oauth;
pub mod redact;
pub mod retry;
pub mod throttle;
pub mod wire;
pub mod wire_body;
pub mod wire_path;

use std::future::Future;
use std::time::{Duration, SystemTime};

pub use client::ScimClient;
pub use retry::RetryPolicy;

use crate::model::{Anchor, Change, FailureClass, MemberPatch, RemoteGroup, RemoteUser, ScimUser};

/// What went wrong, by what the caller does next.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ScimError {
    /// Try again later (429, 5xx, timeouts, dropped connections) — after `retry_after` if
    /// the server said. The client already retried within its budget before returning this.
    #[error("temporarily unavailable: {detail}")]
    Retryable { retry_after: Option<Duration>, detail: String },
    /// The userName (or group name) is taken: look it up and adopt, or report.
    #[error("conflict: {detail}")]
    Conflict { detail: String },
    /// The object is gone on the target: forget the id, re-match on the next full reconcile.
    #[error("not found: {detail}")]
    NotFound { detail: String },
    /// The target refused this object's data (400 with a detail): quarantine the object.
    #[error("rejected ({status}): {detail}")]
    Rejected { status: u16, detail: String },
    /// Nothing will work until an operator acts (bad credentials, 403, SSO off, wrong URL,
    /// a TLS certificate that cannot be verified, a token endpoint that gave no token within
    /// the cycle's retry budget): stop the cycle, no further writes.
    #[error("fatal: {detail}")]
    Fatal { detail: String },
    /// The target refuses every request until `until`, further off than the client waits
    /// (Zoom's daily rate limit: `Retry-After` until 00:00 UTC): stop the cycle and start no
    /// scheduled one before then. Nothing is wrong with the object or the credentials.
    #[error("paused until {}: {detail}", humantime::format_rfc3339_seconds(*until))]
    Paused { until: SystemTime, detail: String },
}

impl ScimError {
    pub fn is_fatal(&self) -> bool {
        matches!(self, Self::Fatal { .. })
    }

    /// Whether the cycle stops here (Fatal or Paused): no new operations this cycle.
    pub fn stops_cycle(&self) -> bool {
        matches!(self, Self::Fatal { .. } | Self::Paused { .. })
    }

    /// The bounded class kept with a failure record (a metric label).
    pub fn class(&self) -> FailureClass {
        match self {
            Self::Retryable { .. } | Self::Paused { .. } => FailureClass::Unavailable,
            Self::Conflict { .. } => FailureClass::Conflict,
            Self::NotFound { .. } => FailureClass::NotFound,
            Self::Rejected { .. } => FailureClass::Rejected,
            Self::Fatal { .. } => FailureClass::Fatal,
        }
    }
}

/// A SCIM service provider as the engine uses it. Implementations own auth, rate limits
/// and retries; every method is one logical operation.
pub trait Target: Send + Sync {
    /// A sync cycle starts: reset whatever per-cycle budget the target keeps (the HTTP
    /// client's retry budget). `run_cycle` calls it, so no caller can forget it.
    fn begin_cycle(&self) {}

    /// POST /Users with all fields of `user`; `anchor` goes out as `externalId` where the
    /// profile supports it (generic SCIM; Zoom's externalId is its own id).
    fn create_user(
        &self,
        anchor: &Anchor,
        user: &ScimUser,
    ) -> impl Future<Output = Result<RemoteUser, ScimError>> + Send;

    /// Changes attributes: Zoom PUT with only the changed fields (a partial update there);
    /// generic PATCH with one operation per change. Returns the user as the target now has it.
    fn update_user(&self, id: &str, changes: &[Change]) -> impl Future<Output = Result<RemoteUser, ScimError>> + Send;

    /// PATCH `active` (Zoom: capital-O `Operations`, the only PATCH it supports on users).
    fn set_active(&self, id: &str, active: bool) -> impl Future<Output = Result<(), ScimError>> + Send;

    /// DELETE /Users/{id}.
    fn delete_user(&self, id: &str) -> impl Future<Output = Result<(), ScimError>> + Send;

    /// Marks a user zoomsync adopted (found, not created) as its own, as `create_user`
    /// marks the ones it creates: `externalId` = anchor on the generic profile (one PATCH);
    /// nothing on Zoom, whose externalId is its own user id.
    fn mark_user(&self, id: &str, anchor: &Anchor) -> impl Future<Output = Result<(), ScimError>> + Send;

    /// GET /Users/{id}.
    fn get_user(&self, id: &str) -> impl Future<Output = Result<RemoteUser, ScimError>> + Send;

    /// GET /Users?filter=userName eq "…": the one user with that login, if any.
    fn find_user(&self, user_name: &str) -> impl Future<Output = Result<Option<RemoteUser>, ScimError>> + Send;

    /// Every user on the target, paged (full reconcile).
    fn list_users(&self) -> impl Future<Output = Result<Vec<RemoteUser>, ScimError>> + Send;

    /// GET /Groups?filter=displayName eq "…": the group with that exact name, if any.
    fn find_group(&self, display_name: &str) -> impl Future<Output = Result<Option<RemoteGroup>, ScimError>> + Send;

    /// GET /Groups/{id} (members only where the target returns them).
    fn get_group(&self, id: &str) -> impl Future<Output = Result<RemoteGroup, ScimError>> + Send;

    /// POST /Groups with no members (members follow in PATCH batches). `anchor` (the
    /// directory group's) goes out as `externalId` where the profile keeps one (generic
    /// SCIM), marking the group as created by zoomsync so the mark outlives a state loss;
    /// Zoom keeps no group externalId, so its groups carry no mark.
    fn create_group(
        &self,
        anchor: &Anchor,
        display_name: &str,
    ) -> impl Future<Output = Result<RemoteGroup, ScimError>> + Send;

    /// PATCH /Groups/{id} replacing displayName.
    fn rename_group(&self, id: &str, display_name: &str) -> impl Future<Output = Result<(), ScimError>> + Send;

    /// PATCH /Groups/{id} with one membership batch (body from `group_body::member_patch_body`).
    fn patch_members(&self, id: &str, patch: &MemberPatch) -> impl Future<Output = Result<(), ScimError>> + Send;

    /// DELETE /Groups/{id}. The engine calls it only for groups zoomsync created.
    fn delete_group(&self, id: &str) -> impl Future<Output = Result<(), ScimError>> + Send;
}
