//! Emulator configuration: credentials, behaviour knobs, rate limits and faults.
//!
//! Every place where the sources in `zoom-scim-api.md` disagree is a field of [`Knobs`]; its
//! `Default` is the stricter reading, so a client that passes against the defaults is
//! prepared for the worst Zoom we know of. Knobs can be changed at run time (Rust setter or
//! `PATCH /_emulator/knobs`), which is why they are plain serde data.

use serde::{Deserialize, Serialize};

pub use super::faults::FaultConfig;
pub use super::ratelimit::{RateLimit, RatePreset};

/// Everything needed to start an emulator. `Default` is Zoom's strict behaviour with the
/// `legacy_1rps` rate limit, no faults and fixed development credentials.
#[derive(Debug, Clone, PartialEq)]
pub struct EmulatorConfig {
    /// The Server-to-Server OAuth app the emulator accepts.
    pub credentials: Credentials,
    /// Behaviour switches and account flags.
    pub knobs: Knobs,
    /// Rate-limit preset and overrides.
    pub rate_limit: RateLimit,
    /// Fault injection at start.
    pub faults: FaultConfig,
    /// A real Zoom account always has an owner; `Some(userName)` seeds one (role owner, active)
    /// at start and on every reset. `None` starts with no users at all.
    pub owner_user_name: Option<String>,
    /// Allow binding a non-loopback address. The emulator has no TLS and its control endpoints
    /// have no authentication, so this is off unless asked for.
    pub allow_remote: bool,
    /// How many individual requests the log keeps (counts are kept for all requests).
    pub request_log_capacity: usize,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            credentials: Credentials::default(),
            knobs: Knobs::default(),
            rate_limit: RateLimit::default(),
            faults: FaultConfig::default(),
            owner_user_name: Some("owner@example.com".to_string()),
            allow_remote: false,
            request_log_capacity: 50_000,
        }
    }
}

impl EmulatorConfig {
    /// Strict defaults but no rate limiting: what most functional tests want.
    pub fn unlimited() -> Self {
        Self { rate_limit: RateLimit::preset(RatePreset::Off), ..Self::default() }
    }
}

/// Server-to-Server OAuth credentials (`account_credentials` grant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub account_id: String,
    pub client_id: String,
    pub client_secret: String,
    /// More Server-to-Server apps of the same account (a standby host uses its own app:
    /// Zoom revokes an app's earlier token when it issues the app another). Each gets its
    /// own tokens; the request log names the app of every request.
    #[serde(default)]
    pub extra_clients: Vec<ExtraClient>,
}

/// Another app's client id and secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtraClient {
    pub client_id: String,
    pub client_secret: String,
}

impl Credentials {
    /// Whether `id` and `secret` are one of the account's apps.
    pub fn accepts(&self, id: &str, secret: &str) -> bool {
        (id == self.client_id && secret == self.client_secret)
            || self.extra_clients.iter().any(|c| c.client_id == id && c.client_secret == secret)
    }
}

impl Default for Credentials {
    fn default() -> Self {
        Self {
            account_id: "emulator-account".to_string(),
            client_id: "emulator-client".to_string(),
            client_secret: "emulator-secret".to_string(),
            extra_clients: Vec::new(),
        }
    }
}

/// The Zoom plan of the emulated account. Informational (shown in the state dump); the rate
/// table is chosen by [`RatePreset`] because the sources disagree on which table SCIM uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    Free,
    Pro,
    Business,
    Education,
    Enterprise,
}

/// Body style of 403/404/429 errors on SCIM paths (unconfirmed which one Zoom uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorStyle {
    /// `{"schemas":[…Error],"detail":…,"status":<int>}`.
    Scim,
    /// Zoom REST `{"code":<int>,"message":…}`.
    Rest,
}

/// How `Retry-After` is sent on a 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryAfterStyle {
    /// Delta seconds, e.g. `Retry-After: 1`.
    Seconds,
    /// Absolute UTC timestamp as in Zoom's 2020 docs, e.g. `2026-11-23T00:00:00Z`.
    Iso,
    /// No header at all (a user saw daily 429s without it).
    None,
}

/// What `DELETE /scim2/Users/{id}` does (undocumented for SCIM).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeleteMode {
    /// The user is gone; the userName can be created again.
    Hard,
    /// The user leaves the account but keeps a free Zoom account, so its email stays taken:
    /// a later create with that userName fails with "The user already exists".
    Disassociate,
}

/// Behaviour switches. `Default` = the stricter reading wherever sources disagree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Knobs {
    /// Account flag: false makes every SCIM call 400 "Account has not enabled Single Sign-On."
    pub sso_enabled: bool,
    /// Account flag: plan (informational).
    pub plan: Plan,
    /// Account flag: managed domains. Empty = any domain; otherwise create/rename outside them
    /// fails with 400 "Domain name doesn't match…".
    pub managed_domains: Vec<String>,
    /// Issuing a token revokes all earlier tokens (Zoom staff, 2022–23).
    pub invalidate_previous_token: bool,
    /// Lifetime of issued tokens.
    pub token_ttl_secs: u64,
    /// Status of a duplicate create: 409 (SCIM norm, Okta's contract) or 400.
    pub duplicate_create_status: u16,
    /// Status when a `userName eq` filter hits a pending user: 400 (observed) or 404 (Zoom staff).
    pub pending_filter_status: u16,
    /// PUT changes to userName, displayName and loginType answer 200 but change nothing.
    pub ignore_identity_changes: bool,
    /// Page size when `count` is absent.
    pub default_count: u32,
    /// Largest page; a larger `count` is clamped to it.
    pub max_count: u32,
    /// A list without `startIndex` is a 400 (the spec marks it required) instead of start 1.
    pub start_index_required: bool,
    /// Body style of 403/404/429 on SCIM paths (401 is always Zoom REST style).
    pub error_style: ErrorStyle,
    /// `Retry-After` format on 429s.
    pub retry_after: RetryAfterStyle,
    /// Meaning of SCIM user DELETE.
    pub delete_mode: DeleteMode,
    /// Status when deactivating or deleting an owner/admin (refused; code unknown): 400 or 403.
    pub privileged_change_status: u16,
    /// User PATCH must carry the PatchOp URN in `schemas` (one client got away without it).
    pub validate_patch_schemas: bool,
    /// enterprise `employeeNumber` must be unique in the account (Okta Workflows doc).
    pub unique_employee_number: bool,
    /// A write to a user while another write to the same user is in flight gets a 429.
    pub concurrent_update_429: bool,
    /// GET group also returns `members` (Zoom's samples show none).
    pub group_get_includes_members: bool,
    /// Every generated id contains `&`, to test path encoding every time.
    pub ids_with_ampersand: bool,
    /// Also serve the SCIM routes under `/v2/scim2` (changelog spelling).
    pub mount_v2: bool,
    /// Largest group PATCH body, in characters.
    pub group_patch_max_chars: usize,
    /// A careless server: every error answer (token endpoint and SCIM paths) echoes the
    /// request's credentials in its text — the `Authorization` header, the bare bearer token,
    /// the client secret. Not Zoom behaviour; for testing that no secret is kept or shown.
    pub echo_credentials: bool,
    /// Check attribute values on create and PUT as Zoom does (`userType` and plan fields
    /// against their accepted values, booleans and integers by JSON type, custom attributes
    /// strings, `manager.value` an existing user, a phone number or extension not taken):
    /// 400 `invalidValue` "AttributeValidationFailed…". `false` stores every value as given.
    pub validate_attribute_values: bool,
    /// Values the licence (plan) fields of the zoom:1.0 extension accept. Zoom defines them
    /// per plan and publishes no list (`zoom-scim-api.md` §5.2, open question 6); the default
    /// is our stand-in: region codes of the calling plans bundled with Zoom's plans.
    pub plan_values: Vec<String>,
}

/// The default `plan_values` (our stand-in for Zoom's unpublished enum lists).
pub const DEFAULT_PLAN_VALUES: [&str; 5] = ["US_CA", "UK_IR", "AU_NZ", "JP", "GLOBAL_SELECT"];

impl Default for Knobs {
    fn default() -> Self {
        Self {
            sso_enabled: true,
            plan: Plan::Business,
            managed_domains: Vec::new(),
            invalidate_previous_token: true,
            token_ttl_secs: 3600,
            duplicate_create_status: 409,
            pending_filter_status: 400,
            ignore_identity_changes: true,
            default_count: 10,
            max_count: 100,
            start_index_required: false,
            error_style: ErrorStyle::Scim,
            retry_after: RetryAfterStyle::Seconds,
            delete_mode: DeleteMode::Hard,
            privileged_change_status: 400,
            validate_patch_schemas: true,
            unique_employee_number: true,
            concurrent_update_429: true,
            group_get_includes_members: false,
            ids_with_ampersand: false,
            mount_v2: false,
            group_patch_max_chars: 100_000,
            echo_credentials: false,
            validate_attribute_values: true,
            plan_values: DEFAULT_PLAN_VALUES.iter().map(|v| v.to_string()).collect(),
        }
    }
}

impl Knobs {
    /// Rejects values no Zoom reading allows, so a typo in a test fails loudly.
    pub fn validate(&self) -> Result<(), String> {
        let pick = |name: &str, v: u16, allowed: &[u16]| {
            if allowed.contains(&v) { Ok(()) } else { Err(format!("{name} must be one of {allowed:?}, not {v}")) }
        };
        pick("duplicate_create_status", self.duplicate_create_status, &[400, 409])?;
        pick("pending_filter_status", self.pending_filter_status, &[400, 404])?;
        pick("privileged_change_status", self.privileged_change_status, &[400, 403])?;
        if self.max_count == 0 {
            return Err("max_count must be at least 1".to_string());
        }
        if self.token_ttl_secs == 0 {
            return Err("token_ttl_secs must be at least 1".to_string());
        }
        if self.plan_values.iter().any(String::is_empty) {
            return Err("plan_values must not contain \"\" (it clears a plan field)".to_string());
        }
        Ok(())
    }

    /// Applies a partial JSON object (`{"sso_enabled": false}`) on top of these knobs.
    pub fn merged(&self, patch: &serde_json::Value) -> Result<Knobs, String> {
        let serde_json::Value::Object(patch) = patch else {
            return Err("knobs must be a JSON object".to_string());
        };
        let mut current = serde_json::to_value(self).map_err(|e| e.to_string())?;
        if let serde_json::Value::Object(map) = &mut current {
            for (k, v) in patch {
                if !map.contains_key(k) {
                    return Err(format!("unknown knob `{k}`"));
                }
                map.insert(k.clone(), v.clone());
            }
        }
        let knobs: Knobs = serde_json::from_value(current).map_err(|e| e.to_string())?;
        knobs.validate()?;
        Ok(knobs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_strict() {
        let k = Knobs::default();
        assert!(k.validate().is_ok());
        assert!(k.invalidate_previous_token && k.ignore_identity_changes && k.sso_enabled);
        assert_eq!((k.duplicate_create_status, k.pending_filter_status, k.max_count), (409, 400, 100));
    }

    #[test]
    fn merge_changes_only_named_knobs_and_rejects_unknown_or_bad() {
        let k = Knobs::default();
        let m = k.merged(&serde_json::json!({"sso_enabled": false, "retry_after": "iso"})).unwrap();
        assert!(!m.sso_enabled);
        assert_eq!(m.retry_after, RetryAfterStyle::Iso);
        assert_eq!(m.max_count, 100);
        assert!(k.merged(&serde_json::json!({"nope": 1})).is_err());
        assert!(k.merged(&serde_json::json!({"duplicate_create_status": 418})).is_err());
        assert!(k.merged(&serde_json::json!([1])).is_err());
    }
}
