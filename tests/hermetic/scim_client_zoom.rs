//! The SCIM client's zoom profile against the in-process Zoom emulator on 127.0.0.1:
//! CRUD, paging, OAuth renewal, and the error classes an engine acts on.

use std::time::Duration;

use crate::support::fast_retries;
use zoomsync::config::{Secret, TargetAuth, TargetConfig};
use zoomsync::emulator::{Emulator, EmulatorConfig, ErrorStyle, Role, Route, RunningEmulator, SeedUser, UserState};
use zoomsync::model::Anchor;
use zoomsync::model::{Change, Field, ScimUser};
use zoomsync::scim::{ScimClient, ScimError, Target};

async fn emulator(config: EmulatorConfig) -> RunningEmulator {
    Emulator::start(config, "127.0.0.1:0".parse().unwrap()).await.unwrap()
}

fn target(emu: &RunningEmulator, secret: &str) -> TargetConfig {
    TargetConfig {
        auth: TargetAuth::ZoomOauth {
            token_url: url::Url::parse(&emu.token_url()).unwrap(),
            account_id: emu.account_id().to_string(),
            client_id: emu.client_id().to_string(),
            client_secret: Secret::from_value(secret),
        },
        timeout: Duration::from_secs(5),
        ..emu.target_config().unwrap()
    }
}

fn client(cfg: &TargetConfig) -> ScimClient {
    zoomsync::install_crypto_provider();
    ScimClient::new(cfg).unwrap().with_retry_policy(fast_retries())
}

async fn setup() -> (RunningEmulator, ScimClient) {
    let mut config = EmulatorConfig::unlimited();
    config.knobs.ids_with_ampersand = true;
    let emu = emulator(config).await;
    let c = client(&target(&emu, emu.client_secret()));
    (emu, c)
}

fn user(name: &str) -> ScimUser {
    let mut u = ScimUser { active: true, ..ScimUser::default() };
    for (f, v) in [
        (Field::UserName, name),
        (Field::GivenName, "Ann"),
        (Field::FamilyName, "Lee"),
        (Field::WorkEmail, name),
        (Field::Title, "Engineer"),
        (Field::WorkPhone, "+1 555 0100"),
        (Field::Department, "R&D"),
        (Field::EmployeeNumber, &format!("E-{name}")),
    ] {
        u.fields.insert(f, v.to_string());
    }
    u
}

fn anchor(s: &str) -> Anchor {
    Anchor::new(s).unwrap()
}

fn change(field: Field, old: Option<&str>, new: Option<&str>) -> Change {
    Change { field, old: old.map(str::to_string), new: new.map(str::to_string) }
}

fn writes(emu: &RunningEmulator) -> u64 {
    let c = emu.request_counts();
    [Route::CreateUser, Route::PutUser, Route::PatchUser, Route::DeleteUser].iter().map(|r| c.route(*r)).sum()
}

#[tokio::test]
async fn crud_round_trip_with_ampersand_ids() {
    let (emu, c) = setup().await;
    let created = c.create_user(&anchor("a-1"), &user("ann@example.com")).await.unwrap();
    assert!(created.id.contains('&'), "knob makes every id contain &: {}", created.id);
    assert!(created.user.active && !created.privileged && !created.pending);
    assert_eq!(created.user.get(Field::Title), Some("Engineer"));
    assert_eq!(created.user.get(Field::Department), Some("R&D"));
    assert_eq!(created.user.get(Field::EmployeeNumber), Some("E-ann@example.com"));
    // phone numbers are stored and returned by the emulator like any other attribute
    assert_eq!(created.user.get(Field::WorkPhone), Some("+1 555 0100"));
    let stored = emu.user(&created.id).unwrap();
    assert_eq!(stored.title.as_deref(), Some("Engineer"));

    let got = c.get_user(&created.id).await.unwrap();
    assert_eq!(got, created);

    let updated = c
        .update_user(
            &created.id,
            &[change(Field::FamilyName, Some("Lee"), Some("Li")), change(Field::Title, Some("Engineer"), None)],
        )
        .await
        .unwrap();
    assert_eq!(updated.user.get(Field::FamilyName), Some("Li"));
    assert_eq!(updated.user.get(Field::Title), None, "cleared with an empty string");
    assert_eq!(updated.user.get(Field::Department), Some("R&D"), "PUT is partial: untouched fields stay");
    assert_eq!(emu.request_counts().route(Route::PutUser), 1);

    c.set_active(&created.id, false).await.unwrap();
    assert!(!c.get_user(&created.id).await.unwrap().user.active);
    assert!(!emu.user(&created.id).unwrap().is_active());
    c.set_active(&created.id, true).await.unwrap();
    assert!(c.get_user(&created.id).await.unwrap().user.active);
    assert_eq!(emu.request_counts().route(Route::PatchUser), 2);

    let found = c.find_user("ANN@example.com").await.unwrap().unwrap();
    assert_eq!(found.id, created.id);
    assert_eq!(c.find_user("nobody@example.com").await.unwrap(), None);

    c.delete_user(&created.id).await.unwrap();
    assert!(matches!(c.get_user(&created.id).await, Err(ScimError::NotFound { .. })));
    assert!(matches!(c.delete_user(&created.id).await, Err(ScimError::NotFound { .. })));
    assert!(matches!(c.set_active(&created.id, false).await, Err(ScimError::NotFound { .. })));
    // one token for the whole run
    assert_eq!(emu.request_counts().route(Route::Token), 1);
}

#[tokio::test]
async fn create_inactive_user_ends_inactive() {
    let (emu, c) = setup().await;
    let mut u = user("idle@example.com");
    u.active = false;
    let created = c.create_user(&anchor("a-2"), &u).await.unwrap();
    assert!(!created.user.active);
    assert!(!emu.user(&created.id).unwrap().is_active());
}

#[tokio::test]
async fn list_pages_through_trimmed_resources() {
    let (emu, c) = setup().await;
    for i in 0..230 {
        emu.seed_user(SeedUser::new(format!("u{i:03}@example.com"))).unwrap();
    }
    emu.seed_user(SeedUser::new("boss@example.com").role(Role::Admin)).unwrap();
    emu.seed_user(SeedUser::new("invited@example.com").state(UserState::Pending)).unwrap();
    let all = c.list_users().await.unwrap();
    // owner + 230 + admin; the pending user is invisible to SCIM
    assert_eq!(all.len(), 232);
    let ids: std::collections::BTreeSet<_> = all.iter().map(|u| u.id.clone()).collect();
    assert_eq!(ids.len(), 232);
    // Zoom's list resources are trimmed (no roles): privileged shows on a GET only.
    assert!(all.iter().all(|u| !u.privileged));
    let boss = all.iter().find(|u| u.user.user_name() == "boss@example.com").unwrap();
    assert!(c.get_user(&boss.id).await.unwrap().privileged);
    let member = all.iter().find(|u| u.user.user_name() == "u007@example.com").unwrap();
    assert!(!c.get_user(&member.id).await.unwrap().privileged);
    let profile: Vec<Field> =
        member.user.fields.iter().map(|(f, _)| f).filter(|f| Field::catalogue().take(9).any(|o| o == *f)).collect();
    assert_eq!(profile, [Field::UserName, Field::WorkEmail], "no names seeded: {:?}", member.user.fields);
    // three pages of at most 100
    let lists = emu.request_counts().route(Route::ListUsers);
    assert_eq!(lists, 3);
    let queries: Vec<_> =
        emu.requests(100).into_iter().filter(|r| r.route == Route::ListUsers.key()).filter_map(|r| r.query).collect();
    assert_eq!(queries, ["startIndex=1&count=100", "startIndex=101&count=100", "startIndex=201&count=100"]);
}

#[tokio::test]
async fn token_revoked_mid_run_is_renewed_exactly_once() {
    let (emu, c) = setup().await;
    let created = c.create_user(&anchor("a-3"), &user("tok@example.com")).await.unwrap();
    assert_eq!(emu.request_counts().route(Route::Token), 1);
    // Another process fetches a token for the same app: Zoom revokes ours.
    let _theirs = emu.issue_token();
    let gets = (0..16).map(|_| c.get_user(&created.id));
    for r in futures::future::join_all(gets).await {
        assert_eq!(r.unwrap().id, created.id);
    }
    let counts = emu.request_counts();
    assert_eq!(counts.route(Route::Token), 2, "one renewal for 16 concurrent requests");
    assert!(counts.route_status(Route::GetUser, 401) >= 1);

    emu.expire_tokens();
    c.set_active(&created.id, false).await.unwrap();
    assert_eq!(emu.request_counts().route(Route::Token), 3);
}

#[tokio::test]
async fn wrong_client_secret_is_fatal_with_no_writes() {
    let emu = emulator(EmulatorConfig::unlimited()).await;
    let c = client(&target(&emu, "wrong-secret-value"));
    let err = c.create_user(&anchor("a-4"), &user("nope@example.com")).await.unwrap_err();
    let ScimError::Fatal { detail } = &err else { panic!("expected Fatal, got {err:?}") };
    assert!(detail.contains("refused the credentials"), "{detail}");
    assert!(detail.contains("client secret") && detail.contains("target.client_id"), "{detail}");
    assert!(!detail.contains("wrong-secret-value") && !format!("{err:?}").contains("wrong-secret-value"));
    assert!(matches!(c.list_users().await, Err(ScimError::Fatal { .. })));
    let counts = emu.request_counts();
    assert_eq!(writes(&emu), 0);
    assert_eq!(counts.total, counts.route(Route::Token), "only token requests: {counts:?}");
    assert!(emu.users().iter().all(|u| u.user_name != "nope@example.com"));
}

#[tokio::test]
async fn a_refused_static_bearer_token_is_fatal_at_once() {
    let emu = emulator(EmulatorConfig::unlimited()).await;
    let mut cfg = target(&emu, "x");
    cfg.auth = TargetAuth::Bearer { token: Secret::from_value("not-a-valid-token") };
    let c = client(&cfg);
    let err = c.get_user("abc").await.unwrap_err();
    let ScimError::Fatal { detail } = &err else { panic!("expected Fatal, got {err:?}") };
    assert!(detail.contains("401") && detail.contains("bearer token"), "{detail}");
    assert!(!detail.contains("not-a-valid-token"));
    assert_eq!(emu.request_counts().total, 1);
}

#[tokio::test]
async fn bad_request_is_rejected_with_zooms_detail() {
    let (emu, c) = setup().await;
    let err = c.create_user(&anchor("a-5"), &user("not-an-email")).await.unwrap_err();
    assert_eq!(err, ScimError::Rejected { status: 400, detail: "The \"userName\" of the request is invalid.".into() });
    // a duplicate employee number is a 400 about this object's data as well
    c.create_user(&anchor("a-6"), &user("e1@example.com")).await.unwrap();
    let mut dup = user("e2@example.com");
    dup.fields.insert(Field::EmployeeNumber, "E-e1@example.com".into());
    let err = c.create_user(&anchor("a-7"), &dup).await.unwrap_err();
    assert!(matches!(&err, ScimError::Rejected { status: 400, detail } if detail.contains("employee number")));
    assert_eq!(emu.request_counts().route_status(Route::CreateUser, 400), 2);
}

#[tokio::test]
async fn duplicate_user_name_is_a_conflict() {
    let (_emu, c) = setup().await;
    c.create_user(&anchor("a-8"), &user("dup@example.com")).await.unwrap();
    let err = c.create_user(&anchor("a-9"), &user("DUP@example.com")).await.unwrap_err();
    assert_eq!(err, ScimError::Conflict { detail: "The user already exists".into() });
}

#[tokio::test]
async fn pending_user_lookup_is_a_conflict_that_says_pending() {
    let (emu, c) = setup().await;
    emu.seed_user(SeedUser::new("pend@example.com").state(UserState::Pending)).unwrap();
    let err = c.find_user("pend@example.com").await.unwrap_err();
    let ScimError::Conflict { detail } = &err else { panic!("expected Conflict, got {err:?}") };
    assert!(detail.contains("pending") && detail.contains("not exist or not belong"), "{detail}");
    // Zoom staff said 404: same answer
    emu.update_knobs(|k| k.pending_filter_status = 404).unwrap();
    assert!(matches!(c.find_user("pend@example.com").await, Err(ScimError::Conflict { .. })));
}

#[tokio::test]
async fn sso_off_is_fatal() {
    let (emu, c) = setup().await;
    emu.update_knobs(|k| k.sso_enabled = false).unwrap();
    let err = c.list_users().await.unwrap_err();
    let ScimError::Fatal { detail } = &err else { panic!("expected Fatal, got {err:?}") };
    assert!(detail.contains("Account has not enabled Single Sign-On.") && detail.contains("enable SSO"));
}

#[tokio::test]
async fn wrong_base_url_is_fatal_and_rest_style_errors_classify() {
    let (emu, c) = setup().await;
    let mut cfg = target(&emu, emu.client_secret());
    cfg.base_url = url::Url::parse(&format!("{}/scim3/", emu.origin())).unwrap();
    let wrong = client(&cfg);
    let err = wrong.list_users().await.unwrap_err();
    assert!(matches!(&err, ScimError::Fatal { detail } if detail.contains("target.base_url")), "{err:?}");
    assert!(matches!(wrong.find_user("a@example.com").await, Err(ScimError::Fatal { .. })));
    emu.update_knobs(|k| k.error_style = ErrorStyle::Rest).unwrap();
    let err = c.get_user("missing").await.unwrap_err();
    assert!(matches!(&err, ScimError::NotFound { detail } if detail.contains("User does not exist")), "{err:?}");
}

#[tokio::test]
async fn deactivating_an_admin_is_rejected_not_retried() {
    let (emu, c) = setup().await;
    let admin = emu.seed_user(SeedUser::new("adm@example.com").role(Role::Admin)).unwrap();
    let err = c.set_active(&admin.id, false).await.unwrap_err();
    assert!(matches!(err, ScimError::Rejected { status: 400, .. }), "{err:?}");
    assert_eq!(emu.request_counts().route(Route::PatchUser), 1);
}
