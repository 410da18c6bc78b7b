//! PURE: what an HTTP answer means for the caller, as a table from (status, body, scope).
//!
//! Zoom answers SCIM paths with SCIM error bodies (`{schemas, detail, status}`, status a
//! number where RFC 7644 says string) and sometimes with its REST style (`{code, message}`);
//! the token endpoint uses OAuth style (`{reason, error}`). [`ErrorBody::parse`] reads all.
//! Fatal details say what the operator fixes; they carry server texts, never secrets.

use serde_json::Value;

use super::ScimError;
use super::retry::RetryReason;

/// Zoom's answer on every call while the account has SSO off: nothing works until an admin
/// enables it, so it is Fatal although it arrives as a 400.
pub const SSO_OFF: &str = "Account has not enabled Single Sign-On.";

/// Part of Zoom's answer when `userName eq` hits a pending (invited, not activated) user.
pub const PENDING_MARKER: &str = "not exist or not belong to this account";

/// The useful parts of an error body, whichever style it came in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorBody {
    /// SCIM `detail`, REST `message`, OAuth `reason`/`error_description`, or the raw text.
    pub detail: Option<String>,
    /// SCIM `status` (number or string).
    pub status: Option<u16>,
    /// REST `code`.
    pub code: Option<i64>,
    /// SCIM `scimType` or OAuth `error`.
    pub kind: Option<String>,
}

/// Longest raw (non-JSON) body text kept as a detail.
const RAW_DETAIL_MAX: usize = 200;

impl ErrorBody {
    pub fn parse(body: &[u8]) -> ErrorBody {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => {
                let text = |k: &str| {
                    m.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
                };
                let status = m.get("status").and_then(|v| match v {
                    Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
                    Value::String(s) => s.trim().parse().ok(),
                    _ => None,
                });
                ErrorBody {
                    detail: text("detail")
                        .or_else(|| text("message"))
                        .or_else(|| text("error_description"))
                        .or_else(|| text("reason")),
                    status,
                    code: m.get("code").and_then(Value::as_i64),
                    kind: text("scimType").or_else(|| text("error")),
                }
            }
            _ => {
                let raw = String::from_utf8_lossy(body);
                let raw: String =
                    raw.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(RAW_DETAIL_MAX).collect();
                ErrorBody { detail: (!raw.is_empty()).then_some(raw), ..ErrorBody::default() }
            }
        }
    }

    /// `detail`, or a stand-in naming the status when the body said nothing.
    pub fn detail_or(&self, status: u16) -> String {
        self.detail.clone().unwrap_or_else(|| format!("HTTP {status} without a detail"))
    }
}

/// What the request was aimed at; decides what a 404 means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `/Users` itself (list, filter, create): a 404 means the base URL is wrong.
    Collection,
    /// `/Users/{id}` or `/Groups/{id}`: a 404 means that user or group is gone.
    Resource,
    /// `/Groups` itself (filter, create): a 404 means the target offers no groups (or the
    /// base URL is wrong), which deserves its own fix text.
    Groups,
}

/// The classification of one answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Success,
    /// 401: renew the token once and repeat; a second 401 is [`unauthorized_fatal`].
    Unauthorized,
    /// Repeat within the retry budget.
    Retry(RetryReason),
    Fail(ScimError),
}

/// Classifies an answer. Pending-user answers become `Conflict` so the engine can report
/// "exists in Zoom but pending" instead of creating a duplicate invitation.
pub fn classify(status: u16, body: &ErrorBody, scope: Scope) -> Verdict {
    let detail = body.detail_or(status);
    let pending = detail.contains(PENDING_MARKER);
    match status {
        200..=299 => Verdict::Success,
        401 => Verdict::Unauthorized,
        429 => Verdict::Retry(RetryReason::RateLimited),
        501 => Verdict::Fail(ScimError::Fatal {
            detail: format!("the target does not implement this operation (501: {detail}); check target.kind"),
        }),
        500..=599 => Verdict::Retry(RetryReason::ServerError),
        _ if detail.contains(SSO_OFF) => Verdict::Fail(ScimError::Fatal {
            detail: format!(
                "Zoom refuses SCIM calls: \"{detail}\" An account admin must enable SSO \
                 (Admin > Advanced > Single Sign-On) before zoomsync can provision users"
            ),
        }),
        400 | 404 if pending && scope == Scope::Collection => Verdict::Fail(ScimError::Conflict {
            detail: format!(
                "the userName exists in Zoom as a pending (invited, not yet activated) user \
                 ({status}: {detail})"
            ),
        }),
        300..=399 => Verdict::Fail(ScimError::Fatal {
            detail: format!(
                "the target answered with a redirect ({status}); set target.base_url to the \
                 final SCIM URL"
            ),
        }),
        403 => Verdict::Fail(ScimError::Fatal {
            detail: format!(
                "permission denied (403: {detail}); the OAuth app needs the scim2:admin scope \
                 and an owner or admin account, or the bearer token lacks rights"
            ),
        }),
        404 if scope == Scope::Collection => Verdict::Fail(ScimError::Fatal {
            detail: format!(
                "the Users collection was not found (404: {detail}); check target.base_url \
                 (Zoom: https://api.zoom.us/scim2/)"
            ),
        }),
        404 if scope == Scope::Groups => Verdict::Fail(ScimError::Fatal {
            detail: format!(
                "the Groups collection was not found (404: {detail}); the target does not offer \
                 SCIM groups, or target.base_url is wrong"
            ),
        }),
        404 | 410 => Verdict::Fail(ScimError::NotFound { detail }),
        409 | 412 => Verdict::Fail(ScimError::Conflict { detail }),
        400 | 413 | 422 => Verdict::Fail(ScimError::Rejected { status, detail }),
        _ => Verdict::Fail(ScimError::Fatal {
            detail: format!("unexpected answer {status} ({detail}); check target.kind and target.base_url"),
        }),
    }
}

/// The error for a 401 that persists after a token renewal (or with a static token).
pub fn unauthorized_fatal(body: &ErrorBody, oauth: bool) -> ScimError {
    let detail = body.detail_or(401);
    let fix = if oauth {
        "a freshly issued Server-to-Server OAuth token was refused; check that the app is \
         activated and has the scim2:admin scope, and that no other process shares its tokens"
    } else {
        "the bearer token was refused; replace the token file named by target.bearer_token_file"
    };
    ScimError::Fatal { detail: format!("unauthorized (401: {detail}): {fix}") }
}

/// The retry reason of a transport error (no HTTP answer).
pub fn transport_reason(e: &reqwest::Error) -> RetryReason {
    if e.is_timeout() {
        RetryReason::Timeout
    } else if e.is_connect() {
        RetryReason::Connect
    } else {
        RetryReason::Connection
    }
}

/// The certificate problem behind a transport error, if that is what it is: the server's
/// TLS certificate could not be verified (unknown issuer, expired, wrong name...). That is
/// no passing outage — an operator must fix trust (`target.ca_file`) or whatever intercepts
/// the connection — so the caller stops instead of retrying.
pub fn certificate_failure(e: &reqwest::Error) -> Option<String> {
    let mut level: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(error) = level {
        if let Some(rustls::Error::InvalidCertificate(why)) = error.downcast_ref::<rustls::Error>() {
            return Some(format!("{why:?}"));
        }
        // rustls' error arrives wrapped in io::Errors (twice), whose `source()` skips the
        // wrapped error itself: step into them instead.
        level = match error.downcast_ref::<std::io::Error>() {
            Some(io) => io.get_ref().map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => error.source(),
        };
    }
    None
}

/// A transport error as text: its kind and causes, without the URL.
pub fn transport_text(e: &reqwest::Error) -> String {
    let kind = match transport_reason(e) {
        RetryReason::Timeout => "timed out",
        RetryReason::Connect => "could not connect",
        _ => "connection failed",
    };
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        causes.push(s.to_string());
        source = s.source();
    }
    causes.dedup();
    if causes.is_empty() { kind.to_string() } else { format!("{kind}: {}", causes.join(": ")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scim(status: serde_json::Value, detail: &str) -> Vec<u8> {
        serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "detail": detail, "status": status
        })
        .to_string()
        .into_bytes()
    }

    fn rest(code: i64, message: &str) -> Vec<u8> {
        serde_json::json!({"code": code, "message": message}).to_string().into_bytes()
    }

    #[test]
    fn both_body_styles_parse() {
        let b = ErrorBody::parse(&scim(serde_json::json!(400), "bad"));
        assert_eq!((b.detail.as_deref(), b.status), (Some("bad"), Some(400)));
        let b = ErrorBody::parse(&scim(serde_json::json!("409"), "dup"));
        assert_eq!((b.detail.as_deref(), b.status), (Some("dup"), Some(409)));
        let b = ErrorBody::parse(&rest(124, "Invalid access token."));
        assert_eq!((b.detail.as_deref(), b.code), (Some("Invalid access token."), Some(124)));
        let b = ErrorBody::parse(br#"{"reason":"Invalid client_id or client_secret","error":"invalid_client"}"#);
        assert_eq!(b.detail.as_deref(), Some("Invalid client_id or client_secret"));
        assert_eq!(b.kind.as_deref(), Some("invalid_client"));
        let b = ErrorBody::parse(b"<html>\n  Bad   Gateway </html>");
        assert_eq!(b.detail.as_deref(), Some("<html> Bad Gateway </html>"));
        assert_eq!(ErrorBody::parse(b"").detail, None);
        assert_eq!(ErrorBody::parse(b"{\"detail\": \"  \"}").detail_or(400), "HTTP 400 without a detail");
        let long = vec![b'x'; 5000];
        assert_eq!(ErrorBody::parse(&long).detail.map(|d| d.len()), Some(RAW_DETAIL_MAX));
    }

    fn class(status: u16, body: &[u8], scope: Scope) -> Verdict {
        classify(status, &ErrorBody::parse(body), scope)
    }

    fn kind(v: &Verdict) -> &'static str {
        match v {
            Verdict::Success => "ok",
            Verdict::Unauthorized => "401",
            Verdict::Retry(_) => "retry",
            Verdict::Fail(ScimError::Conflict { .. }) => "conflict",
            Verdict::Fail(ScimError::NotFound { .. }) => "notfound",
            Verdict::Fail(ScimError::Rejected { .. }) => "rejected",
            Verdict::Fail(ScimError::Fatal { .. }) => "fatal",
            Verdict::Fail(ScimError::Retryable { .. }) => "retryable",
            Verdict::Fail(ScimError::Paused { .. }) => "paused",
        }
    }

    #[test]
    fn classification_table() {
        use Scope::{Collection as C, Resource as R};
        let table: Vec<(u16, Vec<u8>, Scope, &str)> = vec![
            (200, vec![], R, "ok"),
            (201, vec![], C, "ok"),
            (204, vec![], R, "ok"),
            (401, rest(124, "Invalid access token."), R, "401"),
            (429, rest(429, "You have reached the maximum per-second rate limit"), C, "retry"),
            (429, scim(serde_json::json!(429), "slow down"), R, "retry"),
            (500, vec![], R, "retry"),
            (502, b"<html>bad gateway</html>".to_vec(), C, "retry"),
            (503, rest(503, "x"), R, "retry"),
            (504, vec![], R, "retry"),
            (501, vec![], R, "fatal"),
            (409, scim(serde_json::json!(409), "The user already exists"), C, "conflict"),
            (409, scim(serde_json::json!("409"), "uniqueness"), C, "conflict"),
            (404, scim(serde_json::json!(404), "User does not exist: x."), R, "notfound"),
            (404, rest(1001, "User does not exist: x."), R, "notfound"),
            (404, rest(404, "The requested resource was not found."), C, "fatal"),
            (404, scim(serde_json::json!("404"), "No resource type found at 'Userz'"), C, "fatal"),
            (400, scim(serde_json::json!(400), "The \"userName\" of the request is invalid."), C, "rejected"),
            (400, scim(serde_json::json!("400"), "Extra inputs are not permitted: foo"), R, "rejected"),
            (422, rest(300, "Validation failed"), R, "rejected"),
            (400, vec![], R, "rejected"),
            (400, scim(serde_json::json!(400), SSO_OFF), C, "fatal"),
            (400, scim(serde_json::json!(400), SSO_OFF), R, "fatal"),
            (400, scim(serde_json::json!(400), "User a@x.org not exist or not belong to this account."), C, "conflict"),
            (404, rest(1001, "User a@x.org not exist or not belong to this account."), C, "conflict"),
            (
                403,
                scim(serde_json::json!(403), "The request was denied due to insufficient permissions: \"User:Edit\""),
                R,
                "fatal",
            ),
            (403, rest(403, "denied"), C, "fatal"),
            (404, rest(4130, "Group does not exist."), R, "notfound"),
            (404, scim(serde_json::json!("404"), "No resource type found at 'Groups'"), Scope::Groups, "fatal"),
            (400, scim(serde_json::json!(400), "Create group failed."), Scope::Groups, "rejected"),
            (409, scim(serde_json::json!(409), "uniqueness"), Scope::Groups, "conflict"),
            (301, vec![], C, "fatal"),
            (405, rest(405, "Method not allowed."), R, "fatal"),
            (415, vec![], C, "fatal"),
        ];
        for (status, body, scope, want) in &table {
            let v = class(*status, body, *scope);
            assert_eq!(kind(&v), *want, "{status} {:?} -> {v:?}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn details_carry_the_server_text() {
        let v = class(400, &scim(serde_json::json!(400), "Bad title"), Scope::Resource);
        assert_eq!(v, Verdict::Fail(ScimError::Rejected { status: 400, detail: "Bad title".into() }));
        let Verdict::Fail(ScimError::Fatal { detail }) =
            class(400, &scim(serde_json::json!(400), SSO_OFF), Scope::Collection)
        else {
            panic!("expected fatal")
        };
        assert!(detail.contains(SSO_OFF) && detail.contains("enable SSO"), "{detail}");
        let Verdict::Fail(ScimError::Fatal { detail }) = class(404, b"", Scope::Collection) else {
            panic!("expected fatal")
        };
        assert!(detail.contains("target.base_url"), "{detail}");
        let e = unauthorized_fatal(&ErrorBody::parse(&rest(124, "Invalid access token.")), true);
        assert!(e.is_fatal() && e.to_string().contains("Invalid access token."));
    }
}
