//! The engine under Zoom's failures: a fault storm converges exactly, a token revoked
//! mid-cycle costs one renewal, a wrong secret quarantines the connector without writing,
//! and a user Zoom always rejects is quarantined alone and released by a directory edit.

use std::collections::HashSet;
use std::time::Duration;

use crate::support::data;
use crate::support::world::World;
use zoomsync::emulator::{FaultConfig, FaultSpec, RateLimit, RetryAfterStyle, Route, UserState};
use zoomsync::plan::Action;
use zoomsync::sync::CycleOptions;

fn client_section(w: &World, timeout: &str, rps: u32) -> String {
    format!(
        "[target]\nkind = \"zoom\"\nbase_url = \"{}\"\ntoken_url = \"{}\"\naccount_id = \"{}\"\nclient_id = \"{}\"\n\
         client_secret_file = \"zoom-secret\"\nrequests_per_second = {rps}\nmax_concurrency = 8\ntimeout = \"{timeout}\"\n\
         connect_timeout = \"1s\"\n",
        w.zoom.base_url(),
        w.zoom.token_url(),
        w.zoom.account_id(),
        w.zoom.client_id()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_storm_converges_exactly() {
    let mut w = World::start(&data::active_people_ldif(300)).await;
    w.target_section = Some(client_section(&w, "1s", 400));
    w.write_config();
    // 20% 5xx, 5% timeouts (held past the client's 1 s), 5% dropped connections — the
    // drops and timeouts after the change was applied — and 429 bursts (Zoom at 150/s,
    // the client at 400/s), with each Retry-After form in turn.
    let storm = FaultSpec {
        error_rate: 0.20,
        error_status: 503,
        timeout_rate: 0.05,
        timeout_hold_ms: 1_500,
        drop_rate: 0.05,
        apply_before_fault: true,
        ..FaultSpec::default()
    };
    // Writes alternate between the 5xx storm and a burst of 429s (other apps spending the
    // account's shared budget), once per Retry-After form.
    let phases = [
        (503, RetryAfterStyle::Seconds),
        (429, RetryAfterStyle::Seconds),
        (503, RetryAfterStyle::Iso),
        (429, RetryAfterStyle::Iso),
        (503, RetryAfterStyle::None),
        (429, RetryAfterStyle::None),
    ];
    for (i, (status, style)) in phases.into_iter().enumerate() {
        let writes = FaultSpec { error_status: status, ..storm.clone() };
        let routes = ["POST /scim2/Users", "PUT /scim2/Users/{id}", "PATCH /scim2/Users/{id}"]
            .into_iter()
            .map(|r| (r.to_string(), writes.clone()))
            .collect();
        w.zoom.set_faults(FaultConfig { global: storm.clone(), routes }).unwrap();
        w.zoom.update_knobs(|k| k.retry_after = style).unwrap();
        if i == 2 {
            // Leavers in the middle of the storm.
            for uid in ["user000100", "user000101", "user000102"] {
                w.set_attribute(uid, "employeeType", "former");
            }
        }
        if i > 0 {
            // A burst of 30 updates per cycle.
            for n in 0..30 {
                w.set_attribute(&format!("user{:06}", 110 + n + 30 * i), "title", &format!("Storm {i}"));
            }
        }
        let before = w.zoom.request_counts().status(429);
        let r = w.cycle(CycleOptions::default()).await;
        let limited = w.zoom.request_counts().status(429) - before;
        eprintln!("storm cycle {i} ({status}, {style:?}): {limited} x 429; {}", r.summary());
        assert!(r.fatal.is_none(), "{}", r.summary());
        if status == 429 {
            assert!(limited > 0, "cycle {i} ({style:?}) met no 429");
        }
    }
    let c = w.zoom.request_counts();
    eprintln!("503: {}, dropped: {}", c.status(503), c.dropped());
    assert!(c.status(503) > 0 && c.dropped() > 0, "the storm must have hit");
    // Calm: a last cycle puts right whatever the storm left undone.
    w.zoom.set_faults(FaultConfig::default()).unwrap();
    w.zoom.set_rate_limit(RateLimit::per_second(10_000));
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!(r.failed(), 0, "{}", r.summary());

    let members = w.zoom_members();
    let names: HashSet<&str> = members.iter().map(|u| u.user_name.as_str()).collect();
    assert_eq!(members.len(), 300, "no duplicates, nobody missing");
    assert_eq!(names.len(), 300);
    for u in &members {
        let should_be_inactive =
            ["user000100@", "user000101@", "user000102@"].iter().any(|p| u.user_name.starts_with(p));
        let inactive = u.state == UserState::Inactive;
        assert_eq!(inactive, should_be_inactive, "wrong state for {}", u.user_name);
    }
    for i in 1..6 {
        let uid = 110 + 30 * i;
        let u = w.zoom.user_by_name(&format!("user{uid:06}@example.com")).unwrap();
        assert_eq!(u.title.as_deref(), Some(format!("Storm {i}").as_str()));
    }
    let (code, out, _) = w.zoomsync(&["plan"]);
    assert_eq!(code, 0);
    assert!(out.contains("totals: create 0, update 0, reactivate 0, deactivate 0, delete 0"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_revoked_mid_cycle_costs_one_renewal() {
    let w = World::start(&data::active_people_ldif(600)).await;
    w.zoom
        .set_faults(FaultConfig { global: FaultSpec { latency_ms: 2, ..FaultSpec::default() }, ..Default::default() })
        .unwrap();
    let revoke = async {
        while w.zoom.request_counts().route(Route::CreateUser) < 100 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        w.zoom.issue_token(); // someone else takes a token: ours is revoked
    };
    let (r, ()) = tokio::join!(w.cycle(CycleOptions::default()), revoke);
    assert_eq!(r.succeeded(Action::Create), 600, "{}", r.summary());
    assert_eq!(w.zoom.request_counts().route(Route::Token), 2, "one token, one renewal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secret_is_fatal_writes_nothing_and_quarantines_the_connector() {
    let w = World::start(&data::active_people_ldif(20)).await;
    std::fs::write(w.dir.path().join("zoom-secret"), "not-the-secret").unwrap();
    let (code, out, err) = w.zoomsync(&["sync", "--once"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("STOPPED"), "{out}");
    assert!(err.contains("connector quarantined"), "the log says why: {err}");
    assert!(!out.contains("not-the-secret") && !err.contains("not-the-secret"));
    let c = w.zoom.request_counts();
    let writes: u64 =
        [Route::CreateUser, Route::PutUser, Route::PatchUser, Route::DeleteUser].iter().map(|r| c.route(*r)).sum();
    assert_eq!(writes, 0);
    let (_, status, _) = w.zoomsync(&["status"]);
    assert!(status.contains("connector: QUARANTINED"), "{status}");
    assert!(
        status.to_lowercase().contains("credential") || status.contains("401") || status.contains("secret"),
        "{status}"
    );

    // Fixed secret: a good cycle lifts it.
    std::fs::write(w.dir.path().join("zoom-secret"), w.zoom.client_secret()).unwrap();
    let (code, out, err) = w.zoomsync(&["sync", "--once"]);
    assert_eq!(code, 0, "{out}{err}");
    let (_, status, _) = w.zoomsync(&["status"]);
    assert!(status.contains("connector: ok"), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_zoom_rejects_is_quarantined_alone_and_released_by_an_edit() {
    let w = World::start(&data::active_people_ldif(10)).await;
    w.zoom.update_knobs(|k| k.managed_domains = vec!["example.com".into()]).unwrap();
    w.ldap_modify(&data::new_person_ldif(50, "stray@elsewhere.org"));
    for cycle in 1..=4 {
        let r = w.cycle(CycleOptions::default()).await;
        let failed: Vec<_> = r.outcomes.iter().filter(|o| o.result.name() == "failure").collect();
        assert_eq!(failed.len(), 1, "cycle {cycle}: {}", r.summary());
        assert!(failed[0].result.detail().unwrap().contains("Domain name doesn't match"));
    }
    assert_eq!(w.zoom_members().len(), 10, "the others are unaffected");
    // Quarantined now: skipped, with Zoom's detail in the list.
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!(r.failed(), 0);
    assert!(r.plan.skipped.iter().any(|s| s.reason.contains("quarantined after 4 failures")), "{:?}", r.plan.skipped);
    let (_, list, _) = w.zoomsync(&["quarantine", "list"]);
    assert!(
        list.contains("stray@elsewhere.org")
            && list.contains("Domain name doesn't match")
            && list.contains("attempts: 4"),
        "{list}"
    );
    // An edit in the directory releases it.
    w.set_attribute("user000050", "mail", "stray@example.com");
    let r = w.cycle(CycleOptions::default()).await;
    assert_eq!(r.succeeded(Action::Create), 1, "{}", r.summary());
    let (_, list, _) = w.zoomsync(&["quarantine", "list"]);
    assert!(list.contains("nothing is quarantined"), "{list}");
}
