//! Credentials on the wire: Zoom Server-to-Server OAuth or a static bearer token.
//!
//! Zoom may revoke a token when a new one is issued, so the process holds exactly one and
//! fetches a new one only when it is near expiry or was refused. Fetching happens under an
//! async mutex: concurrent requests that need a token wait for the one fetch in flight
//! (single-flight). A 401 invalidates only the token that was refused, so N requests
//! failing with the same old token cause one renewal, not N.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

use super::ScimError;
use super::errors::ErrorBody;
use super::metric_names::OAUTH_TOKEN_RENEWALS_TOTAL;
use crate::config::{Secret, TargetAuth};

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

/// A token fetch that failed.
#[derive(Debug)]
pub enum FetchError {
    /// The token endpoint refused the credentials (or the config is wrong): stop.
    Fatal(ScimError),
    /// The endpoint was unreachable or failing: retry within the budget.
    Temporary(String),
}

struct Cached {
    token: Token,
    renew_at: Instant,
}

struct ZoomOauth {
    token_url: url::Url,
    account_id: String,
    client_id: String,
    client_secret: Secret,
    cache: Mutex<Option<Cached>>,
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
                Inner::Zoom(Box::new(ZoomOauth {
                    token_url: token_url.clone(),
                    account_id: account_id.clone(),
                    client_id: client_id.clone(),
                    client_secret: client_secret.clone(),
                    cache: Mutex::new(None),
                }))
            }
        };
        Self { inner }
    }

    /// Whether a 401 can be cured by fetching a new token.
    pub fn renewable(&self) -> bool {
        matches!(self.inner, Inner::Zoom(_))
    }

    /// The current token, fetching one first when there is none or it is near expiry.
    pub async fn token(&self, http: &reqwest::Client) -> Result<Token, FetchError> {
        let z = match &self.inner {
            Inner::Bearer(t) => return Ok(t.clone()),
            Inner::Zoom(z) => z,
        };
        let mut cache = z.cache.lock().await;
        if let Some(c) = cache.as_ref()
            && Instant::now() < c.renew_at
        {
            return Ok(c.token.clone());
        }
        let issued = Instant::now();
        let (token, expires_in) = z.fetch(http).await?;
        metrics::counter!(OAUTH_TOKEN_RENEWALS_TOTAL).increment(1);
        tracing::debug!(expires_in_secs = expires_in.as_secs(), "fetched an OAuth access token");
        *cache = Some(Cached { token: token.clone(), renew_at: renew_at(issued, expires_in) });
        Ok(token)
    }

    /// Forgets `refused` if it is still the cached token (a 401 answered it), so the next
    /// [`token`](Self::token) fetches a new one. Returns whether it was dropped.
    pub async fn invalidate(&self, refused: &Token) -> bool {
        let Inner::Zoom(z) = &self.inner else {
            return false;
        };
        let mut cache = z.cache.lock().await;
        if cache.as_ref().is_some_and(|c| &c.token == refused) {
            *cache = None;
            return true;
        }
        false
    }

    /// Secret values that must never appear in an error detail.
    pub fn secrets(&self) -> Vec<&str> {
        match &self.inner {
            Inner::Bearer(t) => vec![t.expose()],
            Inner::Zoom(z) => vec![z.client_secret.expose()],
        }
    }
}

impl ZoomOauth {
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
        let (status, body) = outcome.map_err(|e| {
            FetchError::Temporary(format!(
                "token endpoint {} unreachable: {}",
                self.endpoint(),
                super::errors::transport_text(&e)
            ))
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
            429 | 500..=599 => {
                Err(FetchError::Temporary(format!("token endpoint {} answered {status}", self.endpoint())))
            }
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

    #[tokio::test]
    async fn invalidate_drops_only_the_refused_token() {
        let auth = Auth::new(&TargetAuth::ZoomOauth {
            token_url: url::Url::parse("http://127.0.0.1:9/oauth/token").unwrap(),
            account_id: "a".into(),
            client_id: "c".into(),
            client_secret: Secret::from_value("s"),
        });
        let Inner::Zoom(z) = &auth.inner else { panic!("zoom auth expected") };
        let current = Token(Arc::from("new"));
        *z.cache.lock().await =
            Some(Cached { token: current.clone(), renew_at: Instant::now() + Duration::from_secs(60) });
        assert!(!auth.invalidate(&Token(Arc::from("old"))).await);
        assert!(z.cache.lock().await.is_some());
        assert!(auth.invalidate(&current).await);
        assert!(z.cache.lock().await.is_none());
    }
}
