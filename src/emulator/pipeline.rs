//! One SCIM or token request from start to finish: route, faults, auth, rate limit, SSO flag,
//! handler, headers, log. Order matters and mirrors a gateway in front of Zoom: unknown
//! routes 404 before auth; a bad token is 401 before it can spend the account's budget.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use hyper::http::request::Parts;
use rand::Rng;

use super::auth::{basic_credentials, bearer, token_endpoint};
use super::clock::{rfc3339, unix_secs_ceil};
use super::config::{Knobs, RetryAfterStyle};
use super::faults::Action;
use super::groups;
use super::query;
use super::ratelimit::{LimitKind, Verdict};
use super::routes::{Matched, Route, match_route};
use super::shared::{BusyGuard, Shared, lock};
use super::users;
use super::wire::{Reply, text};

/// What the connection should do with the outcome.
pub enum Outcome {
    Reply(Reply),
    /// Close the TCP connection without writing anything.
    Drop,
}

fn record(shared: &Shared, parts: &Parts, route: &str, status: Option<u16>) {
    let client = client_of(shared, header(parts, "authorization"));
    lock(&shared.log).record(parts.method.as_str(), route, parts.uri.path(), parts.uri.query(), status, client);
}

/// The app a request came from: Basic credentials name it, a bearer token was issued to it.
fn client_of(shared: &Shared, authorization: Option<&str>) -> Option<String> {
    if let Some((id, _)) = basic_credentials(authorization) {
        return Some(id);
    }
    let token = bearer(authorization)?;
    lock(&shared.tokens).client_of(token).map(str::to_string)
}

/// Handles a request whose body has been read. Never fails: every problem is a reply.
pub async fn handle(shared: &Arc<Shared>, parts: &Parts, body: Result<hyper::body::Bytes, Reply>) -> Outcome {
    let params = query::params(parts.uri.query());
    let has_filter = params.iter().any(|(k, _)| k == "filter");
    let knobs = shared.knobs();
    let (route, id) = match match_route(&parts.method, parts.uri.path(), has_filter, knobs.mount_v2) {
        Matched::Route(r, id) => (r, id.unwrap_or_default()),
        Matched::NotFound => {
            record(shared, parts, &format!("{} (unmatched)", parts.method), Some(404));
            return Outcome::Reply(Reply::rest_error(404, 404, "The requested resource was not found."));
        }
        Matched::MethodNotAllowed(allow) => {
            record(shared, parts, &format!("{} (unmatched)", parts.method), Some(405));
            return Outcome::Reply(Reply::rest_error(405, 405, "Method not allowed.").with_header("allow", allow));
        }
    };
    let body = match body {
        Ok(b) => b,
        Err(reply) => {
            record(shared, parts, route.key(), Some(reply.status));
            return Outcome::Reply(reply);
        }
    };
    let decision = {
        let mut rng = rand::rng();
        let (draw, jitter) = (rng.random::<f64>(), rng.random::<f64>());
        lock(&shared.faults).decide(route.key(), route.path_template(), draw, jitter)
    };
    // Two writes to one user overlapping in time (only possible with injected latency).
    let _busy = if route.is_user_write() && knobs.concurrent_update_429 && !decision.latency.is_zero() {
        match BusyGuard::acquire(shared, &id) {
            Some(g) => Some(g),
            None => {
                let reply =
                    Reply::error(&knobs, 429, 429, "Too many concurrent requests for this user. Try again later.")
                        .with_header("retry-after", "1");
                record(shared, parts, route.key(), Some(429));
                return Outcome::Reply(reply);
            }
        }
    } else {
        None
    };
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    let reply = match decision.action {
        Action::Drop if !decision.apply_first => None,
        Action::Timeout(hold) if !decision.apply_first => {
            tokio::time::sleep(hold).await;
            Some(Reply::rest_error(504, 504, "Gateway Timeout"))
        }
        // A burst of 429s from Zoom (other apps on the account spent the budget): the same
        // reply as the rate limiter's, Retry-After per the knob.
        Action::Error(429) => Some(too_many(
            &knobs,
            &Verdict::Denied {
                category: route.label().unwrap_or(super::ratelimit::Label::Light),
                kind: LimitKind::Qps,
                limit: 1,
                retry_after: std::time::Duration::from_secs(1),
            },
            SystemTime::now(),
        )),
        Action::Error(status) => Some(Reply::rest_error(status, status.into(), "Internal server error.")),
        _ => Some(process(shared, &knobs, parts, route, &id, &params, &body)),
    };
    let reply = match (decision.action, reply) {
        (Action::Drop, _) | (_, None) => {
            record(shared, parts, route.key(), None);
            return Outcome::Drop;
        }
        (Action::Timeout(hold), Some(r)) if decision.apply_first => {
            tokio::time::sleep(hold).await;
            r
        }
        (_, Some(r)) => r,
    };
    let reply = if knobs.echo_credentials && reply.status >= 400 { echo_credentials(reply, parts) } else { reply };
    record(shared, parts, route.key(), Some(reply.status));
    Outcome::Reply(reply)
}

/// The `echo_credentials` knob: the request's credentials, in every form, in the error text.
fn echo_credentials(reply: Reply, parts: &Parts) -> Reply {
    let Some(authorization) = header(parts, "authorization") else { return reply };
    let mut text = format!("received Authorization: {authorization}");
    if let Some(token) = bearer(Some(authorization)) {
        text.push_str(&format!("; token {token}"));
    }
    if let Some((id, secret)) = basic_credentials(Some(authorization)) {
        text.push_str(&format!("; client_id={id} client_secret={secret}"));
    }
    reply.with_error_text(&text)
}

fn header<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts.headers.get(name).and_then(|v| v.to_str().ok())
}

/// Auth, rate limit, SSO flag, then the operation itself.
fn process(
    shared: &Shared,
    knobs: &Knobs,
    parts: &Parts,
    route: Route,
    id: &str,
    params: &[(String, String)],
    body: &[u8],
) -> Reply {
    let authorization = header(parts, "authorization");
    if route == Route::Token {
        let mut all = params.to_vec();
        all.extend(url::form_urlencoded::parse(body).into_owned());
        return token_endpoint(&shared.creds, knobs, &mut lock(&shared.tokens), &shared.origin, authorization, &all);
    }
    let authorized = bearer(authorization).is_some_and(|t| lock(&shared.tokens).is_valid(t, Instant::now()));
    if !authorized {
        return Reply::invalid_token();
    }
    let wall = SystemTime::now();
    let verdict = match route.label() {
        Some(label) => lock(&shared.limiter).check(label, route.endpoint(), Instant::now(), wall),
        None => Verdict::Unlimited,
    };
    if let Verdict::Denied { .. } = verdict {
        return too_many(knobs, &verdict, wall);
    }
    if !knobs.sso_enabled {
        return with_rate_headers(Reply::scim_error(400, text::SSO_OFF), &verdict);
    }
    let origin = shared.origin.as_str();
    let mut store = lock(&shared.store);
    let reply = match route {
        Route::ListUsers | Route::FilterUsers => users::list(knobs, &store, origin, params),
        Route::GetUser => users::get(knobs, &store, origin, id),
        Route::CreateUser => users::create(knobs, &mut store, origin, body),
        Route::PutUser => users::put(knobs, &mut store, origin, id, body),
        Route::PatchUser => users::patch(knobs, &mut store, origin, id, body),
        Route::DeleteUser => users::delete(knobs, &mut store, id),
        Route::ListGroups | Route::FilterGroups => groups::list(knobs, &store, origin, params),
        Route::GetGroup => groups::get(knobs, &store, origin, id),
        Route::CreateGroup => groups::create(knobs, &mut store, origin, body),
        Route::PatchGroup => groups::patch(knobs, &mut store, id, body),
        Route::DeleteGroup => groups::delete(knobs, &mut store, id),
        Route::Token => Reply::rest_error(500, 500, "unreachable"),
    };
    with_rate_headers(reply, &verdict)
}

/// `X-RateLimit-*` on normal responses (Zoom sent them 2020–21).
fn with_rate_headers(reply: Reply, verdict: &Verdict) -> Reply {
    match verdict {
        Verdict::Allowed { category, limit, remaining } => reply
            .with_header("x-ratelimit-category", category.as_str())
            .with_header("x-ratelimit-limit", limit.to_string())
            .with_header("x-ratelimit-remaining", remaining.to_string()),
        _ => reply,
    }
}

/// The 429 with Zoom's text and headers; `Retry-After` per the knob.
fn too_many(knobs: &Knobs, verdict: &Verdict, now: SystemTime) -> Reply {
    let Verdict::Denied { category, kind, limit, retry_after } = *verdict else {
        return Reply::rest_error(500, 500, "unreachable");
    };
    let (message, kind_text) = match kind {
        LimitKind::Qps => (text::QPS, "QPS"),
        LimitKind::Daily => (text::DAILY, "Daily-limit"),
    };
    let reply = Reply::error(knobs, 429, 429, message)
        .with_header("x-ratelimit-category", category.as_str())
        .with_header("x-ratelimit-type", kind_text)
        .with_header("x-ratelimit-limit", limit.to_string())
        .with_header("x-ratelimit-remaining", "0");
    match knobs.retry_after {
        RetryAfterStyle::Seconds => {
            reply.with_header("retry-after", retry_after.as_secs_f64().ceil().max(1.0).to_string())
        }
        RetryAfterStyle::Iso => reply.with_header("retry-after", rfc3339(unix_secs_ceil(now + retry_after))),
        RetryAfterStyle::None => reply,
    }
}
