//! Emulator over HTTP: rate limits, fault injection, the request log, control endpoints and
//! the `zoomsync emulate` process.

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use crate::support::emulator::*;
use reqwest::Method;
use serde_json::json;
use zoomsync::emulator::{
    Emulator, EmulatorConfig, ErrorStyle, FaultConfig, FaultSpec, RateLimit, RatePreset, RetryAfterStyle, Route,
    StartError, text,
};

fn limited(rate: RateLimit) -> EmulatorConfig {
    EmulatorConfig { rate_limit: rate, ..EmulatorConfig::default() }
}

fn owner_path(ctx: &Ctx) -> String {
    format!("/Users/{}", enc(&ctx.emu.user_by_name("owner@example.com").unwrap().id))
}

fn is_iso(s: &str) -> bool {
    s.len() == 20 && s.as_bytes()[4] == b'-' && s.as_bytes()[10] == b'T' && s.ends_with('Z')
}

#[tokio::test]
async fn empty_bucket_gives_429_with_zoom_text_and_headers() {
    let ctx = Ctx::with(limited(RateLimit::per_second(2))).await;
    assert_eq!(ctx.get("/Users").await.status, 200);
    assert_eq!(ctx.get("/Users").await.status, 200);
    let r = ctx.get("/Users").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.detail(), text::QPS);
    assert_eq!(r.header("x-ratelimit-category"), Some("Medium"));
    assert_eq!(r.header("x-ratelimit-type"), Some("QPS"));
    assert_eq!(r.header("x-ratelimit-limit"), Some("2"));
    assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
    assert_eq!(r.header("retry-after"), Some("1"));
    // the Light bucket is separate
    assert_eq!(ctx.get(&owner_path(&ctx)).await.status, 200);
}

#[tokio::test]
async fn legacy_default_is_one_request_per_second_per_endpoint() {
    let ctx = Ctx::with(EmulatorConfig::default()).await;
    let path = owner_path(&ctx);
    assert_eq!(ctx.get(&path).await.status, 200);
    let r = ctx.get(&path).await;
    assert_eq!((r.status, r.header("x-ratelimit-category")), (429, Some("Light")));
    assert_eq!(ctx.scim(Method::PUT, &path, Some(json!({"title": "x"}))).await.status, 200, "other endpoint");
    assert_eq!(ctx.get("/Users").await.status, 200);
    assert_eq!(ctx.get("/Users?filter=userName%20eq%20x%40y.z").await.status, 429, "filter is the list endpoint");
}

#[tokio::test]
async fn normal_responses_carry_rate_limit_headers() {
    let ctx = Ctx::with(limited(RateLimit::preset(RatePreset::Pro))).await;
    let r = ctx.get(&owner_path(&ctx)).await;
    assert_eq!(r.header("x-ratelimit-category"), Some("Light"));
    assert_eq!(r.header("x-ratelimit-limit"), Some("30"));
    assert_eq!(r.header("x-ratelimit-remaining"), Some("29"));
    assert!(r.header("x-ratelimit-type").is_none());
}

#[tokio::test]
async fn retry_after_can_be_iso_or_absent() {
    let ctx = Ctx::with(limited(RateLimit::per_second(1))).await;
    ctx.emu.update_knobs(|k| k.retry_after = RetryAfterStyle::Iso).unwrap();
    ctx.get("/Users").await;
    let r = ctx.get("/Users").await;
    assert_eq!(r.status, 429);
    assert!(is_iso(r.header("retry-after").unwrap()), "{:?}", r.header("retry-after"));
    ctx.emu.update_knobs(|k| k.retry_after = RetryAfterStyle::None).unwrap();
    let r = ctx.get("/Users").await;
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_none());
}

#[tokio::test]
async fn daily_cap_gives_daily_429_until_utc_midnight() {
    let rate = RateLimit { light_per_day: Some(2), ..RateLimit::preset(RatePreset::Free) };
    let ctx = Ctx::with(limited(rate)).await;
    let path = owner_path(&ctx);
    let first = ctx.get(&path).await;
    assert_eq!((first.header("x-ratelimit-limit"), first.header("x-ratelimit-remaining")), (Some("2"), Some("1")));
    assert_eq!(ctx.get(&path).await.status, 200);
    let r = ctx.get(&path).await;
    assert_eq!((r.status, r.detail()), (429, text::DAILY));
    assert_eq!(r.header("x-ratelimit-type"), Some("Daily-limit"));
    let secs: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=86_400).contains(&secs));
    ctx.emu.update_knobs(|k| k.retry_after = RetryAfterStyle::Iso).unwrap();
    let r = ctx.get(&path).await;
    assert!(r.header("retry-after").unwrap().ends_with("T00:00:00Z"));
}

#[tokio::test]
async fn rest_error_style_knob_changes_404_and_429_bodies() {
    let ctx = Ctx::with(limited(RateLimit::per_second(1))).await;
    ctx.emu.update_knobs(|k| k.error_style = ErrorStyle::Rest).unwrap();
    let r = ctx.get("/Users/AAAAAAAAAAAAAAAAAAAAAA").await;
    assert_eq!((r.status, r.json["code"].as_i64()), (404, Some(1001)));
    let r = ctx.get("/Users/AAAAAAAAAAAAAAAAAAAAAA").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.json, json!({"code": 429, "message": text::QPS}));
}

#[tokio::test]
async fn error_fault_fails_the_next_two_creates_then_stops() {
    let ctx = Ctx::new().await;
    let mut f = FaultConfig::default();
    f.routes.insert(
        "POST /scim2/Users".into(),
        FaultSpec { error_rate: 1.0, error_status: 503, times: Some(2), ..FaultSpec::default() },
    );
    ctx.emu.set_faults(f).unwrap();
    for _ in 0..2 {
        let r = ctx.scim(Method::POST, "/Users", Some(user_body("f@example.com"))).await;
        assert_eq!(r.status, 503);
    }
    assert_eq!(ctx.get("/Users").await.status, 200, "other routes unaffected");
    ctx.create_user("f@example.com").await;
    assert_eq!(ctx.emu.request_counts().route_status(Route::CreateUser, 503), 2);
}

#[tokio::test]
async fn latency_is_added_without_serialising_requests() {
    let ctx = Ctx::new().await;
    ctx.emu
        .set_faults(FaultConfig {
            global: FaultSpec { latency_ms: 400, ..FaultSpec::default() },
            ..FaultConfig::default()
        })
        .unwrap();
    // Each request notes when it was sent and answered. In parallel, every one is sent
    // before the first answer comes back (each is held 400 ms); serialised, the second
    // would only be sent after the first answer. No wall-clock bound: a busy machine passes.
    let timed = |_| async {
        let sent = Instant::now();
        let r = ctx.get("/Users").await;
        (sent, Instant::now(), r.status)
    };
    let results = futures::future::join_all((0..8).map(timed)).await;
    assert!(results.iter().all(|(_, _, status)| *status == 200));
    let last_sent = results.iter().map(|(sent, _, _)| *sent).max().unwrap();
    let first_answer = results.iter().map(|(_, answered, _)| *answered).min().unwrap();
    assert!(last_sent < first_answer, "8 x 400 ms ran in parallel: all sent before the first answer");
    assert!(results.iter().all(|(sent, answered, _)| *answered - *sent >= Duration::from_millis(400)), "latency added");
}

#[tokio::test]
async fn timeout_fault_holds_longer_than_the_client_waits() {
    let ctx = Ctx::new().await;
    let hold = FaultSpec { timeout_rate: 1.0, timeout_hold_ms: 5_000, ..FaultSpec::default() };
    let mut f = FaultConfig::default();
    f.routes.insert("POST /scim2/Users".into(), hold.clone());
    ctx.emu.set_faults(f.clone()).unwrap();
    let impatient = client(Some(Duration::from_millis(300)));
    let url = format!("{}/Users", ctx.emu.base_url());
    let err = impatient.post(&url).bearer_auth(&ctx.token).json(&user_body("t@example.com")).send().await.unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(ctx.emu.user_by_name("t@example.com").is_none(), "not applied");

    f.routes.insert("POST /scim2/Users".into(), FaultSpec { apply_before_fault: true, ..hold });
    ctx.emu.set_faults(f).unwrap();
    let err = impatient.post(&url).bearer_auth(&ctx.token).json(&user_body("t@example.com")).send().await.unwrap_err();
    assert!(err.is_timeout());
    assert!(ctx.emu.user_by_name("t@example.com").is_some(), "applied, answer lost");
}

#[tokio::test]
async fn drop_fault_closes_the_connection_without_a_response() {
    let ctx = Ctx::new().await;
    let mut f = FaultConfig::default();
    f.routes.insert("/scim2/Users".into(), FaultSpec { drop_rate: 1.0, ..FaultSpec::default() });
    ctx.emu.set_faults(f).unwrap();
    let fresh = client(Some(Duration::from_secs(10)));
    let url = format!("{}/Users", ctx.emu.base_url());
    let err = fresh.get(&url).bearer_auth(&ctx.token).send().await.unwrap_err();
    assert!(!err.is_timeout(), "closed, not held: {err}");
    assert_eq!(ctx.emu.request_counts().dropped(), 1);
    assert_eq!(ctx.get(&owner_path(&ctx)).await.status, 200, "other path template unaffected");

    let mut f = FaultConfig::default();
    f.routes.insert(
        "POST /scim2/Users".into(),
        FaultSpec { drop_rate: 1.0, apply_before_fault: true, ..FaultSpec::default() },
    );
    ctx.emu.set_faults(f).unwrap();
    assert!(fresh.post(&url).bearer_auth(&ctx.token).json(&user_body("d@example.com")).send().await.is_err());
    assert!(ctx.emu.user_by_name("d@example.com").is_some());
}

#[tokio::test]
async fn concurrent_writes_to_one_user_get_429() {
    let ctx = Ctx::new().await;
    let id = id_of(&ctx.create_user("c@example.com").await);
    let path = format!("/Users/{}", enc(&id));
    ctx.emu
        .set_faults(FaultConfig {
            global: FaultSpec { latency_ms: 300, ..FaultSpec::default() },
            ..FaultConfig::default()
        })
        .unwrap();
    let (a, b) = tokio::join!(
        ctx.scim(Method::PUT, &path, Some(json!({"title": "a"}))),
        ctx.scim(Method::PUT, &path, Some(json!({"title": "b"})))
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 429]);
}

#[tokio::test]
async fn request_log_counts_by_route_template_and_status() {
    let ctx = Ctx::new().await;
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(id_of(&ctx.create_user(&format!("r{i}@example.com")).await));
    }
    for id in &ids[..3] {
        ctx.get(&format!("/Users/{}", enc(id))).await;
    }
    ctx.get("/Users?filter=userName%20eq%20r1%40example.com").await;
    ctx.get("/Users?startIndex=1&count=100").await;
    ctx.raw_path(Method::GET, "/scim2/Nope").await;
    ctx.control(Method::GET, "/state", None).await;
    let c = ctx.emu.request_counts();
    assert_eq!(c.route(Route::CreateUser), 20);
    assert_eq!(c.route(Route::GetUser), 3);
    assert_eq!(c.route(Route::FilterUsers), 1);
    assert_eq!(c.route(Route::ListUsers), 1);
    assert_eq!(c.route(Route::Token), 1);
    assert_eq!(c.route(Route::PutUser), 0);
    assert_eq!(c.key("GET (unmatched)"), 1);
    assert_eq!(c.status(201), 20);
    assert_eq!(c.total, 27, "control calls are not logged");
    let r = ctx.control(Method::GET, "/requests?limit=2", None).await;
    assert_eq!(r.json["by_route"]["POST /scim2/Users"], 20);
    assert_eq!(r.json["by_route_status"]["GET /scim2/Users/{id}"]["200"], 3);
    assert_eq!(r.json["recent"].as_array().unwrap().len(), 2);
    assert_eq!(r.json["recent"][1]["route"], "GET (unmatched)");
    assert_eq!(ctx.control(Method::DELETE, "/requests", None).await.status, 204);
    assert_eq!(ctx.emu.request_counts().total, 0);
}

#[tokio::test]
async fn control_endpoints_seed_edit_and_delete_users_out_of_band() {
    let ctx = Ctx::new().await;
    let r = ctx
        .control(
            Method::POST,
            "/users",
            Some(json!({"userName": "boss@example.com", "role": "admin", "name": {"givenName": "B"}})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = id_of(&r.json);
    assert_eq!(r.json["_emulator"]["role"], "admin");
    let r = ctx
        .control(
            Method::PATCH,
            &format!("/users/{}", enc(&id)),
            Some(json!({"userName": "renamed@example.com", "state": "inactive"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let got = ctx.get(&format!("/Users/{}", enc(&id))).await;
    assert_eq!(
        (got.json["userName"].as_str(), got.json["active"].as_bool()),
        (Some("renamed@example.com"), Some(false))
    );
    let r = ctx.control(Method::POST, "/users", Some(json!({"userName": "inv@example.com", "state": "pending"}))).await;
    assert_eq!(r.status, 201);
    assert_eq!(ctx.get("/Users?filter=userName%20eq%20inv%40example.com").await.status, 400);
    assert_eq!(ctx.control(Method::POST, "/users", Some(json!({"userName": "INV@example.com"}))).await.status, 409);
    assert_eq!(ctx.control(Method::DELETE, &format!("/users/{}", enc(&id)), None).await.status, 204);
    assert_eq!(ctx.get(&format!("/Users/{}", enc(&id))).await.status, 404);
    let state = ctx.control(Method::GET, "/state", None).await;
    assert_eq!(state.json["users"].as_array().unwrap().len(), 2, "owner + pending");
    assert_eq!(state.json["groups"][0]["default"], true);
    let g = ctx
        .control(
            Method::POST,
            "/groups",
            Some(json!({"displayName": "Seeded", "members": [state.json["users"][0]["id"]]})),
        )
        .await;
    assert_eq!(g.status, 201, "{}", g.text);
    assert_eq!(ctx.control(Method::GET, "/groups", None).await.json[1]["members"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn control_endpoints_set_knobs_faults_rate_limits_tokens_and_reset() {
    let ctx = Ctx::new().await;
    assert!(ctx.control(Method::GET, "", None).await.json["endpoints"].is_array());
    let r = ctx.control(Method::PATCH, "/knobs", Some(json!({"sso_enabled": false}))).await;
    assert_eq!((r.status, r.json["sso_enabled"].as_bool()), (200, Some(false)));
    assert_eq!(ctx.get("/Users").await.status, 400);
    assert_eq!(ctx.control(Method::PATCH, "/knobs", Some(json!({"bogus": 1}))).await.status, 400);
    ctx.control(Method::PATCH, "/knobs", Some(json!({"sso_enabled": true}))).await;

    let faults = json!({"routes": {"GET /scim2/Users": {"error_rate": 1.0, "error_status": 502}}});
    assert_eq!(ctx.control(Method::PUT, "/faults", Some(faults)).await.status, 200);
    assert_eq!(ctx.get("/Users").await.status, 502);
    assert_eq!(ctx.control(Method::PUT, "/faults", Some(json!({"global": {"error_rate": 3}}))).await.status, 400);
    assert_eq!(ctx.control(Method::DELETE, "/faults", None).await.status, 204);
    assert_eq!(ctx.get("/Users").await.status, 200);

    let r = ctx.control(Method::PUT, "/ratelimit", Some(json!({"per_second": 1}))).await;
    assert_eq!(r.json["table"]["medium"]["per_second"], 1);
    ctx.get("/Users").await;
    assert_eq!(ctx.get("/Users").await.status, 429);
    ctx.control(Method::PUT, "/ratelimit", Some(json!({"preset": "off"}))).await;

    let tok = ctx.control(Method::POST, "/tokens", None).await.json["access_token"].as_str().unwrap().to_string();
    assert_eq!(ctx.scim_as(&tok, Method::GET, "/Users", None).await.status, 200);
    assert_eq!(ctx.get("/Users").await.status, 401, "the control token revoked the old one");
    ctx.control(Method::POST, "/tokens/expire", None).await;
    assert_eq!(ctx.scim_as(&tok, Method::GET, "/Users", None).await.status, 401);

    ctx.emu.seed_group("G", &[]).unwrap();
    assert_eq!(ctx.control(Method::POST, "/reset", None).await.status, 204);
    assert_eq!((ctx.emu.users().len(), ctx.emu.groups().len()), (1, 1));
    assert_eq!(ctx.emu.request_counts().total, 0);
}

#[tokio::test]
async fn non_loopback_addresses_are_refused_without_allow_remote() {
    let r = Emulator::start(EmulatorConfig::default(), "0.0.0.0:0".parse().unwrap()).await;
    assert!(matches!(r, Err(StartError::NotLoopback(_))));
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let ctx = Ctx::new().await;
    let url = format!("{}/Users", ctx.emu.base_url());
    ctx.emu.shutdown().await;
    let fresh = client(Some(Duration::from_secs(5)));
    assert!(fresh.get(&url).send().await.is_err());
}

#[test]
fn emulate_command_prints_urls_and_stops_on_sigterm() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_zoomsync"))
        .args(["emulate", "--listen", "127.0.0.1:0", "--preset", "off", "--client-secret", "s3cret"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.contains("client_secret");
        seen.push(line);
        if done {
            break;
        }
    }
    let text = seen.join("\n");
    assert!(text.contains("SCIM base URL:  http://127.0.0.1:") && text.contains("/scim2"), "{text}");
    assert!(text.contains("/oauth/token") && text.contains("s3cret"), "{text}");
    let status = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success());
}

#[test]
fn emulate_command_refuses_non_loopback() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zoomsync"))
        .args(["emulate", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("non-loopback"));
}
