//! Emulator over HTTP: the five group operations (section 7 and 11 of `zoom-scim-api.md`).

use crate::support::emulator::*;
use reqwest::Method;
use serde_json::{Value, json};

const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ZOOM_GROUP: &str = "urn:ietf:params:scim:schemas:extension:zoom:2.0:Group";

fn group_body(name: &str) -> Value {
    json!({"schemas": [CORE_GROUP], "displayName": name})
}

fn ops(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

async fn new_group(ctx: &Ctx, name: &str) -> String {
    let r = ctx.scim(Method::POST, "/Groups", Some(group_body(name))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    id_of(&r.json)
}

fn members(ctx: &Ctx, gid: &str) -> Vec<String> {
    ctx.emu.group(gid).unwrap().members.into_iter().collect()
}

#[tokio::test]
async fn default_group_exists_and_cannot_be_deleted() {
    let ctx = Ctx::new().await;
    let r = ctx.get("/Groups").await;
    assert_eq!(r.json["totalResults"], 1);
    let id = r.json["Resources"][0]["id"].as_str().unwrap().to_string();
    let r = ctx.scim(Method::DELETE, &format!("/Groups/{}", enc(&id)), None).await;
    assert_eq!((r.status, r.detail()), (400, "Cannot delete account default group."));
    assert!(ctx.emu.group(&id).is_some());
}

#[tokio::test]
async fn create_group_returns_201_zoom_shape_without_members() {
    let ctx = Ctx::new().await;
    let mut body = group_body("Engineering");
    body[ZOOM_GROUP] = json!({"emailAlias": "eng@example.com"});
    let r = ctx.scim(Method::POST, "/Groups", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(id_of(&r.json).len(), 22);
    assert_eq!(r.json["meta"]["resourceType"], "Group");
    assert_eq!(r.json[ZOOM_GROUP]["emailAlias"], "eng@example.com");
    assert!(r.json.get("members").is_none());
    let got = ctx.get(&format!("/Groups/{}", enc(&id_of(&r.json)))).await;
    assert_eq!(got.json["displayName"], "Engineering");
    assert!(got.json.get("members").is_none(), "Zoom's Get group shows no members");
}

#[tokio::test]
async fn create_group_errors_use_zooms_texts() {
    let ctx = Ctx::new().await;
    let r = ctx.scim_raw(Method::POST, "/Groups", "nope".into()).await;
    assert_eq!((r.status, r.detail()), (400, "The request body must be in JSON format."));
    let r = ctx.scim_raw(Method::POST, "/Groups", "{}".into()).await;
    assert_eq!((r.status, r.detail()), (400, "The request JSON must not be empty."));
    let r = ctx.scim(Method::POST, "/Groups", Some(group_body("  "))).await;
    assert_eq!((r.status, r.detail()), (400, "The \"DisplayName\" of the request is invalid."));
    new_group(&ctx, "Sales").await;
    let r = ctx.scim(Method::POST, "/Groups", Some(group_body("sales"))).await;
    assert_eq!((r.status, r.detail()), (400, "Create group failed."));
}

#[tokio::test]
async fn get_missing_group_is_404_and_list_filters_by_display_name() {
    let ctx = Ctx::new().await;
    let r = ctx.get("/Groups/AAAAAAAAAAAAAAAAAAAAAA").await;
    assert_eq!((r.status, r.detail()), (404, "Group does not exist."));
    let id = new_group(&ctx, "Support Team").await;
    let r = ctx.get(&format!("/Groups?filter={}", enc("displayName eq \"support team\""))).await;
    assert_eq!(r.json["totalResults"], 1);
    assert_eq!(r.json["Resources"][0]["id"], id.as_str());
    assert!(r.json["Resources"][0].get(ZOOM_GROUP).is_none(), "list items are trimmed");
    assert_eq!(ctx.get(&format!("/Groups?filter={}", enc("members eq \"x\""))).await.status, 400);
}

#[tokio::test]
async fn patch_adds_and_removes_members_and_answers_204() {
    let ctx = Ctx::new().await;
    let gid = new_group(&ctx, "Team").await;
    let path = format!("/Groups/{}", enc(&gid));
    let mut ids: Vec<String> = Vec::new();
    for i in 0..4 {
        ids.push(id_of(&ctx.create_user(&format!("m{i}@example.com")).await));
    }
    let add = ops(
        json!([{"op": "add", "path": "members", "value": ids.iter().map(|i| json!({"value": i})).collect::<Vec<_>>()}]),
    );
    let r = ctx.scim(Method::PATCH, &path, Some(add)).await;
    assert_eq!((r.status, r.text.as_str()), (204, ""));
    assert_eq!(members(&ctx, &gid).len(), 4);

    let remove_one = ops(json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", ids[0])}]));
    assert_eq!(ctx.scim(Method::PATCH, &path, Some(remove_one)).await.status, 204);
    let remove_list = ops(json!([{"op": "Remove", "path": "members", "value": [{"value": ids[1]}]}]));
    assert_eq!(ctx.scim(Method::PATCH, &path, Some(remove_list)).await.status, 204);
    let mut left = vec![ids[2].clone(), ids[3].clone()];
    left.sort();
    assert_eq!(members(&ctx, &gid), left);

    let replace = ops(json!([{"op": "replace", "path": "members", "value": [{"value": ids[0]}]}]));
    assert_eq!(ctx.scim(Method::PATCH, &path, Some(replace)).await.status, 204);
    assert_eq!(members(&ctx, &gid), vec![ids[0].clone()]);
    // the user's own resource lists the group
    let u = ctx.get(&format!("/Users/{}", enc(&ids[0]))).await;
    assert_eq!(u.json["groups"][0]["display"], "Team");
}

#[tokio::test]
async fn patch_with_unknown_member_is_400_and_changes_nothing() {
    let ctx = Ctx::new().await;
    let gid = new_group(&ctx, "Atomic").await;
    let uid = id_of(&ctx.create_user("a@example.com").await);
    let body = ops(json!([
        {"op": "add", "path": "members", "value": [{"value": uid}]},
        {"op": "add", "path": "members", "value": [{"value": "AAAAAAAAAAAAAAAAAAAAAA"}]}
    ]));
    let r = ctx.scim(Method::PATCH, &format!("/Groups/{}", enc(&gid)), Some(body)).await;
    assert_eq!(r.status, 400);
    assert!(members(&ctx, &gid).is_empty());
}

#[tokio::test]
async fn patch_renames_and_rejects_malformed_bodies() {
    let ctx = Ctx::new().await;
    let gid = new_group(&ctx, "Old").await;
    new_group(&ctx, "Taken").await;
    let path = format!("/Groups/{}", enc(&gid));
    let rename = ops(json!([{"op": "replace", "path": "displayName", "value": "New"}]));
    assert_eq!(ctx.scim(Method::PATCH, &path, Some(rename)).await.status, 204);
    assert_eq!(ctx.emu.group(&gid).unwrap().display_name, "New");
    let clash = ops(json!([{"op": "replace", "value": {"displayName": "taken"}}]));
    assert_eq!(ctx.scim(Method::PATCH, &path, Some(clash)).await.status, 400);
    let no_ops = json!({"schemas": [PATCH_OP]});
    assert_eq!(ctx.scim(Method::PATCH, &path, Some(no_ops)).await.status, 400);
    let bad_op = ops(json!([{"op": "move", "path": "members"}]));
    assert_eq!(ctx.scim(Method::PATCH, &path, Some(bad_op)).await.status, 400);
    assert_eq!(ctx.scim(Method::PATCH, "/Groups/AAAAAAAAAAAAAAAAAAAAAA", Some(ops(json!([])))).await.status, 404);
}

#[tokio::test]
async fn patch_body_over_100000_characters_is_400() {
    let ctx = Ctx::new().await;
    let gid = new_group(&ctx, "Big").await;
    let path = format!("/Groups/{}", enc(&gid));
    let build = |len: usize| {
        let base = ops(json!([{"op": "replace", "path": "displayName", "value": "Big"}])).to_string();
        // pad with whitespace inside the JSON to reach an exact length
        let pad = len - base.len();
        format!("{}{}", " ".repeat(pad), base)
    };
    let r = ctx.scim_raw(Method::PATCH, &path, build(100_000)).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = ctx.scim_raw(Method::PATCH, &path, build(100_001)).await;
    assert_eq!(r.status, 400);
    assert!(r.detail().contains("100000"), "{}", r.detail());
}

#[tokio::test]
async fn delete_group_is_204_then_404() {
    let ctx = Ctx::new().await;
    let gid = new_group(&ctx, "Temp").await;
    let path = format!("/Groups/{}", enc(&gid));
    let r = ctx.scim(Method::DELETE, &path, None).await;
    assert_eq!((r.status, r.text.as_str()), (204, ""));
    assert_eq!(ctx.get(&path).await.status, 404);
    assert_eq!(ctx.scim(Method::DELETE, &path, None).await.status, 404);
}

#[tokio::test]
async fn deleting_a_user_removes_it_from_groups() {
    let ctx = Ctx::new().await;
    let gid = new_group(&ctx, "G").await;
    let uid = id_of(&ctx.create_user("x@example.com").await);
    let add = ops(json!([{"op": "add", "path": "members", "value": [{"value": uid}]}]));
    assert_eq!(ctx.scim(Method::PATCH, &format!("/Groups/{}", enc(&gid)), Some(add)).await.status, 204);
    assert_eq!(ctx.scim(Method::DELETE, &format!("/Users/{}", enc(&uid)), None).await.status, 204);
    assert!(members(&ctx, &gid).is_empty());
}

#[tokio::test]
async fn group_get_members_knob() {
    let ctx = Ctx::new().await;
    let gid = new_group(&ctx, "K").await;
    let uid = id_of(&ctx.create_user("k@example.com").await);
    let add = ops(json!([{"op": "add", "path": "members", "value": [{"value": uid}]}]));
    ctx.scim(Method::PATCH, &format!("/Groups/{}", enc(&gid)), Some(add)).await;
    ctx.emu.update_knobs(|k| k.group_get_includes_members = true).unwrap();
    let r = ctx.get(&format!("/Groups/{}", enc(&gid))).await;
    assert_eq!(r.json["members"], json!([{"value": uid}]));
}
