//! The 389 Directory Server harness (tests/support/servers/ds389/) against a real, private
//! ns-slapd: 2,000 users over LDAPS with the test CA, 389-ds's own operational attributes,
//! direct and role-based locks as 389-ds reports them, the root DSE, and zoomsync's LDAP
//! source reading the users.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use crate::support::data::ds389::{self as fixture, Lock};
use crate::support::data::{PEOPLE, SERVICE_DN};
use crate::support::reading;
use crate::support::servers::ds389::{Ds389, Entry};
use zoomsync::config::{self, Config};

const USERS: usize = 2_000;
/// `nsRole` values as 389-ds computes them: the role DNs, lower-cased.
const DISABLED_ROLE: &str = "cn=nsdisabledrole,dc=example,dc=com";
const MANAGED_DISABLED_ROLE: &str = "cn=nsmanageddisabledrole,dc=example,dc=com";
const CONTRACTORS_ROLE: &str = "cn=contractors,dc=example,dc=com";

/// zoomsync's LDAP source as an OpenLDAP-flavoured directory anchored on entryUUID, with
/// 389-ds's lock attribute as the disabled rule; `extra` lines go into `[directory]`.
fn config(dir: &Path, url: &str, extra: &str) -> Config {
    zoomsync::install_crypto_provider();
    std::fs::write(dir.join("ldap-password"), crate::support::data::SERVICE_PASSWORD).unwrap();
    let text = format!(
        r#"[directory]
url = "{url}"
bind_dn = "{SERVICE_DN}"
bind_password_file = "ldap-password"
base_dn = "{PEOPLE}"
flavor = "openldap"
anchor_attribute = "entryUUID"
disabled_attribute = "nsAccountLock"
disabled_value = "true"
page_size = 500
{extra}
"#
    );
    config::parse(&text, dir, None).unwrap_or_else(|e| panic!("config: {e}\n{text}"))
}

/// The values of `name` (lower case) as text, sorted; empty when absent.
fn texts(entry: &Entry, name: &str) -> Vec<String> {
    let mut v: Vec<String> = entry
        .attrs
        .get(name)
        .map(|vals| vals.iter().map(|b| String::from_utf8_lossy(b).into_owned()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// `ldapwhoami` over LDAPS as user `i` with password `pw{i}`: its answer, or its error.
fn whoami(server: &Ds389, i: usize) -> Result<String, String> {
    let out = std::process::Command::new("ldapwhoami")
        .args(["-x", "-H", &server.ldaps_url(), "-D", &fixture::user_dn(i), "-w", &format!("pw{i}")])
        .env("LDAPTLS_CACERT", server.ca_file())
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).trim().to_string();
    if out.status.success() { Ok(text(&out.stdout)) } else { Err(text(&out.stderr)) }
}

#[tokio::test]
async fn two_thousand_users_over_ldaps_with_389_attributes_and_zoomsync_reads_them() {
    let called = Instant::now();
    let server = Ds389::start(&fixture::directory_ldif(USERS));
    eprintln!(
        "ds389: {USERS} users: ns-slapd ready {:.1?} after spawn, entries added in {:.1?}, start() took {:.1?}",
        server.startup,
        server.load,
        called.elapsed()
    );

    // ldapsearch over LDAPS checking the test CA, bound as the service account, `*` and `+`.
    let users = server.search(PEOPLE, "(objectClass=inetOrgPerson)", &["*", "+"]);
    assert_eq!(users.len(), USERS);
    for i in 0..USERS {
        let dn = fixture::user_dn(i);
        let e = users.get(&dn).unwrap_or_else(|| panic!("{dn} not returned"));
        let uuid = e.text("entryuuid").unwrap_or_else(|| panic!("{dn} has no entryUUID"));
        assert_eq!(uuid.len(), 36, "{dn}: entryUUID {uuid}");
        // nsUniqueId is four groups of 8 hex digits: 8b78b7a3-ee4e11f1-b3069d60-c7dae29b
        let unique = e.text("nsuniqueid").unwrap_or_else(|| panic!("{dn} has no nsUniqueId"));
        assert_eq!(unique.split('-').map(str::len).collect::<Vec<_>>(), [8, 8, 8, 8], "{dn}: {unique}");
        let (lock, roles) = (texts(e, "nsaccountlock"), texts(e, "nsrole"));
        match fixture::lock(i) {
            Lock::None => assert!(lock.is_empty() && roles.is_empty(), "{dn}: {lock:?} {roles:?}"),
            Lock::Locked => assert!(lock == ["true"] && roles.is_empty(), "{dn}: {lock:?} {roles:?}"),
            Lock::ExplicitlyUnlocked => assert!(lock == ["false"] && roles.is_empty(), "{dn}: {lock:?} {roles:?}"),
            // Computed: nsRole by the Roles plugin, nsAccountLock by the inactivation CoS.
            Lock::RoleLocked => {
                assert_eq!(lock, ["true"], "{dn}");
                assert_eq!(roles, [DISABLED_ROLE, MANAGED_DISABLED_ROLE], "{dn}");
            }
            Lock::Contractor => assert!(lock.is_empty() && roles == [CONTRACTORS_ROLE], "{dn}: {lock:?} {roles:?}"),
        }
        let member_of: BTreeSet<String> = texts(e, "memberof").into_iter().map(|g| g.to_ascii_lowercase()).collect();
        let expected: BTreeSet<String> = fixture::groups_of(i, USERS).into_iter().collect();
        assert_eq!(member_of, expected, "{dn}: memberOf through three levels of nesting");
    }
    let zoe = &users[&fixture::user_dn(3)];
    assert_eq!(zoe.text("givenname").as_deref(), Some("Zoë"));
    assert_eq!(zoe.text("cn").as_deref(), Some("Zoë Müller"));
    // nsAccountLock is operational: `*` alone leaves it out.
    let plain = server.search(&fixture::user_dn(7), "(objectClass=*)", &["*"]);
    assert!(plain[&fixture::user_dn(7)].first("nsaccountlock").is_none());

    // The root DSE, anonymously (what `check` will read).
    let dse = server.root_dse();
    eprintln!("ds389: root DSE vendorName {:?}, vendorVersion {:?}", dse.text("vendorname"), dse.text("vendorversion"));
    assert_eq!(dse.text("vendorname").as_deref(), Some("389 Project"));
    let version = dse.text("vendorversion").unwrap();
    assert!(version.starts_with("389-Directory/"), "{version}");

    // zoomsync's LDAP source over LDAPS and StartTLS.
    let ca = format!("ca_file = {:?}", server.ca_file());
    let locked = fixture::count(USERS, Lock::Locked) + fixture::count(USERS, Lock::RoleLocked);
    for (url, extra) in [(server.ldaps_url(), ca.clone()), (server.ldap_url(), format!("start_tls = true\n{ca}"))] {
        let read = Instant::now();
        let snapshot = reading::complete(reading::read(&config(server.dir(), &url, &extra)).await.unwrap());
        eprintln!("ds389: zoomsync read {} users over {url} in {:.1?}", snapshot.users.len(), read.elapsed());
        assert_eq!(snapshot.users.len(), USERS, "{url}");
        assert!(snapshot.rejected.is_empty(), "{:?}", snapshot.rejected);
        assert_eq!(snapshot.disabled_count(), locked, "direct and role-based locks (CoS nsAccountLock)");
        let anchors: BTreeSet<&str> = snapshot.users.iter().map(|u| u.anchor.as_str()).collect();
        assert_eq!(anchors.len(), USERS);
        let seven = snapshot.users.iter().find(|u| u.user_name == fixture::mail(7)).unwrap();
        assert_eq!(Some(seven.anchor.as_str().to_string()), users[&fixture::user_dn(7)].text("entryuuid"));
        assert!(seven.disabled);
        let zoe = snapshot.users.iter().find(|u| u.user_name == fixture::mail(3)).unwrap();
        assert_eq!(zoe.attr("givenName"), Some("Zoë"));
    }
}

#[tokio::test]
async fn locks_made_online_through_roles_show_at_once() {
    let n = 60;
    let server = Ds389::start(&fixture::directory_ldif(n));
    assert_eq!(fixture::lock(8), Lock::ExplicitlyUnlocked);
    for i in [0, 8] {
        server.lock_by_role(&fixture::user_dn(i));
    }
    server.lock_role(fixture::CONTRACTORS_ROLE);

    let expected: BTreeSet<String> = (0..n)
        .filter(|&i| i == 0 || i == 8 || matches!(fixture::lock(i), Lock::Locked | Lock::RoleLocked | Lock::Contractor))
        .map(fixture::user_dn)
        .collect();
    let found = server.search(PEOPLE, "(nsAccountLock=true)", &["nsAccountLock", "nsRole"]);
    assert_eq!(found.keys().cloned().collect::<BTreeSet<_>>(), expected, "a filter on the computed attribute");
    assert_eq!(texts(&found[&fixture::user_dn(0)], "nsrole"), [DISABLED_ROLE, MANAGED_DISABLED_ROLE]);
    // The CoS value wins over a stored `nsAccountLock: false`.
    assert_eq!(texts(&found[&fixture::user_dn(8)], "nsaccountlock"), ["true"]);
    // A locked role: its members get nsDisabledRole (nested), not nsManagedDisabledRole.
    assert_eq!(texts(&found[&fixture::user_dn(10)], "nsrole"), [CONTRACTORS_ROLE, DISABLED_ROLE]);

    // The server refuses binds of users locked by role, and of directly locked ones.
    for i in [0, 1, 7] {
        server.ldapmodify(&format!(
            "dn: {}\nchangetype: modify\nreplace: userPassword\nuserPassword: pw{i}\n",
            fixture::user_dn(i)
        ));
    }
    assert_eq!(whoami(&server, 1), Ok(format!("dn: {}", fixture::user_dn(1))));
    for i in [0, 7] {
        let refused = whoami(&server, i).unwrap_err();
        assert!(refused.contains("(53)") && refused.contains("Account inactivated"), "user {i}: {refused}");
    }

    let ca = format!("ca_file = {:?}", server.ca_file());
    let snapshot = reading::complete(reading::read(&config(server.dir(), &server.ldaps_url(), &ca)).await.unwrap());
    assert_eq!(snapshot.users.len(), n);
    let disabled: BTreeSet<String> =
        snapshot.users.iter().filter(|u| u.disabled).map(|u| u.user_name.clone()).collect();
    let expected_mail: BTreeSet<String> =
        (0..n).filter(|&i| expected.contains(&fixture::user_dn(i))).map(fixture::mail).collect();
    assert_eq!(disabled, expected_mail);
}
