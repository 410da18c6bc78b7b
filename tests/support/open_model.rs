//! The open attribute model's first must-show, shared by slapd (`tests/ldap/open_model.rs`)
//! and Samba AD (`tests/ad/open_model.rs`): one directory model ([`Person`]), one `[mapping]`
//! ([`MAPPING`]: 15 target attributes), the values each user must have on the emulator
//! ([`expected`]) and the scenario ([`must_show`]) run against either directory:
//!
//! 1. the first cycle creates every user with exactly the mapped values, managers left unset
//!    (a manager is set on the cycle after the manager exists on Zoom);
//! 2. the second cycle sets every manager: one PUT per user carrying only `manager`;
//! 3. one user moved into "Zoom Phone Users": one PUT carrying only the four phone fields;
//! 4. a cycle with no change sends no request;
//! 5. a full reconcile sends nothing but the list pages (no perpetual update: mails with
//!    capitals, Zoom Phone fields Zoom never returns, title and plan the list leaves out,
//!    mobile phones omitted for users without one).
//!
//! Zoom's side is checked on the emulator's own state (its control view, `User::phone()`
//! for the fields SCIM never returns), the requests through an [`HttpRecorder`].

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use serde_json::{Value, json};
use zoomsync::emulator::{CORE_USER, ENTERPRISE, FIRST_EXTENSION, Route, RunningEmulator, User, ZOOM_USER};
use zoomsync::plan::Action;
use zoomsync::sync::{CycleOptions, CycleReport, OutcomeResult};

use super::http_recorder::{HttpRecorder, Recorded};

/// The group whose members get Zoom Phone.
pub const PHONE_GROUP: &str = "Zoom Phone Users";
pub const PHONE_SITE: &str = "London HQ";
pub const CALLING_PLAN: i64 = 3000;
/// The user moved into the phone group in step 3 (not a member before).
pub const MOVED: usize = 7;

/// `[mapping]`: 15 target attributes (userName besides). Every directory attribute named
/// here exists in both inetOrgPerson and AD's user class.
pub const MAPPING: &str = r#"
[mapping]
givenName = "givenName"
familyName = "sn"
displayName = { expression = 'coalesce(displayName, givenName ~ " " ~ sn)' }
email = "mail"
title = "title"
department = "departmentNumber"
phone = { expression = 'regex_replace(telephoneNumber, "[^+0-9]", "")' }
mobilePhone = { expression = 'e164(mobile, "GB") if mobile else omit()' }
userType = { constant = "Licensed" }
zoomOneBizPlus = { expression = 'switch(departmentNumber, "US_CA", "dept001", "UK_IR", "dept002", "AU_NZ")' }
zoomPhoneExtNumber = { expression = '0 if member_of("Zoom Phone Users") else omit()' }
zoomPhoneSite = { expression = '"London HQ" if member_of("Zoom Phone Users") else omit()' }
zoomPhoneCallingPlan = { expression = '3000 if member_of("Zoom Phone Users") else omit()' }
zoomPhoneNumber = { expression = 'e164(homePhone, "GB") if member_of("Zoom Phone Users") else omit()' }
manager = "manager"
"#;

/// `[groups]` reading only what `member_of` asks about: nothing is pushed to Zoom.
pub fn groups_section(base_dn: &str) -> String {
    format!("\n[groups]\nbase_dn = \"{base_dn}\"\n")
}

/// One directory user as the test generates it.
#[derive(Clone, Debug)]
pub struct Person {
    pub i: usize,
    /// The userName zoomsync derives (mail or userPrincipalName, lower case).
    pub login: String,
    /// `mail`: every fourth user's has capitals.
    pub mail: String,
    pub given: String,
    pub sn: String,
    /// `displayName` in the directory (every third user): else given name and surname.
    pub display: Option<String>,
    /// Every eleventh user has none (the field is left out).
    pub title: Option<String>,
    pub department: String,
    /// Punctuated: the mapping strips all but `+` and digits.
    pub telephone: String,
    /// A London number in national form: `zoomPhoneNumber` is its E.164 form.
    pub home_phone: String,
    /// A UK mobile in national form for every third user; the others have none (omitted).
    pub mobile: Option<String>,
    /// Index of the manager: user 0 has none, each user heads the next 49, heads report to 0.
    pub manager: Option<usize>,
    /// In "Zoom Phone Users" from the start (every fifth user).
    pub phone_user: bool,
}

/// `n` people; `login(i)` is the directory's userName for user `i` (lower case).
pub fn people(n: usize, login: impl Fn(usize) -> String) -> Vec<Person> {
    (0..n)
        .map(|i| {
            let login = login(i);
            let mail = if i % 4 == 0 {
                let (local, domain) = login.split_once('@').unwrap();
                let mut chars = local.chars();
                let first = chars.next().unwrap().to_ascii_uppercase();
                format!("{first}{}@{}", chars.as_str(), domain.to_ascii_uppercase())
            } else {
                login.clone()
            };
            Person {
                i,
                login,
                mail,
                given: format!("Given{i}"),
                sn: format!("Family{i}"),
                display: (i % 3 == 0).then(|| format!("Preferred{i} Family{i}")),
                title: (i % 11 != 0).then(|| format!("Engineer {}", i % 7)),
                department: format!("dept{:03}", i % 20),
                telephone: format!("+1 (212) 555-{i:04}"),
                home_phone: format!("020 7946 {i:04}"),
                mobile: (i % 3 == 1).then(|| format!("07400 {i:06}")),
                manager: match (i, i % 50) {
                    (0, _) => None,
                    (_, 0) => Some(0),
                    (_, r) => Some(i - r),
                },
                phone_user: i % 5 == 0,
            }
        })
        .collect()
}

/// The directory attributes the mapping reads, as LDIF lines (`dn_of(i)`: user `i`'s DN).
pub fn attribute_lines(p: &Person, dn_of: impl Fn(usize) -> String) -> String {
    let mut s = format!(
        "givenName: {}\nsn: {}\nmail: {}\ndepartmentNumber: {}\ntelephoneNumber: {}\nhomePhone: {}\n",
        p.given, p.sn, p.mail, p.department, p.telephone, p.home_phone
    );
    let optional = [("displayName", p.display.clone()), ("title", p.title.clone()), ("mobile", p.mobile.clone())];
    for (name, value) in optional {
        if let Some(v) = value {
            s.push_str(&format!("{name}: {v}\n"));
        }
    }
    if let Some(m) = p.manager {
        s.push_str(&format!("manager: {}\n", dn_of(m)));
    }
    s
}

/// The plan value the mapping's `switch` gives.
fn plan_value(department: &str) -> &'static str {
    match department {
        "dept001" => "UK_IR",
        "dept002" => "AU_NZ",
        _ => "US_CA",
    }
}

/// The four Zoom Phone fields (as the emulator's view shows them: an extension it assigned
/// as "assigned", the exact numbers are checked apart).
fn phone_view(p: &Person) -> Value {
    json!({
        "extNumber": "assigned",
        "site": PHONE_SITE,
        "callingPlan": CALLING_PLAN,
        "number": format!("+44207946{:04}", p.i),
    })
}

/// What the emulator must hold for `p`. `manager_id`: the manager's Zoom id once set.
/// `phone_user`: whether the user is in the phone group now.
pub fn expected(p: &Person, manager_id: Option<&str>, phone_user: bool) -> Value {
    // "+1 (212) 555-0007" stripped to "+12125550007"; "07400 000007" in E.164.
    let mut phones = vec![json!({"type": "work", "value": format!("+1212555{:04}", p.i)})];
    if p.mobile.is_some() {
        phones.push(json!({"type": "mobile", "value": format!("+447400{:06}", p.i)}));
    }
    let mut enterprise = json!({"department": p.department});
    if let Some(id) = manager_id {
        enterprise["manager"] = json!({"value": id});
    }
    let (phone, hidden_keys) = if phone_user {
        let keys = ["zoomPhoneCallingPlan", "zoomPhoneExtNumber", "zoomPhoneNumber", "zoomPhoneSite"];
        (phone_view(p), json!(keys))
    } else {
        (json!({"extNumber": null, "site": null, "callingPlan": null, "number": null}), json!([]))
    };
    json!({
        "userName": p.login,
        "state": "active",
        "role": "member",
        "userType": "Licensed",
        "givenName": p.given,
        "familyName": p.sn,
        "displayName": p.display.clone().unwrap_or_else(|| format!("{} {}", p.given, p.sn)),
        "title": p.title,
        "locale": null,
        "phoneNumbers": phones,
        "loginType": {"work_email": false, "sso": true},
        "enterprise": enterprise,
        "zoom": {"zoomOneBizPlus": plan_value(&p.department)},
        "phone": phone,
        "hiddenKeys": hidden_keys,
    })
}

/// Everything the emulator holds for a user, but ids, times and versions. Phone numbers
/// sorted by type (work first); an extension the emulator assigned shows as "assigned".
pub fn view(u: &User) -> Value {
    let mut phones = u.phone_numbers.clone();
    phones.sort_by_key(|p| if p["type"] == "work" { 0 } else { 1 });
    let mut phone = serde_json::to_value(u.phone()).unwrap();
    if phone["extNumber"].as_i64().is_some_and(|e| e >= FIRST_EXTENSION) {
        phone["extNumber"] = json!("assigned");
    }
    let hidden_keys: Vec<&String> = u.hidden.keys().collect();
    json!({
        "userName": u.user_name,
        "state": u.state,
        "role": u.role,
        "userType": u.user_type,
        "givenName": u.given_name,
        "familyName": u.family_name,
        "displayName": u.display_name,
        "title": u.title,
        "locale": u.locale,
        "phoneNumbers": phones,
        "loginType": u.login_type,
        "enterprise": u.enterprise,
        "zoom": u.zoom,
        "phone": phone,
        "hiddenKeys": hidden_keys,
    })
}

/// What the scenario needs from a world: cycles, the emulator, the recorder in front of
/// it, and a way to add a user to the phone group in the directory. (Used by generic
/// functions in the test binaries only: no `Send` bound is needed on the futures.)
#[allow(async_fn_in_trait)]
pub trait OpenModelWorld {
    fn zoom(&self) -> &RunningEmulator;
    fn recorder(&self) -> &HttpRecorder;
    async fn cycle(&self, options: CycleOptions) -> CycleReport;
    fn add_to_phone_group(&self, i: usize);
}

/// Emulator users by userName (the account owner left out).
fn on_zoom(zoom: &RunningEmulator) -> BTreeMap<String, User> {
    zoom.users().into_iter().filter(|u| u.user_name != "owner@example.com").map(|u| (u.user_name.clone(), u)).collect()
}

/// Every person's emulator view against [`expected`]; the first differences are shown.
fn assert_all_as_expected(
    zoom: &RunningEmulator,
    people: &[Person],
    managers_set: bool,
    phone_users: &BTreeSet<usize>,
) {
    let users = on_zoom(zoom);
    assert_eq!(users.len(), people.len(), "one Zoom user per directory user");
    let id_of = |i: usize| users[&people[i].login].id.clone();
    let mut wrong = Vec::new();
    for p in people {
        let u = users.get(&p.login).unwrap_or_else(|| panic!("{} is not on Zoom", p.login));
        let manager = if managers_set { p.manager.map(id_of) } else { None };
        let want = expected(p, manager.as_deref(), phone_users.contains(&p.i));
        let got = view(u);
        if got != want {
            wrong.push(format!("{}:\n  want {want}\n  got  {got}", p.login));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} users differ, e.g.\n{}",
        wrong.len(),
        wrong.iter().take(3).cloned().collect::<Vec<_>>().join("\n")
    );
    // Extension 0 asks Zoom to assign one: every phone user has one of its own, the lowest
    // free first, so they are exactly FIRST_EXTENSION.. in some order.
    let extensions: BTreeSet<i64> = people
        .iter()
        .filter(|p| phone_users.contains(&p.i))
        .filter_map(|p| users[&p.login].phone().ext_number)
        .collect();
    let dense: BTreeSet<i64> = (FIRST_EXTENSION..FIRST_EXTENSION + phone_users.len() as i64).collect();
    assert_eq!(extensions, dense, "each phone user has an extension of its own");
}

/// Requests since the last reset, the token endpoint left out (each library cycle builds a
/// client that fetches its token once), zero counts left out.
fn emulator_requests(zoom: &RunningEmulator) -> BTreeMap<&'static str, u64> {
    let counts = zoom.request_counts();
    Route::ALL
        .iter()
        .filter(|r| **r != Route::Token)
        .map(|r| (r.key(), counts.route(*r)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// Every outcome succeeded without a warning, nobody was rejected, the read was whole.
fn assert_clean(label: &str, r: &CycleReport) {
    assert!(r.fatal.is_none() && r.incomplete.is_none(), "{label}: {}", r.summary());
    assert!(r.rejected.is_empty(), "{label}: rejected {:?}", r.rejected.iter().take(3).collect::<Vec<_>>());
    let bad: Vec<_> = r.outcomes.iter().filter(|o| o.result != OutcomeResult::Success).take(3).collect();
    assert!(bad.is_empty(), "{label}: {bad:?}");
    let g = r.groups.as_ref().expect("[groups] is configured");
    assert!(g.missing.is_empty() && g.incomplete.is_none() && g.rejected.is_empty(), "{label}: {g:?}");
    assert_eq!(g.groups_read, 1, "{label}: the phone group is read");
    assert!(g.done.is_empty() && g.failed.is_empty(), "{label}: no group is pushed: {g:?}");
}

async fn timed<W: OpenModelWorld>(w: &W, label: &str, options: CycleOptions) -> (CycleReport, Vec<Recorded>) {
    w.zoom().reset_requests();
    let _ = w.recorder().take();
    let started = Instant::now();
    let r = w.cycle(options).await;
    eprintln!("{label}: {:.1?}\n  {}", started.elapsed(), r.summary());
    assert_clean(label, &r);
    (r, w.recorder().take())
}

/// The scenario of the module comment, over `people` already in the directory.
pub async fn must_show<W: OpenModelWorld>(w: &W, people: &[Person]) {
    let n = people.len();
    let mut phone_users: BTreeSet<usize> = people.iter().filter(|p| p.phone_user).map(|p| p.i).collect();
    assert!(!phone_users.contains(&MOVED));

    // 1. First cycle: every user created with every mapped value but the manager.
    let (r, sent) = timed(w, "cycle 1 (creates)", CycleOptions::default()).await;
    assert_eq!(r.succeeded(Action::Create), n, "{}", r.summary());
    assert_eq!(r.managers.not_yet_on_target, n - 1, "every manager is created in this same cycle");
    let posts: Vec<&Recorded> = sent.iter().filter(|s| s.method == "POST").collect();
    assert_eq!(posts.len(), n);
    assert!(
        sent.iter().all(|s| s.method == "POST" || s.is("GET", "/scim2/Users?startIndex=")),
        "only creates and the first reconcile's list"
    );
    let mails: BTreeMap<&str, &str> = people.iter().map(|p| (p.login.as_str(), p.mail.as_str())).collect();
    for post in &posts {
        let body = &post.body;
        assert!(body[ENTERPRISE].get("manager").is_none(), "no manager before it exists: {body}");
        let login = body["userName"].as_str().unwrap();
        // The mail goes out as the directory has it (capitals and all); Zoom keeps the login.
        assert_eq!(body["emails"][0]["value"], mails[login], "{body}");
    }
    assert_all_as_expected(w.zoom(), people, false, &phone_users);

    // 2. Second cycle: each manager now has a Zoom id: one PUT per user, only `manager`.
    let (r, sent) = timed(w, "cycle 2 (managers)", CycleOptions::default()).await;
    assert_eq!(r.succeeded(Action::Update), n - 1, "{}", r.summary());
    assert_eq!(r.managers.resolved, n - 1);
    assert_eq!(sent.len(), n - 1, "only the manager updates");
    let users = on_zoom(w.zoom());
    let by_id: BTreeMap<&str, &Person> = people.iter().map(|p| (users[&p.login].id.as_str(), p)).collect();
    for put in &sent {
        assert_eq!(put.method, "PUT", "{}", put.path);
        let p = by_id[put.user_id().as_str()];
        let manager_id = &users[&people[p.manager.unwrap()].login].id;
        assert_eq!(
            put.body,
            json!({"schemas": [CORE_USER, ENTERPRISE], ENTERPRISE: {"manager": {"value": manager_id}}})
        );
    }
    assert_all_as_expected(w.zoom(), people, true, &phone_users);

    // 3. One user joins "Zoom Phone Users": one PUT with the four phone fields and nothing else.
    w.add_to_phone_group(MOVED);
    phone_users.insert(MOVED);
    let (r, sent) = timed(w, "cycle 3 (one user into the phone group)", CycleOptions::default()).await;
    assert_eq!(r.succeeded(Action::Update), 1, "{}", r.summary());
    assert_eq!(emulator_requests(w.zoom()), BTreeMap::from([(Route::PutUser.key(), 1)]));
    assert_eq!(sent.len(), 1, "{sent:?}");
    let moved = &users[&people[MOVED].login];
    assert_eq!(sent[0].method, "PUT");
    assert_eq!(sent[0].user_id(), moved.id, "{}", sent[0].path);
    assert_eq!(
        sent[0].body,
        json!({"schemas": [CORE_USER, ZOOM_USER], ZOOM_USER: {
            "zoomPhoneExtNumber": 0,
            "zoomPhoneSite": PHONE_SITE,
            "zoomPhoneCallingPlan": CALLING_PLAN,
            "zoomPhoneNumber": format!("+44207946{MOVED:04}"),
        }})
    );
    let changed: Vec<&str> = r.outcomes[0].changes.iter().map(|c| c.field.config_name()).collect();
    assert_eq!(changed, ["zoomPhoneExtNumber", "zoomPhoneSite", "zoomPhoneCallingPlan", "zoomPhoneNumber"]);
    assert_all_as_expected(w.zoom(), people, true, &phone_users);
    let ext = w.zoom().user(&moved.id).unwrap().phone().ext_number;
    assert_eq!(ext, Some(FIRST_EXTENSION + phone_users.len() as i64 - 1), "the next free extension");

    // 4. Nothing changed: not one request.
    let (r, sent) = timed(w, "cycle 4 (no change)", CycleOptions::default()).await;
    assert_eq!(r.plan.unchanged, n, "{}", r.summary());
    assert!(sent.is_empty(), "{sent:?}");
    assert_eq!(emulator_requests(w.zoom()), BTreeMap::new());

    // 5. A full reconcile: the list pages and nothing else, no drift.
    let (r, sent) = timed(w, "cycle 5 (full reconcile)", CycleOptions { full: true, ..Default::default() }).await;
    let reconcile = r.reconcile.as_ref().expect("a full reconcile");
    assert_eq!((reconcile.drift, reconcile.forgotten, reconcile.adopted), (0, 0, 0), "{}", r.summary());
    assert_eq!(r.plan.unchanged, n, "{}", r.summary());
    assert!(!sent.is_empty() && sent.iter().all(|s| s.is("GET", "/scim2/Users?startIndex=")), "{sent:?}");
    let requests = emulator_requests(w.zoom());
    assert_eq!(requests.keys().copied().collect::<Vec<_>>(), [Route::ListUsers.key()], "{requests:?}");
    assert_eq!(requests[Route::ListUsers.key()], sent.len() as u64);
    assert_all_as_expected(w.zoom(), people, true, &phone_users);
}

/// `[target]`: the emulator's Zoom app, its SCIM base reached through `recorder` (the token
/// endpoint directly); the client secret in `zoom-secret` beside the config.
pub fn target_section(zoom: &RunningEmulator, recorder: &HttpRecorder) -> String {
    format!(
        "[target]\nkind = \"zoom\"\nbase_url = \"{}/scim2\"\ntoken_url = \"{}\"\naccount_id = \"{}\"\n\
         client_id = \"{}\"\nclient_secret_file = \"zoom-secret\"\nrequests_per_second = 5000\n\
         max_concurrency = 8\ntimeout = \"10s\"\n",
        recorder.origin(),
        zoom.token_url(),
        zoom.account_id(),
        zoom.client_id()
    )
}
