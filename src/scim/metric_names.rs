//! Names of the metrics the SCIM client records, in one place so the daemon's exporter and
//! its documentation can re-export them. Labels are bounded: `method` is an HTTP method,
//! `status_class` one of `2xx`/`3xx`/`4xx`/`5xx`/`error`, `reason` one of
//! [`crate::scim::retry::RetryReason::as_str`].

use std::time::Instant;

/// Counter `{method, status_class}`: every HTTP attempt, including retried ones.
pub const HTTP_REQUESTS_TOTAL: &str = "zoomsync_http_requests_total";
/// Histogram (seconds): one HTTP attempt, from send to the last body byte.
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "zoomsync_http_request_duration_seconds";
/// Histogram (seconds): time an attempt waited for a concurrency slot and a rate token.
pub const THROTTLE_WAIT_SECONDS: &str = "zoomsync_throttle_wait_seconds";
/// Counter `{reason}`: attempts repeated after a retryable failure or a 401.
pub const HTTP_RETRIES_TOTAL: &str = "zoomsync_http_retries_total";
/// Counter: OAuth access tokens fetched (the first one included).
pub const OAUTH_TOKEN_RENEWALS_TOTAL: &str = "zoomsync_oauth_token_renewals_total";

/// The `status_class` label of an HTTP status.
pub fn status_class(status: u16) -> &'static str {
    match status {
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => "error",
    }
}

/// `status_class` for an attempt that got no HTTP answer (timeout, refused, dropped).
pub const STATUS_CLASS_ERROR: &str = "error";

/// Counts and times one HTTP attempt (`status` `None`: no HTTP answer).
pub fn record_attempt(method: &'static str, status: Option<u16>, started: Instant) {
    let class = status.map_or(STATUS_CLASS_ERROR, status_class);
    metrics::counter!(HTTP_REQUESTS_TOTAL, "method" => method, "status_class" => class).increment(1);
    metrics::histogram!(HTTP_REQUEST_DURATION_SECONDS).record(started.elapsed().as_secs_f64());
}
