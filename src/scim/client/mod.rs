//! The SCIM HTTP client: [`ScimClient`] implements [`Target`](crate::scim::Target) for
//! Zoom (`kind = "zoom"`) and generic RFC 7644 servers (`kind = "scim"`).
//!
//! - `mod.rs`: construction (TLS, timeouts, auth, throttle), URLs, the cycle budget.
//! - `send.rs`: the request loop — throttle, token, one attempt, classify, retry. It is the
//!   only place that retries.
//! - `ops.rs`: the trait implementation: the eight user operations, per wire profile; the
//!   group methods delegate to `group_ops.rs`.
//! - `group_ops.rs`: the six group operations (the same on both profiles, but for the mark a
//!   create leaves on a generic server).

mod group_ops;
mod ops;
mod send;

use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::ScimError;
use super::oauth::Auth;
use super::retry::{CycleBudget, RetryPolicy};
use super::throttle::Throttle;
use crate::config::{TargetConfig, TargetKind};

/// Characters left as they are in a path segment or query value: RFC 3986 unreserved.
/// Everything else is percent-encoded — Zoom ids contain `&`.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Page size for full lists: Zoom's documented maximum (scim2-server allows 1000).
pub const PAGE_SIZE: usize = 100;

/// A SCIM target over HTTP. Cheap to share behind an `Arc`; all methods take `&self`.
pub struct ScimClient {
    http: reqwest::Client,
    /// Ends with `/`.
    base: String,
    kind: TargetKind,
    auth: Auth,
    throttle: Throttle,
    policy: RetryPolicy,
    cycle: CycleBudget,
    /// Why the target stopped this cycle (a Fatal or Paused error of the request loop):
    /// every later call fails with it at once, until [`begin_cycle`](Self::begin_cycle).
    stopped: std::sync::Mutex<Option<ScimError>>,
}

impl std::fmt::Debug for ScimClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimClient")
            .field("base", &self.base)
            .field("kind", &self.kind)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl ScimClient {
    /// Builds the client: TLS with verification (plus `ca_file` as an extra root), the
    /// connect and request timeouts, no redirects (a redirect means a wrong `base_url`),
    /// `Accept: application/scim+json`. Call `zoomsync::install_crypto_provider()` first.
    pub fn new(config: &TargetConfig) -> Result<Self, ScimError> {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::ACCEPT, reqwest::header::HeaderValue::from_static("application/scim+json"));
        let mut builder = reqwest::Client::builder()
            .tls_backend_rustls()
            .default_headers(headers)
            .user_agent(concat!("zoomsync/", env!("CARGO_PKG_VERSION")))
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(config.max_concurrency.max(1));
        if let Some(path) = &config.ca_file {
            let pem = std::fs::read(path).map_err(|e| ScimError::Fatal {
                detail: format!("cannot read target.ca_file {}: {}", path.display(), e.kind()),
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| ScimError::Fatal {
                detail: format!("target.ca_file {} holds no PEM certificate", path.display()),
            })?;
            builder = builder.tls_certs_merge(certs);
        }
        let http =
            builder.build().map_err(|e| ScimError::Fatal { detail: format!("cannot build the HTTP client: {e}") })?;
        let mut base = config.base_url.to_string();
        if !base.ends_with('/') {
            base.push('/');
        }
        Ok(Self {
            http,
            base,
            kind: config.kind,
            auth: Auth::new(&config.auth),
            throttle: Throttle::new(&config.rate, config.max_concurrency),
            policy: RetryPolicy::default(),
            cycle: CycleBudget::default(),
            stopped: std::sync::Mutex::new(None),
        })
    }

    /// Replaces the retry limits (tests use short ones; the daemon keeps the default).
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Starts a sync cycle: the per-cycle retry budget is full again, and a stop of the last
    /// cycle (a fatal error, a pause) is forgotten — the new cycle asks the target again.
    pub fn begin_cycle(&self) {
        self.cycle.reset();
        *self.stopped.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    /// Retry time spent since the last [`begin_cycle`](Self::begin_cycle).
    pub fn cycle_retry_time(&self) -> Duration {
        self.cycle.spent()
    }

    /// How many times the rate of the Light (user) label is currently halved after 429s.
    pub fn light_slowdown(&self) -> u32 {
        self.throttle.slowdown(super::throttle::Label::Light)
    }

    pub fn kind(&self) -> TargetKind {
        self.kind
    }

    fn users_url(&self) -> String {
        format!("{}Users", self.base)
    }

    fn user_url(&self, id: &str) -> String {
        format!("{}Users/{}", self.base, utf8_percent_encode(id, COMPONENT))
    }

    fn page_url(&self, start: usize, count: usize) -> String {
        format!("{}Users?startIndex={start}&count={count}", self.base)
    }

    /// `userName eq "…"` with `"` and `\` escaped (RFC 7644 §3.4.2.2), spaces as `%20`.
    fn filter_url(&self, user_name: &str) -> String {
        let escaped = user_name.replace('\\', "\\\\").replace('"', "\\\"");
        let filter = format!("userName eq \"{escaped}\"");
        format!("{}Users?filter={}&startIndex=1&count=2", self.base, utf8_percent_encode(&filter, COMPONENT))
    }

    fn groups_url(&self) -> String {
        format!("{}Groups", self.base)
    }

    fn group_url(&self, id: &str) -> String {
        format!("{}Groups/{}", self.base, utf8_percent_encode(id, COMPONENT))
    }

    /// `displayName eq "…"` escaped like [`filter_url`](Self::filter_url). Asks for a few
    /// results, not one: displayName matching is case-insensitive and a generic server may
    /// hold names differing only in case (scim2-server does not keep names unique).
    fn group_filter_url(&self, display_name: &str) -> String {
        let filter = format!("displayName eq {}", crate::scim::group_body::filter_literal(display_name));
        format!("{}Groups?filter={}&startIndex=1&count=10", self.base, utf8_percent_encode(&filter, COMPONENT))
    }

    /// `text` without credentials: server texts may echo the secret, the Basic credential
    /// or a token back (see [`crate::scim::redact`]).
    fn scrub(&self, text: String) -> String {
        self.auth.redact(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{RateLimit, Secret, TargetAuth};

    fn config(base: &str) -> TargetConfig {
        TargetConfig {
            kind: TargetKind::Zoom,
            base_url: url::Url::parse(base).unwrap(),
            auth: TargetAuth::Bearer { token: Secret::from_value("tok-secret") },
            rate: RateLimit { light_per_second: 10.0, medium_per_second: 5.0 },
            max_concurrency: 4,
            ca_file: None,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn urls_encode_ids_and_filters() {
        crate::install_crypto_provider();
        let c = ScimClient::new(&config("https://api.zoom.us/scim2/")).unwrap();
        assert_eq!(c.user_url("k&Kd/r6+T~L"), "https://api.zoom.us/scim2/Users/k%26Kd%2Fr6%2BT~L");
        assert_eq!(
            c.filter_url("a\"b@x.org"),
            "https://api.zoom.us/scim2/Users?filter=userName%20eq%20%22a%5C%22b%40x.org%22&startIndex=1&count=2"
        );
        let c = ScimClient::new(&config("http://127.0.0.1:9/t1/v2")).unwrap();
        assert_eq!(c.users_url(), "http://127.0.0.1:9/t1/v2/Users");
        assert_eq!(c.scrub("x tok-secret y".into()), "x [redacted] y");
        assert_eq!(c.groups_url(), "http://127.0.0.1:9/t1/v2/Groups");
        assert_eq!(c.group_url("g&1/x"), "http://127.0.0.1:9/t1/v2/Groups/g%261%2Fx");
        assert_eq!(
            c.group_filter_url("R&D \"Ops\" \\ Ärzte"),
            "http://127.0.0.1:9/t1/v2/Groups?filter=displayName%20eq%20%22R%26D%20%5C%22Ops%5C%22%20%5C%5C%20%C3%84rzte%22\
             &startIndex=1&count=10"
        );
        assert!(!format!("{c:?}").contains("tok-secret"));
    }

    #[test]
    fn unreadable_ca_file_is_fatal_and_names_the_key() {
        crate::install_crypto_provider();
        let mut cfg = config("https://api.zoom.us/scim2/");
        cfg.ca_file = Some("/nonexistent/ca.pem".into());
        let e = ScimClient::new(&cfg).unwrap_err();
        assert!(e.is_fatal() && e.to_string().contains("target.ca_file"), "{e}");
    }
}
