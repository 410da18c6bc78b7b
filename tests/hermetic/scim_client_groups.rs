//! The SCIM client's group operations against the in-process Zoom emulator (against a
//! scim2-server process: the scim2 tier's scim_client_groups.rs). Create, find (present,
//! absent, other case), get, rename, membership in size-bounded PATCH batches, remove, delete,
//! and the error classes.

use std::collections::BTreeSet;

use crate::support::fast_retries;
use zoomsync::emulator::{Emulator, EmulatorConfig, FaultConfig, FaultSpec, Route, RunningEmulator, SeedUser};
use zoomsync::model::MemberPatch;
use zoomsync::scim::group_body::{ZOOM_PATCH_MAX_CHARS, member_batches, member_patch_body};
use zoomsync::scim::{ScimClient, ScimError, Target};

/// The directory group anchor a create carries (marked on a generic server, not on Zoom).
fn group_anchor() -> zoomsync::model::Anchor {
    zoomsync::model::Anchor::new("dn:cn=engineering,ou=groups").unwrap()
}

async fn emulator() -> (RunningEmulator, ScimClient) {
    let mut config = EmulatorConfig::unlimited();
    config.knobs.ids_with_ampersand = true;
    let emu = Emulator::start(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let cfg = emu.target_config().unwrap();
    zoomsync::install_crypto_provider();
    let c = ScimClient::new(&cfg).unwrap().with_retry_policy(fast_retries());
    (emu, c)
}

/// Sends every batch, in order, as the engine will.
async fn apply(c: &ScimClient, gid: &str, batches: &[MemberPatch]) {
    for b in batches {
        c.patch_members(gid, b).await.unwrap();
    }
}

fn emu_members(emu: &RunningEmulator, gid: &str) -> BTreeSet<String> {
    emu.group(gid).unwrap().members
}

fn set(ids: &[String]) -> BTreeSet<String> {
    ids.iter().cloned().collect()
}

fn not_found(r: Result<impl std::fmt::Debug, ScimError>) {
    assert!(matches!(r, Err(ScimError::NotFound { .. })), "{r:?}");
}

#[tokio::test]
async fn emulator_group_lifecycle() {
    let (emu, c) = emulator().await;
    assert_eq!(c.find_group("Engineering").await.unwrap(), None);

    let g = c.create_group(&group_anchor(), "Engineering").await.unwrap();
    assert!(g.id.contains('&'), "knob makes ids contain &: {}", g.id);
    assert_eq!((g.display_name.as_str(), &g.members), ("Engineering", &None), "Zoom shows no members");
    assert_eq!(g.external_id, None, "Zoom keeps no group externalId: no mark is sent");
    let stored = emu.group(&g.id).unwrap();
    assert_eq!((stored.display_name.as_str(), stored.members.len()), ("Engineering", 0));

    assert_eq!(c.find_group("Engineering").await.unwrap().unwrap().id, g.id);
    assert_eq!(c.find_group("ENGINEERING").await.unwrap().unwrap().id, g.id, "names match in any case");
    assert_eq!(c.find_group("Engineer").await.unwrap(), None);
    let got = c.get_group(&g.id).await.unwrap();
    assert_eq!(got, g);

    // Zoom's only text for a taken name is 400 "Create group failed.": the client looks
    // the name up and says Conflict, naming the group that has it
    let Err(ScimError::Conflict { detail }) = c.create_group(&group_anchor(), "engineering").await else {
        panic!("conflict expected")
    };
    assert!(detail.contains(&g.id) && detail.contains("Create group failed."), "{detail}");
    // a refusal with no group behind it stays Rejected
    let long = "x".repeat(200);
    assert!(matches!(c.create_group(&group_anchor(), &long).await, Err(ScimError::Rejected { status: 400, .. })));

    let renamed = r#"R&D "Platform" Ärzte"#;
    c.rename_group(&g.id, renamed).await.unwrap();
    assert_eq!(emu.group(&g.id).unwrap().display_name, renamed);
    assert_eq!(c.find_group(renamed).await.unwrap().unwrap().id, g.id, "quotes are escaped in the filter");
    assert_eq!(c.find_group("Engineering").await.unwrap(), None);
    let other = c.create_group(&group_anchor(), "Sales").await.unwrap();
    assert!(matches!(c.rename_group(&other.id, renamed).await, Err(ScimError::Rejected { status: 400, .. })));

    // the knob that makes Get group show members (as generic servers do)
    emu.update_knobs(|k| k.group_get_includes_members = true).unwrap();
    assert_eq!(c.get_group(&g.id).await.unwrap().members, Some(vec![]));
    emu.update_knobs(|k| k.group_get_includes_members = false).unwrap();

    // the account's default group cannot go
    let default = emu.groups().into_iter().find(|g| g.is_default).unwrap();
    assert!(matches!(c.delete_group(&default.id).await, Err(ScimError::Rejected { status: 400, .. })));

    c.delete_group(&g.id).await.unwrap();
    assert!(emu.group(&g.id).is_none());
    not_found(c.get_group(&g.id).await);
    not_found(c.delete_group(&g.id).await);
    not_found(c.rename_group(&g.id, "Again").await);
    not_found(c.patch_members(&g.id, &MemberPatch::Add(vec![default.id.clone()])).await);
    assert_eq!(c.find_group(renamed).await.unwrap(), None);
    let counts = emu.request_counts();
    assert_eq!(counts.route_status(Route::DeleteGroup, 204), 1);
    assert_eq!(counts.route_status(Route::DeleteGroup, 404), 1);
}

#[tokio::test]
async fn emulator_five_thousand_members_in_bounded_batches() {
    let (emu, c) = emulator().await;
    let ids: Vec<String> =
        (0..5_000).map(|i| emu.seed_user(SeedUser::new(format!("u{i:04}@example.com"))).unwrap().id).collect();
    // The emulator refuses bodies over its knob with 400. One character less than Zoom's
    // limit proves every body is strictly shorter than ZOOM_PATCH_MAX_CHARS.
    emu.update_knobs(|k| k.group_patch_max_chars = ZOOM_PATCH_MAX_CHARS - 1).unwrap();
    let g = c.create_group(&group_anchor(), "All staff").await.unwrap();

    let adds = member_batches(&ids, &[], ZOOM_PATCH_MAX_CHARS);
    let sizes: Vec<usize> = adds.iter().map(|b| member_patch_body(b).chars().count()).collect();
    assert_eq!(adds.len(), 2, "{sizes:?}");
    assert!(sizes[0] > ZOOM_PATCH_MAX_CHARS - 40 && sizes.iter().all(|s| *s < ZOOM_PATCH_MAX_CHARS), "{sizes:?}");
    emu.reset_requests();
    apply(&c, &g.id, &adds).await;
    assert_eq!(emu_members(&emu, &g.id), set(&ids));
    let counts = emu.request_counts();
    assert_eq!(counts.route_status(Route::PatchGroup, 204), 2);
    assert_eq!((counts.route(Route::PatchGroup), counts.status(400)), (2, 0), "no body was refused");

    // remove every other member: one remove operation each, twice the characters of an add
    let leaving: Vec<String> = ids.iter().step_by(2).cloned().collect();
    let staying: Vec<String> = ids.iter().skip(1).step_by(2).cloned().collect();
    let removes = member_batches(&[], &leaving, ZOOM_PATCH_MAX_CHARS);
    assert_eq!(removes.len(), 2);
    apply(&c, &g.id, &removes).await;
    assert_eq!(emu_members(&emu, &g.id), set(&staying));

    // a small limit: many PATCHes, removes before adds, all applied
    emu.reset_requests();
    let batches = member_batches(&leaving[..600], &staying[..400], 2_000);
    let first_add = batches.iter().position(|b| matches!(b, MemberPatch::Add(_))).unwrap();
    assert!(first_add >= 10 && batches[first_add..].iter().all(|b| matches!(b, MemberPatch::Add(_))));
    assert!(batches.iter().all(|b| member_patch_body(b).chars().count() < 2_000));
    apply(&c, &g.id, &batches).await;
    assert_eq!(emu.request_counts().route_status(Route::PatchGroup, 204), batches.len() as u64);
    let want: BTreeSet<String> = staying[400..].iter().chain(&leaving[..600]).cloned().collect();
    assert_eq!(emu_members(&emu, &g.id), want);

    // an id the account does not have is Zoom's 400, the batch is refused as a whole
    let bad = MemberPatch::Add(vec![staying[0].clone(), "no-such-user".to_string()]);
    assert!(matches!(c.patch_members(&g.id, &bad).await, Err(ScimError::Rejected { status: 400, .. })));
    assert!(!emu_members(&emu, &g.id).contains(&staying[0]));
    // nothing to send is not a request
    emu.reset_requests();
    c.patch_members(&g.id, &MemberPatch::Remove(vec![])).await.unwrap();
    assert_eq!(emu.request_counts().total, 0);
}

#[tokio::test]
async fn emulator_lost_answers() {
    let (emu, c) = emulator().await;
    let ids: Vec<String> =
        (0..20).map(|i| emu.seed_user(SeedUser::new(format!("u{i:02}@example.com"))).unwrap().id).collect();
    let lose_once = FaultSpec { drop_rate: 1.0, apply_before_fault: true, times: Some(1), ..FaultSpec::default() };

    // a member PATCH applied but unanswered is sent again; adding twice changes nothing
    let g = c.create_group(&group_anchor(), "Ops").await.unwrap();
    let mut faults = FaultConfig::default();
    faults.routes.insert(Route::PatchGroup.key().to_string(), lose_once.clone());
    emu.set_faults(faults).unwrap();
    c.patch_members(&g.id, &MemberPatch::Add(ids.clone())).await.unwrap();
    assert_eq!(emu_members(&emu, &g.id), set(&ids));
    assert_eq!(emu.request_counts().route(Route::PatchGroup), 2);

    // a create applied but unanswered: the retry meets "Create group failed.", the lookup
    // finds the group the first attempt made
    let mut faults = FaultConfig::default();
    faults.routes.insert(Route::CreateGroup.key().to_string(), lose_once);
    emu.set_faults(faults).unwrap();
    let Err(ScimError::Conflict { detail }) = c.create_group(&group_anchor(), "Finance").await else {
        panic!("conflict expected")
    };
    let made = emu.groups().into_iter().find(|g| g.display_name == "Finance").unwrap();
    assert!(detail.contains(&made.id) && detail.contains("lost its answer"), "{detail}");
}
