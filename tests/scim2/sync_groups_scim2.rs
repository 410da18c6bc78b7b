//! Group push against a real generic SCIM server (scim2-server from PyPI) with slapd:
//! flattened nesting and a cycle, a move costing one remove and one add, a no-change cycle
//! costing nothing, a 3,000-member group in several PATCHes, a pre-existing group linked.

use std::collections::{BTreeMap, BTreeSet};

use crate::support::data;
use crate::support::data::groups::{enabled, group_of_names, membership_change, names_of, user_name};
use crate::support::servers::scim2::Scim2Server;
use crate::support::world::World;
use serde_json::Value;
use zoomsync::plan::Action;
use zoomsync::state::StateStore;
use zoomsync::sync::CycleOptions;

const TENANT: &str = "groups";

/// Requests scim2-server logged (wsgiref access log) matching `method path-prefix`, since `from`.
fn logged(server: &Scim2Server, from: usize, needle: &str) -> usize {
    server.request_lines().iter().skip(from).filter(|l| l.contains(needle)).count()
}

fn log_len(server: &Scim2Server) -> usize {
    server.requests_logged()
}

async fn get_all(server: &Scim2Server, collection: &str) -> Vec<Value> {
    let client = reqwest::Client::new();
    let mut out = Vec::new();
    loop {
        let url = server.inspection_url(TENANT, &format!("{collection}?startIndex={}&count=1000", out.len() + 1));
        let page: Value = client.get(url).bearer_auth(&server.token).send().await.unwrap().json().await.unwrap();
        let resources = page["Resources"].as_array().cloned().unwrap_or_default();
        if resources.is_empty() {
            return out;
        }
        out.extend(resources);
    }
}

/// Group displayName -> userNames of its members, read back from the server.
async fn server_groups(server: &Scim2Server) -> BTreeMap<String, BTreeSet<String>> {
    let users: BTreeMap<String, String> = get_all(server, "Users")
        .await
        .into_iter()
        .map(|u| (u["id"].as_str().unwrap().to_string(), u["userName"].as_str().unwrap().to_string()))
        .collect();
    let client = reqwest::Client::new();
    let mut out = BTreeMap::new();
    for g in get_all(server, "Groups").await {
        let url = server.inspection_url(TENANT, &format!("Groups/{}", g["id"].as_str().unwrap()));
        let full: Value = client.get(url).bearer_auth(&server.token).send().await.unwrap().json().await.unwrap();
        let members = full["members"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|m| users.get(m["value"].as_str().unwrap()).cloned().unwrap_or_else(|| format!("?{m}")))
            .collect();
        out.insert(full["displayName"].as_str().unwrap().to_string(), members);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_scenarios_against_scim2_server() {
    zoomsync::install_crypto_provider();
    let server = Scim2Server::start();
    let mut ldif = data::people_ldif(3_000);
    ldif.push_str(&group_of_names("Zoom Phone Users", 0..20, &["Phone Team A"]));
    ldif.push_str(&group_of_names("Phone Team A", 20..30, &["Phone Team B"]));
    ldif.push_str(&group_of_names("Phone Team B", 30..40, &["Phone Team C"]));
    ldif.push_str(&group_of_names("Phone Team C", 40..50, &[]));
    ldif.push_str(&group_of_names("CC Agents", 100..110, &["CC Backup"]));
    ldif.push_str(&group_of_names("CC Backup", 110..120, &["CC Agents"]));
    ldif.push_str(&group_of_names("All Staff", 0..3_000, &[]));
    ldif.push_str(&group_of_names("Existing", 200..205, &[]));
    let mut w = World::start(&ldif).await;
    w.use_scim2(&server, TENANT);
    w.extra_config = "[groups]\nbase_dn = \"ou=groups,dc=example,dc=com\"\n\
                      names = [\"Zoom Phone Users\", \"CC Agents\", \"All Staff\", \"Existing\"]\n"
        .to_string();
    w.write_config();
    // A group that exists on the server already, with one member zoomsync will not manage.
    let client = reqwest::Client::new();
    let created: Value = client
        .post(format!("{}Groups", server.tenant_url(TENANT)))
        .bearer_auth(&server.token)
        .json(
            &serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Existing"}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let existing_id = created["id"].as_str().unwrap().to_string();

    // 1. Exactly the flattened managed members; the existing group linked, not duplicated.
    let start = log_len(&server);
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!(r.succeeded(Action::Create), 3_000 - 120, "{}", r.summary());
    assert!(r.groups.as_ref().unwrap().failed.is_empty(), "{}", r.summary());
    let groups = server_groups(&server).await;
    let mut expected = BTreeMap::new();
    expected.insert("Zoom Phone Users".to_string(), names_of(enabled(0..50)));
    expected.insert("CC Agents".to_string(), names_of(enabled(100..120)));
    expected.insert("All Staff".to_string(), names_of(enabled(0..3_000)));
    expected.insert("Existing".to_string(), names_of(enabled(200..205)));
    assert_eq!(groups, expected);
    let all_groups = get_all(&server, "Groups").await;
    assert_eq!(all_groups.len(), 4);
    assert!(all_groups.iter().any(|g| g["id"].as_str() == Some(&existing_id)));
    // 2,880 members of 36-character ids do not fit one 100,000-character body.
    let patches = logged(&server, start, "\"PATCH /groups/v2/Groups/");
    assert!(patches >= 5, "4 groups, All Staff in at least 2 PATCHes: {patches}");

    // 2. A move: one remove and one add.
    w.ldap_modify(&membership_change(&[("Zoom Phone Users", "delete", 5), ("CC Agents", "add", 5)]));
    let start = log_len(&server);
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!(logged(&server, start, "\"PATCH /groups/v2/Groups/"), 2, "{}", r.summary());
    assert_eq!(log_len(&server), start + 2, "nothing but the two PATCHes");
    let groups = server_groups(&server).await;
    assert!(!groups["Zoom Phone Users"].contains(&user_name(5)));
    assert!(groups["CC Agents"].contains(&user_name(5)));

    // 3. No change: no requests at all.
    let start = log_len(&server);
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!(log_len(&server), start, "no-change cycle sent requests: {}", r.summary());

    // 4. Three levels down, and a leaver: removed from every group they were in.
    w.ldap_modify(&membership_change(&[("Phone Team C", "delete", 45)]));
    w.delete_user("user000110");
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!(r.succeeded(Action::Deactivate), 1, "{}", r.summary());
    let groups = server_groups(&server).await;
    assert!(!groups["Zoom Phone Users"].contains(&user_name(45)));
    assert!(!groups["CC Agents"].contains(&user_name(110)));
    assert!(!groups["All Staff"].contains(&user_name(110)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_scope_against_scim2_server() {
    zoomsync::install_crypto_provider();
    let server = Scim2Server::start();
    let mut ldif = data::people_ldif(200);
    ldif.push_str(&group_of_names("Zoom Users", 0..100, &["Zoom Contractors"]));
    ldif.push_str(&group_of_names("Zoom Contractors", 100..110, &[]));
    let mut w = World::start(&ldif).await;
    w.use_scim2(&server, TENANT);
    w.extra_config = "[groups]\nbase_dn = \"ou=groups,dc=example,dc=com\"\nnames = [\"Zoom Users\"]\n\
                      scope = [\"Zoom Users\"]\n\n[safety]\nmax_deactivations = 3\n"
        .to_string();
    w.write_config();

    let r = w.cycle(CycleOptions::default()).await;
    let in_scope = names_of(enabled(0..110));
    assert_eq!(r.succeeded(Action::Create), in_scope.len(), "{}", r.summary());
    assert_eq!(server_groups(&server).await["Zoom Users"], in_scope);

    // One leaver: deactivated on the server and out of the group.
    w.ldap_modify(&membership_change(&[("Zoom Users", "delete", 3)]));
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!(r.succeeded(Action::Deactivate), 1, "{}", r.summary());
    let users = get_all(&server, "Users").await;
    let user3 = users.iter().find(|u| u["userName"].as_str() == Some(user_name(3).as_str())).unwrap();
    assert_eq!(user3["active"], Value::Bool(false));
    assert!(!server_groups(&server).await["Zoom Users"].contains(&user_name(3)));

    // Ten leavers at once: held by the guard, nobody deactivated, memberships kept.
    w.ldap_modify(&membership_change(&[("Zoom Contractors", "add", 150)]));
    let removals: Vec<(&str, &str, usize)> = (100..110).map(|i| ("Zoom Contractors", "delete", i)).collect();
    w.ldap_modify(&membership_change(&removals));
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!((r.plan.held.len(), r.succeeded(Action::Deactivate)), (10, 0), "{}", r.summary());
    let members = &server_groups(&server).await["Zoom Users"];
    assert!(names_of(enabled(100..110)).is_subset(members));
    assert!(members.contains(&user_name(150)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_zoomsync_created_stay_its_own_after_state_loss() {
    zoomsync::install_crypto_provider();
    let server = Scim2Server::start();
    let mut ldif = data::people_ldif(20);
    ldif.push_str(&group_of_names("Phone", 0..5, &[]));
    ldif.push_str(&group_of_names("Agents", 5..10, &[]));
    ldif.push_str(&group_of_names("Existing", 10..15, &[]));
    let mut w = World::start(&ldif).await;
    w.use_scim2(&server, TENANT);
    let groups_section = |names: &str| {
        format!("[groups]\nbase_dn = \"ou=groups,dc=example,dc=com\"\nnames = [{names}]\ndelete_created = true\n")
    };
    w.extra_config = groups_section("\"Phone\", \"Agents\", \"Existing\"");
    w.write_config();
    // A group made on the server by someone else: linked, never zoomsync's to delete.
    let client = reqwest::Client::new();
    let body =
        serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Existing"});
    let url = format!("{}Groups", server.tenant_url(TENANT));
    client.post(&url).bearer_auth(&server.token).json(&body).send().await.unwrap();

    let r = w.cycle(CycleOptions::default()).await;
    let g = r.groups.as_ref().unwrap();
    assert_eq!((g.done.get("group_create"), g.done.get("group_link")), (Some(&2), Some(&1)), "{}", r.summary());

    // The state is lost: the groups are found by name again; the two zoomsync created are
    // still its own.
    std::fs::remove_dir_all(w.state_path()).unwrap();
    let r = w.cycle(CycleOptions::default()).await;
    assert!(r.groups.as_ref().unwrap().failed.is_empty(), "{}", r.summary());
    {
        let known: BTreeMap<String, bool> =
            w.store().groups().unwrap().into_iter().map(|k| (k.zoom_name, k.created)).collect();
        let expected: BTreeMap<String, bool> =
            [("Agents".to_string(), true), ("Existing".to_string(), false), ("Phone".to_string(), true)].into();
        assert_eq!(known, expected);
    }

    // Agents and Existing are no longer pushed: Agents (created) is deleted, Existing
    // (linked) only forgotten.
    w.extra_config = groups_section("\"Phone\"");
    w.write_config();
    let r = w.cycle(CycleOptions::default()).await;
    let g = r.groups.as_ref().unwrap();
    assert_eq!((g.done.get("group_delete"), g.done.get("group_unlink")), (Some(&1), Some(&1)), "{}", r.summary());
    let left: BTreeSet<String> =
        get_all(&server, "Groups").await.iter().map(|g| g["displayName"].as_str().unwrap().to_string()).collect();
    assert_eq!(left, BTreeSet::from(["Existing".to_string(), "Phone".to_string()]));

    // How: a group zoomsync creates carries the directory group's anchor as externalId; a
    // linked one is never marked.
    let on_server: BTreeMap<String, Value> =
        get_all(&server, "Groups").await.into_iter().map(|g| (g["displayName"].as_str().unwrap().into(), g)).collect();
    let phone_anchor = w.store().groups().unwrap().into_iter().find(|k| k.zoom_name == "Phone").unwrap().anchor;
    assert_eq!(on_server["Phone"]["externalId"].as_str(), Some(phone_anchor.as_str()), "{}", on_server["Phone"]);
    assert!(on_server["Existing"].get("externalId").is_none(), "{}", on_server["Existing"]);
}
