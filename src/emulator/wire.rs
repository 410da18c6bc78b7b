//! What goes on the wire: URNs, the reply type every handler returns, Zoom's error bodies
//! and timestamp formatting. Handlers build a [`Reply`]; only the server turns it into HTTP.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::config::{ErrorStyle, Knobs};

pub const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Zoom extension carrying plan/licence fields; returned by Get/POST/PUT/PATCH, not List.
pub const ZOOM_USER: &str = "urn:ietf:params:scim:schemas:extension:zoom:1.0:User";
/// Zoom extension carrying `loginType`; returned by List only.
pub const ZOOM_LOGIN: &str = "urn:us:zoom:scim:schemas:extension:1.0:ZoomUser";
pub const ZOOM_GROUP: &str = "urn:ietf:params:scim:schemas:extension:zoom:2.0:Group";
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// Texts quoted from the reference (section 8) so tests and docs share one spelling.
pub mod text {
    pub const SSO_OFF: &str = "Account has not enabled Single Sign-On.";
    pub const INVALID_TOKEN: &str = "Invalid access token.";
    pub const PATCH_ACTIVE: &str = "The request json did not contains valid active field.";
    pub const USER_EXISTS: &str = "The user already exists";
    pub const DOMAIN: &str =
        "Domain name doesn't match. Please contact the Zoom Customer Support to set managed domains for your account.";
    pub const NOT_JSON: &str = "The request body must be in JSON format.";
    pub const EMPTY_JSON: &str = "The request JSON must not be empty.";
    pub const BAD_DISPLAY_NAME: &str = "The \"DisplayName\" of the request is invalid.";
    pub const DEFAULT_GROUP: &str = "Cannot delete account default group.";
    pub const GROUP_MISSING: &str = "Group does not exist.";
    pub const QPS: &str = "You have reached the maximum per-second rate limit for this API. Try again later.";
    pub const DAILY: &str = "You have reached the maximum daily rate limit for this API. Refer to the response header for details on when you can make another request.";
    /// Not in any source: our wording for refusals whose text is unknown.
    pub const PRIVILEGED: &str = "Owner and admin users cannot be deactivated or deleted via SCIM.";
    pub const INVALID_FILTER: &str = "Invalid filter";
}

/// A handler's answer, before it becomes an HTTP response.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    /// `None` = empty body (204).
    pub body: Option<Value>,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Self { status, body: Some(body), headers: Vec::new() }
    }

    pub fn no_content() -> Self {
        Self { status: 204, body: None, headers: Vec::new() }
    }

    /// SCIM error body with `status` as a JSON number, as Zoom sends it.
    pub fn scim_error(status: u16, detail: impl Into<String>) -> Self {
        Self::json(status, json!({"schemas": [ERROR], "detail": detail.into(), "status": status}))
    }

    /// Zoom REST error body `{"code","message"}`.
    pub fn rest_error(status: u16, code: u32, message: impl Into<String>) -> Self {
        Self::json(status, json!({"code": code, "message": message.into()}))
    }

    /// An error on a SCIM path: 403/404/429 follow the `error_style` knob, others are SCIM.
    pub fn error(knobs: &Knobs, status: u16, rest_code: u32, detail: impl Into<String>) -> Self {
        if knobs.error_style == ErrorStyle::Rest && matches!(status, 401 | 403 | 404 | 429) {
            Self::rest_error(status, rest_code, detail)
        } else {
            Self::scim_error(status, detail)
        }
    }

    /// The 401 for a missing, unknown, revoked or expired token (Zoom REST style, code 124).
    pub fn invalid_token() -> Self {
        Self::rest_error(401, 124, text::INVALID_TOKEN)
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// Seconds since the Unix epoch (clamped to 0 for clocks before 1970).
pub fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339, UTC, whole seconds) — Zoom's `meta` timestamp format.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Seconds since the Unix epoch, rounded up (a client waiting until then is never early).
pub fn unix_secs_ceil(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0)).unwrap_or(0)
}

/// Exact time until the next 00:00 UTC, when Zoom's daily counters reset.
pub fn until_utc_midnight(now: SystemTime) -> Duration {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let next = (since.as_secs() / 86_400 + 1) * 86_400;
    Duration::from_secs(next).saturating_sub(since)
}

/// Howard Hinnant's days-from-civil inverse: days since 1970-01-01 -> (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_305_599), "2026-11-21T23:59:59Z");
        assert_eq!(rfc3339(1_590_883_200), "2020-05-31T00:00:00Z");
    }

    #[test]
    fn midnight_is_at_most_a_day_away() {
        let t = UNIX_EPOCH + Duration::from_secs(86_400 * 3 + 10);
        assert_eq!(until_utc_midnight(t), Duration::from_secs(86_390));
        let t = t + Duration::from_millis(250);
        assert_eq!(until_utc_midnight(t), Duration::from_millis(86_389_750));
        assert_eq!(unix_secs_ceil(t + until_utc_midnight(t)), 86_400 * 4);
    }

    #[test]
    fn error_style_applies_to_401_403_404_429_only() {
        let rest = Knobs { error_style: ErrorStyle::Rest, ..Knobs::default() };
        assert_eq!(Reply::error(&rest, 404, 1001, "x").body.unwrap()["code"], 1001);
        assert_eq!(Reply::error(&rest, 400, 0, "x").body.unwrap()["status"], 400);
        assert_eq!(Reply::error(&Knobs::default(), 404, 1001, "x").body.unwrap()["status"], 404);
    }
}
