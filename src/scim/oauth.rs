//! Credentials on the wire: Zoom Server-to-Server OAuth or a static bearer token.
//!
//! Zoom may revoke a token when a new one is issued, so the process holds exactly one and
//! fetches a new one only when it is near expiry or was refused. Fetching happens under an
//! async mutex: concurrent requests that need a token wait for the one fetch in flight
//! (single-flight) and get its answer — a token, or its failure: requests that waited while
//! a fetch failed do not each fetch again (a token endpoint that never answers costs one
//! timeout per round, not one per request). A 401 invalidates only the token that was
//! refused, so N requests failing with the same old token cause one renewal, not N.
//!
//! Error details never carry a credential: every text built from the token endpoint's
//! answer is redacted with [`Auth::secrets`] (the client secret, the Basic credential, the
//! tokens issued to this process).

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::Deserialize;
use tokio::sync::Mutex;

use super::ScimError;
use super::errors::{ErrorBody, certificate_failure};
use super::metric_names::OAUTH_TOKEN_RENEWALS_TOTAL;
use super::redact::redact;
use crate::config::{Secret, TargetAuth};

/// Tokens issued to this process that are still looked for in server texts (the current
/// one and a few before it, which a server may echo from a request made just before).
const REMEMBERED_TOKENS: usize = 4;

/// Renew this long before expiry at most (Zoom tokens live an hour).
pub const RENEW_EARLY: Duration = Duration::from_secs(300);

/// An access token. Debug never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(Arc<str>);

impl Token {
    /// For the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// When to fetch a new token: 5 minutes early, or halfway for short-lived tokens.
pub fn renew_at(issued: Instant, expires_in: Duration) -> Instant {
    issued + expires_in - RENEW_EARLY.min(expires_in / 2)
}

/// A token fetch that failed. Details are redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// The token endpoint refused the credentials, the config is wrong, or its TLS
    /// certificate cannot be verified: stop.
    Fatal(ScimError),
    /// The endpoint was unreachable or failing: retry within the budget.
    Temporary {
        detail: String,
        /// How long this caller's own fetch took (the caller books it against the cycle's
        /// budget); `None` when it got the failure of a fetch another request made while it
        /// waited.
        took: Option<Duration>,
    },
}

struct Cached {
    token: Token,
    renew_at: Instant,
}

/// What the single flight leaves behind: the token, or the failure of the last fetch.
#[derive(Default)]
struct TokenState {
    cached: Option<Cached>,
    failed: Option<FetchError>,
}

struct ZoomOauth {
    token_url: url::Url,
    account_id: String,
    client_id: String,
    client_secret: Secret,
    /// `base64(client_id:client_secret)`: what the Basic header carries, a secret too.
    basic: String,
    state: Mutex<TokenState>,
    /// Fetches finished (either way). A waiter that sees it move while it waited for the
    /// lock got that fetch's answer.
    fetches: AtomicU64,
    /// The last tokens issued to this process, newest last (for redaction; a std mutex
    /// because redaction is synchronous).
    issued: std::sync::Mutex<VecDeque<Token>>,
}

/// How requests authenticate.
pub struct Auth {
    inner: Inner,
}

enum Inner {
    Bearer(Token),
    Zoom(Box<ZoomOauth>),
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<u64>,
}

impl Auth {
    pub fn new(config: &TargetAuth) -> Self {
        let inner = match config {
            TargetAuth::Bearer { token } => Inner::Bearer(Token(Arc::from(token.expose()))),
            TargetAuth::ZoomOauth { token_url, account_id, client_id, client_secret } => {
                let basic =
                    base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{}", client_secret.expose()));
                Inner::Zoom(Box::new(ZoomOauth {
                    token_url: token_url.clone(),
                    account_id: account_id.clone(),
                    client_id: client_id.clone(),
                    client_secret: client_secret.clone(),
                    basic,
                    state: Mutex::new(TokenState::default()),
                    fetches: AtomicU64::new(0),
                    issued: std::sync::Mutex::new(VecDeque::new()),
                }))
            }
        };
        Self { inner }
    }

    /// Whether a 401 can be cured by fetching a new token.
    pub fn renewable(&self) -> bool {
        matches!(self.inner, Inner::Zoom(_))
    }

    /// The current token, fetching one first when there is none or it is near expiry. While
    /// one request fetches, the others wait; when that fetch fails, they all get its failure
    /// (with `took: None`) instead of fetching again.
    pub async fn token(&self, http: &reqwest::Client) -> Result<Token, FetchError> {
        let z = match &self.inner {
            Inner::Bearer(t) => return Ok(t.clone()),
            Inner::Zoom(z) => z,
        };
        let seen = z.fetches.load(Ordering::Acquire);
        let mut state = z.state.lock().await;
        if let Some(c) = state.cached.as_ref()
            && Instant::now() < c.renew_at
        {
            return Ok(c.token.clone());
        }
        if z.fetches.load(Ordering::Acquire) != seen
            && let Some(failed) = &state.failed
        {
            return Err(match failed {
                FetchError::Temporary { detail, .. } => FetchError::Temporary { detail: detail.clone(), took: None },
                fatal => fatal.clone(),
            });
        }
        let issued = Instant::now();
        let fetched = z.fetch(http).await;
        z.fetches.fetch_add(1, Ordering::Release);
        let (token, expires_in) = match fetched {
            Ok(t) => t,
            Err(e) => {
                let e = self.redact_fetch_error(e, issued.elapsed());
                state.failed = Some(e.clone());
                return Err(e);
            }
        };
        metrics::counter!(OAUTH_TOKEN_RENEWALS_TOTAL).increment(1);
        tracing::debug!(expires_in_secs = expires_in.as_secs(), "fetched an OAuth access token");
        z.remember(&token);
        *state = TokenState {
            cached: Some(Cached { token: token.clone(), renew_at: renew_at(issued, expires_in) }),
            failed: None,
        };
        Ok(token)
    }

    /// Forgets `refused` if it is still the cached token (a 401 answered it), so the next
    /// [`token`](Self::token) fetches a new one. Returns whether it was dropped.
    pub async fn invalidate(&self, refused: &Token) -> bool {
        let Inner::Zoom(z) = &self.inner else {
            return false;
        };
        let mut state = z.state.lock().await;
        if state.cached.as_ref().is_some_and(|c| &c.token == refused) {
            state.cached = None;
            return true;
        }
        false
    }

    /// Secret values that must never appear in an error detail or a log line: the static
    /// bearer token, or the client secret, the Basic credential and the tokens issued.
    pub fn secrets(&self) -> Vec<String> {
        match &self.inner {
            Inner::Bearer(t) => vec![t.expose().to_string()],
            Inner::Zoom(z) => {
                let mut all = vec![z.client_secret.expose().to_string(), z.basic.clone()];
                let issued = z.issued.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                all.extend(issued.iter().map(|t| t.expose().to_string()));
                all
            }
        }
    }

    /// `text` without any credential (see [`redact`]).
    pub fn redact(&self, text: &str) -> String {
        redact(text, &self.secrets())
    }

    fn redact_fetch_error(&self, e: FetchError, took: Duration) -> FetchError {
        match e {
            FetchError::Fatal(ScimError::Fatal { detail }) => {
                FetchError::Fatal(ScimError::Fatal { detail: self.redact(&detail) })
            }
            FetchError::Fatal(other) => FetchError::Fatal(other),
            FetchError::Temporary { detail, .. } => {
                FetchError::Temporary { detail: self.redact(&detail), took: Some(took) }
            }
        }
    }
}

impl ZoomOauth {
    fn remember(&self, token: &Token) {
        let mut issued = self.issued.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        issued.push_back(token.clone());
        while issued.len() > REMEMBERED_TOKENS {
            issued.pop_front();
        }
    }

    /// `POST token_url?grant_type=account_credentials&account_id=…` with HTTP Basic.
    async fn fetch(&self, http: &reqwest::Client) -> Result<(Token, Duration), FetchError> {
        let started = Instant::now();
        let sent = http
            .post(self.token_url.clone())
            .query(&[("grant_type", "account_credentials"), ("account_id", self.account_id.as_str())])
            .basic_auth(&self.client_id, Some(self.client_secret.expose()))
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await;
        let outcome = match sent {
            Ok(resp) => {
                let status = resp.status().as_u16();
                match resp.bytes().await {
                    Ok(body) => Ok((status, body)),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        };
        super::metric_names::record_attempt("POST", outcome.as_ref().ok().map(|(s, _)| *s), started);
        let (status, body) = outcome.map_err(|e| match certificate_failure(&e) {
            Some(why) => FetchError::Fatal(ScimError::Fatal {
                detail: format!(
                    "the OAuth token endpoint {}: TLS certificate not trusted ({why}); set target.ca_file to \
                     the CA that issued it, or fix what intercepts the connection",
                    self.endpoint()
                ),
            }),
            None => FetchError::Temporary {
                detail: format!(
                    "token endpoint {} unreachable: {}",
                    self.endpoint(),
                    super::errors::transport_text(&e)
                ),
                took: None,
            },
        })?;
        tracing::debug!(method = "POST", path = "oauth/token", status, "token request");
        match status {
            200..=299 => {
                let parsed: TokenResponse = serde_json::from_slice(&body).map_err(|_| {
                    FetchError::Fatal(ScimError::Fatal {
                        detail: format!(
                            "token endpoint {} answered {status} without an access_token; \
                             check target.token_url",
                            self.endpoint()
                        ),
                    })
                })?;
                let ttl = Duration::from_secs(parsed.expires_in.unwrap_or(3600).max(1));
                Ok((Token(Arc::from(parsed.access_token)), ttl))
            }
            429 | 500..=599 => Err(FetchError::Temporary {
                detail: format!("token endpoint {} answered {status}", self.endpoint()),
                took: None,
            }),
            _ => {
                let detail = ErrorBody::parse(&body).detail_or(status);
                Err(FetchError::Fatal(ScimError::Fatal {
                    detail: format!(
                        "the OAuth token endpoint {} refused the credentials ({status}: {detail}); \
                         check target.account_id, target.client_id ({}) and the client secret \
                         in {}",
                        self.endpoint(),
                        self.client_id,
                        self.client_secret.origin().display()
                    ),
                }))
            }
        }
    }

    /// The token URL without query or userinfo, for messages.
    fn endpoint(&self) -> String {
        let mut u = self.token_url.clone();
        u.set_query(None);
        let _ = u.set_password(None);
        let _ = u.set_username("");
        u.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_is_five_minutes_early_or_halfway() {
        let t0 = Instant::now();
        assert_eq!(renew_at(t0, Duration::from_secs(3600)), t0 + Duration::from_secs(3300));
        assert_eq!(renew_at(t0, Duration::from_secs(120)), t0 + Duration::from_secs(60));
        assert_eq!(renew_at(t0, Duration::from_secs(1)), t0 + Duration::from_millis(500));
    }

    #[test]
    fn tokens_and_auth_never_show_secrets() {
        let t = Token(Arc::from("abc.secret.token"));
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
        let auth = Auth::new(&TargetAuth::Bearer { token: Secret::from_value("s3cr3t") });
        assert!(!auth.renewable());
        assert_eq!(auth.secrets(), vec!["s3cr3t"]);
    }

    fn zoom_auth() -> Auth {
        Auth::new(&TargetAuth::ZoomOauth {
            token_url: url::Url::parse("http://127.0.0.1:9/oauth/token").unwrap(),
            account_id: "a".into(),
            client_id: "client".into(),
            client_secret: Secret::from_value("the-secret"),
        })
    }

    #[test]
    fn zoom_secrets_are_the_secret_the_basic_credential_and_the_last_tokens() {
        let auth = zoom_auth();
        let Inner::Zoom(z) = &auth.inner else { panic!("zoom auth expected") };
        // base64("client:the-secret")
        assert_eq!(auth.secrets(), vec!["the-secret", "Y2xpZW50OnRoZS1zZWNyZXQ="]);
        for i in 0..6 {
            z.remember(&Token(Arc::from(format!("token-{i}"))));
        }
        let secrets = auth.secrets();
        assert_eq!(&secrets[2..], ["token-2", "token-3", "token-4", "token-5"]);
        assert_eq!(
            auth.redact("x the-secret Basic Y2xpZW50OnRoZS1zZWNyZXQ= token-5 token-1"),
            "x [redacted] Basic [redacted] [redacted] token-1"
        );
    }

    #[tokio::test]
    async fn invalidate_drops_only_the_refused_token() {
        let auth = zoom_auth();
        let Inner::Zoom(z) = &auth.inner else { panic!("zoom auth expected") };
        let current = Token(Arc::from("new"));
        z.state.lock().await.cached =
            Some(Cached { token: current.clone(), renew_at: Instant::now() + Duration::from_secs(60) });
        assert!(!auth.invalidate(&Token(Arc::from("old"))).await);
        assert!(z.state.lock().await.cached.is_some());
        assert!(auth.invalidate(&current).await);
        assert!(z.state.lock().await.cached.is_none());
    }

    #[tokio::test]
    async fn requests_waiting_for_a_failed_fetch_share_its_failure() {
        crate::install_crypto_provider();
        // Nothing listens on port 9 of loopback: each fetch fails at once.
        let auth = zoom_auth();
        let Inner::Zoom(z) = &auth.inner else { panic!("zoom auth expected") };
        let http = reqwest::Client::builder().tls_backend_rustls().build().unwrap();
        // Hold the lock so that three requests queue behind it, then let them go.
        let held = z.state.lock().await;
        let waiting = futures::future::join_all((0..3).map(|_| auth.token(&http)));
        let release = async {
            tokio::task::yield_now().await;
            drop(held);
        };
        let (results, ()) = tokio::join!(waiting, release);
        assert_eq!(z.fetches.load(Ordering::Acquire), 1, "one fetch for three waiters");
        let took: Vec<bool> = results
            .iter()
            .map(|r| match r {
                Err(FetchError::Temporary { took, .. }) => took.is_some(),
                other => panic!("expected a temporary failure, got {other:?}"),
            })
            .collect();
        assert_eq!(took.iter().filter(|t| **t).count(), 1, "only the fetcher books the time: {took:?}");
        // A request that comes later fetches again.
        assert!(auth.token(&http).await.is_err());
        assert_eq!(z.fetches.load(Ordering::Acquire), 2);
    }
}
