//! The syncrepl change channel against a private slapd with the syncprov overlay: the
//! refresh, live changes while persisting, resuming from a cookie after changes made while
//! disconnected (delete phase with a session log, present phase without), a cookie slapd
//! cannot use, and a server that dies mid-persist.

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::data::{self, SERVICE_DN, SERVICE_PASSWORD};
use crate::support::servers::ldap_tools::LdapTools;
use crate::support::servers::slapd::Slapd;
use crate::support::sync_events::{next, refresh, until, upserted};
use zoomsync::config::{self, ChangesMode, Flavor, LdapConfig, SourceConfig};
use zoomsync::source::changes::{self, ChangeError, ChangeEvent, ChangeSearch, Chosen, SearchKind, SyncreplChannel};
use zoomsync::source::ldap::LdapDirectory;
use zoomsync::source::root_dse;

fn ldap_config(dir: &Path, url: &str) -> (LdapConfig, Vec<String>) {
    zoomsync::install_crypto_provider();
    std::fs::write(dir.join("ldap-password"), SERVICE_PASSWORD).unwrap();
    let text = format!(
        "[directory]\nurl = \"{url}\"\nbind_dn = \"{SERVICE_DN}\"\nbind_password_file = \"ldap-password\"\n\
         base_dn = \"{}\"\ninsecure = true\n",
        data::PEOPLE
    );
    let cfg = config::parse(&text, dir, None).unwrap_or_else(|e| panic!("config: {e}\n{text}"));
    let SourceConfig::Ldap(ldap) = cfg.directory.source else { panic!("not an LDAP source") };
    (ldap, cfg.directory.decode.requested_attributes())
}

fn users(ldap: &LdapConfig, attributes: Vec<String>) -> ChangeSearch {
    ChangeSearch { kind: SearchKind::Users, base: ldap.base_dn.clone(), filter: ldap.user_filter.clone(), attributes }
}

fn admin(server: &Slapd) -> LdapTools<'static> {
    LdapTools { url: server.ldap_url(), bind_dn: "cn=admin,dc=example,dc=com", password: "adminpass", ca_file: None }
}

fn uid_dn(i: usize) -> String {
    format!("uid=user{i:06},{}", data::PEOPLE)
}

/// The entryUUID of each user, as ldapsearch reads it (the text the channel must match).
fn uuids(server: &Slapd) -> BTreeMap<String, String> {
    admin(server)
        .search(data::PEOPLE, "(uid=*)", &["entryUUID"])
        .into_iter()
        .map(|(dn, e)| (dn.to_ascii_lowercase(), String::from_utf8(e.first("entryuuid").unwrap().clone()).unwrap()))
        .collect()
}

fn is_gone(events: &[ChangeEvent], uuid: &str) -> bool {
    events.iter().any(|e| match e {
        ChangeEvent::Gone { entry_uuid, .. } => entry_uuid == uuid,
        ChangeEvent::IdSet { entry_uuids, deleted: true, .. } => entry_uuids.iter().any(|u| u == uuid),
        _ => false,
    })
}

/// UUIDs named as still present (unchanged) or sent whole.
fn named_present(events: &[ChangeEvent]) -> Vec<String> {
    events
        .iter()
        .flat_map(|e| match e {
            ChangeEvent::Upsert { entry_uuid, .. } => vec![entry_uuid.clone()],
            ChangeEvent::IdSet { entry_uuids, deleted: false, .. } => entry_uuids.clone(),
            _ => vec![],
        })
        .collect()
}

/// The refresh sends every entry whole, with the entryUUID text ldapsearch shows (the
/// control's 16 bytes formatted the same way), then RefreshDone and a cookie. While
/// persisting, a modify, an add, a delete and a modrdn out of the base each arrive as an
/// event. Resuming with the last cookie after changes made while disconnected delivers only
/// those: the modified entry whole, the deleted one as gone (slapd's session log gives a
/// delete phase), nothing for the unchanged ones.
#[tokio::test]
async fn refresh_persist_and_resume_with_a_session_log() {
    let server = Slapd::start_with_syncprov(&data::active_people_ldif(5), Some(100));
    let (ldap, attributes) = ldap_config(server.dir(), &server.ldap_url());
    let before = uuids(&server);
    let uuid = |i: usize| before[&uid_dn(i)].clone();
    let mut channel = SyncreplChannel::open(&ldap, users(&ldap, attributes.clone()), None).await.unwrap();
    assert_eq!(channel.search(), SearchKind::Users);

    let (events, _) = refresh(&mut channel).await;
    let mut sent = upserted(&events);
    sent.sort();
    assert_eq!(sent, (0..5).map(uid_dn).collect::<Vec<_>>(), "{events:#?}");
    for event in &events {
        if let ChangeEvent::Upsert { entry_uuid, entry, .. } = event {
            assert_eq!(entry.first_text("entryuuid"), Some(entry_uuid.as_str()));
            assert_eq!(&before[&entry.dn.to_ascii_lowercase()], entry_uuid);
            assert!(entry.first_text("modifytimestamp").is_some());
            assert!(entry.first_text("mail").is_some(), "the requested attributes come whole");
        }
    }
    let done_at = events.iter().position(|e| matches!(e, ChangeEvent::RefreshDone { .. })).unwrap();
    assert!(events[..done_at].iter().all(|e| matches!(e, ChangeEvent::Upsert { .. })), "{events:#?}");

    // Live changes, each waited for.
    let tools = admin(&server);
    tools.apply("ldapmodify", &format!("dn: {}\nchangetype: modify\nreplace: title\ntitle: Director\n", uid_dn(1)));
    let events = until(&mut channel, |e| matches!(e, ChangeEvent::Upsert { .. })).await;
    match events.last() {
        Some(ChangeEvent::Upsert { entry_uuid, entry, .. }) => {
            assert_eq!(entry_uuid, &uuid(1));
            assert_eq!(entry.first_text("title"), Some("Director"));
        }
        other => panic!("{other:?}"),
    }
    tools.apply("ldapmodify", &data::new_person_ldif(10, "user000010@example.com"));
    let events = until(&mut channel, |e| matches!(e, ChangeEvent::Upsert { .. })).await;
    assert_eq!(upserted(&events), vec![uid_dn(10)]);
    tools.apply("ldapmodify", &format!("dn: {}\nchangetype: delete\n", uid_dn(2)));
    let events = until(&mut channel, |e| matches!(e, ChangeEvent::Gone { .. })).await;
    assert!(is_gone(&events, &uuid(2)), "{events:#?}");
    tools.apply(
        "ldapmodify",
        &format!(
            "dn: {}\nchangetype: modrdn\nnewrdn: uid=user000003\ndeleteoldrdn: 1\nnewsuperior: ou=groups,{}\n",
            uid_dn(3),
            data::BASE
        ),
    );
    let events = until(&mut channel, |e| matches!(e, ChangeEvent::Gone { .. })).await;
    assert!(is_gone(&events, &uuid(3)), "moved out of the base: {events:#?}");
    // The cookie after the last change.
    let events = until(&mut channel, |e| matches!(e, ChangeEvent::Cookie { .. })).await;
    let Some(ChangeEvent::Cookie { cookie, .. }) = events.last() else { unreachable!() };
    let cookie = cookie.clone();
    drop(channel);

    // While disconnected: one modify, one delete.
    tools.apply("ldapmodify", &format!("dn: {}\nchangetype: modify\nreplace: title\ntitle: Architect\n", uid_dn(4)));
    tools.apply("ldapmodify", &format!("dn: {}\nchangetype: delete\n", uid_dn(0)));
    let mut channel = SyncreplChannel::open(&ldap, users(&ldap, attributes), Some(cookie)).await.unwrap();
    let (events, _) = refresh(&mut channel).await;
    assert_eq!(upserted(&events), vec![uid_dn(4)], "only what changed: {events:#?}");
    assert!(is_gone(&events, &uuid(0)), "the delete made while disconnected: {events:#?}");
    assert!(!events.iter().any(|e| matches!(e, ChangeEvent::PresentPhaseDone { .. })), "a delete phase: {events:#?}");
}

/// Without a session log slapd answers a resumed session with a present phase: the
/// unchanged entries are named (not sent), the changed one sent whole, then the end of the
/// present phase; the entry deleted while disconnected is simply not named.
#[tokio::test]
async fn resume_without_a_session_log_is_a_present_phase() {
    let server = Slapd::start_with_syncprov(&data::active_people_ldif(5), None);
    let (ldap, attributes) = ldap_config(server.dir(), &server.ldap_url());
    let before = uuids(&server);
    let mut channel = SyncreplChannel::open(&ldap, users(&ldap, attributes.clone()), None).await.unwrap();
    let (_, cookie) = refresh(&mut channel).await;
    drop(channel);

    let tools = admin(&server);
    tools.apply("ldapmodify", &format!("dn: {}\nchangetype: modify\nreplace: title\ntitle: Architect\n", uid_dn(4)));
    tools.apply("ldapmodify", &format!("dn: {}\nchangetype: delete\n", uid_dn(0)));
    let mut channel = SyncreplChannel::open(&ldap, users(&ldap, attributes), Some(cookie)).await.unwrap();
    let (events, _) = refresh(&mut channel).await;
    assert_eq!(upserted(&events), vec![uid_dn(4)], "{events:#?}");
    let present_done = events.iter().position(|e| matches!(e, ChangeEvent::PresentPhaseDone { .. }));
    let present_done = present_done.unwrap_or_else(|| panic!("no present phase: {events:#?}"));
    // slapd names the modified entry in its present set and also sends it whole.
    let mut named = named_present(&events[..present_done]);
    named.sort();
    named.dedup();
    let mut expected: Vec<String> = (1..5).map(|i| before[&uid_dn(i)].clone()).collect();
    expected.sort();
    assert_eq!(named, expected, "every entry still present is named, the deleted one is not: {events:#?}");
}

/// A cookie slapd cannot use: garbage is ignored (a full refresh, every entry sent); a
/// cookie ahead of the provider is refused (rc=53 "consumer state is newer than
/// provider!"), which the channel reports as RefreshRequired because it resumed: drop the
/// cookie and refresh.
#[tokio::test]
async fn cookies_slapd_cannot_use() {
    let server = Slapd::start_with_syncprov(&data::active_people_ldif(3), Some(100));
    let (ldap, attributes) = ldap_config(server.dir(), &server.ldap_url());
    let mut channel =
        SyncreplChannel::open(&ldap, users(&ldap, attributes.clone()), Some(b"garbage".to_vec())).await.unwrap();
    let (events, _) = refresh(&mut channel).await;
    assert_eq!(upserted(&events).len(), 3, "{events:#?}");
    drop(channel);

    let future = b"rid=000,csn=29991231235959.999999Z#000000#000#000000".to_vec();
    let mut channel = SyncreplChannel::open(&ldap, users(&ldap, attributes), Some(future)).await.unwrap();
    let error = next(&mut channel).await.unwrap_err();
    match &error {
        ChangeError::RefreshRequired { detail } => assert!(detail.contains("rc=53"), "{detail}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(changes::next_step(&error, 1), changes::NextStep::FullRefresh { .. }));
}

/// Killing slapd while the search persists ends the channel with Disconnected (reconnect
/// and resume), and every later call says the same.
#[tokio::test]
async fn a_server_that_dies_mid_persist_is_disconnected() {
    let mut server = Slapd::start_with_syncprov(&data::active_people_ldif(3), Some(100));
    let (ldap, attributes) = ldap_config(server.dir(), &server.ldap_url());
    let mut channel = SyncreplChannel::open(&ldap, users(&ldap, attributes), None).await.unwrap();
    refresh(&mut channel).await;
    server.kill();
    let error = next(&mut channel).await.unwrap_err();
    assert!(matches!(error, ChangeError::Disconnected { .. }), "{error:?}");
    assert!(matches!(next(&mut channel).await, Err(ChangeError::Disconnected { .. })));
    assert!(matches!(changes::next_step(&error, 1), changes::NextStep::Resume { .. }));
}

/// The root DSE of a slapd with syncprov advertises the control, so `auto` picks syncrepl;
/// without the overlay it is off, with the fix named.
#[tokio::test]
async fn auto_picks_syncrepl_where_syncprov_runs() {
    for (server, expected) in [
        (Slapd::start_with_syncprov(&data::active_people_ldif(1), None), true),
        (Slapd::start(&data::active_people_ldif(1)), false),
    ] {
        let dir = server.dir().to_path_buf();
        std::fs::write(dir.join("ldap-password"), SERVICE_PASSWORD).unwrap();
        let text = format!(
            "[directory]\nurl = \"{}\"\nbind_dn = \"{SERVICE_DN}\"\nbind_password_file = \"ldap-password\"\n\
             base_dn = \"{}\"\ninsecure = true\n",
            server.ldap_url(),
            data::PEOPLE
        );
        let cfg = config::parse(&text, &dir, None).unwrap();
        let SourceConfig::Ldap(ldap) = cfg.directory.source.clone() else { unreachable!() };
        let directory = LdapDirectory::new(ldap, &cfg.directory.decode);
        let dse = root_dse::read(&directory).await.unwrap().expect("a root DSE");
        match (changes::choose(ChangesMode::Auto, &dse, Flavor::OpenLdap), expected) {
            (Ok(Chosen::Syncrepl), true) => {}
            (Ok(Chosen::Off { reason }), false) => assert!(reason.contains("overlay syncprov"), "{reason}"),
            (other, _) => panic!("syncprov {expected}: {other:?}"),
        }
        assert_eq!(changes::choose(ChangesMode::Syncrepl, &dse, Flavor::OpenLdap).is_ok(), expected);
    }
}
