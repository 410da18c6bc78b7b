//! Benchmark: `plan` over 1,000,000 synthetic users (mapped payloads of 12 fields: the
//! default eight, the manager's id, a licence plan and two Zoom Phone fields; all known,
//! 1% changed, 0.5% new, 0.2% gone). Measures plan time and this process's peak RSS (which
//! includes the synthetic input itself), and says where the input's memory goes.
//! Run: `cargo bench --bench plan_scale` (`BENCH_USERS=50000` for a quick check, which
//! writes a section of its own, headed with its size: not one to commit).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/report.rs"]
mod bench_report;

use std::collections::{BTreeSet, HashMap};
use std::mem::size_of;
use std::time::Instant;

use zoomsync::model::Anchor;
use zoomsync::model::{DirectoryUser, Field, Fields, ScimUser};
use zoomsync::model::{KnownUser, Lifecycle, Origin};
use zoomsync::plan::{self, Action, Desired, DesiredUser, Limits, PlanInput, fingerprint};

const USERS: usize = 1_000_000;
const FIELDS: usize = 12;

/// The same allocator as the zoomsync binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn field(name: &str) -> Field {
    Field::from_config_name(name).unwrap_or_else(|| panic!("{name} is not in the catalogue"))
}

/// The twelve fields of user `i`, as a 12-attribute mapping leaves them by plan time (the
/// manager's DN already resolved to the manager's 22-character Zoom id).
fn user(i: usize, title: &str, f: &[Field; 4]) -> ScimUser {
    let fields = [
        (Field::UserName, format!("user{i:07}@example.com")),
        (Field::GivenName, format!("Given{i}")),
        (Field::FamilyName, format!("Family{i}")),
        (Field::DisplayName, format!("Given{i} Family{i}")),
        (Field::WorkEmail, format!("user{i:07}@example.com")),
        (Field::Title, title.to_string()),
        (Field::WorkPhone, format!("+44207{i:07}")),
        (Field::Department, format!("dept{:03}", i % 20)),
        (f[0], format!("z{:021}", i / 10 * 10)),
        (f[1], ["US_CA", "UK_IR", "GLOBAL_SELECT"][i % 3].to_string()),
        (f[2], "3000".to_string()),
        (f[3], format!("+44207{i:07}")),
    ];
    assert_eq!(fields.len(), FIELDS);
    ScimUser { fields: fields.into_iter().collect(), active: true, ..Default::default() }
}

fn dn(i: usize) -> String {
    format!("uid=user{i:07},ou=people,dc=example,dc=com")
}

fn anchor(i: usize) -> Anchor {
    Anchor::new(&format!("{i:08x}-7b01-1041-92b7-bfb3b0785055")).unwrap()
}

/// The state: every user but 0.5% known (0.2% of those no longer in the directory).
fn build_known(users: usize, f: &[Field; 4]) -> HashMap<Anchor, KnownUser> {
    let none = BTreeSet::new();
    let mut known = HashMap::with_capacity(users);
    for i in (0..users).filter(|i| i % 200 != 11) {
        let pushed = user(i, &format!("Engineer {}", i % 7), f);
        known.insert(
            anchor(i),
            KnownUser {
                anchor: anchor(i),
                zoom_id: format!("z{i:021}"),
                dn: dn(i),
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
    known
}

/// What the directory wants: all but 0.2% of the users, 1% of them with another title.
fn build_desired(users: usize, f: &[Field; 4]) -> Desired {
    let none = BTreeSet::new();
    let mut desired = Desired::default();
    for i in (0..users).filter(|i| i % 500 != 7) {
        let title = if i % 100 == 3 { "Director".to_string() } else { format!("Engineer {}", i % 7) };
        let want = user(i, &title, f);
        desired.users.push(DesiredUser {
            anchor: anchor(i),
            dn: dn(i),
            fingerprint: fingerprint(&want, &none),
            user: want,
            deferred: None,
        });
    }
    desired
}

/// Where the input's memory goes: resident memory before and after each half is built.
struct Breakdown {
    known_mib: f64,
    desired_mib: f64,
    known_buckets: usize,
    desired_capacity: usize,
}

fn main() {
    let users = bench_report::users(USERS);
    let f = [field("manager"), field("zoomOneBizPlus"), field("zoomPhoneCallingPlan"), field("zoomPhoneNumber")];
    let failures = HashMap::new();
    let mut times = Vec::new();
    let mut input_mib = 0.0;
    let mut peak = 0.0;
    let mut breakdown = None;
    let mut last = None;
    for run in 0..3 {
        // Built fresh each run (untimed): `plan` consumes its input.
        let before = bench_report::rss_mib();
        let known = build_known(users, &f);
        let after_known = bench_report::rss_mib();
        let desired = build_desired(users, &f);
        if run == 0 {
            input_mib = bench_report::peak_rss_mib();
            breakdown = Some(Breakdown {
                known_mib: after_known - before,
                desired_mib: bench_report::rss_mib() - after_known,
                // hashbrown: capacity is 7/8 of the buckets, a power of two.
                known_buckets: (known.capacity() * 8 / 7).next_power_of_two(),
                desired_capacity: desired.users.capacity(),
            });
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
    let b = breakdown.unwrap();
    let t = bench_report::median(&times);

    // Per-user sizes (stdout only: the figures behind the breakdown).
    let sample = user(1, "Engineer 1", &f);
    let text: usize = sample.fields.iter().map(|(_, v)| v.len()).sum();
    println!(
        "inline sizes (bytes): DesiredUser {}, KnownUser {}, ScimUser {}, Fields {}, ScimUser.omitted (Box<[Field]>) {}, \
         DesiredUser.deferred (Option<Box<DirectoryUser>>) {}, Anchor {}, (Anchor, KnownUser) map entry {}",
        size_of::<DesiredUser>(),
        size_of::<KnownUser>(),
        size_of::<ScimUser>(),
        size_of::<Fields>(),
        size_of::<Box<[Field]>>(),
        size_of::<Option<Box<DirectoryUser>>>(),
        size_of::<Anchor>(),
        size_of::<(Anchor, KnownUser)>(),
    );
    println!(
        "per user: {FIELDS} fields holding {text} bytes of values; known map: {} buckets for {} records \
         ({:.0} MiB of buckets); desired Vec capacity {} ({:.0} MiB)",
        b.known_buckets,
        users - users.div_ceil(200),
        (b.known_buckets * (size_of::<(Anchor, KnownUser)>() + 1)) as f64 / 1_048_576.0,
        b.desired_capacity,
        (b.desired_capacity * size_of::<DesiredUser>()) as f64 / 1_048_576.0,
    );
    println!(
        "resident memory added: known state {:.0} MiB ({:.0} bytes/record), desired users {:.0} MiB ({:.0} bytes/user)",
        b.known_mib,
        b.known_mib * 1_048_576.0 / users as f64,
        b.desired_mib,
        b.desired_mib * 1_048_576.0 / users as f64,
    );

    let heading = if users == USERS {
        "## Plan (1,000,000 synthetic users)".to_string()
    } else {
        format!("## Plan ({} synthetic users)", bench_report::thousands(users))
    };
    let section = format!(
        "{heading}\n\n\
         {date} on {machine}. `plan::plan` in a release build over {n} mapped users ({FIELDS} fields each: \
         the default eight, manager, zoomOneBizPlus, zoomPhoneCallingPlan, zoomPhoneNumber) \
         and {n} state records: {create} creates, {update} updates, {deactivate} deactivations, \
         {unchanged} unchanged.\n\n\
         | measurement | figure | target |\n|---|---|---|\n\
         | plan time (median of 3: {runs} s) | **{t:.2} s** | < 2 s |\n\
         | peak RSS of the process (input data + plan) | **{peak:.0} MiB** (input alone: {input_mib:.0} MiB) | < 1 GiB |\n\n\
         Of the input, the state records take {known:.0} MiB and the mapped users {desired:.0} MiB.\n\
         Reproduce: `cargo bench --bench plan_scale`.\n",
        date = bench_report::today(),
        machine = bench_report::machine(),
        n = bench_report::thousands(users),
        create = p.count(Action::Create),
        update = p.count(Action::Update),
        deactivate = p.count(Action::Deactivate),
        unchanged = p.unchanged,
        runs = bench_report::runs(&times),
        known = b.known_mib,
        desired = b.desired_mib,
    );
    println!("{section}");
    bench_report::update(&heading, &section);
}
