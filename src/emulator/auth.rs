//! Server-to-Server OAuth: `POST /oauth/token?grant_type=account_credentials&account_id=…`
//! with HTTP Basic client credentials, and the bearer-token check on SCIM calls.
//! By default issuing a token revokes every earlier one of the same app, as Zoom staff
//! described; each app of the account (`Credentials::extra_clients`) has its own tokens.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use rand::Rng;
use serde_json::json;

use super::config::{Credentials, Knobs};
use super::wire::Reply;

/// Live tokens: their expiry and the app (client id) they were issued to.
#[derive(Default)]
pub struct Tokens {
    live: HashMap<String, (Instant, String)>,
}

impl Tokens {
    /// Issues a new random token to app `client` valid for `ttl`; `revoke_others` drops the
    /// app's earlier tokens (other apps keep theirs).
    pub fn issue(&mut self, client: &str, ttl: Duration, revoke_others: bool, now: Instant) -> String {
        if revoke_others {
            self.live.retain(|_, (_, app)| app != client);
        }
        self.live.retain(|_, (exp, _)| *exp > now);
        let mut rng = rand::rng();
        let bytes: [u8; 48] = rng.random();
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        self.live.insert(token.clone(), (now + ttl, client.to_string()));
        token
    }

    pub fn is_valid(&self, token: &str, now: Instant) -> bool {
        self.live.get(token).is_some_and(|(exp, _)| *exp > now)
    }

    /// The app a token was issued to (expired or not, while it is remembered).
    pub fn client_of(&self, token: &str) -> Option<&str> {
        self.live.get(token).map(|(_, app)| app.as_str())
    }

    /// The tokens valid at `now`.
    pub fn live(&self, now: Instant) -> Vec<String> {
        self.live.iter().filter(|(_, (exp, _))| *exp > now).map(|(t, _)| t.clone()).collect()
    }

    /// Makes every issued token invalid (test helper for the expiry path).
    pub fn expire_all(&mut self) {
        self.live.clear();
    }

    pub fn count(&self) -> usize {
        self.live.len()
    }
}

/// The bearer token of an `Authorization` header value, if it is one.
pub fn bearer(header: Option<&str>) -> Option<&str> {
    let (scheme, token) = header?.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

pub fn basic_credentials(header: Option<&str>) -> Option<(String, String)> {
    let (scheme, b64) = header?.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok()?;
    let (id, secret) = std::str::from_utf8(&raw).ok()?.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

fn oauth_error(status: u16, error: &str, reason: &str) -> Reply {
    Reply::json(status, json!({"reason": reason, "error": error}))
}

/// Handles the token endpoint. Parameters come from the query string or a form body.
pub fn token_endpoint(
    creds: &Credentials,
    knobs: &Knobs,
    tokens: &mut Tokens,
    api_url: &str,
    authorization: Option<&str>,
    params: &[(String, String)],
) -> Reply {
    let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let client = match basic_credentials(authorization) {
        Some((id, secret)) if creds.accepts(&id, &secret) => id,
        _ => return oauth_error(401, "invalid_client", "Invalid client_id or client_secret"),
    };
    match get("grant_type") {
        Some("account_credentials") => {}
        Some(_) => return oauth_error(400, "unsupported_grant_type", "unsupported grant type"),
        None => return oauth_error(400, "invalid_request", "Missing grant type"),
    }
    match get("account_id") {
        Some(a) if a == creds.account_id => {}
        Some(_) => {
            return oauth_error(400, "invalid_request", "Invalid request : Invalid account_id.");
        }
        None => return oauth_error(400, "invalid_request", "Missing account_id"),
    }
    let ttl = Duration::from_secs(knobs.token_ttl_secs);
    let token = tokens.issue(&client, ttl, knobs.invalidate_previous_token, Instant::now());
    Reply::json(
        200,
        json!({
            "access_token": token,
            "token_type": "bearer",
            "expires_in": knobs.token_ttl_secs,
            "scope": "scim2:admin",
            "api_url": api_url,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_token_revokes_old_unless_knob_off() {
        let mut t = Tokens::default();
        let now = Instant::now();
        let a = t.issue("app", Duration::from_secs(10), true, now);
        let b = t.issue("app", Duration::from_secs(10), true, now);
        assert!(!t.is_valid(&a, now) && t.is_valid(&b, now));
        let c = t.issue("app", Duration::from_secs(10), false, now);
        assert!(t.is_valid(&b, now) && t.is_valid(&c, now));
        assert!(!t.is_valid(&c, now + Duration::from_secs(10)));
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn each_app_has_its_own_tokens() {
        let mut t = Tokens::default();
        let now = Instant::now();
        let a = t.issue("app-a", Duration::from_secs(10), true, now);
        let b = t.issue("app-b", Duration::from_secs(10), true, now);
        assert!(t.is_valid(&a, now) && t.is_valid(&b, now), "another app's token does not revoke");
        assert_eq!((t.client_of(&a), t.client_of(&b), t.client_of("x")), (Some("app-a"), Some("app-b"), None));
        let a2 = t.issue("app-a", Duration::from_secs(10), true, now);
        assert!(!t.is_valid(&a, now) && t.is_valid(&a2, now) && t.is_valid(&b, now));
        let creds = Credentials {
            extra_clients: vec![super::super::config::ExtraClient {
                client_id: "standby".into(),
                client_secret: "s2".into(),
            }],
            ..Credentials::default()
        };
        assert!(creds.accepts("emulator-client", "emulator-secret") && creds.accepts("standby", "s2"));
        assert!(!creds.accepts("standby", "emulator-secret"));
    }

    #[test]
    fn header_parsing() {
        assert_eq!(bearer(Some("Bearer abc")), Some("abc"));
        assert_eq!(bearer(Some("bearer  abc ")), Some("abc"));
        assert_eq!(bearer(Some("Basic abc")), None);
        let h = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("id:se:cret"));
        assert_eq!(basic_credentials(Some(&h)), Some(("id".into(), "se:cret".into())));
    }
}
