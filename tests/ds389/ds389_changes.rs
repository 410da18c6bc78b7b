//! The syncrepl change channel against a private 389 Directory Server with the Retro
//! Changelog and Content Synchronization plugins (`Ds389::start_with_contentsync`): the
//! refresh, live changes while persisting, resuming from a stored cookie after changes made
//! while disconnected, cookies 389-ds cannot use, and `auto` choosing syncrepl only where the
//! plugin runs. Modelled on tests/ldap/changes.rs (slapd with syncprov).
//!
//! What differs from slapd, and what the channel does about it (src/source/changes/ds389.rs):
//! 389-ds names entries in its Sync State controls by nsUniqueId, not entryUUID, so the
//! channel maps them to the entryUUID the read anchors on; a departure it cannot map (a
//! resumed session's deletions are bare nsUniqueIds) ends the session with RefreshRequired,
//! so the caller runs a whole read instead of losing it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::channel::{CEILING, SCHEDULE};
use crate::support::daemon::Daemon;
use crate::support::data::{self, PEOPLE, SERVICE_DN, SERVICE_PASSWORD};
use crate::support::reading;
use crate::support::servers::ds389::{Ds389, ROOT_DN, ROOT_PASSWORD};
use crate::support::sync_events::{next, refresh, until, upserted};
use zoomsync::config::{self, ChangesMode, Config, Flavor, LdapConfig, SourceConfig};
use zoomsync::emulator::{Emulator, EmulatorConfig, RunningEmulator, User};
use zoomsync::source::changes::{self, ChangeError, ChangeEvent, ChangeSearch, Chosen, SearchKind, SyncreplChannel};
use zoomsync::source::ldap::LdapDirectory;
use zoomsync::source::root_dse;

/// The 389ds flavour over LDAPS with the test CA, its defaults deciding the anchor
/// (entryUUID, else nsUniqueId), the lock and the user filter.
fn config(server: &Ds389) -> Config {
    zoomsync::install_crypto_provider();
    let dir = server.dir();
    std::fs::write(dir.join("ldap-password"), SERVICE_PASSWORD).unwrap();
    let text = format!(
        "[directory]\nflavor = \"389ds\"\nurl = \"{}\"\nca_file = {:?}\nbind_dn = \"{SERVICE_DN}\"\n\
         bind_password_file = \"ldap-password\"\nbase_dn = \"{PEOPLE}\"\n",
        server.ldaps_url(),
        server.ca_file()
    );
    config::parse(&text, dir, None).unwrap_or_else(|e| panic!("config: {e}\n{text}"))
}

fn ldap(cfg: &Config) -> LdapConfig {
    let SourceConfig::Ldap(ldap) = cfg.directory.source.clone() else { panic!("not an LDAP source") };
    ldap
}

/// The user search as the daemon opens it: the read's base, filter and attributes.
fn users(cfg: &Config) -> ChangeSearch {
    let ldap = ldap(cfg);
    ChangeSearch {
        kind: SearchKind::Users,
        base: ldap.base_dn.clone(),
        filter: ldap.user_filter.clone(),
        attributes: cfg.directory.decode.requested_attributes(),
    }
}

async fn open(cfg: &Config, cookie: Option<Vec<u8>>) -> SyncreplChannel {
    SyncreplChannel::open(&ldap(cfg), users(cfg), cookie).await.unwrap_or_else(|e| panic!("open: {e}"))
}

fn uid_dn(i: usize) -> String {
    format!("uid=user{i:06},{PEOPLE}")
}

/// The anchor of every user as zoomsync's full read gives it (the 389ds flavour), by DN
/// (lower case): what a departure from the channel must name.
async fn read_anchors(cfg: &Config) -> BTreeMap<String, String> {
    let snapshot = reading::complete(reading::read(cfg).await.unwrap());
    snapshot.users.iter().map(|u| (u.dn.to_ascii_lowercase(), u.anchor.as_str().to_string())).collect()
}

/// `attribute` of each user as Directory Manager reads it, by DN (lower case).
fn attribute(server: &Ds389, attribute: &str) -> BTreeMap<String, String> {
    server
        .search_as(ROOT_DN, ROOT_PASSWORD, PEOPLE, "(uid=*)", &[attribute])
        .into_iter()
        .map(|(dn, e)| (dn.to_ascii_lowercase(), e.text(&attribute.to_ascii_lowercase()).unwrap()))
        .collect()
}

/// The cookie that follows the last change (389-ds sends one with each persisted entry).
async fn cookie_after(channel: &mut SyncreplChannel) -> Vec<u8> {
    let events = until(channel, |e| matches!(e, ChangeEvent::Cookie { .. })).await;
    let Some(ChangeEvent::Cookie { cookie, .. }) = events.last() else { unreachable!() };
    cookie.clone()
}

/// The departures among `events`: (UUID, DN when sent).
fn departures(events: &[ChangeEvent]) -> Vec<(String, Option<String>)> {
    events
        .iter()
        .flat_map(|e| match e {
            ChangeEvent::Gone { entry_uuid, dn, .. } => vec![(entry_uuid.clone(), dn.clone())],
            ChangeEvent::IdSet { entry_uuids, deleted: true, .. } => {
                entry_uuids.iter().map(|u| (u.clone(), None)).collect()
            }
            _ => vec![],
        })
        .collect()
}

fn modify(server: &Ds389, i: usize, attribute: &str, value: &str) {
    server.ldapmodify(&format!("dn: {}\nchangetype: modify\nreplace: {attribute}\n{attribute}: {value}\n", uid_dn(i)));
}

fn delete(server: &Ds389, i: usize) {
    server.ldapmodify(&format!("dn: {}\nchangetype: delete\n", uid_dn(i)));
}

/// Moves user `i` to ou=groups (out of the users' base).
fn move_out(server: &Ds389, i: usize) {
    server.ldapmodify(&format!(
        "dn: {}\nchangetype: modrdn\nnewrdn: uid=user{i:06}\ndeleteoldrdn: 1\nnewsuperior: ou=groups,{}\n",
        uid_dn(i),
        data::BASE
    ));
}

/// The refresh sends every user whole, named by the entryUUID the read anchors on (389-ds's
/// controls carry the nsUniqueId: the channel maps it), then RefreshDone and a cookie.
/// While persisting, a modify, an add, a lock, a delete and a move out of the base each
/// arrive; the delete and the move out name the anchor the read used for that user.
#[tokio::test]
async fn refresh_and_live_changes_are_named_by_the_read_anchor() {
    let server = Ds389::start_with_contentsync(&data::active_people_ldif(5));
    let cfg = config(&server);
    let anchors = read_anchors(&cfg).await;
    let (entry_uuids, unique_ids) = (attribute(&server, "entryUUID"), attribute(&server, "nsUniqueId"));
    assert_eq!(anchors, entry_uuids, "the 389ds flavour anchors on entryUUID");
    assert!(anchors.values().all(|a| !unique_ids.values().any(|u| u == a)), "entryUUID is not nsUniqueId");
    let anchor = |i: usize| anchors[&uid_dn(i)].clone();

    let mut channel = open(&cfg, None).await;
    let (events, _) = refresh(&mut channel).await;
    let mut sent = upserted(&events);
    sent.sort();
    assert_eq!(sent, (0..5).map(uid_dn).collect::<Vec<_>>(), "{events:#?}");
    for event in &events {
        if let ChangeEvent::Upsert { entry_uuid, entry, .. } = event {
            assert_eq!(entry_uuid, &anchors[&entry.dn.to_ascii_lowercase()], "{event:?}");
            assert!(entry.first_text("mail").is_some() && entry.first_text("modifytimestamp").is_some());
        }
    }
    let done_at = events.iter().position(|e| matches!(e, ChangeEvent::RefreshDone { .. })).unwrap();
    assert!(events[..done_at].iter().all(|e| matches!(e, ChangeEvent::Upsert { .. })), "{events:#?}");

    modify(&server, 1, "title", "Director");
    let events = until(&mut channel, |e| matches!(e, ChangeEvent::Upsert { .. })).await;
    match events.last() {
        Some(ChangeEvent::Upsert { entry_uuid, entry, .. }) => {
            assert_eq!(entry_uuid, &anchor(1));
            assert_eq!(entry.first_text("title"), Some("Director"));
        }
        other => panic!("{other:?}"),
    }
    server.ldapmodify(&data::new_person_ldif(10, "user000010@example.com"));
    let events = until(&mut channel, |e| matches!(e, ChangeEvent::Upsert { .. })).await;
    assert_eq!(upserted(&events), vec![uid_dn(10)]);
    modify(&server, 4, "nsAccountLock", "true");
    let events = until(&mut channel, |e| matches!(e, ChangeEvent::Upsert { .. })).await;
    match events.last() {
        Some(ChangeEvent::Upsert { entry, .. }) => assert_eq!(entry.first_text("nsaccountlock"), Some("true")),
        other => panic!("{other:?}"),
    }
    delete(&server, 2);
    let events = until(&mut channel, |e| matches!(e, ChangeEvent::Gone { .. })).await;
    assert_eq!(departures(&events), vec![(anchor(2), Some(uid_dn(2)))], "{events:#?}");
    move_out(&server, 3);
    let events = until(&mut channel, |e| matches!(e, ChangeEvent::Gone { .. })).await;
    let gone = departures(&events);
    assert_eq!(gone.len(), 1, "{events:#?}");
    assert_eq!(gone[0].0, anchor(3), "moved out of the base: {events:#?}");
    assert_eq!(gone[0].1.as_deref(), Some(format!("uid=user000003,ou=groups,{}", data::BASE).as_str()));
    cookie_after(&mut channel).await;
}

/// Resuming with a stored cookie after modifies, an add and a lock made while disconnected
/// sends exactly those entries whole (by their anchors, the lock included: 389-ds sends them
/// without operational attributes and the channel reads them again), then RefreshDone and
/// a cookie, and persists: a later change arrives. A deletion of a user this session never saw is placed
/// by the DN it had (named by nsUniqueId, as the read would if it had no entryUUID); a move
/// out of the base of such a user names nothing the state knows, so the channel asks for a
/// full refresh instead of losing it.
#[tokio::test]
async fn resume_sends_what_changed_while_disconnected() {
    let server = Ds389::start_with_contentsync(&data::active_people_ldif(6));
    let cfg = config(&server);
    let mut channel = open(&cfg, None).await;
    let (_, cookie) = refresh(&mut channel).await;
    drop(channel);

    modify(&server, 1, "title", "Architect");
    server.ldapmodify(&data::new_person_ldif(10, "user000010@example.com"));
    modify(&server, 2, "nsAccountLock", "true");
    modify(&server, 1, "title", "Chief Architect");
    let anchors = read_anchors(&cfg).await;
    let unique_ids = attribute(&server, "nsUniqueId");

    let mut channel = open(&cfg, Some(cookie)).await;
    let (events, _) = refresh(&mut channel).await;
    let mut sent = upserted(&events);
    sent.sort();
    assert_eq!(sent, vec![uid_dn(1), uid_dn(2), uid_dn(10)], "only what changed, each once: {events:#?}");
    for event in &events {
        match event {
            ChangeEvent::Upsert { entry_uuid, entry, .. } => {
                assert_eq!(entry_uuid, &anchors[&entry.dn.to_ascii_lowercase()]);
                if entry.dn.eq_ignore_ascii_case(&uid_dn(1)) {
                    assert_eq!(entry.first_text("title"), Some("Chief Architect"), "the entry as it is now");
                }
                // 389-ds sends these with user attributes only: read again, they are whole.
                assert!(entry.first_text("modifytimestamp").is_some(), "{entry:?}");
                let locked = entry.first_text("nsaccountlock");
                assert_eq!(locked, entry.dn.eq_ignore_ascii_case(&uid_dn(2)).then_some("true"), "{entry:?}");
            }
            ChangeEvent::RefreshDone { .. } | ChangeEvent::Cookie { .. } => {}
            other => panic!("nothing else changed: {other:?} in {events:#?}"),
        }
    }

    // Persisting after the resumed refresh.
    modify(&server, 3, "title", "Director");
    let events = until(&mut channel, |e| matches!(e, ChangeEvent::Upsert { .. })).await;
    assert_eq!(upserted(&events), vec![uid_dn(3)]);
    // User 4 was not sent in this session: its deletion comes with its DN.
    delete(&server, 4);
    let events = until(&mut channel, |e| matches!(e, ChangeEvent::Gone { .. })).await;
    assert_eq!(departures(&events), vec![(unique_ids[&uid_dn(4)].clone(), Some(uid_dn(4)))], "{events:#?}");
    // User 1 was: by its anchor, wherever it goes.
    move_out(&server, 1);
    let events = until(&mut channel, |e| matches!(e, ChangeEvent::Gone { .. })).await;
    assert_eq!(departures(&events)[0].0, anchors[&uid_dn(1)], "{events:#?}");
    // User 5 was not: its new DN names nothing known.
    move_out(&server, 5);
    let error = loop {
        match next(&mut channel).await {
            Ok(ChangeEvent::Cookie { .. }) => {}
            Ok(other) => panic!("{other:?}"),
            Err(e) => break e,
        }
    };
    match &error {
        ChangeError::RefreshRequired { detail } => {
            assert!(detail.contains(&unique_ids[&uid_dn(5)]) && detail.contains("whole read"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(changes::next_step(&error, 1), changes::NextStep::FullRefresh { .. }));
}

/// Deletions and moves out of the base made while disconnected: 389-ds resumes with a
/// syncIdSet of bare nsUniqueIds (no DN, no entryUUID), which nothing maps to a user, so the
/// channel asks for a full refresh (the caller runs a whole read, which concludes them)
/// rather than drop them. A new session without a cookie then holds exactly the users
/// still there, as they are now.
#[tokio::test]
async fn deletions_while_disconnected_ask_for_a_full_refresh() {
    let server = Ds389::start_with_contentsync(&data::active_people_ldif(5));
    let cfg = config(&server);
    let unique_ids = attribute(&server, "nsUniqueId");
    let mut channel = open(&cfg, None).await;
    let (_, cookie) = refresh(&mut channel).await;
    drop(channel);

    delete(&server, 0);
    move_out(&server, 3);
    modify(&server, 4, "title", "Architect");
    let mut channel = open(&cfg, Some(cookie)).await;
    let error = next(&mut channel).await.unwrap_err();
    match &error {
        ChangeError::RefreshRequired { detail } => {
            let named = [0, 3].iter().any(|&i| detail.contains(&unique_ids[&uid_dn(i)]));
            assert!(named && detail.contains("nsUniqueId"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(changes::next_step(&error, 1), changes::NextStep::FullRefresh { .. }));
    assert!(matches!(next(&mut channel).await, Err(ChangeError::Disconnected { .. })), "the session is over");

    let mut channel = open(&cfg, None).await;
    let (events, _) = refresh(&mut channel).await;
    let mut sent = upserted(&events);
    sent.sort();
    assert_eq!(sent, [1, 2, 4].map(uid_dn), "{events:#?}");
    let four = events.iter().find_map(|e| match e {
        ChangeEvent::Upsert { entry, .. } if entry.dn.eq_ignore_ascii_case(&uid_dn(4)) => Some(entry),
        _ => None,
    });
    assert_eq!(four.and_then(|e| e.first_text("title")), Some("Architect"));
}

/// Cookies 389-ds refuses with e-syncRefreshRequired (4096, "Invalid session cookie"): one
/// that is not its format, one issued for another search (its client part is bind DN,
/// base and filter), and one from a change number ahead of the changelog. Each ends the
/// channel with RefreshRequired: drop the cookie and refresh.
#[tokio::test]
async fn cookies_389ds_cannot_use_ask_for_a_full_refresh() {
    let server = Ds389::start_with_contentsync(&data::active_people_ldif(3));
    let cfg = config(&server);
    let mut channel = open(&cfg, None).await;
    let (_, cookie) = refresh(&mut channel).await;
    drop(channel);
    let text = String::from_utf8(cookie.clone()).unwrap();
    eprintln!("ds389: a content-sync cookie: {text}");
    // <host>:<port>#<bind DN>:<base>:<filter>#<change number>
    let (server_part, rest) = text.split_once('#').unwrap();
    let (client_part, number) = rest.rsplit_once('#').unwrap();
    assert!(client_part.contains(SERVICE_DN) && client_part.contains(PEOPLE), "{text}");
    number.parse::<u64>().unwrap_or_else(|e| panic!("{text}: {e}"));

    let other_filter = client_part.replace("inetOrgPerson", "person");
    for bad in [
        "garbage".to_string(),
        format!("{server_part}#{other_filter}#{number}"),
        format!("{server_part}#{client_part}#999999"),
    ] {
        let mut channel = open(&cfg, Some(bad.clone().into_bytes())).await;
        match next(&mut channel).await {
            Err(ChangeError::RefreshRequired { detail }) => assert!(detail.contains("4096"), "{bad}: {detail}"),
            other => panic!("{bad}: {other:?}"),
        }
    }
    // The cookie it issued still resumes (nothing changed: no entry, RefreshDone).
    let mut channel = open(&cfg, Some(cookie)).await;
    let (events, _) = refresh(&mut channel).await;
    assert!(upserted(&events).is_empty(), "{events:#?}");
}

/// The root DSE of 389-ds with the Content Synchronization plugin advertises
/// 1.3.6.1.4.1.4203.1.9.1.1, so `auto` picks syncrepl; without the plugin it does not, and
/// `auto` is off with the fix named (`dsconf … plugin contentsync enable`).
#[tokio::test]
async fn auto_picks_syncrepl_where_content_synchronization_runs() {
    for (server, plugin) in [
        (Ds389::start_with_contentsync(&data::active_people_ldif(1)), true),
        (Ds389::start(&data::active_people_ldif(1)), false),
    ] {
        let cfg = config(&server);
        let directory = LdapDirectory::new(ldap(&cfg), &cfg.directory.decode);
        let dse = root_dse::read(&directory).await.unwrap().expect("a root DSE");
        assert_eq!(dse.supports_syncrepl(), plugin, "{dse:?}");
        assert_eq!(dse.server(), Some(root_dse::ServerKind::Ds389));
        match (changes::choose(ChangesMode::Auto, &dse, Flavor::Ds389), plugin) {
            (Ok(Chosen::Syncrepl), true) => {}
            (Ok(Chosen::Off { reason }), false) => assert!(reason.contains("plugin contentsync enable"), "{reason}"),
            (other, _) => panic!("plugin {plugin}: {other:?}"),
        }
        assert_eq!(changes::choose(ChangesMode::Syncrepl, &dse, Flavor::Ds389).is_ok(), plugin);
    }
}

/// Without the plugin, a syncrepl search is refused as unsupported (the control is
/// critical): the channel says so and the daemon stays with scheduled cycles.
#[tokio::test]
async fn without_the_plugin_the_search_is_unsupported() {
    let server = Ds389::start(&data::active_people_ldif(1));
    let cfg = config(&server);
    let error = match SyncreplChannel::open(&ldap(&cfg), users(&cfg), None).await {
        Ok(mut channel) => next(&mut channel).await.unwrap_err(),
        Err(e) => e,
    };
    assert!(matches!(error, ChangeError::Unsupported { .. }), "{error:?}");
    assert!(matches!(changes::next_step(&error, 1), changes::NextStep::FallBack { .. }));
}

/// The daemon's config against `server`: the 389ds flavour over LDAPS, the emulator, a
/// 40-minute schedule (so changes arrive through the channel or not at all).
fn daemon_config(server: &Ds389, zoom: &RunningEmulator) -> PathBuf {
    let dir = server.dir();
    std::fs::write(dir.join("ldap-password"), SERVICE_PASSWORD).unwrap();
    std::fs::write(dir.join("zoom-secret"), zoom.client_secret()).unwrap();
    let text = format!(
        "[directory]\nflavor = \"389ds\"\nurl = \"{url}\"\nca_file = {ca:?}\nbind_dn = \"{SERVICE_DN}\"\n\
         bind_password_file = \"ldap-password\"\nbase_dn = \"{PEOPLE}\"\n\n\
         [target]\nkind = \"zoom\"\nbase_url = \"{}\"\ntoken_url = \"{}\"\naccount_id = \"{}\"\nclient_id = \"{}\"\n\
         client_secret_file = \"zoom-secret\"\nrequests_per_second = 5000\nmax_concurrency = 8\ntimeout = \"10s\"\n\n\
         [state]\npath = \"state\"\n\n[admin]\nsocket = \"admin.sock\"\n\n[metrics]\nenabled = false\n\n{SCHEDULE}",
        zoom.base_url(),
        zoom.token_url(),
        zoom.account_id(),
        zoom.client_id(),
        url = server.ldaps_url(),
        ca = server.ca_file(),
    );
    let path = dir.join("zoomsync.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Starts `zoomsync run` and waits for its start-up cycle and the cycle after the channel's
/// refresh (or, resumed, the channel up): from then on changes arrive through the channel.
async fn start_daemon(config: &Path, log: &str, ready: impl Fn(&str) -> bool) -> Daemon {
    let daemon = Daemon::start(config, config.with_file_name(log), "info,zoomsync::daemon=debug");
    daemon.wait_for("the change channel", 90, ready).await;
    daemon
}

/// Polls the emulator (every 10 ms) until `reached` holds for `name`'s user; panics with the
/// daemon's log after [`CEILING`]. Returns the seconds it took.
async fn zoom_reaches(
    zoom: &RunningEmulator,
    daemon: &Daemon,
    what: &str,
    name: &str,
    reached: fn(&User) -> bool,
) -> f64 {
    let start = Instant::now();
    while start.elapsed() < CEILING {
        if zoom.users().iter().any(|u| u.user_name == name && reached(u)) {
            return start.elapsed().as_secs_f64();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what} ({name}): not on Zoom after {CEILING:?}; log:\n{}", daemon.log());
}

fn inactive(u: &User) -> bool {
    !u.is_active()
}

/// The daemon on a 40-minute schedule with `auto` picking syncrepl on 389-ds: a hire, a lock
/// (nsAccountLock), a delete and a move out of the base each reach Zoom through the channel,
/// with no cycle run for them. Then, stopped: a user deleted and another locked while it is
/// down. Restarted, the channel resumes from the stored cookie; 389-ds names the deletion
/// by nsUniqueId only, so the channel asks for a full refresh and the cycle after it
/// deactivates both (or the start-up cycle does, whichever runs first) — never a scheduled
/// cycle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_takes_changes_from_389ds_through_the_channel() {
    let server = Ds389::start_with_contentsync(&data::active_people_ldif(10));
    zoomsync::install_crypto_provider();
    let zoom = Emulator::start(EmulatorConfig::unlimited(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let config = daemon_config(&server, &zoom);
    let first_cycles = |log: &str| {
        log.contains("change channel up (syncrepl)")
            && log.contains("cycle started for the change channel")
            && Daemon::cycles_finished(log) >= 2
    };
    let d = start_daemon(&config, "daemon.log", first_cycles).await;
    assert_eq!(zoom.users().iter().filter(|u| u.user_name != "owner@example.com" && u.is_active()).count(), 10);
    let cycles = Daemon::cycles_finished(&d.log());

    let mail = |i: usize| format!("user{i:06}@example.com");
    server.ldapmodify(&data::new_person_ldif(20, &mail(20)));
    let hire = zoom_reaches(&zoom, &d, "hire", &mail(20), User::is_active).await;
    modify(&server, 20, "nsAccountLock", "true");
    let lock = zoom_reaches(&zoom, &d, "lock", &mail(20), inactive).await;
    delete(&server, 3);
    let deleted = zoom_reaches(&zoom, &d, "delete", &mail(3), inactive).await;
    move_out(&server, 4);
    let moved = zoom_reaches(&zoom, &d, "move out", &mail(4), inactive).await;
    println!(
        "389-ds through the channel: hire {hire:.2} s, lock {lock:.2} s, delete {deleted:.2} s, move out {moved:.2} s"
    );
    let log = d.log();
    assert_eq!(Daemon::cycles_finished(&log), cycles, "no cycle ran: every change came as a batch\n{log}");
    assert!(!log.contains("trigger=Schedule"), "{log}");
    d.stop();

    delete(&server, 5);
    modify(&server, 6, "nsAccountLock", "true");
    let resumed = |log: &str| log.contains("change channel up (syncrepl)");
    let d = start_daemon(&config, "restarted.log", resumed).await;
    for (what, i) in [("deleted while down", 5), ("locked while down", 6)] {
        zoom_reaches(&zoom, &d, what, &mail(i), inactive).await;
    }
    // The start-up cycle may deactivate both first; the channel's own account of the
    // deletion it could not name arrives in its turn.
    let full_refresh = |log: &str| log.contains("asks for a full refresh") && log.contains("nsUniqueId");
    d.wait_for("the channel asking for a full refresh", 60, full_refresh).await;
    let log = d.log();
    assert!(!log.contains("trigger=Schedule"), "{log}");
    let mut active: Vec<String> = zoom
        .users()
        .into_iter()
        .filter(|u| u.user_name != "owner@example.com" && u.is_active())
        .map(|u| u.user_name)
        .collect();
    active.sort();
    assert_eq!(active, [0, 1, 2, 7, 8, 9].map(mail), "everyone else is untouched");
}
