//! What goes on the wire: URNs, the reply type every handler returns, Zoom's error bodies
//! and timestamp formatting. Handlers build a [`Reply`]; only the server turns it into HTTP.

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

    /// SCIM error body with a `scimType` (RFC 7644 §3.12), e.g. `invalidValue`.
    pub fn scim_error_typed(status: u16, scim_type: &str, detail: impl Into<String>) -> Self {
        Self::json(
            status,
            json!({"schemas": [ERROR], "scimType": scim_type, "detail": detail.into(), "status": status}),
        )
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

    /// Appends ` (text)` to the error text of the body (`detail`, `message` or `reason`).
    pub fn with_error_text(mut self, text: &str) -> Self {
        if let Some(Value::Object(body)) = &mut self.body
            && let Some(key) =
                ["detail", "message", "reason"].into_iter().find(|k| body.get(*k).is_some_and(Value::is_string))
            && let Some(Value::String(s)) = body.get_mut(key)
        {
            s.push_str(&format!(" ({text})"));
        }
        self
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_style_applies_to_401_403_404_429_only() {
        let rest = Knobs { error_style: ErrorStyle::Rest, ..Knobs::default() };
        assert_eq!(Reply::error(&rest, 404, 1001, "x").body.unwrap()["code"], 1001);
        assert_eq!(Reply::error(&rest, 400, 0, "x").body.unwrap()["status"], 400);
        assert_eq!(Reply::error(&Knobs::default(), 404, 1001, "x").body.unwrap()["status"], 404);
    }

    #[test]
    fn error_text_is_appended_to_whichever_field_carries_it() {
        assert_eq!(Reply::scim_error(400, "bad").with_error_text("x").body.unwrap()["detail"], "bad (x)");
        assert_eq!(Reply::rest_error(401, 124, "no").with_error_text("x").body.unwrap()["message"], "no (x)");
        let oauth = Reply::json(401, json!({"reason": "r", "error": "invalid_client"}));
        assert_eq!(oauth.with_error_text("x").body.unwrap()["reason"], "r (x)");
        assert_eq!(Reply::no_content().with_error_text("x"), Reply::no_content());
    }
}
