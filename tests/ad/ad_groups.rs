//! Group push from a real Samba AD DC (tests/support/servers/samba.rs) into the in-process Zoom
//! emulator, through the library's cycle (the report is asserted as well as the emulator).
//!
//! - 1,000 AD users (every tenth disabled, UAC 546) and 20 groups: three levels of nesting,
//!   a nesting cycle (AD allows one), flat groups with overlaps; `nesting` is the AD default
//!   (in_chain: the DC walks the nesting). Every Zoom group holds exactly the flattened
//!   managed members, computed here from the test's own model; the DC's own in-chain answer
//!   is cross-checked with ldapsearch. A user moved between two groups costs one remove and
//!   one add PATCH; a cycle with no change sends no request at all; a user disabled in AD
//!   is deactivated and leaves their groups in the same cycle (users disabled in AD from the
//!   start are never created, never added and not counted as awaited). Flattened by
//!   zoomsync instead (expand, dry run), the same groups give an empty plan and the cycle is
//!   reported.
//! - Group-based scope on AD: only members of the (nested) scoping group are created; one
//!   leaver is deactivated and leaves its Zoom groups; more leavers than
//!   `safety.max_deactivations` are held, and so are their group memberships.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Instant;

use crate::support::ad::{AD_FILTER, IN_CHAIN, SERVICE_PASSWORD, group_dn, service_dn, start_dc};
use crate::support::data::group_model::{Member, Model};
use crate::support::data::groups::emulator_groups;
use crate::support::servers::samba::{self, SambaDc};
use crate::support::world::library_cycle;
use zoomsync::config;
use zoomsync::emulator::{Emulator, EmulatorConfig, RequestCounts, Route, RunningEmulator, UserState};
use zoomsync::plan::Action;
use zoomsync::source::AnyDirectory;
use zoomsync::sync::{CycleOptions, CycleReport};

/// Moves user `i` from group `from` to group `to`: in the model and on the DC.
fn move_user(dc: &SambaDc, model: &mut Model, i: usize, from: &str, to: &str) {
    assert!(model.groups.get_mut(from).unwrap().remove(&Member::User(i)), "{i} not in {from}");
    assert!(model.groups.get_mut(to).unwrap().insert(Member::User(i)), "{i} already in {to}");
    dc.ldapmodify(&format!(
        "dn: {}\nchangetype: modify\ndelete: member\nmember: {user}\n-\n\n\
         dn: {}\nchangetype: modify\nadd: member\nmember: {user}\n-\n",
        group_dn(from),
        group_dn(to),
        user = samba::user_dn(i),
    ));
}

/// Removes user `i` from group `group` (model and DC).
fn remove_member(dc: &SambaDc, model: &mut Model, group: &str, i: usize) {
    assert!(model.groups.get_mut(group).unwrap().remove(&Member::User(i)), "{i} not in {group}");
    dc.ldapmodify(&format!(
        "dn: {}\nchangetype: modify\ndelete: member\nmember: {}\n-\n",
        group_dn(group),
        samba::user_dn(i)
    ));
}

// ---------------------------------------------------------------------------------------
// The world: a DC with a service account, the emulator, a config, cycles via the library.

struct World {
    dc: SambaDc,
    zoom: RunningEmulator,
}

impl World {
    async fn start() -> World {
        let dc = start_dc();
        zoomsync::install_crypto_provider();
        let zoom = Emulator::start(EmulatorConfig::unlimited(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
        std::fs::write(dc.dir().join("ldap-password"), SERVICE_PASSWORD).unwrap();
        std::fs::write(dc.dir().join("zoom-secret"), zoom.client_secret()).unwrap();
        World { dc, zoom }
    }

    fn config_path(&self) -> PathBuf {
        self.dc.dir().join("zoomsync.toml")
    }

    /// The whole config: AD with its defaults (objectGUID, userPrincipalName, UAC) over
    /// LDAPS under OU=Sync, the emulator, and `extra` sections.
    fn write_config(&self, extra: &str) {
        let text = format!(
            "[directory]\nflavor = \"active_directory\"\nurl = \"{url}\"\nbind_dn = \"{bind}\"\n\
             bind_password_file = \"ldap-password\"\nbase_dn = \"{ou}\"\nca_file = {ca:?}\npage_size = 1000\n\n\
             [target]\nkind = \"zoom\"\nbase_url = \"{}\"\ntoken_url = \"{}\"\naccount_id = \"{}\"\n\
             client_id = \"{}\"\nclient_secret_file = \"zoom-secret\"\nrequests_per_second = 5000\nmax_concurrency = 8\n\n\
             [state]\npath = \"state\"\n\n[admin]\nsocket = \"admin.sock\"\n\n[metrics]\nenabled = false\n\n{extra}\n",
            self.zoom.base_url(),
            self.zoom.token_url(),
            self.zoom.account_id(),
            self.zoom.client_id(),
            url = self.dc.ldaps_url(),
            bind = service_dn(),
            ou = samba::SYNC_OU,
            ca = self.dc.ca_file(),
        );
        std::fs::write(self.config_path(), text).unwrap();
    }

    /// One cycle through the library, as `sync --once` runs it.
    async fn cycle(&self, label: &str) -> CycleReport {
        self.cycle_with(label, config::Nesting::InChain, CycleOptions::default()).await
    }

    /// One cycle, checking the config's nesting mode first.
    async fn cycle_with(&self, label: &str, nesting: config::Nesting, options: CycleOptions) -> CycleReport {
        let config = config::load(&self.config_path()).unwrap_or_else(|e| panic!("config: {e}"));
        let groups = config.groups.as_ref().expect("a [groups] section");
        assert_eq!(groups.nesting, nesting, "{label}");
        assert_eq!(groups.class_filter, "(objectClass=group)", "the AD default");
        let directory = AnyDirectory::from_config(&config.directory);
        let started = Instant::now();
        let report = library_cycle(&config, &self.dc.dir().join("state"), &directory, &options).await;
        eprintln!("cycle {} ({label}): {:.1?}\n  {}", report.cycle, started.elapsed(), report.summary());
        assert!(report.fatal.is_none(), "{label}: {:?}", report.fatal);
        assert!(report.incomplete.is_none(), "{label}: {:?}", report.incomplete);
        assert_eq!(report.failed(), 0, "{label}: {:?}", report.outcomes);
        let g = report.groups.as_ref().unwrap();
        assert!(g.failed.is_empty(), "{label}: {:?}", g.failed);
        assert!(g.incomplete.is_none() && g.missing.is_empty() && g.rejected.is_empty(), "{label}: {g:?}");
        report
    }

    /// The userNames zoomsync created (the account owner left out).
    fn created(&self) -> BTreeSet<String> {
        self.zoom.users().into_iter().map(|u| u.user_name).filter(|n| n != "owner@example.com").collect()
    }

    /// Non-default Zoom groups: name -> member userNames.
    fn zoom_groups(&self) -> BTreeMap<String, BTreeSet<String>> {
        emulator_groups(&self.zoom)
    }

    fn group_id(&self, name: &str) -> String {
        self.zoom.groups().into_iter().find(|g| g.display_name == name).unwrap_or_else(|| panic!("no group {name}")).id
    }

    fn user_state(&self, i: usize) -> UserState {
        self.zoom.user_by_name(&samba::upn(i)).unwrap_or_else(|| panic!("{} not in Zoom", samba::upn(i))).state
    }

    /// `ldapsearch` with the in-chain rule: the users under OU=Sync that are (transitive)
    /// members of `group`, as user indexes.
    fn in_chain(&self, group: &str) -> BTreeSet<usize> {
        let filter = format!("(&{AD_FILTER}(memberOf:{IN_CHAIN}:={}))", group_dn(group));
        self.dc
            .search(samba::SYNC_OU, &filter, &["1.1"])
            .into_keys()
            .map(|dn| {
                let cn =
                    dn.strip_prefix("CN=aduser").and_then(|r| r.split(',').next()).unwrap_or_else(|| panic!("{dn}"));
                cn.parse().unwrap()
            })
            .collect()
    }
}

/// Requests per route since `before`, Token left out, zero counts left out.
fn delta(before: &RequestCounts, after: &RequestCounts) -> BTreeMap<&'static str, u64> {
    Route::ALL
        .iter()
        .filter(|r| **r != Route::Token)
        .map(|r| (r.key(), after.route(*r) - before.route(*r)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

fn upns(users: impl IntoIterator<Item = usize>) -> BTreeSet<String> {
    users.into_iter().map(samba::upn).collect()
}

fn load(dc: &SambaDc, users: usize, disabled: impl Fn(usize) -> bool, model: &Model) {
    let started = Instant::now();
    dc.ldapadd(&samba::users_ldif(users, disabled));
    eprintln!("ldapadd of {users} users: {:.1?}", started.elapsed());
    let started = Instant::now();
    dc.ldapadd(&model.groups_ldif());
    eprintln!("ldapadd of {} groups: {:.1?}", model.groups.len(), started.elapsed());
    let started = Instant::now();
    dc.ldapmodify(&model.nesting_ldif());
    eprintln!("ldapmodify of the nesting (a cycle included): {:.1?}", started.elapsed());
}

fn done(report: &CycleReport) -> BTreeMap<&'static str, usize> {
    report.groups.as_ref().unwrap().done.clone()
}

// ---------------------------------------------------------------------------------------

const USERS: usize = 1_000;
const FLAT: usize = 15;

fn disabled_in_ad(i: usize) -> bool {
    i % 10 == 3
}

fn flat_name(j: usize) -> String {
    format!("G-flat-{j:02}")
}

/// 20 groups: G-top ∋ G-mid ∋ G-low (users at each level), G-cyc-a ∋ G-cyc-b ∋ G-cyc-a,
/// and 15 flat groups over users 200..1000 (every 7th user in two of them; users 0..5 also
/// in G-flat-00, so they are in nested and flat groups both).
fn twenty_groups() -> Model {
    let mut m = Model::default();
    m.users("G-low", 20..40);
    m.users("G-mid", 10..20);
    m.nest("G-mid", "G-low");
    m.users("G-top", 0..10);
    m.nest("G-top", "G-mid");
    m.users("G-cyc-a", 100..110);
    m.users("G-cyc-b", 110..120);
    m.nest("G-cyc-a", "G-cyc-b");
    m.nest("G-cyc-b", "G-cyc-a");
    for j in 0..FLAT {
        m.users(&flat_name(j), (200..USERS).filter(|i| i % FLAT == j));
        m.users(&flat_name(j), (200..USERS).filter(|i| i % 7 == 0 && (i + 1) % FLAT == j));
    }
    m.users(&flat_name(0), 0..5);
    assert_eq!(m.groups.len(), 20);
    m
}

/// What every pushed Zoom group must hold: the flattened members that are active in Zoom
/// (`created`: users enabled in AD and active on Zoom).
fn expected_groups(model: &Model, pushed: &[String], created: &BTreeSet<usize>) -> BTreeMap<String, BTreeSet<String>> {
    pushed.iter().map(|g| (g.clone(), upns(model.flat(g).intersection(created).copied()))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_and_cyclic_ad_groups_pushed_in_chain_then_a_move_costs_one_remove_and_one_add() {
    let wall = Instant::now();
    let world = World::start().await;
    let dc = &world.dc;
    let mut model = twenty_groups();
    load(dc, USERS, disabled_in_ad, &model);

    // Samba accepts the circular nesting (as AD does): each of the pair lists the other.
    let cyc = dc.search(&group_dn("G-cyc-a"), "(objectClass=*)", &["member", "memberOf"]);
    let cyc = cyc.values().next().unwrap();
    let has = |attr: &str, dn: &str| {
        cyc.attrs.get(attr).is_some_and(|v| v.iter().any(|x| String::from_utf8_lossy(x).eq_ignore_ascii_case(dn)))
    };
    assert!(has("member", &group_dn("G-cyc-b")) && has("memberof", &group_dn("G-cyc-b")), "{cyc:?}");

    // The DC's own in-chain answer agrees with the model, through three levels and the cycle.
    for g in ["G-top", "G-mid", "G-low", "G-cyc-a", "G-cyc-b", "G-flat-00"] {
        let started = Instant::now();
        assert_eq!(world.in_chain(g), model.flat(g), "ldapsearch in-chain for {g}");
        eprintln!("ldapsearch in-chain {g}: {:.1?}", started.elapsed());
    }
    assert_eq!(model.flat("G-top").len(), 40);
    assert_eq!(model.flat("G-cyc-a"), (100..120).collect(), "both halves of the cycle, once each");
    assert_eq!(model.flat("G-cyc-b"), model.flat("G-cyc-a"));

    // Push every group but G-flat-14 (named groups only are pushed).
    let pushed: Vec<String> = model.groups.keys().filter(|g| *g != "G-flat-14").cloned().collect();
    assert_eq!(pushed.len(), 19);
    let names: Vec<String> = pushed.iter().map(|g| format!("{g:?}")).collect();
    world.write_config(&format!("[groups]\nnames = [{}]\n", names.join(", ")));

    // Cycle 1: users created (the enabled ones), groups created and filled.
    let enabled: BTreeSet<usize> = (0..USERS).filter(|i| !disabled_in_ad(*i)).collect();
    let before = world.zoom.request_counts();
    let report = world.cycle("initial").await;
    let wire = delta(&before, &world.zoom.request_counts());
    let created: BTreeSet<String> = world.created();
    assert_eq!(created, upns(enabled.iter().copied()), "enabled AD users are created, disabled ones not");
    assert!(world.zoom.users().iter().all(|u| u.state == UserState::Active));
    let expected = expected_groups(&model, &pushed, &enabled);
    let got = world.zoom_groups();
    assert_eq!(got.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>(), "the 19 named groups");
    for (name, want) in &expected {
        assert_eq!(&got[name], want, "Zoom group {name} = its flattened enabled members");
    }
    assert_eq!(got["G-top"].len(), 36, "40 users through three levels, 4 of them disabled in AD");
    assert_eq!(got["G-cyc-a"], got["G-cyc-b"]);
    let g = report.groups.as_ref().unwrap();
    assert_eq!(g.groups_read, 19);
    assert!(g.cycles.is_empty(), "in_chain: the DC walks the nesting, cycles are not seen here");
    assert_eq!(done(&report).get("group_create"), Some(&19));
    let total_members: usize = expected.values().map(BTreeSet::len).sum();
    assert_eq!((g.members_added, g.members_removed), (total_members, 0));
    // Users disabled in AD are never created and never added: not members "awaiting" a
    // Zoom user either (they would wait forever).
    assert_eq!(g.plan.awaiting_user, 0);
    assert_eq!(wire.get(Route::CreateGroup.key()), Some(&19), "{wire:?}");
    assert_eq!(wire.get(Route::CreateUser.key()), Some(&(enabled.len() as u64)), "{wire:?}");
    assert_eq!(wire.get(Route::DeleteGroup.key()), None);
    eprintln!("cycle 1 requests: {wire:?}; {total_members} memberships pushed");

    // Move user 230 from G-flat-05 to G-flat-06: one remove PATCH, one add PATCH, nothing else.
    let (from, to) = (flat_name(5), flat_name(6));
    move_user(dc, &mut model, 230, &from, &to);
    let before = world.zoom.request_counts();
    let seq = world.zoom.requests(1).first().map_or(0, |r| r.seq);
    let report = world.cycle("one move").await;
    let wire = delta(&before, &world.zoom.request_counts());
    assert_eq!(wire, BTreeMap::from([(Route::PatchGroup.key(), 2)]), "exactly two group PATCHes, nothing else");
    let patched: BTreeSet<String> = world
        .zoom
        .requests(100)
        .into_iter()
        .filter(|r| r.seq > seq && r.method == "PATCH")
        .map(|r| percent_encoding::percent_decode_str(&r.path).decode_utf8().unwrap().into_owned())
        .collect();
    let path = |name: &str| format!("/scim2/Groups/{}", world.group_id(name));
    assert_eq!(patched, BTreeSet::from([path(&from), path(&to)]));
    assert_eq!(done(&report), BTreeMap::from([("group_add", 1), ("group_remove", 1)]));
    let g = report.groups.as_ref().unwrap();
    assert_eq!((g.members_added, g.members_removed), (1, 1));
    let got = world.zoom_groups();
    assert_eq!(got, expected_groups(&model, &pushed, &enabled));
    assert!(!got[&from].contains(&samba::upn(230)) && got[&to].contains(&samba::upn(230)));

    // No change: no request at all, users or groups.
    let before = world.zoom.request_counts();
    let report = world.cycle("no change").await;
    assert_eq!(delta(&before, &world.zoom.request_counts()), BTreeMap::new(), "a no-change cycle is silent");
    assert!(done(&report).is_empty());

    // User 25 (in G-low, so in G-mid and G-top too) disabled in AD: deactivated, and out of
    // its three groups in the same cycle (a deactivated user holds no seat or licence group;
    // it rejoins when it is enabled and reactivated).
    dc.disable_user(&samba::user_dn(25));
    let before = world.zoom.request_counts();
    let report = world.cycle("one disabled").await;
    assert_eq!(
        delta(&before, &world.zoom.request_counts()),
        BTreeMap::from([(Route::GetUser.key(), 1), (Route::PatchUser.key(), 1), (Route::PatchGroup.key(), 3)]),
        "the deactivation (a GET for the owner/admin guard, a PATCH), one remove PATCH per group"
    );
    assert_eq!(report.succeeded(Action::Deactivate), 1);
    assert_eq!(world.user_state(25), UserState::Inactive);
    let got = world.zoom_groups();
    for g in ["G-low", "G-mid", "G-top"] {
        assert!(!got[g].contains(&samba::upn(25)), "{g} no longer holds the deactivated user");
    }
    let mut active = enabled.clone();
    active.remove(&25);
    assert_eq!(got, expected_groups(&model, &pushed, &active));

    // The same groups flattened by zoomsync from the `member` values (nesting = "expand", a
    // dry run): the plan it makes against what in_chain pushed is empty, and the cycle the
    // DC walked silently is reported.
    let names: Vec<String> = pushed.iter().map(|g| format!("{g:?}")).collect();
    world.write_config(&format!("[groups]\nnames = [{}]\nnesting = \"expand\"\n", names.join(", ")));
    let before = world.zoom.request_counts();
    let options = CycleOptions { dry_run: true, ..Default::default() };
    let report = world.cycle_with("expand, dry run", config::Nesting::Expand, options).await;
    assert_eq!(delta(&before, &world.zoom.request_counts()), BTreeMap::new());
    let g = report.groups.as_ref().unwrap();
    assert!(g.plan.ops.is_empty(), "expand and in_chain agree: {:?}", g.plan.ops);
    assert_eq!((g.plan.removals_withheld, g.plan.deletions_withheld), (0, 0));
    assert_eq!(g.plan.awaiting_user, 0);
    let mut cycles: Vec<Vec<String>> =
        g.cycles.iter().map(|c| c.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect()).collect();
    cycles.sort();
    assert_eq!(cycles, [["G-cyc-a", "G-cyc-b"]], "the one cycle, reported once: {:?}", g.cycles);
    eprintln!("nested/cyclic groups on AD: wall {:.1?}", wall.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ad_group_scope_creates_members_only_deactivates_a_leaver_and_holds_many_with_their_groups() {
    const SCOPE_USERS: usize = 250;
    let wall = Instant::now();
    let world = World::start().await;
    let dc = &world.dc;
    // Zoom-Users ∋ Zoom-Users-Sub (users 0..30) + users 30..100; Team-X: users 80..130
    // (half of them out of scope).
    let mut model = Model::default();
    model.users("Zoom-Users-Sub", 0..30);
    model.users("Zoom-Users", 30..100);
    model.nest("Zoom-Users", "Zoom-Users-Sub");
    model.users("Team-X", 80..130);
    load(dc, SCOPE_USERS, |_| false, &model);
    assert_eq!(world.in_chain("Zoom-Users"), (0..100).collect(), "ldapsearch in-chain");
    world.write_config(
        "[groups]\nnames = [\"Zoom-Users\", \"Team-X\"]\nscope = [\"Zoom-Users\"]\n\n[safety]\nmax_deactivations = 2\n",
    );
    let pushed = ["Zoom-Users".to_string(), "Team-X".to_string()];
    let expect = |model: &Model, created: &BTreeSet<usize>| -> BTreeMap<String, BTreeSet<String>> {
        let scope = model.flat("Zoom-Users");
        pushed
            .iter()
            .map(|g| (g.clone(), upns(model.flat(g).intersection(created).filter(|i| scope.contains(i)).copied())))
            .collect()
    };

    // Cycle 1: only the 100 (nested) members of Zoom-Users are created.
    let report = world.cycle("scope").await;
    let in_scope: BTreeSet<usize> = (0..100).collect();
    let created: BTreeSet<String> = world.created();
    assert_eq!(created, upns(in_scope.iter().copied()), "only the scoping group's members");
    let g = report.groups.as_ref().unwrap();
    assert_eq!(g.out_of_scope, SCOPE_USERS - 100);
    eprintln!("scope cycle 1: plan.awaiting_user = {} (Team-X members out of scope)", g.plan.awaiting_user);
    assert_eq!(world.zoom_groups(), expect(&model, &in_scope));
    assert_eq!(world.zoom_groups()["Team-X"], upns(80..100), "out-of-scope members are not pushed");

    // One leaver (user 85, also in Team-X): deactivated, and out of both Zoom groups.
    remove_member(dc, &mut model, "Zoom-Users", 85);
    let before = world.zoom.request_counts();
    let report = world.cycle("one leaves the scope").await;
    let wire = delta(&before, &world.zoom.request_counts());
    // The deactivation reads the user first (owners and admins are left alone), then PATCHes.
    let deactivation = [(Route::GetUser.key(), 1), (Route::PatchUser.key(), 1)];
    assert_eq!(wire, BTreeMap::from_iter(deactivation.into_iter().chain([(Route::PatchGroup.key(), 2)])));
    assert_eq!(report.succeeded(Action::Deactivate), 1);
    assert!(report.plan.held.is_empty());
    assert_eq!(world.user_state(85), UserState::Inactive);
    assert_eq!(world.zoom.users().iter().filter(|u| u.state == UserState::Inactive).count(), 1);
    assert_eq!(done(&report), BTreeMap::from([("group_remove", 2)]));
    let groups = world.zoom_groups();
    assert_eq!(groups, expect(&model, &in_scope));
    assert!(!groups["Team-X"].contains(&samba::upn(85)), "a user out of scope leaves every pushed group");

    // Three leavers (user 5 through the nested group, 40 and 90) > max_deactivations 2:
    // the deactivations are held, nobody is deactivated, nobody leaves a group.
    let groups_before = world.zoom_groups();
    remove_member(dc, &mut model, "Zoom-Users-Sub", 5);
    remove_member(dc, &mut model, "Zoom-Users", 40);
    remove_member(dc, &mut model, "Zoom-Users", 90);
    let before = world.zoom.request_counts();
    let report = world.cycle("three leave: held").await;
    assert_eq!(delta(&before, &world.zoom.request_counts()), BTreeMap::new(), "nothing sent");
    let held: BTreeSet<(Action, String)> =
        report.plan.held.iter().map(|op| (op.action, op.user_name.clone())).collect();
    let leavers = [5, 40, 90];
    assert_eq!(held, leavers.iter().map(|i| (Action::Deactivate, samba::upn(*i))).collect());
    assert!(report.plan.guard.is_some());
    assert_eq!(report.succeeded(Action::Deactivate), 0);
    for i in leavers {
        assert_eq!(world.user_state(i), UserState::Active, "{}", samba::upn(i));
    }
    assert_eq!(world.zoom_groups(), groups_before, "held leavers keep their groups");
    let g = report.groups.as_ref().unwrap();
    assert!(g.done.is_empty());
    assert_eq!(g.plan.removals_withheld, 4, "5, 40, 90 from Zoom-Users and 90 from Team-X");
    eprintln!("group scope on AD: wall {:.1?}", wall.elapsed());
}
