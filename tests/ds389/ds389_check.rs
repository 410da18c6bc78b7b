//! `zoomsync check` against a private 389 Directory Server, run as an admin would:
//!
//! - the root DSE's vendor is read and a flavour that does not match the server is a warning
//!   that needs attention (`openldap` on 389-ds sees no lock at all); `flavor = "389ds"`
//!   counts direct and role-based locks, `nsAccountLock: false` is not a lock, and an entry
//!   whose entryUUID the bind account cannot read is anchored on its nsUniqueId;
//! - `[groups] scope` is applied as a dry run applies it (the same users);
//! - a bind account without read access (no ACI: 389-ds answers with no entries, not an
//!   error), or one that cannot read the anchor, needs attention (exit 4) with the cause;
//! - a per-page size limit below `page_size` is named with what to change.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use crate::support::data::ds389::{self as fixture, GROUPS, Lock};
use crate::support::data::{PEOPLE, SERVICE_DN, SERVICE_PASSWORD};
use crate::support::servers::ds389::{Ds389, ROOT_DN, ROOT_PASSWORD};
use crate::support::world::library_cycle;
use zoomsync::config;
use zoomsync::emulator::{Emulator, EmulatorConfig};
use zoomsync::plan::Action;
use zoomsync::source::{self, AnyDirectory, Decoder, DirectoryRead};
use zoomsync::sync::CycleOptions;

/// The generic flavour with 389-ds's settings spelled out: reads the same way before and
/// after the 389ds flavour existed, and no vendor warning applies to it.
const GENERIC: &str = "flavor = \"generic\"\nanchor_attribute = \"entryUUID\"\nuser_name_attribute = \"mail\"\n\
                       user_filter = \"(objectClass=inetOrgPerson)\"\ndisabled_attribute = \"nsAccountLock\"\n\
                       disabled_value = \"true\"";

/// A bind account: its DN and password.
struct Account {
    dn: String,
    password: String,
}

fn service() -> Account {
    Account { dn: SERVICE_DN.into(), password: SERVICE_PASSWORD.into() }
}

/// Adds `cn=<name>,ou=services` with password `<name>pass`, and `aci` (if any) on ou=people.
fn add_account(server: &Ds389, name: &str, aci: Option<&str>) -> Account {
    let dn = format!("cn={name},ou=services,dc=example,dc=com");
    let password = format!("{name}pass");
    server.ldapadd(&format!(
        "dn: {dn}\nobjectClass: applicationProcess\nobjectClass: simpleSecurityObject\ncn: {name}\n\
         userPassword: {password}\n"
    ));
    if let Some(targetattr) = aci {
        server.ldapmodify(&format!(
            "dn: {PEOPLE}\nchangetype: modify\nadd: aci\naci: (targetattr != \"{targetattr}\")(version 3.0; \
             acl \"{name} reads\"; allow (read, search, compare) userdn = \"ldap:///{dn}\";)\n"
        ));
    }
    Account { dn, password }
}

/// Writes a config for `account` over LDAPS (the test CA; page_size: the default, 500) with
/// `directory` lines in `[directory]` and `extra` sections; returns its path.
fn write_config(server: &Ds389, account: &Account, directory: &str, extra: &str) -> PathBuf {
    let dir = server.dir();
    let pw = dir.join(format!("{}.pw", account.dn.replace([',', '='], "_")));
    std::fs::write(&pw, &account.password).unwrap();
    std::fs::set_permissions(&pw, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let path = dir.join("zoomsync.toml");
    std::fs::write(
        &path,
        format!(
            "[directory]\nurl = \"{}\"\nca_file = {:?}\nbind_dn = \"{}\"\nbind_password_file = {pw:?}\n\
             base_dn = \"{PEOPLE}\"\n{directory}\n\n{extra}\n",
            server.ldaps_url(),
            server.ca_file(),
            account.dn,
        ),
    )
    .unwrap();
    path
}

/// `zoomsync check` with that config: (exit status, stdout, stderr).
fn check(server: &Ds389, account: &Account, directory: &str, extra: &str) -> (i32, String, String) {
    let path = write_config(server, account, directory, extra);
    let out = Command::new(env!("CARGO_BIN_EXE_zoomsync")).arg("check").arg("--config").arg(&path).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eprintln!("--- check as {} ({directory:?}):\n{stdout}{stderr}", account.dn);
    (out.status.code().unwrap_or(-1), stdout.into_owned(), stderr.into_owned())
}

fn disabled(n: usize, kinds: &[Lock]) -> usize {
    kinds.iter().map(|k| fixture::count(n, *k)).sum()
}

#[test]
fn check_reads_the_vendor_warns_when_the_flavour_does_not_match_and_389ds_sees_every_lock() {
    let n = 200;
    let server = Ds389::start(&fixture::directory_ldif(n));
    let locked = disabled(n, &[Lock::Locked, Lock::RoleLocked]);
    assert_eq!((locked, fixture::count(n, Lock::ExplicitlyUnlocked)), (8, 4));

    // The openldap defaults on 389-ds see no lock (pwdAccountLockedTime): named, exit 4.
    let (code, out, err) = check(&server, &service(), "", "");
    assert!(out.contains(&format!("users in scope: {n} (0 disabled)")), "{out}");
    assert_eq!(code, 4, "a flavour that does not match the server needs attention: {out}{err}");
    assert!(out.contains("389 Project") && out.contains("flavor = \"389ds\""), "{out}");

    // nsAccountLock named without a value: `true` is a lock, `false` is not (it was: present).
    let (code, out, _) = check(&server, &service(), "disabled_attribute = \"nsAccountLock\"", "");
    assert!(out.contains(&format!("users in scope: {n} ({locked} disabled)")), "{out}");
    assert_eq!(code, 4, "still the openldap flavour: {out}");

    // The 389ds flavour: every lock, direct and through roles; no warning.
    let (code, out, err) = check(&server, &service(), "flavor = \"389ds\"", "");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("users in scope: {n} ({locked} disabled)")), "{out}");
    assert!(out.contains("server: 389 Project 389-Directory/"), "{out}");
    assert!(!out.contains("needs attention") && !out.contains("anchored on nsUniqueId"), "{out}");

    // A role locked online (`dsidm role lock`): its members are disabled at once.
    server.lock_role(fixture::CONTRACTORS_ROLE);
    let (code, out, _) = check(&server, &service(), "flavor = \"389ds\"", "");
    let with_contractors = locked + fixture::count(n, Lock::Contractor);
    assert!(out.contains(&format!("users in scope: {n} ({with_contractors} disabled)")), "{out}");
    assert_eq!(code, 0, "{out}");
}

/// With the 389ds flavour the anchor is entryUUID, or nsUniqueId where the bind account
/// cannot read an entryUUID (entries from before the entryUUID plugin, or an ACI).
#[tokio::test]
async fn the_389ds_anchor_is_entryuuid_else_nsuniqueid() {
    let n = 30;
    let server = Ds389::start(&fixture::directory_ldif(n));
    let nouuid = add_account(&server, "nouuid", Some("userPassword || entryUUID"));
    let truth =
        server.search_as(ROOT_DN, ROOT_PASSWORD, PEOPLE, "(objectClass=inetOrgPerson)", &["entryUUID", "nsUniqueId"]);
    let read = |account: &Account| {
        let path = write_config(&server, account, "flavor = \"389ds\"", "");
        let cfg = config::load(&path).unwrap();
        async move {
            let directory = AnyDirectory::from_config(&cfg.directory);
            match source::read_users(&directory, &Decoder::new(cfg.directory.decode.clone())).await.unwrap() {
                DirectoryRead::Complete(s) => s,
                DirectoryRead::Incomplete { reason, .. } => panic!("{reason}"),
            }
        }
    };
    for (account, attribute) in [(service(), "entryuuid"), (nouuid, "nsuniqueid")] {
        let snapshot = read(&account).await;
        assert_eq!(snapshot.users.len(), n, "{:?}", snapshot.rejected);
        for user in &snapshot.users {
            let want = truth[&user.dn].text(attribute).unwrap();
            assert_eq!(user.anchor.as_str(), want, "{} as {}", user.dn, account.dn);
        }
        let (code, out, err) = check(&server, &account, "flavor = \"389ds\"", "");
        assert_eq!(code, 0, "{out}{err}");
        assert_eq!(
            out.contains(&format!("{n} entries are anchored on nsUniqueId")),
            attribute == "nsuniqueid",
            "{out}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_counts_the_users_groups_scope_leaves_as_a_dry_run_does() {
    let n = 2_000;
    let server = Ds389::start(&fixture::directory_ldif(n));
    // department-3 holds team-03, team-07 and team-11: users i with i % 12 in {3, 7, 11}.
    let in_scope: BTreeSet<usize> =
        (0..n).filter(|&i| fixture::department_of(fixture::team_of(i, n), n) == 3).collect();
    assert_eq!(in_scope.len(), 500);
    let locked_in_scope =
        in_scope.iter().filter(|&&i| matches!(fixture::lock(i), Lock::Locked | Lock::RoleLocked)).count();
    zoomsync::install_crypto_provider();
    let zoom = Emulator::start(EmulatorConfig::unlimited(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    std::fs::write(server.dir().join("zoom-secret"), zoom.client_secret()).unwrap();
    let extra = format!(
        "[groups]\nbase_dn = \"{GROUPS}\"\nnames = [\"department-3\"]\nscope = [\"department-3\"]\n\n\
         [target]\nkind = \"zoom\"\nbase_url = \"{}\"\ntoken_url = \"{}\"\naccount_id = \"{}\"\nclient_id = \"{}\"\n\
         client_secret_file = \"zoom-secret\"\nrequests_per_second = 5000\n\n[metrics]\nenabled = false\n",
        zoom.base_url(),
        zoom.token_url(),
        zoom.account_id(),
        zoom.client_id()
    );

    let (code, out, err) = tokio::task::block_in_place(|| check(&server, &service(), GENERIC, &extra));
    assert!(
        out.contains(&format!("users in scope: {} ({locked_in_scope} disabled)", in_scope.len())),
        "the scope applied: {out}"
    );
    assert!(out.contains(&format!("{} of {n} users are in no scoping group", n - in_scope.len())), "{out}");
    assert_eq!(code, 0, "{out}{err}");

    // A dry run of the cycle scopes the same users.
    let cfg = config::load(&write_config(&server, &service(), GENERIC, &extra)).unwrap();
    let directory = AnyDirectory::from_config(&cfg.directory);
    let options = CycleOptions { dry_run: true, ..Default::default() };
    let report = library_cycle(&cfg, &server.dir().join("state"), &directory, &options).await;
    assert_eq!(report.users_read, n);
    assert_eq!(report.groups.as_ref().unwrap().out_of_scope, n - in_scope.len());
    let creates = report.plan.ops.iter().filter(|op| op.action == Action::Create).count();
    assert_eq!(creates, in_scope.len() - locked_in_scope, "locked users are not created");
}

#[test]
fn check_needs_attention_when_the_bind_account_reads_no_user_or_no_anchor() {
    let n = 30;
    let server = Ds389::start(&fixture::directory_ldif(n));
    // No ACI for this account: 389-ds answers the search with no entries and success.
    let blind = add_account(&server, "noaci", None);
    let (code, out, err) = check(&server, &blind, GENERIC, "");
    assert!(out.contains("users in scope: 0 (0 disabled)"), "{out}");
    assert_eq!(code, 4, "reading nobody is not a success: {out}{err}");
    assert!(out.contains("needs attention") && out.contains("no entry"), "{out}");
    assert!(out.contains("cn=noaci,ou=services,dc=example,dc=com") && out.contains("ACI"), "{out}");

    // An ACI that hides the anchor (and nsUniqueId): every entry is rejected.
    let no_anchor = add_account(&server, "noanchor", Some("userPassword || entryUUID || nsUniqueId"));
    let (code, out, err) = check(&server, &no_anchor, GENERIC, "");
    assert_eq!(code, 4, "{out}{err}");
    assert!(out.contains(&format!("none of the {n} entries has a readable entryUUID")), "{out}");
    let (code, out, err) = check(&server, &no_anchor, "flavor = \"389ds\"", "");
    assert_eq!(code, 4, "{out}{err}");
    assert!(out.contains(&format!("none of the {n} entries has a readable entryUUID or nsUniqueId")), "{out}");
    assert!(!out.contains("anchored on nsUniqueId"), "{out}");

    // The service account reads them all.
    let (code, out, err) = check(&server, &service(), GENERIC, "");
    assert_eq!(code, 0, "{out}{err}");
}

/// 389-ds counts a size limit per page of a paged search: with `page_size` at or above it
/// the first page stops at the limit (rc=4). The message names the limit and what to change,
/// and the page_size it suggests reads everything.
#[test]
fn check_names_the_389ds_size_limit_and_the_page_size_that_avoids_it() {
    let n = 200;
    let server = Ds389::start(&fixture::directory_ldif(n));
    server.ldapmodify(&format!("dn: {SERVICE_DN}\nchangetype: modify\nadd: nsPagedSizeLimit\nnsPagedSizeLimit: 150\n"));
    let (code, out, err) = check(&server, &service(), GENERIC, "");
    assert_eq!(code, 3, "{out}{err}");
    let line = out.lines().find(|l| l.contains("INCOMPLETE")).unwrap_or_else(|| panic!("{out}"));
    assert!(!line.contains(" ;") && !line.contains(" )"), "no stray blank after the result code: {line:?}");
    for part in ["size limit", "after 150 entries", "page_size = 500", "page_size below 150"] {
        assert!(line.contains(part), "{part:?} in {line:?}");
    }
    // A page as large as the limit still stops at it; one entry less reads everything.
    let (code, out, _) = check(&server, &service(), &format!("{GENERIC}\npage_size = 150"), "");
    assert_eq!(code, 3, "{out}");
    let (code, out, err) = check(&server, &service(), &format!("{GENERIC}\npage_size = 149"), "");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("users in scope: {n} ")), "{out}");
}
