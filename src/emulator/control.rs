//! `/_emulator/…`: the test and benchmark back door. No auth, no faults, no rate limits, not
//! in the request log. Every endpoint is listed in `docs/emulator.md` and by `GET /_emulator`.

use std::time::{Duration, Instant};

use hyper::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::clock::rfc3339;
use super::config::{FaultConfig, RateLimit};
use super::groups;
use super::query::{param, params};
use super::seed::{self, ControlError, SeedUser, UserEdit};
use super::shared::{Shared, lock};
use super::user_json::dump;
use super::wire::Reply;

const INDEX: &[&str] = &[
    "GET /_emulator/state",
    "GET|POST /_emulator/users",
    "GET|PATCH|DELETE /_emulator/users/{id}",
    "GET|POST /_emulator/groups",
    "GET|DELETE /_emulator/requests?limit=N",
    "POST /_emulator/reset?all=true",
    "GET|PATCH /_emulator/knobs",
    "GET|PUT|DELETE /_emulator/faults",
    "GET|PUT /_emulator/ratelimit",
    "POST /_emulator/tokens",
    "POST /_emulator/tokens/expire",
];

fn bad(msg: impl std::fmt::Display) -> Reply {
    Reply::json(400, json!({"error": msg.to_string()}))
}

fn from_control(e: ControlError) -> Reply {
    Reply::json(e.status(), json!({"error": e.to_string()}))
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, Reply> {
    serde_json::from_slice(body).map_err(|e| bad(format!("bad JSON: {e}")))
}

pub fn users_json(shared: &Shared) -> Value {
    let store = lock(&shared.store);
    Value::Array(store.users().map(|u| dump(u, &store, &shared.origin)).collect())
}

pub fn groups_json(shared: &Shared) -> Value {
    let store = lock(&shared.store);
    let items = store
        .groups()
        .map(|g| {
            json!({
                "id": g.id, "displayName": g.display_name, "emailAlias": g.email_alias,
                "members": g.members, "default": g.is_default,
                "created": rfc3339(g.created), "lastModified": rfc3339(g.modified),
            })
        })
        .collect();
    Value::Array(items)
}

fn requests_json(shared: &Shared, limit: usize) -> Value {
    let log = lock(&shared.log);
    let mut v = serde_json::to_value(log.counts()).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.insert("recent".into(), serde_json::to_value(log.recent(limit)).unwrap_or(Value::Null));
    }
    v
}

fn rate_json(shared: &Shared) -> Value {
    let config = lock(&shared.rate_limit).clone();
    let table = lock(&shared.limiter).table();
    json!({"config": config, "table": table})
}

pub fn handle(shared: &Shared, method: &Method, path: &str, query: Option<&str>, body: &[u8]) -> Reply {
    let rest = path.trim_start_matches("/_emulator").trim_start_matches('/');
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let id_of = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
    let q = params(query);
    match (method.as_str(), segments.as_slice()) {
        ("GET", []) => Reply::json(200, json!({"endpoints": INDEX})),
        ("GET", ["state"]) => {
            let knobs = shared.knobs();
            Reply::json(
                200,
                json!({
                    "account": {"id": shared.creds.account_id, "plan": knobs.plan, "sso_enabled": knobs.sso_enabled,
                                "managed_domains": knobs.managed_domains},
                    "knobs": *knobs,
                    "rate_limit": rate_json(shared),
                    "faults": *lock(&shared.faults),
                    "live_tokens": lock(&shared.tokens).count(),
                    "users": users_json(shared),
                    "groups": groups_json(shared),
                }),
            )
        }
        ("GET", ["users"]) => Reply::json(200, users_json(shared)),
        ("POST", ["users"]) => match parse::<SeedUser>(body) {
            Ok(s) => match seed::seed_user(shared, s) {
                Ok(u) => Reply::json(201, dump(&u, &lock(&shared.store), &shared.origin)),
                Err(e) => from_control(e),
            },
            Err(r) => r,
        },
        ("GET", ["users", id]) => {
            let store = lock(&shared.store);
            match store.user(&id_of(id)) {
                Some(u) => Reply::json(200, dump(u, &store, &shared.origin)),
                None => from_control(ControlError::NotFound(id_of(id))),
            }
        }
        ("PATCH", ["users", id]) => match parse::<UserEdit>(body) {
            Ok(e) => match seed::edit_user(shared, &id_of(id), e) {
                Ok(u) => Reply::json(200, dump(&u, &lock(&shared.store), &shared.origin)),
                Err(e) => from_control(e),
            },
            Err(r) => r,
        },
        ("DELETE", ["users", id]) => match seed::remove_user(shared, &id_of(id)) {
            Ok(()) => Reply::no_content(),
            Err(e) => from_control(e),
        },
        ("GET", ["groups"]) => Reply::json(200, groups_json(shared)),
        ("POST", ["groups"]) => {
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct SeedGroup {
                display_name: String,
                #[serde(default)]
                members: Vec<String>,
            }
            match parse::<SeedGroup>(body) {
                Ok(g) => match seed::seed_group(shared, &g.display_name, &g.members) {
                    Ok(g) => Reply::json(201, groups::full(&shared.knobs(), &g, &shared.origin)),
                    Err(e) => from_control(e),
                },
                Err(r) => r,
            }
        }
        ("GET", ["requests"]) => {
            let limit = param(&q, "limit").and_then(|l| l.parse().ok()).unwrap_or(100);
            Reply::json(200, requests_json(shared, limit))
        }
        ("DELETE", ["requests"]) => {
            lock(&shared.log).clear();
            Reply::no_content()
        }
        ("POST", ["reset"]) => {
            shared.reset(param(&q, "all") == Some("true"));
            Reply::no_content()
        }
        ("GET", ["knobs"]) => Reply::json(200, json!(*shared.knobs())),
        ("PATCH" | "PUT", ["knobs"]) => {
            let patch: Value = match parse(body) {
                Ok(v) => v,
                Err(r) => return r,
            };
            match shared.knobs().merged(&patch).and_then(|k| shared.set_knobs(k)) {
                Ok(()) => Reply::json(200, json!(*shared.knobs())),
                Err(e) => bad(e),
            }
        }
        ("GET", ["faults"]) => Reply::json(200, json!(*lock(&shared.faults))),
        ("PUT", ["faults"]) => match parse::<FaultConfig>(body) {
            Ok(f) => match shared.set_faults(f) {
                Ok(()) => Reply::json(200, json!(*lock(&shared.faults))),
                Err(e) => bad(e),
            },
            Err(r) => r,
        },
        ("DELETE", ["faults"]) => {
            *lock(&shared.faults) = FaultConfig::default();
            Reply::no_content()
        }
        ("GET", ["ratelimit"]) => Reply::json(200, rate_json(shared)),
        ("PUT", ["ratelimit"]) => match parse::<RateLimit>(body) {
            Ok(r) => {
                shared.set_rate_limit(r);
                Reply::json(200, rate_json(shared))
            }
            Err(r) => r,
        },
        ("POST", ["tokens"]) => {
            let knobs = shared.knobs();
            let ttl = Duration::from_secs(knobs.token_ttl_secs);
            let token = lock(&shared.tokens).issue(
                &shared.creds.client_id,
                ttl,
                knobs.invalidate_previous_token,
                Instant::now(),
            );
            Reply::json(200, json!({"access_token": token, "token_type": "bearer", "expires_in": knobs.token_ttl_secs}))
        }
        ("POST", ["tokens", "expire"]) => {
            lock(&shared.tokens).expire_all();
            Reply::no_content()
        }
        _ => Reply::json(404, json!({"error": "unknown control endpoint", "endpoints": INDEX})),
    }
}
