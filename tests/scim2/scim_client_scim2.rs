//! The SCIM client's generic profile against a real scim2-server process (python-scim, from
//! the test venv): create with externalId, PATCH updates answered 204, paging past its
//! pages, and its error answers. Each test uses its own tenant of one shared server.

use std::time::Duration;

use crate::support::servers::scim2::Scim2Server;
use zoomsync::config::{RateLimit, Secret, TargetAuth, TargetConfig, TargetKind};
use zoomsync::model::Anchor;
use zoomsync::model::{Change, Field, ScimUser};
use zoomsync::scim::{RetryPolicy, ScimClient, ScimError, Target};

fn target(base: &str, token: &str) -> TargetConfig {
    TargetConfig {
        kind: TargetKind::Scim,
        base_url: url::Url::parse(base).unwrap(),
        auth: TargetAuth::Bearer { token: Secret::from_value(token) },
        rate: RateLimit { light_per_second: 500.0, medium_per_second: 500.0 },
        max_concurrency: 4,
        ca_file: None,
        timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(2),
    }
}

fn client(s: &Scim2Server, tenant: &str) -> ScimClient {
    zoomsync::install_crypto_provider();
    let policy = RetryPolicy { base_delay: Duration::from_millis(20), ..RetryPolicy::default() };
    ScimClient::new(&target(&s.tenant_url(tenant), &s.token)).unwrap().with_retry_policy(policy)
}

fn user(name: &str) -> ScimUser {
    let mut u = ScimUser { active: true, ..ScimUser::default() };
    for (f, v) in [
        (Field::UserName, name),
        (Field::GivenName, "Alice"),
        (Field::FamilyName, "Smith"),
        (Field::DisplayName, "Alice Smith"),
        (Field::WorkEmail, "alice@example.com"),
        (Field::Title, "Engineer"),
        (Field::Department, "R+D"),
        (Field::EmployeeNumber, "42"),
    ] {
        u.fields.insert(f, v.to_string());
    }
    u
}

fn change(field: Field, old: Option<&str>, new: Option<&str>) -> Change {
    Change { field, old: old.map(str::to_string), new: new.map(str::to_string) }
}

#[tokio::test]
async fn crud_round_trip() {
    let s = Scim2Server::start();
    let c = client(&s, "crud");
    let anchor = Anchor::new("4C2D8246-7B01-1041-92B7-BFB3B0785055").unwrap();
    let created = c.create_user(&anchor, &user("alice")).await.unwrap();
    assert_eq!(created.user, user("alice"), "everything sent comes back");
    assert!(!created.privileged && !created.pending);
    assert_eq!(c.get_user(&created.id).await.unwrap(), created);

    // PATCH answers 204 there: the client reads the user back
    let updated = c
        .update_user(
            &created.id,
            &[
                change(Field::GivenName, Some("Alice"), Some("Alicia")),
                change(Field::Title, Some("Engineer"), None),
                change(Field::WorkPhone, None, Some("+1 555 0001")),
                change(Field::Department, Some("R+D"), Some("Ops")),
            ],
        )
        .await
        .unwrap();
    assert_eq!(updated.user.get(Field::GivenName), Some("Alicia"));
    assert_eq!(updated.user.get(Field::Title), None);
    assert_eq!(updated.user.get(Field::WorkPhone), Some("+1 555 0001"));
    assert_eq!(updated.user.get(Field::Department), Some("Ops"));
    assert_eq!(updated.user.get(Field::EmployeeNumber), Some("42"), "PATCH leaves the rest alone");
    let updated = c
        .update_user(
            &created.id,
            &[
                change(Field::WorkPhone, Some("+1 555 0001"), Some("+1 555 0002")),
                change(Field::WorkEmail, Some("alice@example.com"), None),
            ],
        )
        .await
        .unwrap();
    assert_eq!(updated.user.get(Field::WorkPhone), Some("+1 555 0002"));
    assert_eq!(updated.user.get(Field::WorkEmail), None);
    assert_eq!(c.update_user(&created.id, &[]).await.unwrap(), updated);

    c.set_active(&created.id, false).await.unwrap();
    assert!(!c.get_user(&created.id).await.unwrap().user.active);
    c.set_active(&created.id, true).await.unwrap();
    assert!(c.get_user(&created.id).await.unwrap().user.active);

    assert_eq!(c.find_user("ALICE").await.unwrap().unwrap().id, created.id);
    assert_eq!(c.find_user("bob").await.unwrap(), None);
    assert_eq!(c.find_user("we\"ird\\name").await.unwrap(), None, "quotes and backslashes are escaped");

    c.delete_user(&created.id).await.unwrap();
    assert!(matches!(c.get_user(&created.id).await, Err(ScimError::NotFound { .. })));
    assert!(matches!(c.delete_user(&created.id).await, Err(ScimError::NotFound { .. })));
}

#[tokio::test]
async fn list_pages_by_resources_returned() {
    let s = Scim2Server::start();
    let c = client(&s, "paging");
    use futures::StreamExt;
    let created: Vec<_> = futures::stream::iter(0..230)
        .map(|i| {
            let c = &c;
            async move {
                let anchor = Anchor::new(&format!("a-{i}")).unwrap();
                let mut u = ScimUser { active: true, ..ScimUser::default() };
                u.fields.insert(Field::UserName, format!("user{i:03}"));
                c.create_user(&anchor, &u).await.unwrap().id
            }
        })
        .buffer_unordered(4)
        .collect()
        .await;
    let listed = c.list_users().await.unwrap();
    assert_eq!(listed.len(), 230);
    let mut a: Vec<_> = created;
    let mut b: Vec<_> = listed.into_iter().map(|u| u.id).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    assert!(client(&s, "empty-tenant").list_users().await.unwrap().is_empty());
}

#[tokio::test]
async fn errors_are_classified() {
    let s = Scim2Server::start();
    let c = client(&s, "errors");
    let anchor = Anchor::new("x-1").unwrap();
    c.create_user(&anchor, &user("carol")).await.unwrap();
    let err = c.create_user(&anchor, &user("carol")).await.unwrap_err();
    assert!(matches!(err, ScimError::Conflict { .. }), "{err:?}");
    let id = c.find_user("carol").await.unwrap().unwrap().id;
    let err = c.update_user("no-such-id", &[change(Field::Title, None, Some("x"))]).await.unwrap_err();
    assert!(matches!(err, ScimError::NotFound { .. }), "{err:?}");
    // replacing a work phone the user does not have: the server refuses this object's data
    let err = c.update_user(&id, &[change(Field::WorkPhone, Some("+1"), Some("+2"))]).await.unwrap_err();
    let ScimError::Rejected { status: 400, detail } = &err else { panic!("expected Rejected, got {err:?}") };
    assert!(detail.contains("path filter"), "{detail}");

    let wrong_token = ScimClient::new(&target(&s.tenant_url("errors"), "not-the-token")).unwrap();
    let err = wrong_token.list_users().await.unwrap_err();
    let ScimError::Fatal { detail } = &err else { panic!("expected Fatal, got {err:?}") };
    assert!(detail.contains("401") && !detail.contains("not-the-token"), "{detail}");

    let wrong_url = ScimClient::new(&target(&format!("http://127.0.0.1:{}/errors/v3/", s.port), &s.token)).unwrap();
    let err = wrong_url.find_user("carol").await.unwrap_err();
    assert!(matches!(&err, ScimError::Fatal { detail } if detail.contains("target.base_url")), "{err:?}");
}
