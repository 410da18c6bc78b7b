//! Benchmark: mapping expressions (`zoomsync::expr`) over 100,000 synthetic users with a
//! dozen attributes and a few groups each — five representative expressions, each timed on
//! its own and all five together (what the map step adds to a no-change cycle). Prints
//! evaluations per second and ns per evaluation (median of 3 runs after a first, cold run,
//! which is shown apart: `e164` memoises its answers); writes no file.
//!
//! Run: `cargo bench --bench expr_eval`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/report.rs"]
mod bench_report;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use zoomsync::expr::{Evaluated, Expr, Input};
use zoomsync::model::{Anchor, Attributes, DirectoryUser};

const USERS: usize = 100_000;
const RUNS: usize = 3;

/// The same allocator as the zoomsync binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EXPRESSIONS: &[(&str, &str)] = &[
    ("displayName", r#"coalesce(displayName, givenName ~ " " ~ sn)"#),
    ("userName", r#"regex_replace(lower(mail), "@corp\\.example\\.com$", "@example.com")"#),
    ("phone", r#"e164(telephoneNumber, "GB")"#),
    (
        "licence",
        r#""Licensed" if member_of("Zoom Phone Users") else switch(department, omit(), "Sales", "Licensed", "Support", "Licensed")"#,
    ),
    ("expires", r#"format_date(accountExpires, "%Y-%m-%d")"#),
];

const GIVEN: &[&str] = &["Jürgen", "Zoë", "Søren", "Jo", "Ana", "Łukasz", "Mary-Jane", "Wei"];
const DEPARTMENTS: &[&str] = &["Sales", "Support", "Engineering", "HR", "Finance", "Legal"];
const GROUPS: &[&str] = &["All Staff", "London", "Zoom Phone Users", "Engineering", "VPN", "Sales EMEA"];

struct Synthetic {
    user: DirectoryUser,
    groups: Vec<&'static str>,
    direct: Vec<&'static str>,
}

/// A user with 12 attributes (some absent), in 3–5 groups.
fn synthetic(i: usize, names: &[Arc<str>]) -> Synthetic {
    let mut attrs = Attributes::default();
    let mut push = |n: usize, v: String| attrs.push(names[n].clone(), &v);
    let given = GIVEN[i % GIVEN.len()];
    push(0, given.to_string());
    push(1, format!("Family{i}"));
    push(2, format!("{}.family{i}@corp.example.com", given.to_lowercase()));
    if i % 3 == 0 {
        push(3, format!("{given} Family{i} (Contractor)"));
    }
    push(4, format!("+44 (0)20 7{:03} {:04}", (i / 10_000) % 1000, i % 10_000));
    push(5, DEPARTMENTS[i % DEPARTMENTS.len()].to_string());
    push(6, format!("Engineer {}", i % 7));
    push(7, format!("smtp:{given}{i}@old.example.com"));
    push(7, format!("SMTP:{given}{i}@example.com"));
    push(8, "20240102030405.0Z".to_string());
    push(9, if i % 4 == 0 { "0".to_string() } else { format!("{}", 133_497_000_000_000_000u64 + i as u64) });
    push(10, format!("{i:06}"));
    push(11, format!("u{i}"));
    let user = DirectoryUser {
        anchor: Anchor::new(&format!("{i:08x}-7b01-1041-92b7-bfb3b0785055")).unwrap(),
        dn: format!("uid=u{i},ou=people,dc=example,dc=com"),
        user_name: format!("u{i}@example.com"),
        disabled: false,
        attrs,
    };
    let groups: Vec<&str> = (0..3 + i % 3).map(|k| GROUPS[(i + k) % GROUPS.len()]).collect();
    let direct = groups[..2].to_vec();
    Synthetic { user, groups, direct }
}

/// Evaluates `exprs` for every user; returns seconds and how many results were omitted.
fn run(exprs: &[Expr], users: &[Synthetic]) -> (f64, usize) {
    let start = Instant::now();
    let mut omitted = 0;
    for u in users {
        let input = Input { user: &u.user, groups: &u.groups, direct_groups: &u.direct };
        for e in exprs {
            match black_box(e.eval(&input)) {
                Ok(Evaluated::Omit) => omitted += 1,
                Ok(Evaluated::Value(v)) => drop(black_box(v)),
                Err(e) => panic!("{e}"),
            }
        }
    }
    (start.elapsed().as_secs_f64(), omitted)
}

/// The first run (cold: e164's memo empty, as in a daemon's first cycle) apart, then the
/// median of the next runs (warm: every later cycle).
fn report(label: &str, exprs: &[Expr], users: &[Synthetic]) {
    let (cold, _) = run(exprs, users);
    let mut times = Vec::new();
    let mut omitted = 0;
    for _ in 0..RUNS {
        let (t, o) = run(exprs, users);
        times.push(t);
        omitted = o;
    }
    let t = bench_report::median(&times);
    let evals = (users.len() * exprs.len()) as f64;
    println!(
        "{label:<12} {:>9.0} evals/s {:>6.0} ns/eval  ({:.3} s for {} evals; runs {}; first run {:.3} s, {:.0} ns/eval; {omitted} omitted)",
        evals / t,
        t / evals * 1e9,
        t,
        evals,
        bench_report::runs(&times),
        cold,
        cold / evals * 1e9,
    );
}

fn main() {
    let names: Vec<Arc<str>> = [
        "givenname",
        "sn",
        "mail",
        "displayname",
        "telephonenumber",
        "department",
        "title",
        "proxyaddresses",
        "whencreated",
        "accountexpires",
        "employeenumber",
        "uid",
    ]
    .into_iter()
    .map(Arc::from)
    .collect();
    let users: Vec<Synthetic> = (0..USERS).map(|i| synthetic(i, &names)).collect();
    let exprs: Vec<Expr> = EXPRESSIONS.iter().map(|(_, s)| Expr::compile(s).unwrap()).collect();
    println!("expr_eval: {USERS} users, {} expressions, {}", exprs.len(), bench_report::machine());
    for ((label, _), e) in EXPRESSIONS.iter().zip(&exprs) {
        report(label, std::slice::from_ref(e), &users);
    }
    report("all five", &exprs, &users);
}
