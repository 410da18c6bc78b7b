//! The request loop, the one place that retries: wait for the throttle, get a token, make
//! one attempt, classify the answer, then return, renew the token once (401), or sleep and
//! repeat within the retry budget (timeouts, dropped connections, 5xx, 429).
//!
//! The cycle's budget counts all retry time: backoff sleeps, attempts that timed out and
//! failed token fetches (each fetch once, by the request that made it). Some answers end
//! the cycle for this target, not just the request ([`ScimClient::stop_cycle`]): a token
//! endpoint that gave no token within an operation's retries, a TLS certificate that cannot
//! be verified, a wrong client secret (Fatal), and a wait longer than the client waits —
//! Zoom's daily limit (Paused). Every later call of the cycle fails at once with the same
//! error, before it is sent.

use std::time::{Instant, SystemTime};

use hyper::body::Bytes;
use reqwest::Method;
use serde_json::Value;

use super::ScimClient;
use crate::config::TargetKind;
use crate::scim::ScimError;
use crate::scim::errors::{
    ErrorBody, Scope, Verdict, certificate_failure, classify, transport_reason, transport_text, unauthorized_fatal,
};
use crate::scim::metric_names::{HTTP_RETRIES_TOTAL, record_attempt};
use crate::scim::oauth::{FetchError, Token};
use crate::scim::retry::{Attempts, Decision, RetryReason, decide, parse_retry_after, until_utc_midnight};
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
    /// When it failed (the moment a `Retry-After` counts from).
    at: SystemTime,
}

enum Attempt {
    /// Status, rate feedback, daily-limit flag, body, and when it arrived.
    Answer(u16, Feedback, bool, Bytes, SystemTime),
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
            if let Some(stop) = self.stopped() {
                return done(Err(stop), maybe_applied);
            }
            let permit = self.throttle.admit(call.label).await;
            // The cycle may have stopped while this request waited for its turn.
            if let Some(stop) = self.stopped() {
                return done(Err(stop), maybe_applied);
            }
            made += 1;
            let failure = match self.auth.token(&self.http).await {
                Err(FetchError::Fatal(e)) => {
                    return done(Err(self.stop_cycle(self.scrub_error(e))), maybe_applied);
                }
                Err(FetchError::Temporary { detail, took }) => {
                    drop(permit);
                    if let Some(took) = took {
                        // Booked once, by the request whose fetch it was.
                        self.cycle.try_spend(took, self.policy.per_cycle);
                    }
                    Failure {
                        reason: RetryReason::Token,
                        detail,
                        feedback: Feedback::default(),
                        daily: false,
                        at: SystemTime::now(),
                    }
                }
                Ok(token) => {
                    let attempt_started = Instant::now();
                    let attempt = self.attempt(call, &token).await;
                    drop(permit);
                    match attempt {
                        Attempt::Transport(e) => {
                            if let Some(why) = certificate_failure(&e) {
                                let e = ScimError::Fatal {
                                    detail: format!(
                                        "{method} {}: the target's TLS certificate is not trusted ({why}); set \
                                         target.ca_file to the CA that issued it, or fix what intercepts the \
                                         connection",
                                        call.template
                                    ),
                                };
                                return done(Err(self.stop_cycle(e)), maybe_applied);
                            }
                            let reason = transport_reason(&e);
                            maybe_applied |= reason != RetryReason::Connect;
                            if reason == RetryReason::Timeout {
                                // Time spent waiting for an answer that never came is retry
                                // time like a backoff sleep.
                                self.cycle.try_spend(attempt_started.elapsed(), self.policy.per_cycle);
                            }
                            Failure {
                                reason,
                                detail: transport_text(&e),
                                feedback: Feedback::default(),
                                daily: false,
                                at: SystemTime::now(),
                            }
                        }
                        Attempt::Answer(status, feedback, daily, body, at) => {
                            // A wait beyond what the client waits pauses the cycle: do not
                            // close the label for it (requests queued there would sleep).
                            let for_throttle = Feedback {
                                retry_after: feedback.retry_after.filter(|w| *w <= self.policy.max_retry_after),
                                ..feedback
                            };
                            self.throttle.observe(call.label, for_throttle);
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
                                        at,
                                    }
                                }
                            }
                        }
                    }
                }
            };
            let decision = if failure.daily && failure.feedback.retry_after.is_none() {
                // Zoom's daily limits reset at 00:00 UTC.
                Decision::Pause(until_utc_midnight(failure.at))
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
                Decision::Pause(wait) => {
                    let e = ScimError::Paused {
                        until: failure.at + wait,
                        detail: format!("{method} {}: {}", call.template, failure.detail),
                    };
                    let e = self.stop_cycle(self.scrub_error(e));
                    tracing::warn!(method, path = call.template, "the target asks to wait beyond this cycle: {e}");
                    return done(Err(e), maybe_applied);
                }
            };
            let detail = format!("{method} {}: {why} after {made} attempt(s); last: {}", call.template, failure.detail);
            if failure.reason == RetryReason::Token {
                // Every request needs a token: when the token endpoint failed all of one
                // operation's retries, nothing else can succeed this cycle.
                let e = ScimError::Fatal {
                    detail: format!(
                        "no OAuth access token within the retry budget ({detail}); the cycle stops — check \
                         target.token_url and the network path to it"
                    ),
                };
                return done(Err(self.stop_cycle(self.scrub_error(e))), maybe_applied);
            }
            tracing::warn!(method, path = call.template, attempts = made, "{}", self.scrub(detail.clone()));
            let e = ScimError::Retryable { retry_after, detail };
            return done(Err(self.scrub_error(e)), maybe_applied);
        }
    }

    /// The error every call of this cycle returns from now on (until `begin_cycle`); logged
    /// once, when the cycle stops.
    fn stop_cycle(&self, e: ScimError) -> ScimError {
        let mut stopped = self.stopped.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match stopped.as_ref() {
            Some(first) => first.clone(),
            None => {
                tracing::error!(error = %e, "the target stops this cycle");
                *stopped = Some(e.clone());
                e
            }
        }
    }

    fn stopped(&self) -> Option<ScimError> {
        self.stopped.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
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
            ScimError::Paused { until, detail } => ScimError::Paused { until, detail: self.scrub(detail) },
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
                let answered = SystemTime::now();
                let status = resp.status().as_u16();
                let h = resp.headers();
                let feedback = Feedback {
                    status,
                    retry_after: h
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, answered)),
                    remaining: header_u32(h, "x-ratelimit-remaining"),
                    limit: header_u32(h, "x-ratelimit-limit"),
                };
                let daily = h
                    .get("x-ratelimit-type")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.to_ascii_lowercase().starts_with("daily"));
                match resp.bytes().await {
                    Ok(body) => Attempt::Answer(status, feedback, daily, body, answered),
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
