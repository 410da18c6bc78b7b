//! Sync from a private 389 Directory Server into the in-process Zoom emulator through the
//! library's cycle, with `flavor = "389ds"` and its defaults (entryUUID anchors, locks from
//! `nsAccountLock` and roles), the report asserted as well as the emulator:
//!
//! 2,000 users, four in every fifty locked from the start (`nsAccountLock: true`, or the
//! managed disabled role: the CoS computes the lock), some with non-ASCII names, and three
//! pushed groups out of a three-level nesting (everyone → department → team → users, flattened
//! by zoomsync). Then: a cycle with no change sends no request; a rename (modrdn and a new
//! mail) is one update of the same Zoom user; locks made directly (in capitals), by role and
//! by locking a whole role deactivate exactly those users, and unlocking them reactivates
//! them (and creates the two locked from the start); a last cycle is silent again.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Instant;

use crate::support::data::ds389::{self as fixture, EVERYONE, GROUPS, Lock};
use crate::support::data::groups::emulator_groups;
use crate::support::data::{PEOPLE, SERVICE_DN, SERVICE_PASSWORD};
use crate::support::servers::ds389::{DISABLED_ROLE, Ds389, MANAGED_DISABLED_ROLE};
use crate::support::world::library_cycle;
use zoomsync::config;
use zoomsync::emulator::{Emulator, EmulatorConfig, RequestCounts, Route, RunningEmulator, UserState};
use zoomsync::plan::Action;
use zoomsync::source::AnyDirectory;
use zoomsync::sync::{CycleOptions, CycleReport};

const USERS: usize = 2_000;
/// Pushed: the top group (every user through two levels of nesting), a department (three
/// teams) and a team.
const PUSHED: [&str; 3] = ["everyone", "department-1", "team-05"];

struct World {
    server: Ds389,
    zoom: RunningEmulator,
    /// User index -> userName (the mail; a rename changes it).
    names: BTreeMap<usize, String>,
}

impl World {
    async fn start() -> World {
        let started = Instant::now();
        let server = Ds389::start(&fixture::directory_ldif(USERS));
        eprintln!("ds389 with {USERS} users and their groups: {:.1?}", started.elapsed());
        zoomsync::install_crypto_provider();
        let zoom = Emulator::start(EmulatorConfig::unlimited(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
        // Zoom accepts a new userName here (its default keeps the old one: see ad_source.rs).
        zoom.update_knobs(|k| k.ignore_identity_changes = false).unwrap();
        let dir = server.dir();
        std::fs::write(dir.join("ldap-password"), SERVICE_PASSWORD).unwrap();
        std::fs::write(dir.join("zoom-secret"), zoom.client_secret()).unwrap();
        let names = (0..USERS).map(|i| (i, fixture::mail(i))).collect();
        let world = World { server, zoom, names };
        world.write_config();
        world
    }

    fn config_path(&self) -> PathBuf {
        self.server.dir().join("zoomsync.toml")
    }

    /// The 389ds flavour with nothing else about the directory set: its defaults decide the
    /// anchor, the login, the locks and the user filter.
    fn write_config(&self) {
        let names: Vec<String> = PUSHED.iter().map(|g| format!("{g:?}")).collect();
        let text = format!(
            "[directory]\nflavor = \"389ds\"\nurl = \"{url}\"\nca_file = {ca:?}\nbind_dn = \"{SERVICE_DN}\"\n\
             bind_password_file = \"ldap-password\"\nbase_dn = \"{PEOPLE}\"\n\n\
             [groups]\nbase_dn = \"{GROUPS}\"\nnames = [{names}]\n\n\
             [target]\nkind = \"zoom\"\nbase_url = \"{}\"\ntoken_url = \"{}\"\naccount_id = \"{}\"\n\
             client_id = \"{}\"\nclient_secret_file = \"zoom-secret\"\nrequests_per_second = 5000\nmax_concurrency = 8\n\n\
             [state]\npath = \"state\"\n\n[admin]\nsocket = \"admin.sock\"\n\n[metrics]\nenabled = false\n",
            self.zoom.base_url(),
            self.zoom.token_url(),
            self.zoom.account_id(),
            self.zoom.client_id(),
            url = self.server.ldaps_url(),
            ca = self.server.ca_file(),
            names = names.join(", "),
        );
        std::fs::write(self.config_path(), text).unwrap();
    }

    /// One cycle through the library, as `sync --once` runs it; a clean one is asserted.
    async fn cycle(&self, label: &str) -> CycleReport {
        let config = config::load(&self.config_path()).unwrap_or_else(|e| panic!("config: {e}"));
        assert_eq!(format!("{:?}", config.directory.decode.flavor), "Ds389");
        let directory = AnyDirectory::from_config(&config.directory);
        let started = Instant::now();
        let report =
            library_cycle(&config, &self.server.dir().join("state"), &directory, &CycleOptions::default()).await;
        eprintln!("cycle {} ({label}): {:.1?}\n  {}", report.cycle, started.elapsed(), report.summary());
        assert!(report.fatal.is_none(), "{label}: {:?}", report.fatal);
        assert!(report.incomplete.is_none(), "{label}: {:?}", report.incomplete);
        assert_eq!(report.failed(), 0, "{label}: {:?}", report.outcomes);
        assert!(report.rejected.is_empty(), "{label}: {:?}", report.rejected);
        let g = report.groups.as_ref().unwrap();
        assert!(g.failed.is_empty() && g.missing.is_empty() && g.rejected.is_empty(), "{label}: {g:?}");
        assert!(g.cycles.is_empty() && g.incomplete.is_none(), "{label}: {g:?}");
        report
    }

    /// Users on Zoom (the owner left out): userName -> (id, state).
    fn zoom_users(&self) -> BTreeMap<String, (String, UserState)> {
        self.zoom
            .users()
            .into_iter()
            .filter(|u| u.user_name != "owner@example.com")
            .map(|u| (u.user_name, (u.id, u.state)))
            .collect()
    }

    fn names(&self, users: impl IntoIterator<Item = usize>) -> BTreeSet<String> {
        users.into_iter().map(|i| self.names[&i].clone()).collect()
    }

    /// What the pushed Zoom groups must hold: their flattened members that exist on Zoom.
    fn expected_groups(&self, on_zoom: &BTreeSet<usize>) -> BTreeMap<String, BTreeSet<String>> {
        PUSHED.iter().map(|g| (g.to_string(), self.names(on_zoom.iter().copied().filter(|&i| member(g, i))))).collect()
    }

    fn modify(&self, ldif: &str) {
        self.server.ldapmodify(ldif);
    }
}

/// Whether user `i` is in pushed group `g` through the nesting.
fn member(g: &str, i: usize) -> bool {
    let team = fixture::team_of(i, USERS);
    match g {
        "everyone" => true,
        "department-1" => fixture::department_of(team, USERS) == 1,
        "team-05" => team == 5,
        other => panic!("{other}"),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_389ds_users_with_locks_roles_renames_and_nested_groups() {
    let wall = Instant::now();
    let mut world = World::start().await;
    assert_eq!(fixture::EVERYONE, EVERYONE);
    let locked_at_start: BTreeSet<usize> =
        (0..USERS).filter(|&i| matches!(fixture::lock(i), Lock::Locked | Lock::RoleLocked)).collect();
    assert_eq!(locked_at_start.len(), 80);
    let mut on_zoom: BTreeSet<usize> = (0..USERS).filter(|i| !locked_at_start.contains(i)).collect();

    // Cycle 1: every unlocked user is created (`nsAccountLock: false` is not a lock, a
    // Contractor is not locked until the role is); locked ones are not; three groups.
    let before = world.zoom.request_counts();
    let report = world.cycle("initial").await;
    let wire = delta(&before, &world.zoom.request_counts());
    assert_eq!((report.users_read, report.disabled_read), (USERS, locked_at_start.len()));
    assert_eq!(report.succeeded(Action::Create), on_zoom.len());
    let users = world.zoom_users();
    assert_eq!(users.keys().cloned().collect::<BTreeSet<_>>(), world.names(on_zoom.iter().copied()));
    assert!(users.values().all(|(_, s)| *s == UserState::Active));
    assert_eq!(wire.get(Route::CreateUser.key()), Some(&(on_zoom.len() as u64)), "{wire:?}");
    assert_eq!(wire.get(Route::CreateGroup.key()), Some(&3), "{wire:?}");
    // Non-ASCII names arrive as the directory has them (every tenth user, index 3, 13 …).
    let accented: Vec<usize> = on_zoom.iter().copied().filter(|i| i % 10 == 3).collect();
    assert_eq!(accented.len(), 200);
    for &i in &accented {
        let u = world.zoom.user_by_name(&fixture::mail(i)).unwrap();
        let want = (fixture::given_name(i), fixture::family_name(i), fixture::common_name(i));
        assert_eq!((u.given_name.unwrap(), u.family_name.unwrap(), u.display_name.unwrap()), want, "user {i}");
    }
    let zoe = world.zoom.user_by_name(&fixture::mail(3)).unwrap();
    assert_eq!(zoe.display_name.as_deref(), Some("Zoë Müller"));
    let groups = emulator_groups(&world.zoom);
    assert_eq!(groups, world.expected_groups(&on_zoom), "each Zoom group = its flattened members");
    assert_eq!(groups["everyone"].len(), on_zoom.len(), "two levels of nesting down to every user");
    assert_eq!(groups["department-1"].len(), 460, "teams 1, 5 and 9, locked users left out");
    assert_eq!(report.groups.as_ref().unwrap().groups_read, 3);

    // No change: no request at all.
    let before = world.zoom.request_counts();
    let report = world.cycle("no change").await;
    assert_eq!(delta(&before, &world.zoom.request_counts()), BTreeMap::new(), "a no-change cycle is silent");
    assert_eq!(report.plan.unchanged, on_zoom.len());

    // A rename: new RDN (modrdn) and new mail. entryUUID stays, so it is one update of the
    // same Zoom user, and its groups do not change (389-ds's MemberOf plugin moves the team's
    // member value to the new DN itself).
    let r = 17;
    assert!(member("team-05", r) && fixture::lock(r) == Lock::None);
    let old_dn = fixture::user_dn(r);
    let new_dn = format!("uid=renamed{r:06},{PEOPLE}");
    let new_mail = format!("renamed{r:06}@example.com");
    let id = world.zoom.user_by_name(&fixture::mail(r)).unwrap().id;
    world.modify(&format!(
        "dn: {old_dn}\nchangetype: modrdn\nnewrdn: uid=renamed{r:06}\ndeleteoldrdn: 1\n\n\
         dn: {new_dn}\nchangetype: modify\nreplace: mail\nmail: {new_mail}\n"
    ));
    let team = world.server.search(&fixture::team_dn(5), "(objectClass=*)", &["member"]);
    let members: Vec<String> = team[&fixture::team_dn(5)].attrs["member"]
        .iter()
        .map(|v| String::from_utf8_lossy(v).to_ascii_lowercase())
        .collect();
    assert!(members.contains(&new_dn) && !members.contains(&old_dn), "the server moved the member value");
    world.names.insert(r, new_mail.clone());
    let before = world.zoom.request_counts();
    let report = world.cycle("rename").await;
    let wire = delta(&before, &world.zoom.request_counts());
    assert_eq!(report.succeeded(Action::Update), 1, "{}", report.summary());
    assert_eq!(wire, BTreeMap::from([(Route::PutUser.key(), 1)]), "one update, nothing else");
    let renamed = world.zoom.user_by_name(&new_mail).unwrap();
    assert_eq!((renamed.id.as_str(), renamed.state), (id.as_str(), UserState::Active), "the same Zoom user");
    assert!(world.zoom.user_by_name(&fixture::mail(r)).is_none());
    assert_eq!(emulator_groups(&world.zoom), world.expected_groups(&on_zoom));

    // Locks: user 20 directly (`TRUE`: compared without case), user 21 through the managed
    // disabled role, and every Contractor by locking their role (as `dsidm role lock`).
    world.modify(&format!(
        "dn: {}\nchangetype: modify\nadd: nsAccountLock\nnsAccountLock: TRUE\n",
        fixture::user_dn(20)
    ));
    world.server.lock_by_role(&fixture::user_dn(21));
    world.server.lock_role(fixture::CONTRACTORS_ROLE);
    let contractors: BTreeSet<usize> = (0..USERS).filter(|&i| fixture::lock(i) == Lock::Contractor).collect();
    assert_eq!(contractors.len(), 40);
    let locked: BTreeSet<usize> = contractors.iter().copied().chain([20, 21]).collect();
    let before = world.zoom.request_counts();
    let report = world.cycle("locks").await;
    let wire = delta(&before, &world.zoom.request_counts());
    assert_eq!(report.succeeded(Action::Deactivate), locked.len(), "{}", report.summary());
    assert!(report.plan.held.is_empty());
    let n = locked.len() as u64;
    // Deactivated users leave the pushed groups (README, safety table): one remove PATCH per
    // group that held any of them.
    let active: BTreeSet<usize> = on_zoom.difference(&locked).copied().collect();
    let groups_losing = PUSHED.iter().filter(|g| locked.iter().any(|&i| member(g, i))).count() as u64;
    assert_eq!(
        wire,
        BTreeMap::from([
            (Route::GetUser.key(), n),
            (Route::PatchUser.key(), n),
            (Route::PatchGroup.key(), groups_losing)
        ]),
        "a read (owner/admin guard) and a PATCH per lock, one remove PATCH per group they were in"
    );
    let inactive: BTreeSet<String> =
        world.zoom_users().into_iter().filter(|(_, (_, s))| *s == UserState::Inactive).map(|(n, _)| n).collect();
    assert_eq!(inactive, world.names(locked.iter().copied()));
    assert_eq!(emulator_groups(&world.zoom), world.expected_groups(&active), "locked users leave their groups");

    // Unlocks: the same users again, plus user 7 (`nsAccountLock: true` from the start, now
    // `false`) and user 9 (in the disabled role from the start): those two are created.
    world.modify(&format!(
        "dn: {}\nchangetype: modify\nreplace: nsAccountLock\nnsAccountLock: false\n\n\
         dn: {}\nchangetype: modify\ndelete: nsRoleDN\nnsRoleDN: {MANAGED_DISABLED_ROLE}\n\n\
         dn: {DISABLED_ROLE}\nchangetype: modify\ndelete: nsRoleDN\nnsRoleDN: {}\n\n\
         dn: {}\nchangetype: modify\nreplace: nsAccountLock\nnsAccountLock: false\n\n\
         dn: {}\nchangetype: modify\ndelete: nsRoleDN\nnsRoleDN: {MANAGED_DISABLED_ROLE}\n",
        fixture::user_dn(20),
        fixture::user_dn(21),
        fixture::CONTRACTORS_ROLE,
        fixture::user_dn(7),
        fixture::user_dn(9),
    ));
    assert_eq!((fixture::lock(7), fixture::lock(9)), (Lock::Locked, Lock::RoleLocked));
    on_zoom.extend([7, 9]);
    let before = world.zoom.request_counts();
    let report = world.cycle("unlocks").await;
    let wire = delta(&before, &world.zoom.request_counts());
    assert_eq!(report.succeeded(Action::Reactivate), locked.len(), "{}", report.summary());
    assert_eq!(report.succeeded(Action::Create), 2, "{}", report.summary());
    assert_eq!(wire.get(Route::CreateUser.key()), Some(&2), "{wire:?}");
    assert_eq!(wire.get(Route::DeleteUser.key()), None, "{wire:?}");
    // The unlocked users rejoin their groups and users 7 and 9 join theirs: one add PATCH per
    // group that gains members.
    let gaining: BTreeSet<usize> = locked.iter().copied().chain([7, 9]).collect();
    let groups_gaining = PUSHED.iter().filter(|g| gaining.iter().any(|&i| member(g, i))).count() as u64;
    assert_eq!(wire.get(Route::PatchGroup.key()), Some(&groups_gaining), "{wire:?}");
    let users = world.zoom_users();
    assert!(users.values().all(|(_, s)| *s == UserState::Active), "everyone active again");
    assert_eq!(users.keys().cloned().collect::<BTreeSet<_>>(), world.names(on_zoom.iter().copied()));
    assert_eq!(emulator_groups(&world.zoom), world.expected_groups(&on_zoom));

    // And nothing to do again.
    let before = world.zoom.request_counts();
    world.cycle("no change again").await;
    assert_eq!(delta(&before, &world.zoom.request_counts()), BTreeMap::new(), "silent again");
    eprintln!("389-ds scenario: wall {:.1?}", wall.elapsed());
}
