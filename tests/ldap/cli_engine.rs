//! `plan --json` and `provision` run as an admin would, against slapd and the emulator.

use crate::support::data;
use crate::support::world::World;
use zoomsync::emulator::Route;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_json_shows_actions_with_reasons_and_writes_nothing() {
    let w = World::start(&data::active_people_ldif(20)).await;
    let (code, out, err) = w.zoomsync(&["plan", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(plan["ops"].as_array().unwrap().len(), 20);
    assert_eq!(plan["ops"][0]["action"], "create");
    assert_eq!(plan["ops"][0]["reason"], "new in the directory");
    assert!(plan["totals"].as_str().unwrap().starts_with("create 20"));
    let c = w.zoom.request_counts();
    assert_eq!(c.route(Route::CreateUser), 0, "plan must not write");
    assert!(!w.state_path().join("db").exists(), "plan must not create state");

    w.zoomsync(&["sync", "--once"]);
    w.set_attribute("user000003", "title", "Head of Things");
    let (code, out, _) = w.zoomsync(&["plan"]);
    assert_eq!(code, 0);
    assert!(out.contains("update") && out.contains("user000003@example.com"), "{out}");
    assert!(out.contains("title: Engineer 3 -> Head of Things"), "{out}");
    assert!(out.contains("totals: create 0, update 1"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_one_user_shows_each_step() {
    let w = World::start(&data::active_people_ldif(20)).await;
    let (code, out, err) = w.zoomsync(&["provision", "user000005"]);
    assert_eq!(code, 0, "{out}{err}");
    for step in ["1. read:", "2. scope: in scope", "3. match: no Zoom user", "4. action: create", "5. result: success"]
    {
        assert!(out.contains(step), "missing {step:?} in:\n{out}");
    }
    assert_eq!(w.zoom_members().len(), 1, "only that user");
    assert!(w.zoom.user_by_name("user000005@example.com").is_some());

    w.set_attribute("user000005", "title", "Chief");
    let (code, out, _) = w.zoomsync(&["provision", "user000005@example.com"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("4. action: update") && out.contains("title: Engineer 5 -> Chief"), "{out}");

    let (code, out, _) = w.zoomsync(&["provision", "nobody@example.com"]);
    assert_eq!(code, 1);
    assert!(out.contains("no such user"), "{out}");
}
