//! The SCIM client's group operations against a scim2-server process (the same operations
//! against the Zoom emulator are in the hermetic tier's scim_client_groups.rs): create, find,
//! rename, membership in size-bounded PATCH batches, delete, and NotFound afterwards.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::support::fast_retries;
use crate::support::servers::scim2::Scim2Server;
use futures::StreamExt;
use zoomsync::config::{RateLimit, Secret, TargetAuth, TargetConfig, TargetKind};
use zoomsync::model::Anchor;
use zoomsync::model::{Field, MemberPatch, ScimUser};
use zoomsync::scim::group_body::member_batches;
use zoomsync::scim::{ScimClient, ScimError, Target};

/// The directory group anchor a create carries (marked on a generic server, not on Zoom).
fn group_anchor() -> zoomsync::model::Anchor {
    zoomsync::model::Anchor::new("dn:cn=engineering,ou=groups").unwrap()
}

fn scim2_client(s: &Scim2Server, tenant: &str) -> ScimClient {
    let cfg = TargetConfig {
        kind: TargetKind::Scim,
        base_url: url::Url::parse(&s.tenant_url(tenant)).unwrap(),
        auth: TargetAuth::Bearer { token: Secret::from_value(&s.token) },
        rate: RateLimit { light_per_second: 500.0, medium_per_second: 500.0 },
        max_concurrency: 4,
        ca_file: None,
        timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(2),
    };
    zoomsync::install_crypto_provider();
    ScimClient::new(&cfg).unwrap().with_retry_policy(fast_retries())
}

/// Sends every batch, in order, as the engine will.
async fn apply(c: &ScimClient, gid: &str, batches: &[MemberPatch]) {
    for b in batches {
        c.patch_members(gid, b).await.unwrap();
    }
}

fn set(ids: &[String]) -> BTreeSet<String> {
    ids.iter().cloned().collect()
}

fn not_found(r: Result<impl std::fmt::Debug, ScimError>) {
    assert!(matches!(r, Err(ScimError::NotFound { .. })), "{r:?}");
}

#[tokio::test]
async fn scim2_server_group_lifecycle_and_batches() {
    let s = Scim2Server::start();
    let c = scim2_client(&s, "groups");
    let ids: Vec<String> = futures::stream::iter(0..300)
        .map(|i| {
            let c = &c;
            async move {
                let mut u = ScimUser { active: true, ..ScimUser::default() };
                u.fields.insert(Field::UserName, format!("user{i:03}"));
                c.create_user(&Anchor::new(&format!("a-{i}")).unwrap(), &u).await.unwrap().id
            }
        })
        .buffered(4)
        .collect()
        .await;

    assert_eq!(c.find_group("Engineering").await.unwrap(), None);
    let g = c.create_group(&group_anchor(), "Engineering").await.unwrap();
    assert_eq!(g.display_name, "Engineering");
    assert!(g.marked_for(&group_anchor()), "a generic server keeps the mark: {g:?}");
    let found = c.find_group("engineering").await.unwrap().unwrap();
    assert_eq!(found.id, g.id);
    assert!(found.marked_for(&group_anchor()), "and shows it in lists: {found:?}");
    // scim2-server leaves out an empty members list: unknown, like Zoom
    assert_eq!(c.get_group(&g.id).await.unwrap().members, None);

    let renamed = r#"R&D "Platform" \ Ärzte"#;
    c.rename_group(&g.id, renamed).await.unwrap();
    assert_eq!(c.get_group(&g.id).await.unwrap().display_name, renamed);
    assert_eq!(c.find_group(renamed).await.unwrap().unwrap().id, g.id, "quotes and backslash escaped");

    // 300 adds under a 3,000-character limit: several PATCHes, all applied
    let patches_before = s.request_lines().iter().filter(|l| l.contains("\"PATCH /groups/v2/Groups/")).count();
    let adds = member_batches(&ids, &[], 3_000);
    assert!(adds.len() >= 5, "{}", adds.len());
    apply(&c, &g.id, &adds).await;
    let members = c.get_group(&g.id).await.unwrap().members.unwrap();
    assert_eq!((members.len(), set(&members)), (300, set(&ids)));
    let patches =
        s.request_lines().iter().filter(|l| l.contains("\"PATCH /groups/v2/Groups/")).count() - patches_before;
    assert_eq!(patches, adds.len(), "one PATCH per batch");

    // RFC 7644 filter-form removes, mixed with adds of members already there
    let (leaving, staying) = ids.split_at(120);
    let batches = member_batches(&staying[..50], leaving, 3_000);
    assert!(batches.iter().filter(|b| matches!(b, MemberPatch::Remove(_))).count() >= 3);
    apply(&c, &g.id, &batches).await;
    let members = c.get_group(&g.id).await.unwrap().members.unwrap();
    assert_eq!(set(&members), set(staying));
    // removing someone who is not a member is accepted (as on Zoom's emulator)
    c.patch_members(&g.id, &MemberPatch::Remove(leaving[..3].to_vec())).await.unwrap();

    // scim2-server does not keep group names unique: a second create succeeds, which is
    // why the engine finds before it creates; find then prefers the exact spelling
    let twin = c.create_group(&group_anchor(), "ENGINEERING").await.unwrap();
    assert_ne!(twin.id, g.id);
    let exact = c.create_group(&group_anchor(), "Engineering").await.unwrap();
    assert_eq!(c.find_group("Engineering").await.unwrap().unwrap().id, exact.id);
    assert_eq!(c.find_group("ENGINEERING").await.unwrap().unwrap().id, twin.id);

    c.delete_group(&g.id).await.unwrap();
    not_found(c.get_group(&g.id).await);
    not_found(c.delete_group(&g.id).await);
    not_found(c.rename_group(&g.id, "Again").await);
    not_found(c.patch_members(&g.id, &MemberPatch::Add(ids[..1].to_vec())).await);
    assert_eq!(c.find_group(renamed).await.unwrap(), None);
}
