//! An HTTP recorder between zoomsync and the emulator: every request is kept (method, path
//! and query, JSON body) and forwarded as it came; the answer goes back as the emulator gave
//! it. The emulator's own request log counts requests by route but keeps no bodies, and the
//! emulator speaks HTTP/1.1 with keep-alive, so requests are parsed (axum), not relayed as
//! bytes. Point only the SCIM base URL here; the token endpoint stays on the emulator.

use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, Response, StatusCode};
use serde_json::Value;

/// One request as zoomsync sent it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// Path and query, e.g. `/scim2/Users/abc` or `/scim2/Users?startIndex=1&count=100`.
    pub path: String,
    /// The body parsed as JSON (`Null` when there is none).
    pub body: Value,
}

impl Recorded {
    /// Whether this is a `method` request whose path (and query) starts with `prefix`.
    pub fn is(&self, method: &str, prefix: &str) -> bool {
        self.method == method && self.path.starts_with(prefix)
    }

    /// The last path segment, percent-decoded: the user id of `/scim2/Users/{id}`.
    pub fn user_id(&self) -> String {
        let segment = self.path.split('?').next().unwrap_or_default().rsplit('/').next().unwrap_or_default();
        percent_encoding::percent_decode_str(segment).decode_utf8().unwrap().into_owned()
    }
}

struct Inner {
    upstream: String,
    http: reqwest::Client,
    log: Mutex<Vec<Recorded>>,
}

pub struct HttpRecorder {
    origin: String,
    inner: Arc<Inner>,
}

impl HttpRecorder {
    /// Listens on 127.0.0.1 and forwards to `upstream` (an origin: `http://127.0.0.1:port`).
    pub async fn start(upstream: &str) -> HttpRecorder {
        zoomsync::install_crypto_provider();
        let inner = Arc::new(Inner {
            upstream: upstream.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            log: Mutex::new(Vec::new()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new().fallback(forward).with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        HttpRecorder { origin, inner }
    }

    /// This recorder's origin (`http://127.0.0.1:port`).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Everything recorded since the last `take`, in arrival order; the log is emptied.
    pub fn take(&self) -> Vec<Recorded> {
        std::mem::take(&mut *self.inner.log.lock().unwrap())
    }
}

/// Hop-by-hop and length headers are the client library's business on each side.
fn forwarded(name: &HeaderName) -> bool {
    !matches!(name.as_str(), "host" | "content-length" | "connection" | "transfer-encoding" | "keep-alive")
}

async fn forward(State(inner): State<Arc<Inner>>, request: Request) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let bytes: Bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => return error(format!("reading the body: {e}")),
    };
    let path = parts.uri.path_and_query().map_or_else(|| parts.uri.path().to_string(), |p| p.to_string());
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    inner.log.lock().unwrap().push(Recorded { method: parts.method.to_string(), path: path.clone(), body: json });
    let mut outgoing = inner.http.request(parts.method.clone(), format!("{}{path}", inner.upstream));
    for (name, value) in parts.headers.iter().filter(|(n, _)| forwarded(n)) {
        outgoing = outgoing.header(name, value);
    }
    let answer = match outgoing.body(bytes).send().await {
        Ok(a) => a,
        Err(e) => return error(format!("forwarding: {e}")),
    };
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers().iter().filter(|(n, _)| forwarded(n)) {
        response = response.header(name, value);
    }
    match answer.bytes().await {
        Ok(b) => response.body(Body::from(b)).unwrap(),
        Err(e) => error(format!("reading the answer: {e}")),
    }
}

fn error(why: String) -> Response<Body> {
    Response::builder().status(StatusCode::BAD_GATEWAY).body(Body::from(why)).unwrap()
}
