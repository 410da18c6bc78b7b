//! The sync engine end to end: a real slapd, the Zoom emulator, sled state, the real client.

use crate::support::data;
use crate::support::world::World;
use zoomsync::emulator::{Route, SeedUser, UserEdit, UserState};
use zoomsync::model::Field;
use zoomsync::model::Lifecycle;
use zoomsync::plan::Action;
use zoomsync::state::{HistoryFilter, StateStore};
use zoomsync::sync::{CycleOptions, OutcomeResult};

fn writes(w: &World) -> u64 {
    let c = w.zoom.request_counts();
    [Route::CreateUser, Route::PutUser, Route::PatchUser, Route::DeleteUser].iter().map(|r| c.route(*r)).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_cycle_creates_then_nothing_changes_then_exact_updates() {
    let w = World::start(&data::active_people_ldif(2_000)).await;

    // 1. A first cycle against an empty Zoom: one POST per user, no per-user lookups.
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!(r.succeeded(Action::Create), 2_000, "{}", r.summary());
    let c = w.zoom.request_counts();
    assert_eq!(c.route(Route::CreateUser), 2_000);
    assert_eq!(c.route(Route::GetUser) + c.route(Route::FilterUsers), 0, "no per-user lookups");
    assert_eq!(w.zoom_members().len(), 2_000);
    let zoom_user = w.zoom.user_by_name("user000007@example.com").unwrap();
    assert_eq!(zoom_user.title.as_deref(), Some("Engineer 0"));
    assert_eq!(zoom_user.given_name.as_deref(), Some("Given7"));

    // 2. Nothing changed: zero writes, zero per-user reads.
    w.zoom.reset_requests();
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!(r.plan.unchanged, 2_000);
    assert_eq!(writes(&w), 0);
    let c = w.zoom.request_counts();
    assert_eq!(c.route(Route::GetUser) + c.route(Route::FilterUsers) + c.route(Route::ListUsers), 0);

    // 3. Three titles changed: exactly three updates carrying only the title.
    for uid in ["user000010", "user000020", "user000030"] {
        w.set_attribute(uid, "title", "Director");
    }
    w.zoom.reset_requests();
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!(r.succeeded(Action::Update), 3, "{}", r.summary());
    assert_eq!(w.zoom.request_counts().route(Route::PutUser), 3);
    assert_eq!(writes(&w), 3);
    for o in &r.outcomes {
        let fields: Vec<Field> = o.changes.iter().map(|c| c.field).collect();
        assert_eq!(fields, vec![Field::Title], "{}", o.user_name);
    }
    assert_eq!(w.zoom.user_by_name("user000020@example.com").unwrap().title.as_deref(), Some("Director"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renames_deactivations_and_reactivation_keep_the_zoom_id() {
    let w = World::start(&data::active_people_ldif(50)).await;
    w.cycle(CycleOptions::default()).await;
    let before = w.zoom.user_by_name("user000001@example.com").unwrap();

    // 4. mail (userName) changed: an update of the same Zoom id; no create, no deactivation.
    w.zoom.update_knobs(|k| k.ignore_identity_changes = false).unwrap();
    w.set_attribute("user000001", "mail", "renamed@example.com");
    w.zoom.reset_requests();
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!(r.succeeded(Action::Update), 1, "{}", r.summary());
    let c = w.zoom.request_counts();
    assert_eq!((c.route(Route::CreateUser), c.route(Route::PatchUser), c.route(Route::PutUser)), (0, 0, 1));
    assert_eq!(w.zoom.user(&before.id).unwrap().user_name, "renamed@example.com");

    // Zoom answering 200 but keeping the old userName: a visible warning, not a retry loop.
    w.zoom.update_knobs(|k| k.ignore_identity_changes = true).unwrap();
    w.set_attribute("user000002", "mail", "kept@example.com");
    let r = w.cycle(CycleOptions::default()).await;
    let o = r.outcomes.iter().find(|o| o.user_name == "kept@example.com").unwrap();
    assert!(matches!(&o.result, OutcomeResult::Warning(w) if w.contains("kept userName")), "{:?}", o.result);
    w.zoom.reset_requests();
    let again = w.cycle(CycleOptions::default()).await;
    assert_eq!(writes(&w), 0, "the refused rename is not retried: {}", again.summary());

    // 5. Five users disabled or removed: five deactivations; one re-enabled: same id back.
    for uid in ["user000010", "user000011", "user000012"] {
        w.set_attribute(uid, "employeeType", "former");
    }
    w.delete_user("user000013");
    w.delete_user("user000014");
    w.zoom.reset_requests();
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!(r.succeeded(Action::Deactivate), 5, "{}", r.summary());
    assert_eq!(w.zoom.request_counts().route(Route::PatchUser), 5);
    let id10 = w.zoom.user_by_name("user000010@example.com").unwrap().id;
    assert_eq!(w.zoom.user(&id10).unwrap().state, UserState::Inactive);
    w.set_attribute("user000010", "employeeType", "staff");
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!(r.succeeded(Action::Reactivate), 1, "{}", r.summary());
    assert_eq!(w.zoom.user(&id10).unwrap().state, UserState::Active);
    assert_eq!(w.zoom_members().len(), 50, "no user was created twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_zoom_users_are_adopted_and_conflicts_refused() {
    let w = World::start(&data::active_people_ldif(20)).await;
    // 6. Users already in Zoom with the same userName (one of them upper-case).
    let mut seeded = SeedUser::new("USER000003@example.com");
    seeded.attributes.insert("title".into(), "Old title".into());
    let existing = w.zoom.seed_user(seeded).unwrap();
    let existing2 = w.zoom.seed_user(SeedUser::new("user000004@example.com")).unwrap();
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!(r.reconcile.as_ref().unwrap().adopted, 2, "{}", r.summary());
    assert_eq!(r.succeeded(Action::Create), 18);
    assert_eq!(w.zoom_members().len(), 20, "adopted, never duplicated");
    assert_eq!(w.zoom.user(&existing.id).unwrap().title.as_deref(), Some("Engineer 3"));
    let store = w.store();
    let k = store.users().unwrap().into_iter().find(|k| k.zoom_id == existing2.id).unwrap();
    assert_eq!(k.origin, zoomsync::model::Origin::Adopted);
    drop(store);

    // A Zoom id already owned by another anchor is refused with a readable reason: user 5's
    // mail moves to user 6's old address while Zoom keeps user 5's old login.
    w.set_attribute("user000005", "mail", "moved@example.com");
    w.cycle(CycleOptions::default()).await; // Zoom keeps user000005@ (identity changes ignored)
    w.ldap_modify(&data::new_person_ldif(900, "user000005@example.com"));
    let r = w.cycle(CycleOptions::default()).await;
    let refused = r.outcomes.iter().find(|o| o.user_name == "user000005@example.com").unwrap();
    match &refused.result {
        OutcomeResult::Failed(reason) => assert!(reason.contains("already belongs to anchor"), "{reason}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(w.zoom_members().len(), 20);
}

// One thread, so a thread-local metrics recorder sees this test's cycles and no other's.
#[tokio::test(flavor = "current_thread")]
async fn guards_hold_mass_removal_until_approved() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let metrics = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);
    let w = World::start(&data::active_people_ldif(100)).await;
    w.cycle(CycleOptions::default()).await;
    // 7. 30% of the directory removed: nothing deactivated, the held operations visible.
    for i in 0..30 {
        w.delete_user(&format!("user{i:06}"));
    }
    w.zoom.reset_requests();
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!(r.plan.held.len(), 30);
    assert!(r.plan.guard.as_deref().unwrap().contains("approve"));
    assert_eq!(writes(&w), 0);
    let held = w.store().meta().unwrap().held.unwrap();
    assert_eq!(held.ops.len(), 30);
    let text = metrics.render();
    assert!(text.contains("zoomsync_held_operations 30"), "{text}");
    assert!(text.contains("zoomsync_cycles_total{outcome=\"attention\"}"), "{text}");

    let (code, out, err) = w.zoomsync_async(&["status"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("HELD: 30 operation(s)") && out.contains("zoomsync approve"), "{out}");

    let (code, out, err) = w.zoomsync_async(&["plan"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("GUARD:") && out.contains("(HELD)"), "{out}");
    assert_eq!(out.matches("(HELD)").count(), 30);

    let (code, out, err) = w.zoomsync_async(&["approve"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("approving 30 held operation(s)"), "{out}");
    assert_eq!(w.zoom.request_counts().route(Route::PatchUser), 30);
    assert!(w.store().meta().unwrap().held.is_none());
    let inactive = w.zoom_members().iter().filter(|u| u.state == UserState::Inactive).count();
    assert_eq!(inactive, 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_or_broken_read_deactivates_nobody() {
    let mut w = World::start(&data::active_people_ldif(3_000)).await;
    w.cycle(CycleOptions::default()).await;

    // An empty result (base DN with no people): held, nobody deactivated.
    w.extra_config = String::new();
    let text = std::fs::read_to_string(w.config_path())
        .unwrap()
        .replace("ou=people,dc=example,dc=com", "ou=groups,dc=example,dc=com");
    std::fs::write(w.config_path(), text).unwrap();
    w.zoom.reset_requests();
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!(r.users_read, 0);
    assert!(r.plan.guard.as_deref().unwrap().contains("no users"), "{:?}", r.plan.guard);
    assert_eq!(writes(&w), 0);
    w.write_config();

    // slapd stopped mid-read: INCOMPLETE, nobody deactivated.
    let config = w.config();
    let inner = zoomsync::source::AnyDirectory::from_config(&config.directory);
    // 3,000 users in pages of 500: slapd dies while later pages are still to come.
    let breaking = crate::support::world_directory::KillAfter::new(inner, w.slapd.pid(), 10);
    let r = w.cycle_with(&breaking, CycleOptions::default()).await;
    assert!(r.incomplete.is_some(), "{}", r.summary());
    assert_eq!(r.succeeded(Action::Deactivate), 0);
    assert_eq!(w.zoom_members().iter().filter(|u| u.state == UserState::Inactive).count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_sync_repairs_drift_made_directly_in_zoom() {
    let w = World::start(&data::active_people_ldif(30)).await;
    w.cycle(CycleOptions::default()).await;
    w.zoom.update_knobs(|k| k.ignore_identity_changes = false).unwrap();
    let renamed = w.zoom.user_by_name("user000003@example.com").unwrap();
    let mut edit = UserEdit { user_name: Some("someone-else@example.com".into()), ..Default::default() };
    // Zoom's list responses are trimmed (no title, no licences): a full reconcile repairs
    // what the list shows — existence, userName, names, active, department.
    edit.attributes.insert("name".into(), serde_json::json!({"givenName": "Edited in Zoom"}));
    w.zoom.edit_user(&renamed.id, edit).unwrap();
    let deleted = w.zoom.user_by_name("user000004@example.com").unwrap();
    w.zoom.remove_user(&deleted.id).unwrap();

    // An incremental cycle trusts state; the full one reads Zoom and puts both right.
    let r = w.cycle(CycleOptions { full: true, ..Default::default() }).await;
    let rec = r.reconcile.as_ref().unwrap();
    assert_eq!((rec.drift, rec.forgotten), (1, 1), "{}", r.summary());
    let fixed = w.zoom.user(&renamed.id).unwrap();
    assert_eq!(fixed.user_name, "user000003@example.com");
    assert_eq!(fixed.given_name.as_deref(), Some("Given3"));
    assert!(w.zoom.user_by_name("user000004@example.com").is_some(), "re-created");
    assert_eq!(w.zoom_members().len(), 30);
    let history =
        w.store().history(&HistoryFilter { user: Some("user000004@example.com".into()), since: None }, 10).unwrap();
    assert!(history.iter().filter(|h| h.action == "create").count() >= 2, "{history:?}");
    let lifecycle = w.store().users().unwrap().iter().filter(|k| k.lifecycle == Lifecycle::Active).count();
    assert_eq!(lifecycle, 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zoom_admins_are_never_deactivated() {
    let w = World::start(&data::active_people_ldif(10)).await;
    let mut admin = SeedUser::new("user000002@example.com");
    admin.role = Some(zoomsync::emulator::Role::Admin);
    let admin = w.zoom.seed_user(admin).unwrap();
    w.cycle(CycleOptions::default()).await; // adopted (the list shows no role)
    w.set_attribute("user000002", "employeeType", "former");
    let r = w.cycle(CycleOptions::default()).await;
    let o = r.outcomes.iter().find(|o| o.user_name == "user000002@example.com").unwrap();
    assert!(matches!(&o.result, OutcomeResult::Warning(w) if w.contains("owner or admin")), "{:?}", o.result);
    assert_eq!(w.zoom.user(&admin.id).unwrap().state, UserState::Active);
    w.zoom.reset_requests();
    let r = w.cycle(CycleOptions::default()).await;
    assert!(r.plan.skipped.iter().any(|s| s.reason.contains("owner or admin")), "{:?}", r.plan.skipped);
    assert_eq!(writes(&w), 0);
}
