//! Benchmark: `plan` over 1,000,000 synthetic users (mapped payloads of 8 fields, all known,
//! 1% changed, 0.5% new, 0.2% gone). Measures plan time and this process's peak RSS (which
//! includes the synthetic input itself). Run: `cargo bench --bench plan_scale`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/report.rs"]
mod bench_report;

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use zoomsync::model::Anchor;
use zoomsync::model::{Field, ScimUser};
use zoomsync::model::{KnownUser, Lifecycle, Origin};
use zoomsync::plan::{self, Action, Desired, DesiredUser, Limits, PlanInput, fingerprint};

const USERS: usize = 1_000_000;

/// The same allocator as the zoomsync binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn user(i: usize, title: &str) -> ScimUser {
    let fields = [
        (Field::UserName, format!("user{i:07}@example.com")),
        (Field::GivenName, format!("Given{i}")),
        (Field::FamilyName, format!("Family{i}")),
        (Field::DisplayName, format!("Given{i} Family{i}")),
        (Field::WorkEmail, format!("user{i:07}@example.com")),
        (Field::Title, title.to_string()),
        (Field::WorkPhone, format!("+1 555 {i:07}")),
        (Field::Department, format!("dept{:03}", i % 20)),
    ];
    ScimUser { fields: fields.into_iter().collect(), active: true, ..Default::default() }
}

type Input = (Desired, HashMap<Anchor, KnownUser>);

/// 1,000,000 users: all known, 1% changed, 0.5% new, 0.2% gone.
fn build() -> Input {
    let none = BTreeSet::new();
    let anchor = |i: usize| Anchor::new(&format!("{i:08x}-7b01-1041-92b7-bfb3b0785055")).unwrap();
    let mut desired = Desired::default();
    let mut known = HashMap::with_capacity(USERS);
    for i in 0..USERS {
        let title = format!("Engineer {}", i % 7);
        let pushed = user(i, &title);
        if i % 500 != 7 {
            let want = if i % 100 == 3 { user(i, "Director") } else { pushed.clone() };
            desired.users.push(DesiredUser {
                anchor: anchor(i),
                dn: format!("uid=user{i:07},ou=people,dc=example,dc=com"),
                fingerprint: fingerprint(&want, &none),
                user: want,
                deferred: None,
            });
        }
        if i % 200 != 11 {
            known.insert(
                anchor(i),
                KnownUser {
                    anchor: anchor(i),
                    zoom_id: format!("z{i:021}"),
                    dn: format!("uid=user{i:07},ou=people,dc=example,dc=com"),
                    user_name: format!("user{i:07}@example.com"),
                    fingerprint: fingerprint(&pushed, &none),
                    lifecycle: Lifecycle::Active,
                    origin: Origin::Created,
                    privileged: false,
                    rename_refused: None,
                    not_kept: Default::default(),
                },
            );
        }
    }
    (desired, known)
}

fn main() {
    let failures = HashMap::new();
    let mut times = Vec::new();
    let mut input_mib = 0.0;
    let mut peak = 0.0;
    let mut last = None;
    for run in 0..3 {
        // Built fresh each run (untimed): `plan` consumes its input.
        let (desired, known) = build();
        if run == 0 {
            input_mib = bench_report::peak_rss_mib();
        }
        let start = Instant::now();
        let p = plan::plan(PlanInput {
            desired,
            known: &known,
            failures: &failures,
            now: 1_000_000,
            limits: Limits::unlimited(),
            approved: &[],
        });
        times.push(start.elapsed().as_secs_f64());
        if run == 0 {
            peak = bench_report::peak_rss_mib();
        }
        last = Some(p);
    }
    let p = last.unwrap();
    let built_mib = input_mib;
    let t = bench_report::median(&times);
    let section = format!(
        "## Plan (1,000,000 synthetic users)\n\n\
         {date} on {machine}. `plan::plan` in a release build over 1,000,000 mapped users (8 fields each) \
         and 1,000,000 state records: {create} creates, {update} updates, {deactivate} deactivations, \
         {unchanged} unchanged.\n\n\
         | measurement | figure | target |\n|---|---|---|\n\
         | plan time (median of 3: {runs} s) | **{t:.2} s** | < 2 s |\n\
         | peak RSS of the process (input data + plan) | **{peak:.0} MiB** (input alone: {built_mib:.0} MiB) | < 1 GiB |\n\n\
         Reproduce: `cargo bench --bench plan_scale`.\n",
        date = bench_report::today(),
        machine = bench_report::machine(),
        create = p.count(Action::Create),
        update = p.count(Action::Update),
        deactivate = p.count(Action::Deactivate),
        unchanged = p.unchanged,
        runs = bench_report::runs(&times),
    );
    println!("{section}");
    bench_report::update("## Plan (1,000,000 synthetic users)", &section);
}
