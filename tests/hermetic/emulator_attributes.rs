//! Emulator over HTTP: the attributes beyond the core schema (`zoom-scim-api.md` §5–6, 8) —
//! both Zoom extensions and the enterprise one, which answers carry which of them, the Zoom
//! Phone and Contact Center fields kept but never returned, Zoom's value checks and the knob
//! that relaxes them, custom attributes, PUT's list replacement.

use crate::support::emulator::*;
use reqwest::Method;
use serde_json::{Value, json};
use zoomsync::emulator::{ContactCenterProvisioning, ENTERPRISE, PhoneProvisioning, ZOOM_LOGIN, ZOOM_USER};

/// The zoom:1.0 fields GET returns, as sent.
fn returned_zoom() -> Value {
    json!({
        "zoomOneBizPlus": "US_CA", "zoomWorkplaceSubscription": "UK_IR",
        "zoomPhoneCallingPlanSubscription": "AU_NZ", "zoomIQ": true, "zoomHuddles": false,
        "personalLinkName": "ann.lee", "pronouns": "she/her", "badgeColour": "teal",
    })
}

/// The zoom:1.0 fields Zoom accepts and never returns.
fn unreturned_zoom() -> Value {
    json!({
        "zoomPhoneExtNumber": 0, "zoomPhoneSite": "Main Office", "zoomPhoneCallingPlan": 3000,
        "zoomPhoneNumber": "+1 555 0100", "zoomContactCenterRole": "Agent",
        "zoomContactCenterRegion": "US", "zoomContactCenterPackage": "Essentials",
        "zoomContactCenterAddonsPlan": "Workforce", "zoomContactCenterUserTemplate": "Default agent",
    })
}

fn enterprise(manager: &str) -> Value {
    json!({"department": "R&D", "employeeNumber": "E-7", "division": "Cloud", "costCenter": "CC-12",
        "organization": "Example Inc", "manager": {"value": manager}})
}

/// A create body with every attribute of the three extensions.
fn full_body(user_name: &str, manager: &str) -> Value {
    let mut b = user_body(user_name);
    let mut zoom = returned_zoom();
    zoom.as_object_mut().unwrap().extend(unreturned_zoom().as_object().unwrap().clone());
    b["userType"] = json!("On-Prem");
    b["phoneNumbers"] =
        json!([{"type": "work", "value": "+1 555 0001"}, {"type": "mobile", "value": "+44 7700 900123"}]);
    b[ENTERPRISE] = enterprise(manager);
    b[ZOOM_USER] = zoom;
    b[ZOOM_LOGIN] = json!({"loginType": {"workEmail": true, "sso": true}});
    b
}

fn owner(ctx: &Ctx) -> String {
    ctx.emu.user_by_name("owner@example.com").unwrap().id
}

/// Asserts Zoom's refusal of a value: 400, `scimType` invalidValue, AttributeValidationFailed.
fn assert_refused(r: &Resp, attr: &str) {
    assert_eq!((r.status, r.json["status"].as_i64()), (400, Some(400)), "{}", r.text);
    assert_eq!(r.json["scimType"], "invalidValue", "{}", r.text);
    assert!(r.detail().starts_with("AttributeValidationFailed"), "{}", r.text);
    assert!(r.detail().contains(&format!("\"{attr}\"")), "names {attr}: {}", r.text);
}

#[tokio::test]
async fn every_attribute_is_stored_get_returns_the_returned_ones_and_lists_are_trimmed() {
    let ctx = Ctx::new().await;
    let manager = owner(&ctx);
    let r = ctx.scim(Method::POST, "/Users", Some(full_body("ann@example.com", &manager))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = id_of(&r.json);
    let path = format!("/Users/{}", enc(&id));
    let get = ctx.get(&path).await;
    let put = ctx.scim(Method::PUT, &path, Some(json!({"schemas": [CORE_USER], "title": "Lead"}))).await;
    assert_eq!(put.status, 200, "{}", put.text);
    for (what, u) in [("POST", &r.json), ("GET", &get.json), ("PUT", &put.json)] {
        assert_eq!(u[ZOOM_USER], returned_zoom(), "{what}: the returned zoom:1.0 fields, no phone/CC field");
        assert_eq!(u[ENTERPRISE], enterprise(&manager), "{what}: the whole enterprise extension");
        assert_eq!(u["userType"], "On-Prem", "{what}");
        assert_eq!(u["phoneNumbers"].as_array().map(Vec::len), Some(2), "{what}");
        assert!(u.get(ZOOM_LOGIN).is_none(), "{what}: loginType only in lists");
        let schemas: Vec<&str> = u["schemas"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        assert!(schemas.contains(&ZOOM_USER) && schemas.contains(&ENTERPRISE), "{what}: {schemas:?}");
    }
    for q in ["/Users?startIndex=1&count=100", &format!("/Users?filter={}", enc("userName eq \"ann@example.com\""))] {
        let list = ctx.get(q).await;
        let item = list.json["Resources"].as_array().unwrap().iter().find(|u| u["id"] == id.as_str()).unwrap();
        assert!(item.get(ZOOM_USER).is_none(), "{q}: no zoom:1.0 extension in lists");
        assert_eq!(item[ENTERPRISE], json!({"department": "R&D"}), "{q}: only department of enterprise");
        assert_eq!(item[ZOOM_LOGIN], json!({"loginType": {"workEmail": true, "sso": true}}), "{q}");
        assert!(!item.to_string().contains("Main Office") && !item.to_string().contains("Agent"), "{q}");
    }

    // The control API shows what was provisioned; extension 0 became the first free one.
    let u = ctx.emu.user(&id).unwrap();
    let phone = PhoneProvisioning {
        ext_number: Some(1000),
        site: Some("Main Office".into()),
        calling_plan: Some(3000),
        number: Some("+1 555 0100".into()),
    };
    assert_eq!(u.phone(), phone);
    let cc = ContactCenterProvisioning {
        role: Some("Agent".into()),
        region: Some("US".into()),
        package: Some("Essentials".into()),
        addons_plan: Some("Workforce".into()),
        user_template: Some("Default agent".into()),
    };
    assert_eq!(u.contact_center(), cc);
    let dump = ctx.control(Method::GET, &format!("/users/{}", enc(&id)), None).await;
    assert_eq!(dump.json["_emulator"]["phone"]["extNumber"], 1000, "{}", dump.text);
    assert_eq!(dump.json["_emulator"]["contactCenter"]["userTemplate"], "Default agent");
    assert_eq!(dump.json["_emulator"]["hidden"]["zoomPhoneCallingPlan"], 3000);

    // The next auto-assigned extension is the next free one; a user that has one keeps it.
    let mut b = user_body("bob@example.com");
    b[ZOOM_USER] = json!({"zoomPhoneExtNumber": 0});
    let bob = id_of(&ctx.scim(Method::POST, "/Users", Some(b)).await.json);
    assert_eq!(ctx.emu.user(&bob).unwrap().phone().ext_number, Some(1001));
    let again = json!({ZOOM_USER: {"zoomPhoneExtNumber": 0, "zoomPhoneSite": ""}});
    assert_eq!(ctx.scim(Method::PUT, &path, Some(again)).await.status, 200);
    let u = ctx.emu.user(&id).unwrap();
    assert_eq!((u.phone().ext_number, u.phone().site), (Some(1000), None), "kept; \"\" clears the site");
}

#[tokio::test]
async fn refused_user_types_and_plan_values_get_zooms_validation_error() {
    let ctx = Ctx::new().await;
    let cases = [
        ("userType", json!({"userType": "Collaboration"})),
        ("userType", json!({"userType": "Basic"})),
        ("userType", json!({"userType": "None"})),
        ("zoomOneBizPlus", json!({ZOOM_USER: {"zoomOneBizPlus": "Gold"}})),
        ("zoomWorkplaceSubscription", json!({ZOOM_USER: {"zoomWorkplaceSubscription": 1}})),
        ("zoomIQ", json!({ZOOM_USER: {"zoomIQ": "true"}})),
        ("zoomPhoneCallingPlan", json!({ZOOM_USER: {"zoomPhoneCallingPlan": "3000"}})),
        ("zoomPhoneExtNumber", json!({ZOOM_USER: {"zoomPhoneExtNumber": -1}})),
        ("costCenter", json!({ENTERPRISE: {"costCenter": 12}})),
    ];
    for (attr, extra) in &cases {
        let mut b = user_body("refused@example.com");
        b.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let r = ctx.scim(Method::POST, "/Users", Some(b)).await;
        assert_refused(&r, attr);
    }
    assert_eq!(ctx.emu.users().len(), 1, "nothing created: only the owner");

    for ok in ["Licensed", "On-Prem"] {
        let mut b = user_body(&format!("{}@example.com", ok.to_lowercase()));
        b["userType"] = json!(ok);
        let r = ctx.scim(Method::POST, "/Users", Some(b)).await;
        assert_eq!((r.status, r.json["userType"].as_str()), (201, Some(ok)), "{}", r.text);
    }

    // A refused PUT changes nothing, not even the attributes beside the refused one.
    let id = id_of(&ctx.create_user("put@example.com").await);
    let path = format!("/Users/{}", enc(&id));
    let before = ctx.emu.user(&id).unwrap();
    let r = ctx
        .scim(
            Method::PUT,
            &path,
            Some(json!({"title": "New", "userType": "Collaboration", ZOOM_USER: {"pronouns": "x"}})),
        )
        .await;
    assert_refused(&r, "userType");
    assert_eq!(ctx.emu.user(&id).unwrap(), before);
}

#[tokio::test]
async fn the_relax_knob_and_plan_values_change_what_is_accepted() {
    let ctx = Ctx::new().await;
    // plan_values: a test can name the account's plan codes.
    let r = ctx.control(Method::PATCH, "/knobs", Some(json!({"plan_values": ["Gold", "Silver"]}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut gold = user_body("gold@example.com");
    gold[ZOOM_USER] = json!({"zoomOneBizPlus": "Gold"});
    assert_eq!(ctx.scim(Method::POST, "/Users", Some(gold)).await.status, 201);
    let mut us = user_body("us@example.com");
    us[ZOOM_USER] = json!({"zoomOneBizPlus": "US_CA"});
    assert_refused(&ctx.scim(Method::POST, "/Users", Some(us.clone())).await, "zoomOneBizPlus");
    assert_eq!(ctx.control(Method::PATCH, "/knobs", Some(json!({"plan_values": [""]}))).await.status, 400);

    // Relaxed: every value is stored and returned as given.
    ctx.emu.update_knobs(|k| k.validate_attribute_values = false).unwrap();
    let mut b = user_body("lax@example.com");
    b["userType"] = json!("Collaboration");
    b[ENTERPRISE] = json!({"manager": {"value": "nobody"}});
    b[ZOOM_USER] = json!({"zoomOneBizPlus": "anything", "zoomIQ": "yes", "zoomPhoneCallingPlan": "3000"});
    let r = ctx.scim(Method::POST, "/Users", Some(b)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["userType"], "Collaboration");
    assert_eq!(r.json[ENTERPRISE]["manager"]["value"], "nobody");
    assert_eq!(r.json[ZOOM_USER], json!({"zoomOneBizPlus": "anything", "zoomIQ": "yes"}));
    let u = ctx.emu.user(&id_of(&r.json)).unwrap();
    assert_eq!((u.hidden["zoomPhoneCallingPlan"].clone(), u.phone().calling_plan), (json!("3000"), None));
    assert_eq!(ctx.scim(Method::POST, "/Users", Some(us)).await.status, 201);
}

#[tokio::test]
async fn manager_must_be_a_user_of_the_account() {
    let ctx = Ctx::new().await;
    let boss = id_of(&ctx.create_user("boss@example.com").await);
    let mut b = user_body("report@example.com");
    b[ENTERPRISE] = json!({"manager": {"value": "AAAAAAAAAAAAAAAAAAAAAA"}});
    assert_refused(&ctx.scim(Method::POST, "/Users", Some(b.clone())).await, "manager.value");
    b[ENTERPRISE] = json!({"manager": "AAAAAAAAAAAAAAAAAAAAAA"});
    assert_refused(&ctx.scim(Method::POST, "/Users", Some(b.clone())).await, "manager");
    b[ENTERPRISE] = json!({"manager": {"value": boss}});
    let r = ctx.scim(Method::POST, "/Users", Some(b)).await;
    assert_eq!((r.status, r.json[ENTERPRISE]["manager"]["value"].as_str()), (201, Some(boss.as_str())));
    let path = format!("/Users/{}", enc(&id_of(&r.json)));

    // A manager deleted since cannot be set again; an empty value clears the reference.
    let gone = id_of(&ctx.create_user("gone@example.com").await);
    assert_eq!(ctx.scim(Method::DELETE, &format!("/Users/{}", enc(&gone)), None).await.status, 204);
    let r = ctx.scim(Method::PUT, &path, Some(json!({ENTERPRISE: {"manager": {"value": gone}}}))).await;
    assert_refused(&r, "manager.value");
    assert_eq!(ctx.get(&path).await.json[ENTERPRISE]["manager"]["value"], boss.as_str());
    let r = ctx.scim(Method::PUT, &path, Some(json!({ENTERPRISE: {"manager": {"value": ""}}}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json[ENTERPRISE].get("manager").is_none(), "{}", r.text);
}

#[tokio::test]
async fn custom_attributes_round_trip_as_strings() {
    let ctx = Ctx::new().await;
    let mut b = user_body("custom@example.com");
    b[ZOOM_USER] = json!({"badgeColour": "teal", "floor": "3"});
    let r = ctx.scim(Method::POST, "/Users", Some(b)).await;
    assert_eq!(r.json[ZOOM_USER], json!({"badgeColour": "teal", "floor": "3"}), "{}", r.text);
    let path = format!("/Users/{}", enc(&id_of(&r.json)));
    let r = ctx.scim(Method::PUT, &path, Some(json!({ZOOM_USER: {"badgeColour": "navy", "floor": null}}))).await;
    assert_eq!(r.json[ZOOM_USER], json!({"badgeColour": "navy"}), "changed one, null removed the other");
    assert_eq!(ctx.get(&path).await.json[ZOOM_USER], json!({"badgeColour": "navy"}));
    let r = ctx.scim(Method::PUT, &path, Some(json!({ZOOM_USER: {"badgeColour": 7}}))).await;
    assert_refused(&r, "badgeColour");
    // Not a licence: deactivation keeps it.
    let r = ctx.scim(Method::PATCH, &path, Some(patch_active(false))).await;
    assert_eq!(r.json[ZOOM_USER], json!({"badgeColour": "navy"}));
}

#[tokio::test]
async fn a_phone_number_or_extension_held_by_another_user_is_refused() {
    let ctx = Ctx::new().await;
    let mut b = user_body("first@example.com");
    b[ZOOM_USER] = json!({"zoomPhoneNumber": "+1 555 0100", "zoomPhoneExtNumber": 1200});
    let first = id_of(&ctx.scim(Method::POST, "/Users", Some(b)).await.json);
    let mut b = user_body("second@example.com");
    b[ZOOM_USER] = json!({"zoomPhoneNumber": "+1 555 0100"});
    assert_refused(&ctx.scim(Method::POST, "/Users", Some(b.clone())).await, "zoomPhoneNumber");
    b[ZOOM_USER] = json!({"zoomPhoneExtNumber": 1200});
    assert_refused(&ctx.scim(Method::POST, "/Users", Some(b)).await, "zoomPhoneExtNumber");
    // The holder itself may send its own number again.
    let same = json!({ZOOM_USER: {"zoomPhoneNumber": "+1 555 0100", "zoomPhoneExtNumber": 1200}});
    assert_eq!(ctx.scim(Method::PUT, &format!("/Users/{}", enc(&first)), Some(same)).await.status, 200);
}

#[tokio::test]
async fn put_replaces_a_sent_list_whole_and_patch_still_takes_only_active() {
    let ctx = Ctx::new().await;
    let mut b = user_body("list@example.com");
    b["phoneNumbers"] = json!([{"type": "work", "value": "+1 555 0001"}, {"type": "mobile", "value": "+1 555 0002"}]);
    let path = format!("/Users/{}", enc(&id_of(&ctx.scim(Method::POST, "/Users", Some(b)).await.json)));
    let r = ctx.scim(Method::PUT, &path, Some(json!({"title": "Eng"}))).await;
    assert_eq!(r.json["phoneNumbers"].as_array().map(Vec::len), Some(2), "a list not sent is kept");
    let r =
        ctx.scim(Method::PUT, &path, Some(json!({"phoneNumbers": [{"type": "mobile", "value": "+1 555 0003"}]}))).await;
    assert_eq!(r.json["phoneNumbers"], json!([{"type": "mobile", "value": "+1 555 0003"}]), "a sent list replaces");

    for path_attr in [format!("{ZOOM_USER}:zoomIQ"), format!("{ENTERPRISE}:costCenter")] {
        let body = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": path_attr, "value": "x"}]});
        let r = ctx.scim(Method::PATCH, &path, Some(body)).await;
        assert_eq!((r.status, r.detail()), (400, "The request json did not contains valid active field."));
    }
}
