//! Active Directory as a source, against a real Samba AD DC (tests/support/servers/samba.rs):
//! objectGUID anchors cross-checked with what the DC reports, userAccountControl disabled
//! state, userPrincipalName logins, pages of at most `page_size` counted on the wire, search
//! references from the domain root ignored, distinct errors, and `zoomsync sync --once`.
//! (`Directory::search` on AD — ranges, in-chain — is in ad_search.rs; groups in ad_groups.rs.)

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Instant;

use crate::support::ad::{
    AD_FILTER, SERVICE, SERVICE_PASSWORD, config, directory_section, ldaps, service_dn, start_dc,
};
use crate::support::reading::{complete, read};
use crate::support::servers::relay::Relay;
use crate::support::servers::samba::{self, SambaDc};
use zoomsync::config;
use zoomsync::emulator::{Emulator, EmulatorConfig, Route, UserState};
use zoomsync::source::{DirectoryRead, Snapshot, SourceError};

/// Loads `count` users (disabled where `disabled(i)`), timing it.
fn load_users(dc: &SambaDc, count: usize, disabled: impl Fn(usize) -> bool) {
    let started = Instant::now();
    dc.ldapadd(&samba::users_ldif(count, disabled));
    eprintln!("ldapadd of {count} users: {:.1?}", started.elapsed());
}

/// AD's text form of a GUID written from the spec (MS-DTYP 2.3.4: Data1 u32, Data2 u16,
/// Data3 u16 little-endian, then Data4's 8 bytes in order), independently of zoomsync's
/// byte-index implementation.
fn guid_text_from_spec(b: &[u8; 16]) -> String {
    let data1 = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let data2 = u16::from_le_bytes([b[4], b[5]]);
    let data3 = u16::from_le_bytes([b[6], b[7]]);
    let tail: String = b[8..].iter().map(|x| format!("{x:02x}")).collect();
    format!("{data1:08x}-{data2:04x}-{data3:04x}-{}-{}", &tail[..4], &tail[4..])
}

/// What the DC says about each user entry in scope, from ldapsearch: DN (lower case) ->
/// (objectGUID bytes, userAccountControl, userPrincipalName).
fn dc_truth(dc: &SambaDc, base: &str) -> BTreeMap<String, ([u8; 16], u32, Option<String>)> {
    dc.search(base, AD_FILTER, &["objectGUID", "userAccountControl", "userPrincipalName"])
        .into_iter()
        .map(|(dn, e)| {
            let guid = <[u8; 16]>::try_from(e.first("objectguid").unwrap().as_slice()).unwrap();
            let uac = e.text("useraccountcontrol").unwrap().parse().unwrap();
            (dn.to_lowercase(), (guid, uac, e.text("userprincipalname")))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_1000_ad_users_over_ldaps_with_guid_anchors_uac_and_upn() {
    let dc = start_dc();
    load_users(&dc, 1_000, |i| i % 10 == 3);
    // Not users, though in the OU: a computer (objectClass user, objectCategory computer)
    // with a UPN, a contact (objectCategory person, not objectClass user), and a group.
    dc.ldapadd(&format!(
        "dn: CN=WS01,{ou}\nobjectClass: computer\nsAMAccountName: WS01$\nuserPrincipalName: ws01@example.test\n\
         userAccountControl: 4096\n\n\
         dn: CN=Vendor Contact,{ou}\nobjectClass: contact\nmail: vendor@example.test\n\n{group}",
        ou = samba::SYNC_OU,
        group = samba::group_entry("adgroup001", &(0..50).map(samba::user_dn).collect::<Vec<_>>()),
    ));
    // Plain UAC edits as an admin makes them: 514 on an enabled user, 512 with a password.
    dc.disable_user(&samba::user_dn(5));
    assert_eq!(dc.account_control(&samba::user_dn(5)), samba::UAC_DISABLED);
    dc.set_password(&samba::user_dn(7), "Passw0rd!u00007");
    assert_eq!(dc.account_control(&samba::user_dn(7)), samba::UAC_ENABLED);
    assert_eq!(dc.account_control(&samba::user_dn(3)), samba::UAC_DISABLED_NO_PASSWORD);
    // Other flags around bit 0x2: DONT_EXPIRE_PASSWORD (0x10000) enabled and disabled.
    dc.set_account_control(&samba::user_dn(8), 0x10200);
    dc.set_account_control(&samba::user_dn(9), 0x10202);

    let truth = dc_truth(&dc, samba::SYNC_OU);
    assert_eq!(truth.len(), 1_000, "ldapsearch sees the 1,000 users and nothing else");
    let server_disabled = dc
        .search(
            samba::SYNC_OU,
            "(&(objectCategory=person)(objectClass=user)(userAccountControl:1.2.840.113556.1.4.803:=2))",
            &["dn"],
        )
        .len();
    assert_eq!(server_disabled, 102, "every 10th user from i=3, plus users 5 and 9");

    let started = Instant::now();
    let snapshot = complete(read(&ldaps(&dc, samba::SYNC_OU, 1000)).await.unwrap());
    eprintln!("LDAPS read of 1,000 AD users, page_size 1000: {:.1?}", started.elapsed());
    assert_eq!(snapshot.users.len(), 1_000);
    assert!(snapshot.rejected.is_empty(), "{:?}", snapshot.rejected);
    assert_eq!(snapshot.disabled_count(), server_disabled, "disabled = UAC bit 0x2, as the DC's bitwise filter says");

    let names: BTreeSet<&str> = snapshot.users.iter().map(|u| u.user_name.as_str()).collect();
    let upns: BTreeSet<String> = (0..1_000).map(samba::upn).collect();
    assert_eq!(names, upns.iter().map(String::as_str).collect(), "logins are the userPrincipalNames");

    // The cross-check: every anchor is the DC's objectGUID in AD's text form.
    for user in &snapshot.users {
        let (guid, uac, upn) = truth.get(&user.dn.to_lowercase()).unwrap_or_else(|| panic!("{} unknown", user.dn));
        assert_eq!(user.anchor.as_str(), guid_text_from_spec(guid), "{}", user.dn);
        assert_eq!(user.disabled, uac & 2 != 0, "{} UAC {uac}", user.dn);
        assert_eq!(Some(&user.user_name), upn.as_ref(), "{}", user.dn);
    }
    let anchors: BTreeSet<&str> = snapshot.users.iter().map(|u| u.anchor.as_str()).collect();
    assert_eq!(anchors.len(), 1_000, "objectGUIDs are unique");
    // And against Samba's own text rendering (samba-tool reads sam.ldb and prints GUIDs).
    for i in [0, 7, 999] {
        let user = snapshot.users.iter().find(|u| u.user_name == samba::upn(i)).unwrap();
        assert_eq!(user.anchor.as_str(), dc.samba_tool_guid(&samba::sam_name(i)), "samba-tool user show");
    }
    let u42 = snapshot.users.iter().find(|u| u.user_name == samba::upn(42)).unwrap();
    assert_eq!(u42.attr("displayName"), Some("Given42 Family42"));
    assert_eq!(u42.attr("department"), Some("dept002"));
    assert_eq!(u42.attr("sAMAccountName"), Some("aduser00042"));

    // Smaller pages: the same users, the same anchors, across 10 pages.
    let started = Instant::now();
    let paged = complete(read(&ldaps(&dc, samba::SYNC_OU, 100)).await.unwrap());
    eprintln!("LDAPS read of 1,000 AD users, page_size 100: {:.1?}", started.elapsed());
    let key = |s: &Snapshot| -> BTreeSet<(String, String, bool)> {
        s.users.iter().map(|u| (u.anchor.to_string(), u.user_name.clone(), u.disabled)).collect()
    };
    assert_eq!(key(&paged), key(&snapshot));

    // Samba does not enforce MaxPageSize (real AD caps pages at 1000), so the page sizes
    // are checked on the wire: zoomsync over ldap:// through a relay that counts messages.
    for page_size in [1000, 100] {
        let relay = Relay::start(SocketAddr::from((dc.ip(), 389)));
        let extra = format!("insecure = true\npage_size = {page_size}");
        let cfg = config(dc.dir(), &relay.url(), samba::SYNC_OU, &extra, SERVICE_PASSWORD);
        let plain = complete(read(&cfg).await.unwrap());
        assert_eq!(key(&plain), key(&snapshot), "page_size {page_size}");
        let wire = relay.wire();
        let full_pages = 1_000 / page_size as usize;
        assert!(wire.pages.iter().all(|&n| n <= page_size as usize), "page_size {page_size}: {:?}", wire.pages);
        assert!(wire.pages.len() >= full_pages, "page_size {page_size}: {:?}", wire.pages);
        assert_eq!(wire.pages.iter().sum::<usize>(), 1_000);
        assert_eq!(wire.searches, wire.pages.len(), "one search request per page");
        eprintln!("page_size {page_size}: {} pages on the wire {:?}", wire.pages.len(), wire.pages);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn domain_root_search_ignores_referrals_and_skips_computers_and_contacts() {
    let dc = start_dc();
    load_users(&dc, 20, |i| i == 2);
    // UPNs are case-insensitive in AD; zoomsync's login is the lower-cased UPN.
    dc.ldapmodify(&format!(
        "dn: {}\nchangetype: modify\nreplace: userPrincipalName\nuserPrincipalName: Jane.Doe@Example.TEST\n",
        samba::user_dn(11)
    ));
    dc.ldapadd(&format!(
        "dn: CN=WS01,{}\nobjectClass: computer\nsAMAccountName: WS01$\nuserPrincipalName: ws01@example.test\n\
         userAccountControl: 4096\n\ndn: CN=Vendor Contact,{}\nobjectClass: contact\nmail: vendor@example.test\n\n",
        samba::SYNC_OU,
        samba::SYNC_OU
    ));

    let snapshot = complete(read(&ldaps(&dc, samba::BASE, 1000)).await.unwrap());
    let truth = dc_truth(&dc, samba::BASE);
    // In scope: the 20 users, the service account (it has a UPN), and the built-in accounts
    // (Administrator, Guest, krbtgt, dns-<host>), which have no userPrincipalName.
    let with_upn: BTreeSet<String> = truth.iter().filter(|(_, t)| t.2.is_some()).map(|(dn, _)| dn.clone()).collect();
    let without_upn: BTreeSet<String> = truth.iter().filter(|(_, t)| t.2.is_none()).map(|(dn, _)| dn.clone()).collect();
    assert_eq!(with_upn.len(), 21, "{with_upn:?}");
    let users: BTreeSet<String> = snapshot.users.iter().map(|u| u.dn.to_lowercase()).collect();
    assert_eq!(users, with_upn);
    assert!(users.contains(&service_dn().to_lowercase()));
    let jane = snapshot.users.iter().find(|u| u.dn.to_lowercase() == samba::user_dn(11).to_lowercase()).unwrap();
    assert_eq!(jane.user_name, "jane.doe@example.test");
    assert_eq!(snapshot.disabled_count(), 1);
    for builtin in ["cn=administrator,cn=users,dc=example,dc=test", "cn=krbtgt,cn=users,dc=example,dc=test"] {
        assert!(without_upn.contains(builtin), "{without_upn:?}");
    }
    let rejected: BTreeSet<String> = snapshot.rejected.iter().map(|r| r.dn.to_lowercase()).collect();
    assert_eq!(rejected, without_upn, "built-ins are reported, as decode reports a user without a login");
    for r in &snapshot.rejected {
        assert!(r.reason.contains("no value for userPrincipalName"), "{}: {}", r.dn, r.reason);
        let guid = truth[&r.dn.to_lowercase()].0;
        assert_eq!(r.anchor.as_ref().map(|a| a.to_string()), Some(guid_text_from_spec(&guid)), "{}", r.dn);
    }
    let everything: Vec<&str> =
        snapshot.users.iter().map(|u| u.dn.as_str()).chain(snapshot.rejected.iter().map(|r| r.dn.as_str())).collect();
    assert!(
        everything
            .iter()
            .all(|dn| !dn.contains("WS01") && !dn.contains("Vendor Contact") && !dn.contains("Domain Controllers")),
        "{everything:?}"
    );

    // The DC did send search references, and zoomsync read past them.
    let relay = Relay::start(SocketAddr::from((dc.ip(), 389)));
    let cfg = config(dc.dir(), &relay.url(), samba::BASE, "insecure = true\npage_size = 1000", SERVICE_PASSWORD);
    let plain = complete(read(&cfg).await.unwrap());
    assert_eq!(plain.users.len(), snapshot.users.len());
    let wire = relay.wire();
    assert!(wire.references >= 1, "Samba sends a reference to CN=Configuration: {wire:?}");
    eprintln!(
        "domain root: {} users, {} rejected built-ins, {} search references ignored",
        plain.users.len(),
        plain.rejected.len(),
        wire.references
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_wrong_ca_are_distinct_errors() {
    let dc = start_dc();
    let dir = dc.dir();
    let ok = ldaps(&dc, samba::BASE, 1000);
    assert!(matches!(read(&ok).await.unwrap(), DirectoryRead::Complete(_)));

    let extra = format!("ca_file = {:?}", dc.ca_file());
    let wrong_password = config(dir, &dc.ldaps_url(), samba::BASE, &extra, "not-the-password");
    let err = read(&wrong_password).await.unwrap_err();
    assert_eq!(err, SourceError::InvalidCredentials { bind_dn: service_dn() });
    assert!(!err.to_string().contains("not-the-password"));

    let wrong_ca = format!("ca_file = {:?}", dc.other_ca_file());
    let err = read(&config(dir, &dc.ldaps_url(), samba::BASE, &wrong_ca, SERVICE_PASSWORD)).await.unwrap_err();
    assert!(matches!(err, SourceError::Tls { .. }), "{err:?}");

    let starttls_wrong_ca = format!("start_tls = true\n{wrong_ca}");
    let err = read(&config(dir, &dc.ldap_url(), samba::BASE, &starttls_wrong_ca, SERVICE_PASSWORD)).await.unwrap_err();
    assert!(matches!(err, SourceError::Tls { .. }), "{err:?}");
    let starttls = format!("start_tls = true\n{extra}");
    let good = complete(read(&config(dir, &dc.ldap_url(), samba::BASE, &starttls, SERVICE_PASSWORD)).await.unwrap());
    assert!(good.users.iter().any(|u| u.user_name == format!("{SERVICE}@{}", samba::UPN_SUFFIX)));

    let nowhere = "OU=Nowhere,DC=example,DC=test";
    let err = read(&ldaps(&dc, nowhere, 1000)).await.unwrap_err();
    assert_eq!(err, SourceError::BaseDnNotFound { base_dn: nowhere.into() });
    let other_domain = "DC=other,DC=test";
    let err = read(&ldaps(&dc, other_domain, 1000)).await.unwrap_err();
    eprintln!("base DN in another domain: {err:?}");
    assert!(
        matches!(err, SourceError::BaseDnNotFound { .. } | SourceError::SearchRefused { .. }),
        "a base outside the domain is an error, not an empty directory: {err:?}"
    );

    // AD's MaxPageSize is 1000: a larger page_size is refused at config time.
    std::fs::write(dir.join("ldap-password"), SERVICE_PASSWORD).unwrap();
    let text = directory_section(&dc.ldaps_url(), samba::BASE, &format!("{extra}\npage_size = 1001"));
    let err = config::parse(&text, dir, None).unwrap_err().to_string();
    assert!(err.contains("directory.page_size"), "{err}");
}

/// `zoomsync sync --once` (the binary) from AD into the Zoom emulator, then a UAC disable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_once_creates_enabled_ad_users_and_deactivates_one_disabled_in_ad() {
    const USERS: usize = 1_000;
    let dc = start_dc();
    load_users(&dc, USERS, |i| i % 10 == 3);
    zoomsync::install_crypto_provider();
    let zoom = Emulator::start(EmulatorConfig::unlimited(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = dc.dir();
    std::fs::write(dir.join("ldap-password"), SERVICE_PASSWORD).unwrap();
    std::fs::write(dir.join("zoom-secret"), zoom.client_secret()).unwrap();
    let text = format!(
        "{directory}\n[target]\nkind = \"zoom\"\nbase_url = \"{}\"\ntoken_url = \"{}\"\naccount_id = \"{}\"\n\
         client_id = \"{}\"\nclient_secret_file = \"zoom-secret\"\nrequests_per_second = 5000\nmax_concurrency = 8\n\n\
         [state]\npath = \"state\"\n\n[admin]\nsocket = \"admin.sock\"\n\n[metrics]\nenabled = false\n",
        zoom.base_url(),
        zoom.token_url(),
        zoom.account_id(),
        zoom.client_id(),
        directory = directory_section(
            &dc.ldaps_url(),
            samba::SYNC_OU,
            &format!("ca_file = {:?}\npage_size = 1000", dc.ca_file())
        ),
    );
    let config_path = dir.join("zoomsync.toml");
    std::fs::write(&config_path, text).unwrap();
    let sync = || {
        let started = Instant::now();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_zoomsync"))
            .args(["sync", "--once", "--config"])
            .arg(&config_path)
            .output()
            .unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
        eprintln!("sync --once: {:.1?}", started.elapsed());
        stdout.into_owned()
    };
    let members = || -> Vec<zoomsync::emulator::User> {
        zoom.users().into_iter().filter(|u| u.user_name != "owner@example.com").collect()
    };

    sync();
    let enabled: BTreeSet<String> = (0..USERS).filter(|i| i % 10 != 3).map(samba::upn).collect();
    let created: BTreeSet<String> = members().iter().map(|u| u.user_name.clone()).collect();
    assert_eq!(created, enabled, "the enabled AD users, by UPN; disabled ones are not created");
    assert!(members().iter().all(|u| u.state == UserState::Active));
    let u4 = zoom.user_by_name(&samba::upn(4)).unwrap();
    assert_eq!((u4.given_name.as_deref(), u4.family_name.as_deref()), (Some("Given4"), Some("Family4")));

    let before = zoom.request_counts();
    dc.disable_user(&samba::user_dn(4));
    assert_eq!(dc.account_control(&samba::user_dn(4)), samba::UAC_DISABLED);
    sync();
    let after = zoom.request_counts();
    let delta = |r: Route| after.route(r) - before.route(r);
    assert_eq!(
        (delta(Route::CreateUser), delta(Route::PatchUser), delta(Route::PutUser), delta(Route::DeleteUser)),
        (0, 1, 0, 0),
        "exactly one write: the deactivation"
    );
    let inactive: Vec<String> =
        members().into_iter().filter(|u| u.state == UserState::Inactive).map(|u| u.user_name).collect();
    assert_eq!(inactive, vec![samba::upn(4)]);
    assert_eq!(members().len(), enabled.len(), "nobody deleted");

    // objectGUID is the anchor: a rename (new CN, new UPN) updates the same Zoom user; it is
    // not a leaver plus a joiner. (Zoom, and the emulator by default, answers 200 to a
    // userName change and keeps the old name; zoomsync says so once.)
    let id6 = zoom.user_by_name(&samba::upn(6)).unwrap().id;
    let new_dn = format!("CN=Renamed Six,{}", samba::SYNC_OU);
    dc.ldapmodify(&format!(
        "dn: {}\nchangetype: modrdn\nnewrdn: CN=Renamed Six\ndeleteoldrdn: 1\n\n\
         dn: {new_dn}\nchangetype: modify\nreplace: userPrincipalName\nuserPrincipalName: renamed.six@example.test\n",
        samba::user_dn(6)
    ));
    let before = zoom.request_counts();
    let out = sync();
    let after = zoom.request_counts();
    let delta = |r: Route| after.route(r) - before.route(r);
    assert_eq!((delta(Route::CreateUser), delta(Route::DeleteUser)), (0, 0), "{out}");
    assert_eq!(delta(Route::PutUser) + delta(Route::PatchUser), 1, "{out}");
    assert!(
        out.contains("renamed.six@example.test") && out.contains("kept userName aduser00006@example.test"),
        "{out}"
    );
    assert_eq!(zoom.user_by_name(&samba::upn(6)).unwrap().id, id6);
    assert_eq!(members().len(), enabled.len());
    assert_eq!(members().iter().filter(|u| u.state == UserState::Active).count(), enabled.len() - 1);
}
