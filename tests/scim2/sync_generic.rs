//! The engine's cases 1-5 against a real generic SCIM server (scim2-server from PyPI) with
//! the `scim` profile: PATCH operations, bearer token, externalId = anchor.

use crate::support::data;
use crate::support::servers::scim2::Scim2Server;
use crate::support::world::World;
use serde_json::Value;
use zoomsync::model::Field;
use zoomsync::plan::Action;
use zoomsync::sync::CycleOptions;

/// Requests scim2-server logged (wsgiref access log) for `method`, since `from` lines.
fn logged(server: &Scim2Server, from: usize, method: &str) -> usize {
    server.request_lines().iter().skip(from).filter(|l| l.contains(&format!("\"{method} /"))).count()
}

fn log_len(server: &Scim2Server) -> usize {
    server.requests_logged()
}

async fn users(server: &Scim2Server, tenant: &str) -> Vec<Value> {
    let client = reqwest::Client::new();
    let mut out = Vec::new();
    loop {
        let url = server.inspection_url(tenant, &format!("Users?startIndex={}&count=1000", out.len() + 1));
        let page: Value = client.get(url).bearer_auth(&server.token).send().await.unwrap().json().await.unwrap();
        let resources = page["Resources"].as_array().cloned().unwrap_or_default();
        if resources.is_empty() {
            return out;
        }
        out.extend(resources);
    }
}

fn by_name<'a>(all: &'a [Value], user_name: &str) -> &'a Value {
    all.iter().find(|u| u["userName"].as_str() == Some(user_name)).unwrap_or_else(|| panic!("{user_name} missing"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_one_to_five_against_scim2_server() {
    zoomsync::install_crypto_provider();
    let server = Scim2Server::start();
    let tenant = "engine";
    let mut w = World::start(&data::active_people_ldif(2_000)).await;
    w.use_scim2(&server, tenant);
    w.write_config();

    // 1. 2,000 users: one POST each, no per-user lookups.
    let start = log_len(&server);
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!(r.succeeded(Action::Create), 2_000, "{}", r.summary());
    assert_eq!(logged(&server, start, "POST"), 2_000);
    let all = users(&server, tenant).await;
    assert_eq!(all.len(), 2_000);
    let u7 = by_name(&all, "user000007@example.com");
    assert_eq!(u7["title"], "Engineer 0");
    assert_eq!(u7["name"]["givenName"], "Given7");
    let anchor = w.store_anchor("user000007@example.com");
    assert_eq!(u7["externalId"].as_str(), Some(anchor.as_str()), "the anchor goes out as externalId");

    // 2. Nothing changed: no requests at all.
    let start = log_len(&server);
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!(r.plan.unchanged, 2_000);
    assert_eq!(log_len(&server), start, "no-change cycle sent requests");

    // 3. Three titles: three PATCHes with only the title.
    for uid in ["user000010", "user000020", "user000030"] {
        w.set_attribute(uid, "title", "Director");
    }
    let start = log_len(&server);
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!(r.succeeded(Action::Update), 3, "{}", r.summary());
    assert_eq!(logged(&server, start, "PATCH"), 3);
    for o in &r.outcomes {
        assert_eq!(o.changes.iter().map(|c| c.field).collect::<Vec<_>>(), vec![Field::Title]);
    }
    let all = users(&server, tenant).await;
    assert_eq!(by_name(&all, "user000020@example.com")["title"], "Director");

    // 4. A new mail: the same SCIM id, renamed; nothing created or deactivated.
    let id1 = by_name(&all, "user000001@example.com")["id"].as_str().unwrap().to_string();
    w.set_attribute("user000001", "mail", "renamed@example.com");
    let start = log_len(&server);
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!(r.succeeded(Action::Update), 1, "{}", r.summary());
    assert_eq!((logged(&server, start, "POST"), logged(&server, start, "DELETE")), (0, 0));
    let all = users(&server, tenant).await;
    assert_eq!(by_name(&all, "renamed@example.com")["id"].as_str(), Some(id1.as_str()));
    assert_eq!(all.len(), 2_000);

    // 5. Five disabled or removed: five deactivations; one back: the same id active again.
    for uid in ["user000040", "user000041", "user000042"] {
        w.set_attribute(uid, "employeeType", "former");
    }
    w.delete_user("user000043");
    w.delete_user("user000044");
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!(r.succeeded(Action::Deactivate), 5, "{}", r.summary());
    let all = users(&server, tenant).await;
    let inactive: Vec<&Value> = all.iter().filter(|u| u["active"] == Value::Bool(false)).collect();
    assert_eq!(inactive.len(), 5);
    let id40 = by_name(&all, "user000040@example.com")["id"].clone();
    w.set_attribute("user000040", "employeeType", "staff");
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!(r.succeeded(Action::Reactivate), 1, "{}", r.summary());
    let all = users(&server, tenant).await;
    let back = by_name(&all, "user000040@example.com");
    assert_eq!((back["id"].clone(), back["active"].clone()), (id40, Value::Bool(true)));
    assert_eq!(all.len(), 2_000);
}

/// Creates a user on the server as another tool would: no externalId.
async fn seed_user(server: &Scim2Server, tenant: &str, user_name: &str) -> String {
    let body = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name, "active": true
    });
    let client = reqwest::Client::new();
    let created: Value = client
        .post(format!("{}Users", server.tenant_url(tenant)))
        .bearer_auth(&server.token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(created.get("externalId").is_none(), "{created}");
    created["id"].as_str().unwrap().to_string()
}

/// A world on its own scim2-server tenant with five people.
async fn adoption_world(server: &Scim2Server, tenant: &str) -> World {
    let mut w = World::start(&data::active_people_ldif(5)).await;
    w.use_scim2(server, tenant);
    w.write_config();
    w
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_adopted_by_the_full_reconcile_gets_the_anchor_as_external_id() {
    zoomsync::install_crypto_provider();
    let server = Scim2Server::start();
    let tenant = "reconcile";
    let w = adoption_world(&server, tenant).await;

    // On the server before the first cycle: adopted by the full reconcile (by userName).
    let id1 = seed_user(&server, tenant, "user000001@example.com").await;
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!(r.reconcile.as_ref().map(|s| s.adopted), Some(1), "{}", r.summary());
    assert_eq!(r.succeeded(Action::Create), 4, "{}", r.summary());
    let all = users(&server, tenant).await;
    let u1 = by_name(&all, "user000001@example.com");
    assert_eq!(u1["id"].as_str(), Some(id1.as_str()), "adopted, not duplicated");
    let anchor1 = w.store_anchor("user000001@example.com");
    assert_eq!(u1["externalId"].as_str(), Some(anchor1.as_str()), "adopted by the reconcile: {u1}");

    let start = log_len(&server);
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!(log_len(&server), start, "no-change cycle sent requests: {}", r.summary());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_adopted_after_a_409_gets_the_anchor_as_external_id() {
    zoomsync::install_crypto_provider();
    let server = Scim2Server::start();
    let tenant = "conflict";
    let w = adoption_world(&server, tenant).await;
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!(r.succeeded(Action::Create), 5, "{}", r.summary());

    // Made on the server after the first cycle, then hired in the directory: the create
    // answers 409 and the user is adopted.
    let id9 = seed_user(&server, tenant, "user000009@example.com").await;
    w.ldap_modify(&data::new_person_ldif(9, "user000009@example.com"));
    let r = w.cycle(CycleOptions::default()).await;
    assert!(r.reconcile.is_none(), "no full reconcile this cycle: {}", r.summary());
    assert_eq!(r.succeeded(Action::Create), 1, "{}", r.summary());
    assert!(r.outcomes.iter().any(|o| o.result.detail().is_some_and(|d| d.contains("adopted"))), "{:?}", r.outcomes);
    let all = users(&server, tenant).await;
    let u9 = by_name(&all, "user000009@example.com");
    assert_eq!(u9["id"].as_str(), Some(id9.as_str()));
    let anchor9 = w.store_anchor("user000009@example.com");
    assert_eq!(u9["externalId"].as_str(), Some(anchor9.as_str()), "adopted after a 409: {u9}");
    assert_eq!(all.len(), 6);

    // Settled: nothing more to send.
    let start = log_len(&server);
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!(log_len(&server), start, "no-change cycle sent requests: {}", r.summary());
}
