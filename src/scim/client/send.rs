//! The request loop, the one place that retries: wait for the throttle, get a token, make
//! one attempt, classify the answer, then return, renew the token once (401), or sleep and
//! repeat within the retry budget (timeouts, dropped connections, 5xx, 429).

use std::time::{Instant, SystemTime};

use hyper::body::Bytes;
use reqwest::Method;
use serde_json::Value;

use super::ScimClient;
use crate::config::TargetKind;
use crate::scim::ScimError;
use crate::scim::errors::{ErrorBody, Scope, Verdict, classify, transport_reason, transport_text, unauthorized_fatal};
use crate::scim::metric_names::{HTTP_RETRIES_TOTAL, record_attempt};
use crate::scim::oauth::{FetchError, Token};
use crate::scim::retry::{Attempts, Decision, RetryReason, decide, parse_retry_after};
use crate::scim::throttle::{Feedback, Label};

/// One logical request.
pub(crate) struct Call<'a> {
    pub method: Method,
    pub url: String,
    /// Path template for logs (`Users/{id}`), never the id itself.
    pub template: &'static str,
    pub label: Label,
    pub scope: Scope,
    pub body: Option<&'a Value>,
}

/// A successful answer.
pub(crate) struct Reply {
    pub status: u16,
    pub body: Bytes,
}

impl Reply {
    /// The body as JSON, or Fatal: a 2xx that is not SCIM JSON means a wrong base URL.
    pub fn json(&self, what: &str) -> Result<Value, ScimError> {
        serde_json::from_slice(&self.body).map_err(|_| ScimError::Fatal {
            detail: format!(
                "the target answered {} to {what} with a body that is not SCIM JSON; check \
                 target.base_url and target.kind",
                self.status
            ),
        })
    }
}

/// The result of a call plus whether an earlier attempt may have reached the server and
/// taken effect although its answer was lost (matters for a repeated POST).
pub(crate) struct Tracked {
    pub result: Result<Reply, ScimError>,
    pub maybe_applied: bool,
}

struct Failure {
    reason: RetryReason,
    detail: String,
    feedback: Feedback,
    daily: bool,
}

enum Attempt {
    Answer(u16, Feedback, bool, Bytes),
    Transport(reqwest::Error),
}

fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        _ => "OTHER",
    }
}

fn header_u32(h: &reqwest::header::HeaderMap, name: &str) -> Option<u32> {
    h.get(name)?.to_str().ok()?.trim().parse().ok()
}

impl ScimClient {
    pub(crate) async fn call(&self, call: &Call<'_>) -> Result<Reply, ScimError> {
        self.call_tracked(call).await.result
    }

    pub(crate) async fn call_tracked(&self, call: &Call<'_>) -> Tracked {
        let started = Instant::now();
        let method = method_label(&call.method);
        let (mut made, mut renewed, mut maybe_applied) = (0u32, false, false);
        let done = |result, maybe_applied| Tracked { result, maybe_applied };
        loop {
            let permit = self.throttle.admit(call.label).await;
            made += 1;
            let failure = match self.auth.token(&self.http).await {
                Err(FetchError::Fatal(e)) => return done(Err(e), maybe_applied),
                Err(FetchError::Temporary(detail)) => {
                    drop(permit);
                    Failure { reason: RetryReason::Token, detail, feedback: Feedback::default(), daily: false }
                }
                Ok(token) => {
                    let attempt = self.attempt(call, &token).await;
                    drop(permit);
                    match attempt {
                        Attempt::Transport(e) => {
                            let reason = transport_reason(&e);
                            maybe_applied |= reason != RetryReason::Connect;
                            Failure { reason, detail: transport_text(&e), feedback: Feedback::default(), daily: false }
                        }
                        Attempt::Answer(status, feedback, daily, body) => {
                            self.throttle.observe(call.label, feedback);
                            let parsed = if (200..300).contains(&status) {
                                ErrorBody::default()
                            } else {
                                ErrorBody::parse(&body)
                            };
                            match classify(status, &parsed, call.scope) {
                                Verdict::Success => {
                                    return done(Ok(Reply { status, body }), maybe_applied);
                                }
                                Verdict::Unauthorized if self.auth.renewable() && !renewed => {
                                    renewed = true;
                                    self.auth.invalidate(&token).await;
                                    self.count_retry(call, RetryReason::Unauthorized, "401", 0);
                                    continue;
                                }
                                Verdict::Unauthorized => {
                                    let e = unauthorized_fatal(&parsed, self.auth.renewable());
                                    return done(Err(self.scrub_error(e)), maybe_applied);
                                }
                                Verdict::Fail(e) => {
                                    return done(Err(self.scrub_error(e)), maybe_applied);
                                }
                                Verdict::Retry(reason) => {
                                    maybe_applied |= reason == RetryReason::ServerError;
                                    Failure {
                                        reason,
                                        detail: format!("HTTP {status}: {}", parsed.detail_or(status)),
                                        feedback,
                                        daily,
                                    }
                                }
                            }
                        }
                    }
                }
            };
            let decision = if failure.daily && failure.feedback.retry_after.is_none() {
                Decision::GiveUp { retry_after: None, why: "the daily rate limit is used up" }
            } else {
                let at = Attempts { made, elapsed: started.elapsed(), cycle_spent: self.cycle.spent_for_decision() };
                decide(&self.policy, at, failure.feedback.retry_after, rand::random())
            };
            let (retry_after, why) = match decision {
                Decision::Retry(wait) if self.cycle.try_spend(wait, self.policy.per_cycle) => {
                    let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
                    self.count_retry(call, failure.reason, &failure.detail, ms);
                    tokio::time::sleep(wait).await;
                    continue;
                }
                Decision::Retry(_) => (None, "per-cycle retry time exhausted"),
                Decision::GiveUp { retry_after, why } => {
                    if why.starts_with("per-cycle") {
                        self.cycle.mark_exhausted();
                    }
                    (retry_after, why)
                }
            };
            let detail = format!("{method} {}: {why} after {made} attempt(s); last: {}", call.template, failure.detail);
            tracing::warn!(method, path = call.template, attempts = made, "{}", self.scrub(detail.clone()));
            let e = ScimError::Retryable { retry_after, detail };
            return done(Err(self.scrub_error(e)), maybe_applied);
        }
    }

    fn count_retry(&self, call: &Call<'_>, reason: RetryReason, detail: &str, wait_ms: u64) {
        metrics::counter!(HTTP_RETRIES_TOTAL, "reason" => reason.as_str()).increment(1);
        tracing::warn!(
            method = method_label(&call.method),
            path = call.template,
            reason = reason.as_str(),
            wait_ms,
            "retrying SCIM request: {}",
            self.scrub(detail.to_string())
        );
    }

    fn scrub_error(&self, e: ScimError) -> ScimError {
        match e {
            ScimError::Retryable { retry_after, detail } => {
                ScimError::Retryable { retry_after, detail: self.scrub(detail) }
            }
            ScimError::Conflict { detail } => ScimError::Conflict { detail: self.scrub(detail) },
            ScimError::NotFound { detail } => ScimError::NotFound { detail: self.scrub(detail) },
            ScimError::Rejected { status, detail } => ScimError::Rejected { status, detail: self.scrub(detail) },
            ScimError::Fatal { detail } => ScimError::Fatal { detail: self.scrub(detail) },
        }
    }

    /// One HTTP exchange, body read to the end.
    async fn attempt(&self, call: &Call<'_>, token: &Token) -> Attempt {
        let started = Instant::now();
        let method = method_label(&call.method);
        let mut req = self.http.request(call.method.clone(), &call.url).bearer_auth(token.expose());
        if let Some(body) = call.body {
            let content_type = match self.kind {
                TargetKind::Zoom => "application/json",
                TargetKind::Scim => "application/scim+json",
            };
            req = req.header(reqwest::header::CONTENT_TYPE, content_type).body(body.to_string());
        }
        let result = match req.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let h = resp.headers();
                let feedback = Feedback {
                    status,
                    retry_after: h
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, SystemTime::now())),
                    remaining: header_u32(h, "x-ratelimit-remaining"),
                    limit: header_u32(h, "x-ratelimit-limit"),
                };
                let daily = h
                    .get("x-ratelimit-type")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.to_ascii_lowercase().starts_with("daily"));
                match resp.bytes().await {
                    Ok(body) => Attempt::Answer(status, feedback, daily, body),
                    Err(e) => Attempt::Transport(e),
                }
            }
            Err(e) => Attempt::Transport(e),
        };
        let status = match &result {
            Attempt::Answer(s, ..) => Some(*s),
            Attempt::Transport(_) => None,
        };
        record_attempt(method, status, started);
        tracing::debug!(
            method,
            path = call.template,
            status = status.map_or_else(|| "error".to_string(), |s| s.to_string()),
            duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "SCIM request"
        );
        result
    }
}
