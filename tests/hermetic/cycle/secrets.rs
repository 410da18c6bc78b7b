//! Errors never carry secrets: a server that echoes the client secret, the Basic header or
//! the access token in its error texts (the emulator's `echo_credentials` knob) gets them
//! redacted before anything is reported, stored or shown — the cycle report and its summary,
//! the meta (last cycle, connector quarantine), failure records, the provisioning log, and
//! the `status`, `quarantine list` and `history` views.

use base64::Engine as _;
use zoomsync::admin::render::{self, HistoryQuery};
use zoomsync::state::{HistoryFilter, StateStore};
use zoomsync::sync::{CycleOutcome, CycleReport};

use crate::cycle::directory::person_ldif;
use crate::cycle::world::HermeticWorld;

const PEOPLE: usize = 5;
const STRAY: usize = 50;
const WRONG_SECRET: &str = "not-the-secret-4711";

/// Everything a cycle leaves for people to read: report, state and the admin views.
fn everything_shown(w: &HermeticWorld, r: &CycleReport) -> String {
    let s = &w.store;
    let mut all = vec![
        r.summary(),
        format!("{:?}", r.fatal),
        serde_json::to_string(&r.outcomes).unwrap(),
        format!("{:?}", s.meta().unwrap()),
        format!("{:?}", s.failures().unwrap()),
        format!("{:?}", s.history(&HistoryFilter::default(), 1000).unwrap()),
        render::status(s, false).unwrap(),
        render::status(s, true).unwrap(),
        render::quarantine_list(s, true).unwrap(),
        render::history(s, &HistoryQuery { limit: 1000, ..HistoryQuery::default() }).unwrap(),
        render::history(s, &HistoryQuery { limit: 1000, json: true, ..HistoryQuery::default() }).unwrap(),
    ];
    all.retain(|t| !t.is_empty());
    all.join("\n")
}

fn assert_absent(text: &str, secrets: &[String]) {
    for secret in secrets {
        assert!(!text.contains(secret.as_str()), "{secret:?} is shown:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_endpoint_echoing_the_client_secret_and_basic_header_is_redacted() {
    let mut w = HermeticWorld::builder(PEOPLE).max_concurrency(1).start().await;
    assert_eq!(w.cycle().await.outcome(), CycleOutcome::Success);
    w.zoom.update_knobs(|k| k.echo_credentials = true).unwrap();
    for i in 0..PEOPLE {
        w.edit_person(i, |e| e.set("title", Some("Changed")));
    }
    w.set_client_secret(WRONG_SECRET);
    w.restart();
    let r = w.cycle().await;
    assert_eq!(r.outcome(), CycleOutcome::Fatal, "{}", r.summary());
    let fatal = r.fatal.clone().unwrap();
    assert!(fatal.contains("401") && fatal.contains("[redacted]"), "the server's text, redacted: {fatal}");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{WRONG_SECRET}", w.zoom.client_id()));
    let shown = everything_shown(&w, &r);
    assert!(shown.contains("Invalid client_id or client_secret"), "{shown}");
    assert_absent(&shown, &[WRONG_SECRET.to_string(), basic]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scim_error_echoing_the_access_token_is_redacted() {
    let w = HermeticWorld::builder(PEOPLE).ldif(&person_ldif(STRAY, "stray@elsewhere.org")).start().await;
    w.zoom
        .update_knobs(|k| {
            k.managed_domains = vec!["example.com".into()];
            k.echo_credentials = true;
        })
        .unwrap();
    let r = w.cycle().await;
    assert_eq!((r.outcome(), r.failed()), (CycleOutcome::Attention, 1), "{}", r.summary());
    let tokens = w.zoom.live_tokens();
    assert_eq!(tokens.len(), 1, "the client's one token");
    let failure = &w.store.failures().unwrap()[0].last_error;
    assert!(failure.contains("Domain name doesn't match") && failure.contains("[redacted]"), "{failure}");
    assert_absent(&everything_shown(&w, &r), &tokens);
}
