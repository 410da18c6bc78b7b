//! Emulator over HTTP: routing, the token endpoint and the six user operations, one test per
//! documented behaviour of section 11 of `zoom-scim-api.md`.

use crate::support::emulator::*;
use reqwest::Method;
use serde_json::json;
use zoomsync::emulator::{
    DeleteMode, ENTERPRISE, EmulatorConfig, Knobs, Role, Route, SeedUser, UserState, ZOOM_LOGIN, ZOOM_USER,
};

#[tokio::test]
async fn token_endpoint_issues_one_hour_bearer_tokens() {
    let ctx = Ctx::new().await;
    let r = ctx.fetch_token().await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["token_type"], "bearer");
    assert_eq!(r.json["expires_in"], 3600);
    assert_eq!(r.json["scope"], "scim2:admin");
    assert!(r.json.get("refresh_token").is_none());
    assert!(r.json["access_token"].as_str().unwrap().len() >= 40);
}

#[tokio::test]
async fn issuing_a_token_revokes_the_previous_one_unless_knob_off() {
    let ctx = Ctx::new().await;
    let old = ctx.token.clone();
    let new = ctx.fetch_token().await.json["access_token"].as_str().unwrap().to_string();
    assert_eq!(ctx.scim_as(&old, Method::GET, "/Users", None).await.status, 401);
    assert_eq!(ctx.scim_as(&new, Method::GET, "/Users", None).await.status, 200);

    ctx.emu.update_knobs(|k| k.invalidate_previous_token = false).unwrap();
    let third = ctx.fetch_token().await.json["access_token"].as_str().unwrap().to_string();
    assert_eq!(ctx.scim_as(&new, Method::GET, "/Users", None).await.status, 200);
    assert_eq!(ctx.scim_as(&third, Method::GET, "/Users", None).await.status, 200);
}

#[tokio::test]
async fn token_endpoint_rejects_bad_client_grant_and_account() {
    let ctx = Ctx::new().await;
    let url = ctx.emu.token_url();
    let post = |q: String, user: &str, pw: &str| ctx.http.post(format!("{url}?{q}")).basic_auth(user, Some(pw)).send();
    let acct = ctx.emu.account_id().to_string();
    let (id, secret) = (ctx.emu.client_id().to_string(), ctx.emu.client_secret().to_string());
    let r =
        into_resp(post(format!("grant_type=account_credentials&account_id={acct}"), &id, "wrong").await.unwrap()).await;
    assert_eq!((r.status, r.json["error"].as_str()), (401, Some("invalid_client")));
    let r =
        into_resp(post(format!("grant_type=client_credentials&account_id={acct}"), &id, &secret).await.unwrap()).await;
    assert_eq!((r.status, r.json["error"].as_str()), (400, Some("unsupported_grant_type")));
    let r =
        into_resp(post("grant_type=account_credentials&account_id=other".into(), &id, &secret).await.unwrap()).await;
    assert_eq!((r.status, r.json["error"].as_str()), (400, Some("invalid_request")));
    // a GET is not the token endpoint
    assert_eq!(ctx.raw_path(Method::GET, "/oauth/token").await.status, 405);
}

#[tokio::test]
async fn missing_unknown_or_expired_token_gets_zoom_401_body() {
    let ctx = Ctx::new().await;
    let r = into_resp(ctx.http.get(format!("{}/Users", ctx.emu.base_url())).send().await.unwrap()).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json, json!({"code": 124, "message": "Invalid access token."}));
    assert_eq!(ctx.scim_as("not-a-token", Method::GET, "/Users", None).await.status, 401);
    ctx.emu.expire_tokens();
    let r = ctx.get("/Users").await;
    assert_eq!((r.status, r.json["code"].as_i64()), (401, Some(124)));
}

#[tokio::test]
async fn only_the_eleven_operations_exist() {
    let ctx = Ctx::new().await;
    for path in [
        "/scim2/ServiceProviderConfig",
        "/scim2/Schemas",
        "/scim2/ResourceTypes",
        "/scim2/Me",
        "/v2/scim2/Users",
        "/api/v2/users",
    ] {
        let r = ctx.raw_path(Method::GET, path).await;
        assert_eq!(r.status, 404, "{path}");
        assert!(r.json["message"].is_string(), "REST-style body for {path}: {}", r.text);
    }
    assert_eq!(ctx.raw_path(Method::POST, "/scim2/Bulk").await.status, 404);
    assert_eq!(ctx.raw_path(Method::POST, "/scim2/.search").await.status, 404);
    let r = ctx.scim(Method::PUT, "/Groups/abc", Some(json!({}))).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, PATCH, DELETE"));
    assert_eq!(ctx.scim(Method::DELETE, "/Users", None).await.status, 405);
}

#[tokio::test]
async fn v2_mount_is_a_knob() {
    let ctx = Ctx::new().await;
    ctx.emu.update_knobs(|k| k.mount_v2 = true).unwrap();
    let r = ctx.raw_path(Method::GET, "/v2/scim2/Users").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["totalResults"], 1);
}

#[tokio::test]
async fn sso_disabled_account_answers_400_to_every_scim_call() {
    let ctx = Ctx::new().await;
    ctx.emu.update_knobs(|k| k.sso_enabled = false).unwrap();
    for (m, p) in [(Method::GET, "/Users"), (Method::GET, "/Groups"), (Method::POST, "/Users")] {
        let r = ctx.scim(m, p, Some(user_body("a@example.com"))).await;
        assert_eq!((r.status, r.detail()), (400, "Account has not enabled Single Sign-On."));
        assert_eq!(r.json["status"], 400, "status is a JSON number");
    }
}

#[tokio::test]
async fn create_returns_201_active_user_with_22_char_id_and_full_resource() {
    let ctx = Ctx::new().await;
    let owner = ctx.emu.user_by_name("owner@example.com").unwrap().id;
    let mut body = user_body("new.user@example.com");
    body[ZOOM_USER] = json!({"zoomOneBizPlus": "US_CA", "zoomPhoneNumber": "+15550100"});
    body[ENTERPRISE] = json!({"department": "R&D", "manager": {"value": owner}});
    let r = ctx.scim(Method::POST, "/Users", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let u = &r.json;
    let id = id_of(u);
    assert_eq!(id.len(), 22);
    assert!(id.chars().all(|c| c.is_ascii_alphanumeric() || "&_-".contains(c)));
    assert_eq!(u["active"], true);
    assert_eq!(u["meta"]["resourceType"], "User");
    assert_eq!(u["meta"]["location"], format!("{}/Users/{}", ctx.emu.base_url(), enc(&id)));
    assert!(u["meta"]["created"].as_str().unwrap().ends_with('Z'));
    assert_eq!(u["meta"]["version"], "W/\"1\"");
    assert_eq!(u[ZOOM_USER]["zoomOneBizPlus"], "US_CA");
    assert!(u[ZOOM_USER].get("zoomPhoneNumber").is_none(), "phone fields are stored, never returned");
    assert!(u.get(ZOOM_LOGIN).is_none(), "loginType extension only in lists");
    assert_eq!(u[ENTERPRISE]["manager"]["value"], owner.as_str());
    assert_eq!(u["displayName"], "Given Family");
    assert_eq!(ctx.emu.user(&id).unwrap().hidden["zoomPhoneNumber"], "+15550100");
}

#[tokio::test]
async fn duplicate_create_is_409_case_insensitively_or_400_by_knob() {
    let ctx = Ctx::new().await;
    ctx.create_user("dup@example.com").await;
    let r = ctx.scim(Method::POST, "/Users", Some(user_body("DUP@Example.com"))).await;
    assert_eq!((r.status, r.detail()), (409, "The user already exists"));
    ctx.emu.update_knobs(|k| k.duplicate_create_status = 400).unwrap();
    let r = ctx.scim(Method::POST, "/Users", Some(user_body("dup@example.com"))).await;
    assert_eq!((r.status, r.detail()), (400, "The user already exists"));
    assert_eq!(ctx.emu.users().len(), 2, "owner + one");
}

#[tokio::test]
async fn create_validates_user_name_login_type_and_body() {
    let ctx = Ctx::new().await;
    let r = ctx.scim(Method::POST, "/Users", Some(user_body("not-an-email"))).await;
    assert_eq!(r.status, 400);
    let mut b = user_body("a@example.com");
    b[ZOOM_LOGIN] = json!({"loginType": {"sso": false, "workEmail": false}});
    assert_eq!(ctx.scim(Method::POST, "/Users", Some(b)).await.status, 400);
    let r = ctx.scim_raw(Method::POST, "/Users", "not json".into()).await;
    assert_eq!((r.status, r.detail()), (400, "The request body must be in JSON format."));
    let r = ctx.scim_raw(Method::POST, "/Users", "{}".into()).await;
    assert_eq!((r.status, r.detail()), (400, "The request JSON must not be empty."));
}

#[tokio::test]
async fn managed_domains_reject_other_domains() {
    let ctx = Ctx::new().await;
    ctx.emu.update_knobs(|k| k.managed_domains = vec!["corp.example".into()]).unwrap();
    ctx.create_user("in@Corp.Example").await;
    let r = ctx.scim(Method::POST, "/Users", Some(user_body("out@gmail.com"))).await;
    assert_eq!(r.status, 400);
    assert!(r.detail().starts_with("Domain name doesn't match"));
}

#[tokio::test]
async fn get_user_returns_full_resource_or_404() {
    let ctx = Ctx::new().await;
    let id = id_of(&ctx.create_user("g@example.com").await);
    let r = ctx.get(&format!("/Users/{}", enc(&id))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["userName"], "g@example.com");
    assert!(r.json[ZOOM_USER].is_object() && r.json[ENTERPRISE].is_object());
    assert_eq!(r.json["roles"][0]["value"], "Member");
    let r = ctx.get("/Users/AAAAAAAAAAAAAAAAAAAAAA").await;
    assert_eq!((r.status, r.json["status"].as_i64()), (404, Some(404)));
}

#[tokio::test]
async fn ids_with_ampersand_work_percent_encoded() {
    let mut cfg = EmulatorConfig::unlimited();
    cfg.knobs.ids_with_ampersand = true;
    let ctx = Ctx::with(cfg).await;
    let id = id_of(&ctx.create_user("amp@example.com").await);
    assert!(id.contains('&'));
    let r = ctx.get(&format!("/Users/{}", enc(&id))).await;
    assert_eq!((r.status, r.json["id"].as_str()), (200, Some(id.as_str())));
}

#[tokio::test]
async fn list_users_is_trimmed_like_zoom() {
    let ctx = Ctx::new().await;
    let owner = ctx.emu.user_by_name("owner@example.com").unwrap().id;
    let mut b = user_body("l@example.com");
    b[ENTERPRISE] = json!({"department": "Ops", "costCenter": "42", "manager": {"value": owner}});
    b[ZOOM_USER] = json!({"zoomOneBizPlus": "US_CA"});
    assert_eq!(ctx.scim(Method::POST, "/Users", Some(b)).await.status, 201);
    let r = ctx.get("/Users?filter=userName%20eq%20%22l%40example.com%22").await;
    let item = &r.json["Resources"][0];
    assert_eq!(item[ENTERPRISE], json!({"department": "Ops"}));
    assert!(item.get(ZOOM_USER).is_none(), "no plan fields in lists");
    assert_eq!(item[ZOOM_LOGIN]["loginType"], json!({"workEmail": false, "sso": true}));
    assert_eq!(item["userType"], "Basic");
    assert_eq!(r.json["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:ListResponse");
}

#[tokio::test]
async fn list_paging_defaults_to_10_clamps_to_100_in_creation_order() {
    let ctx = Ctx::new().await;
    for i in 0..120 {
        ctx.emu.seed_user(SeedUser::new(format!("u{i:03}@example.com"))).unwrap();
    }
    let r = ctx.get("/Users").await;
    assert_eq!((r.json["totalResults"].as_u64(), r.json["itemsPerPage"].as_u64()), (Some(121), Some(10)));
    assert_eq!(r.json["Resources"][0]["userName"], "owner@example.com");
    let r = ctx.get("/Users?startIndex=0&count=500").await;
    assert_eq!(r.json["itemsPerPage"], 100);
    assert_eq!(r.json["startIndex"], 1);
    let r = ctx.get("/Users?startIndex=101&count=100").await;
    assert_eq!(r.json["itemsPerPage"], 21);
    assert_eq!(r.json["Resources"][20]["userName"], "u119@example.com");
}

#[tokio::test]
async fn start_index_required_knob_makes_missing_start_index_400() {
    let ctx = Ctx::new().await;
    assert_eq!(ctx.get("/Users?count=5").await.status, 200);
    ctx.emu.update_knobs(|k| k.start_index_required = true).unwrap();
    assert_eq!(ctx.get("/Users?count=5").await.status, 400);
    assert_eq!(ctx.get("/Users?startIndex=1&count=5").await.status, 200);
}

#[tokio::test]
async fn username_filter_accepts_quoted_bare_any_case_and_misses_are_empty() {
    let ctx = Ctx::new().await;
    let id = id_of(&ctx.create_user("Find.Me@example.com").await);
    for q in ["userName%20eq%20%22find.me%40example.com%22", "username%20EQ%20FIND.ME%40example.com"] {
        let r = ctx.get(&format!("/Users?filter={q}")).await;
        assert_eq!(r.json["totalResults"], 1, "{q}");
        assert_eq!(r.json["Resources"][0]["id"], id.as_str());
    }
    let r = ctx.get("/Users?filter=userName%20eq%20%22nobody%40example.com%22").await;
    assert_eq!((r.status, r.json["totalResults"].as_u64()), (200, Some(0)));
    assert_eq!(r.json["Resources"], json!([]));
}

#[tokio::test]
async fn external_id_filter_matches_zoom_user_id() {
    let ctx = Ctx::new().await;
    let id = id_of(&ctx.create_user("ext@example.com").await);
    let r = ctx.get(&format!("/Users?filter={}", enc(&format!("externalId eq \"{id}\"")))).await;
    assert_eq!(r.json["Resources"][0]["userName"], "ext@example.com");
}

#[tokio::test]
async fn unsupported_filters_are_400() {
    let ctx = Ctx::new().await;
    for f in
        ["userName co \"a\"", "active eq true", "userName eq \"a\" and active eq true", "emails.value eq \"a@b.c\""]
    {
        let r = ctx.get(&format!("/Users?filter={}", enc(f))).await;
        assert_eq!((r.status, r.detail()), (400, "Invalid filter"), "{f}");
    }
}

#[tokio::test]
async fn pending_user_filter_is_400_or_404_by_knob_and_invisible_otherwise() {
    let ctx = Ctx::new().await;
    let p = ctx.emu.seed_user(SeedUser::new("pending@example.com").state(UserState::Pending)).unwrap();
    let q = format!("/Users?filter={}", enc("userName eq \"pending@example.com\""));
    let r = ctx.get(&q).await;
    assert_eq!((r.status, r.detail()), (400, "User pending@example.com not exist or not belong to this account."));
    ctx.emu.update_knobs(|k| k.pending_filter_status = 404).unwrap();
    assert_eq!(ctx.get(&q).await.status, 404);
    assert_eq!(ctx.get(&format!("/Users/{}", enc(&p.id))).await.status, 404);
    assert_eq!(ctx.get("/Users").await.json["totalResults"], 1, "only the owner");
    let r = ctx.scim(Method::POST, "/Users", Some(user_body("pending@example.com"))).await;
    assert_eq!(r.status, 409);
}

#[tokio::test]
async fn put_is_a_partial_update_leaving_omitted_fields() {
    let ctx = Ctx::new().await;
    let mut b = user_body("p@example.com");
    b["title"] = json!("Engineer");
    b[ENTERPRISE] = json!({"department": "R&D", "costCenter": "7"});
    let id = id_of(&ctx.scim(Method::POST, "/Users", Some(b)).await.json);
    let r = ctx
        .scim(
            Method::PUT,
            &format!("/Users/{}", enc(&id)),
            Some(json!({"schemas": [CORE_USER], "name": {"givenName": "New"}, ENTERPRISE: {"department": "Ops"}})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["name"], json!({"givenName": "New", "familyName": "Family"}));
    assert_eq!(r.json["title"], "Engineer");
    assert_eq!(r.json[ENTERPRISE]["costCenter"], "7");
    assert_eq!(r.json[ENTERPRISE]["department"], "Ops");
    assert_eq!(r.json["meta"]["version"], "W/\"2\"");
    assert_eq!(ctx.get(&format!("/Users/{}", enc(&id))).await.json["title"], "Engineer");
}

#[tokio::test]
async fn put_silently_ignores_identity_changes_unless_knob_off() {
    let ctx = Ctx::new().await;
    let id = id_of(&ctx.create_user("old@example.com").await);
    let path = format!("/Users/{}", enc(&id));
    let change = json!({"userName": "new@example.com", "displayName": "Renamed", ZOOM_LOGIN: {"loginType": {"workEmail": true}}});
    let r = ctx.scim(Method::PUT, &path, Some(change.clone())).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        (r.json["userName"].as_str(), r.json["displayName"].as_str()),
        (Some("old@example.com"), Some("Given Family"))
    );
    assert!(!ctx.emu.user(&id).unwrap().login_type.work_email);
    ctx.emu.update_knobs(|k| k.ignore_identity_changes = false).unwrap();
    let r = ctx.scim(Method::PUT, &path, Some(change)).await;
    assert_eq!(
        (r.json["userName"].as_str(), r.json["displayName"].as_str()),
        (Some("new@example.com"), Some("Renamed"))
    );
    assert!(ctx.emu.user_by_name("NEW@example.com").is_some());
    ctx.create_user("taken@example.com").await;
    let r = ctx.scim(Method::PUT, &path, Some(json!({"userName": "taken@example.com"}))).await;
    assert_eq!(r.status, 409);
}

#[tokio::test]
async fn patch_toggles_active_and_deactivation_clears_licences() {
    let ctx = Ctx::new().await;
    let mut b = user_body("lic@example.com");
    b["userType"] = json!("Licensed");
    b[ZOOM_USER] = json!({"zoomOneBizPlus": "US_CA", "zoomWorkplaceSubscription": "JP", "pronouns": "they"});
    let id = id_of(&ctx.scim(Method::POST, "/Users", Some(b)).await.json);
    let path = format!("/Users/{}", enc(&id));
    let r = ctx.scim(Method::PATCH, &path, Some(patch_active(false))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["active"], false);
    assert_eq!(r.json[ZOOM_USER], json!({"pronouns": "they"}));
    assert_eq!(r.json["userType"], "Basic");
    // path-less form reactivates; licences stay gone
    let body = json!({"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "value": {"active": true}}]});
    let r = ctx.scim(Method::PATCH, &path, Some(body)).await;
    assert_eq!((r.status, r.json["active"].as_bool()), (200, Some(true)));
    assert_eq!(r.json[ZOOM_USER], json!({"pronouns": "they"}));
}

#[tokio::test]
async fn patch_with_lowercase_operations_is_400_with_zooms_text() {
    let ctx = Ctx::new().await;
    let id = id_of(&ctx.create_user("lc@example.com").await);
    let body = json!({"schemas": [PATCH_OP], "operations": [{"op": "replace", "path": "active", "value": false}]});
    let r = ctx.scim(Method::PATCH, &format!("/Users/{}", enc(&id)), Some(body)).await;
    assert_eq!((r.status, r.detail()), (400, "The request json did not contains valid active field."));
    assert!(ctx.emu.user(&id).unwrap().is_active());
}

#[tokio::test]
async fn patch_of_anything_but_active_is_400_and_schemas_are_checked() {
    let ctx = Ctx::new().await;
    let id = id_of(&ctx.create_user("pa@example.com").await);
    let path = format!("/Users/{}", enc(&id));
    let title = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "x"}]});
    assert_eq!(ctx.scim(Method::PATCH, &path, Some(title)).await.status, 400);
    let add = json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "active", "value": false}]});
    assert_eq!(ctx.scim(Method::PATCH, &path, Some(add)).await.status, 400);
    let wrong_schema = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "Operations": [{"op": "replace", "path": "active", "value": false}]});
    assert_eq!(ctx.scim(Method::PATCH, &path, Some(wrong_schema.clone())).await.status, 400);
    ctx.emu.update_knobs(|k| k.validate_patch_schemas = false).unwrap();
    assert_eq!(ctx.scim(Method::PATCH, &path, Some(wrong_schema)).await.status, 200);
}

#[tokio::test]
async fn owner_and_admin_cannot_be_deactivated_or_deleted() {
    let ctx = Ctx::new().await;
    let admin = ctx.emu.seed_user(SeedUser::new("admin@example.com").role(Role::Admin)).unwrap();
    let owner = ctx.emu.user_by_name("owner@example.com").unwrap();
    for id in [&admin.id, &owner.id] {
        let path = format!("/Users/{}", enc(id));
        let r = ctx.scim(Method::PATCH, &path, Some(patch_active(false))).await;
        assert_eq!(r.status, 400, "{}", r.text);
        assert_eq!(ctx.scim(Method::PUT, &path, Some(json!({"active": false}))).await.status, 400);
        assert_eq!(ctx.scim(Method::DELETE, &path, None).await.status, 400);
        assert!(ctx.emu.user(id).unwrap().is_active());
    }
    ctx.emu.update_knobs(|k| k.privileged_change_status = 403).unwrap();
    let r = ctx.scim(Method::PATCH, &format!("/Users/{}", enc(&admin.id)), Some(patch_active(false))).await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn put_active_false_deactivates_like_patch() {
    let ctx = Ctx::new().await;
    let id = id_of(&ctx.create_user("pf@example.com").await);
    let r = ctx.scim(Method::PUT, &format!("/Users/{}", enc(&id)), Some(json!({"active": false}))).await;
    assert_eq!((r.status, r.json["active"].as_bool()), (200, Some(false)));
    assert_eq!(ctx.emu.user(&id).unwrap().state, UserState::Inactive);
    // inactive users still show up in lists and filters
    let r = ctx.get(&format!("/Users?filter={}", enc("userName eq \"pf@example.com\""))).await;
    assert_eq!(r.json["Resources"][0]["active"], false);
}

#[tokio::test]
async fn delete_is_204_then_404_and_disassociate_keeps_email_taken() {
    let ctx = Ctx::new().await;
    let id = id_of(&ctx.create_user("del@example.com").await);
    let path = format!("/Users/{}", enc(&id));
    let r = ctx.scim(Method::DELETE, &path, None).await;
    assert_eq!((r.status, r.text.as_str()), (204, ""));
    assert_eq!(ctx.get(&path).await.status, 404);
    assert_eq!(ctx.scim(Method::DELETE, &path, None).await.status, 404);
    ctx.create_user("del@example.com").await;

    ctx.emu.update_knobs(|k| k.delete_mode = DeleteMode::Disassociate).unwrap();
    let id = id_of(&ctx.create_user("gone@example.com").await);
    assert_eq!(ctx.scim(Method::DELETE, &format!("/Users/{}", enc(&id)), None).await.status, 204);
    let r = ctx.scim(Method::POST, "/Users", Some(user_body("gone@example.com"))).await;
    assert_eq!((r.status, r.detail()), (409, "The user already exists"));
}

#[tokio::test]
async fn meta_version_bumps_only_on_real_change() {
    let ctx = Ctx::new().await;
    let id = id_of(&ctx.create_user("v@example.com").await);
    let path = format!("/Users/{}", enc(&id));
    let r = ctx.scim(Method::PUT, &path, Some(json!({"title": "A"}))).await;
    assert_eq!(r.json["meta"]["version"], "W/\"2\"");
    let r = ctx.scim(Method::PUT, &path, Some(json!({"title": "A"}))).await;
    assert_eq!(r.json["meta"]["version"], "W/\"2\"");
    let r = ctx.scim(Method::PATCH, &path, Some(patch_active(true))).await;
    assert_eq!(r.json["meta"]["version"], "W/\"2\"");
}

#[tokio::test]
async fn employee_number_must_be_unique_by_default() {
    let ctx = Ctx::new().await;
    let mut a = user_body("e1@example.com");
    a[ENTERPRISE] = json!({"employeeNumber": "100"});
    assert_eq!(ctx.scim(Method::POST, "/Users", Some(a)).await.status, 201);
    let mut b = user_body("e2@example.com");
    b[ENTERPRISE] = json!({"employeeNumber": "100"});
    assert_eq!(ctx.scim(Method::POST, "/Users", Some(b.clone())).await.status, 400);
    ctx.emu.set_knobs(Knobs { unique_employee_number: false, ..ctx.emu.knobs() }).unwrap();
    assert_eq!(ctx.scim(Method::POST, "/Users", Some(b)).await.status, 201);
    assert_eq!(ctx.emu.request_counts().route(Route::CreateUser), 3);
}
