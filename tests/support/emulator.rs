//! Shared helpers for the emulator integration tests: start an emulator on 127.0.0.1:0, get a
//! token through the real token endpoint, and send SCIM/control requests over HTTP.

use std::time::Duration;

use base64::Engine as _;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use zoomsync::emulator::{Emulator, EmulatorConfig, RunningEmulator};

pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// One HTTP answer, body parsed as JSON when there is one.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn detail(&self) -> &str {
        self.json["detail"].as_str().unwrap_or("")
    }
}

pub struct Ctx {
    pub emu: RunningEmulator,
    pub http: reqwest::Client,
    pub token: String,
}

pub fn client(timeout: Option<Duration>) -> reqwest::Client {
    zoomsync::install_crypto_provider();
    let mut b = reqwest::Client::builder();
    if let Some(t) = timeout {
        b = b.timeout(t);
    }
    b.build().unwrap()
}

impl Ctx {
    /// An emulator without rate limits (most tests are about behaviour, not limits).
    pub async fn new() -> Ctx {
        Ctx::with(EmulatorConfig::unlimited()).await
    }

    pub async fn with(config: EmulatorConfig) -> Ctx {
        let emu = Emulator::start(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
        let http = client(None);
        let mut ctx = Ctx { emu, http, token: String::new() };
        let r = ctx.fetch_token().await;
        assert_eq!(r.status, 200, "{}", r.text);
        ctx.token = r.json["access_token"].as_str().unwrap().to_string();
        ctx
    }

    /// `POST /oauth/token` with the emulator's own credentials.
    pub async fn fetch_token(&self) -> Resp {
        let url =
            format!("{}?grant_type=account_credentials&account_id={}", self.emu.token_url(), self.emu.account_id());
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            self.emu.client_id(),
            self.emu.client_secret()
        ));
        let r = self.http.post(url).header("authorization", format!("Basic {basic}")).send().await.unwrap();
        into_resp(r).await
    }

    /// A SCIM call: `path` is relative to the SCIM base (`/Users/…`), with the bearer token.
    pub async fn scim(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        self.scim_as(&self.token, method, path, body).await
    }

    pub async fn scim_as(&self, token: &str, method: Method, path: &str, body: Option<Value>) -> Resp {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.emu.base_url()))
            .bearer_auth(token)
            .header("accept", "application/scim+json");
        if let Some(b) = body {
            req = req.json(&b);
        }
        into_resp(req.send().await.unwrap()).await
    }

    /// Sends a raw body (for malformed or oversized requests).
    pub async fn scim_raw(&self, method: Method, path: &str, body: String) -> Resp {
        let r = self
            .http
            .request(method, format!("{}{path}", self.emu.base_url()))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        into_resp(r).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.scim(Method::GET, path, None).await
    }

    /// `GET` on any path of the server (not only SCIM), with the token.
    pub async fn raw_path(&self, method: Method, path: &str) -> Resp {
        let r = self
            .http
            .request(method, format!("{}{path}", self.emu.origin()))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        into_resp(r).await
    }

    pub async fn control(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let mut req = self.http.request(method, format!("{}{path}", self.emu.control_url()));
        if let Some(b) = body {
            req = req.json(&b);
        }
        into_resp(req.send().await.unwrap()).await
    }

    /// Creates a user through SCIM and returns its body (asserts 201).
    pub async fn create_user(&self, user_name: &str) -> Value {
        let r = self.scim(Method::POST, "/Users", Some(user_body(user_name))).await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.json
    }
}

pub fn user_body(user_name: &str) -> Value {
    json!({
        "schemas": [CORE_USER],
        "userName": user_name,
        "name": {"givenName": "Given", "familyName": "Family"},
        "emails": [{"type": "work", "value": user_name, "primary": true}],
    })
}

pub fn patch_active(active: bool) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": active}]})
}

/// Percent-encodes an id for a path segment (ids may contain `&`).
pub fn enc(id: &str) -> String {
    percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC).to_string()
}

pub fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

pub async fn into_resp(r: reqwest::Response) -> Resp {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let json = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::Null) };
    Resp { status, headers, text, json }
}
