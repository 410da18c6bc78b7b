//! zoomsync's own client (the zoom profile) writing the open model's attributes into the
//! emulator: what the emulator stored is exactly what zoomsync meant, typed (booleans and
//! integers as JSON booleans and numbers), the never-returned fields kept out of the answers,
//! and Zoom's refusal of a value reaching the engine as a rejected object.

use std::time::Duration;

use crate::support::fast_retries;
use serde_json::{Map, Value, json};
use zoomsync::emulator::{Emulator, EmulatorConfig, PhoneProvisioning, RunningEmulator};
use zoomsync::model::{Anchor, Change, Field, ScimUser};
use zoomsync::scim::{ScimClient, ScimError, Target};

async fn setup() -> (RunningEmulator, ScimClient) {
    let mut config = EmulatorConfig::unlimited();
    config.knobs.ids_with_ampersand = true;
    let emu = Emulator::start(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    zoomsync::install_crypto_provider();
    let target = zoomsync::config::TargetConfig { timeout: Duration::from_secs(5), ..emu.target_config().unwrap() };
    let client = ScimClient::new(&target).unwrap().with_retry_policy(fast_retries());
    (emu, client)
}

fn field(name: &str) -> Field {
    Field::from_config_name(name).unwrap_or_else(|| panic!("{name} is in the catalogue"))
}

fn badge() -> Field {
    Field::resolve("urn:ietf:params:scim:schemas:extension:zoom:1.0:User:badgeColour").unwrap()
}

fn object(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn change(f: Field, old: &str, new: &str) -> Change {
    Change { field: f, old: Some(old.to_string()), new: Some(new.to_string()) }
}

#[tokio::test]
async fn the_emulator_stores_exactly_the_typed_values_zoomsync_sends() {
    let (emu, c) = setup().await;
    let manager = emu.user_by_name("owner@example.com").unwrap().id;
    let mut u = ScimUser { active: true, ..ScimUser::default() };
    for (f, v) in [
        (Field::UserName, "ann@example.com"),
        (Field::GivenName, "Ann"),
        (Field::FamilyName, "Lee"),
        (Field::WorkEmail, "ann@example.com"),
        (Field::WorkPhone, "+1 555 0100"),
        (field("zoomPhoneSite"), "HQ"),
        (field("zoomPhoneCallingPlan"), "3000"),
        (field("zoomPhoneExtNumber"), "0"),
        (field("zoomOneBizPlus"), "US_CA"),
        (field("zoomIQ"), "yes"),
        (field("manager"), manager.as_str()),
        (field("mobilePhone"), "+44 7700 900123"),
        (badge(), "teal"),
    ] {
        u.fields.insert(f, v.to_string());
    }
    let created = c.create_user(&Anchor::new("a-1").unwrap(), &u).await.unwrap();

    let stored = emu.user(&created.id).unwrap();
    assert_eq!(
        stored.hidden,
        object(json!({"zoomPhoneSite": "HQ", "zoomPhoneCallingPlan": 3000, "zoomPhoneExtNumber": 1000})),
        "the plan code went out as a number; extension 0 was assigned"
    );
    let phone =
        PhoneProvisioning { ext_number: Some(1000), site: Some("HQ".into()), calling_plan: Some(3000), number: None };
    assert_eq!(stored.phone(), phone);
    assert_eq!(stored.zoom, object(json!({"zoomOneBizPlus": "US_CA", "zoomIQ": true, "badgeColour": "teal"})));
    assert_eq!(stored.enterprise, object(json!({"manager": {"value": manager}})));
    let phones: Vec<(&str, &str)> =
        stored.phone_numbers.iter().map(|p| (p["type"].as_str().unwrap(), p["value"].as_str().unwrap())).collect();
    assert_eq!(phones, [("work", "+1 555 0100"), ("mobile", "+44 7700 900123")]);

    // What the client read back: the returned attributes, none of the phone provisioning.
    let back = &created.user;
    assert_eq!(back.get(field("zoomOneBizPlus")), Some("US_CA"));
    assert_eq!(back.get(field("zoomIQ")), Some("true"));
    assert_eq!(back.get(field("manager")), Some(manager.as_str()));
    assert_eq!(back.get(field("mobilePhone")), Some("+44 7700 900123"));
    assert_eq!(back.get(Field::WorkPhone), Some("+1 555 0100"));
    assert_eq!(back.get(badge()), Some("teal"));
    for never in ["zoomPhoneSite", "zoomPhoneCallingPlan", "zoomPhoneExtNumber"] {
        assert_eq!(back.get(field(never)), None, "{never} is never returned");
    }
    assert_eq!(c.get_user(&created.id).await.unwrap(), created);

    // A PUT of three changes: those change, typed; the rest stays (PUT is partial).
    let updated = c
        .update_user(
            &created.id,
            &[
                change(field("zoomPhoneCallingPlan"), "3000", "3001"),
                change(field("zoomOneBizPlus"), "US_CA", "JP"),
                change(badge(), "teal", "navy"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(updated.user.get(field("zoomOneBizPlus")), Some("JP"));
    let stored = emu.user(&created.id).unwrap();
    assert_eq!(stored.phone(), PhoneProvisioning { calling_plan: Some(3001), ..phone });
    assert_eq!(stored.zoom, object(json!({"zoomOneBizPlus": "JP", "zoomIQ": true, "badgeColour": "navy"})));
    assert_eq!(stored.phone_numbers.len(), 2);
}

#[tokio::test]
async fn a_value_zoom_refuses_is_a_rejected_object() {
    let (emu, c) = setup().await;
    let mut u = ScimUser { active: true, ..ScimUser::default() };
    for (f, v) in [(Field::UserName, "bob@example.com"), (Field::WorkEmail, "bob@example.com")] {
        u.fields.insert(f, v.to_string());
    }
    let mut refused = u.clone();
    refused.fields.insert(field("userType"), "Collaboration".into());
    let err = c.create_user(&Anchor::new("b-1").unwrap(), &refused).await.unwrap_err();
    let ScimError::Rejected { status: 400, detail } = &err else { panic!("expected Rejected 400, got {err:?}") };
    assert!(detail.contains("AttributeValidationFailed"), "{detail}");
    assert!(emu.user_by_name("bob@example.com").is_none());

    let created = c.create_user(&Anchor::new("b-1").unwrap(), &u).await.unwrap();
    let err = c.update_user(&created.id, &[change(field("zoomOneBizPlus"), "", "Gold")]).await.unwrap_err();
    assert!(
        matches!(&err, ScimError::Rejected { status: 400, detail } if detail.contains("zoomOneBizPlus")),
        "{err:?}"
    );
    assert!(emu.user(&created.id).unwrap().zoom.is_empty());
}
