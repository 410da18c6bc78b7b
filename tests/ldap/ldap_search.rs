//! `Directory::search` over LDAP against a real, private slapd: several searches in one call
//! over one connection and one bind (counted on the wire), entries and request indexes as
//! `ldapsearch` sees them, errors before the first entry, INCOMPLETE after it, and a server
//! killed mid-read.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::support::data::samba::parse_ldif;
use crate::support::data::{self, PEOPLE, SERVICE_DN, SERVICE_PASSWORD};
use crate::support::servers::relay::Relay;
use crate::support::servers::slapd::Slapd;
use zoomsync::config::{self, Config};
use zoomsync::model::RawEntry;
use zoomsync::source::{self, Directory, ReadEnd, SearchRequest, SearchScope, SourceError};

const GROUPS: &str = "ou=groups,dc=example,dc=com";
const TEAMS: usize = 5;

/// A config for the test slapd; `extra` lines go into `[directory]`.
fn config(dir: &Path, url: &str, extra: &str) -> Config {
    zoomsync::install_crypto_provider();
    std::fs::write(dir.join("ldap-password"), SERVICE_PASSWORD).unwrap();
    let text = format!(
        "[directory]\nurl = \"{url}\"\nbind_dn = \"{SERVICE_DN}\"\nbind_password_file = \"ldap-password\"\n\
         base_dn = \"{PEOPLE}\"\npage_size = 100\n{extra}\n"
    );
    config::parse(&text, dir, None).unwrap_or_else(|e| panic!("config: {e}\n{text}"))
}

fn ldaps(server: &Slapd) -> source::AnyDirectory {
    let cfg = config(server.dir(), &server.ldaps_url(), &format!("ca_file = {:?}", server.ca_file()));
    source::AnyDirectory::from_config(&cfg.directory)
}

/// `n` people, `TEAMS` groupOfNames (team g has every user with i % TEAMS == g), a group
/// nesting team0, and an entry under ou=groups that is not a group.
fn directory_ldif(n: usize) -> String {
    let mut ldif = data::people_ldif(n);
    for g in 0..TEAMS {
        let _ = write!(ldif, "dn: cn=team{g},{GROUPS}\nobjectClass: groupOfNames\ncn: team{g}\n");
        for i in (g..n).step_by(TEAMS) {
            let _ = writeln!(ldif, "member: uid=user{i:06},{PEOPLE}");
        }
        ldif.push('\n');
    }
    let _ = write!(
        ldif,
        "dn: cn=staff,{GROUPS}\nobjectClass: groupOfNames\ncn: staff\nmember: cn=team0,{GROUPS}\n\
         member: uid=user000001,{PEOPLE}\n\n\
         dn: cn=printer,{GROUPS}\nobjectClass: organizationalRole\ncn: printer\n\n"
    );
    ldif
}

fn requests() -> Vec<SearchRequest> {
    vec![
        SearchRequest {
            base: GROUPS.into(),
            scope: SearchScope::Subtree,
            filter: "(objectClass=groupOfNames)".into(),
            attributes: vec!["cn".into(), "member".into(), "entryUUID".into()],
        },
        SearchRequest {
            base: format!("uid=user000007,{PEOPLE}"),
            scope: SearchScope::Base,
            filter: "(objectClass=*)".into(),
            attributes: vec!["mail".into(), "cn".into(), "title".into()],
        },
        SearchRequest {
            base: PEOPLE.into(),
            scope: SearchScope::Subtree,
            filter: "(&(objectClass=inetOrgPerson)(employeeType=staff))".into(),
            attributes: vec!["1.1".into()],
        },
    ]
}

/// What `ldapsearch` (as the service account, paged) returns for `request`: DN -> attributes.
fn ldapsearch(server: &Slapd, request: &SearchRequest) -> BTreeMap<String, BTreeMap<String, Vec<Vec<u8>>>> {
    let scope = match request.scope {
        SearchScope::Base => "base",
        SearchScope::Subtree => "sub",
    };
    let out = Command::new("ldapsearch")
        .args(["-LLL", "-x", "-H", &server.ldaps_url(), "-D", SERVICE_DN, "-w", SERVICE_PASSWORD])
        .args(["-o", "ldif-wrap=no", "-E", "pr=1000/noprompt", "-s", scope, "-b", &request.base, &request.filter])
        .args(&request.attributes)
        .env("LDAPTLS_CACERT", server.ca_file())
        .output()
        .unwrap();
    assert!(out.status.success(), "ldapsearch: {}", String::from_utf8_lossy(&out.stderr));
    parse_ldif(&String::from_utf8_lossy(&out.stdout)).into_iter().map(|(dn, e)| (dn, e.attrs)).collect()
}

fn by_dn(entries: &[RawEntry]) -> BTreeMap<String, BTreeMap<String, Vec<Vec<u8>>>> {
    entries.iter().map(|e| (e.dn.clone(), e.attrs.iter().cloned().collect())).collect()
}

#[tokio::test]
async fn several_searches_in_one_call_over_one_bind_match_ldapsearch() {
    let server = Slapd::start(&directory_ldif(2_000));
    let directory = ldaps(&server);
    let requests = requests();
    let mut got: Vec<Vec<RawEntry>> = vec![Vec::new(); requests.len()];
    let mut order = Vec::new();
    let started = Instant::now();
    let end = directory
        .search(&requests, &mut |i, entry| {
            if order.last() != Some(&i) {
                order.push(i);
            }
            got[i].push(entry);
        })
        .await
        .unwrap();
    eprintln!("3 searches ({} entries) over LDAPS: {:.1?}", got.iter().map(Vec::len).sum::<usize>(), started.elapsed());
    assert_eq!(end, ReadEnd::Complete);
    assert_eq!(order, [0, 1, 2], "searches run one after the other, entries tagged with their index");

    assert_eq!(got[0].len(), TEAMS + 1, "the groups, not the organizationalRole");
    assert_eq!(got[1].len(), 1);
    assert_eq!(got[1][0].first_text("mail"), Some("user000007@example.com"));
    assert_eq!(got[2].len(), 2_000 - 2_000 / 25, "every 25th user is former");
    assert!(got[2].iter().all(|e| e.attrs.is_empty()), "1.1 asks for DNs only");
    for (i, request) in requests.iter().enumerate() {
        assert_eq!(by_dn(&got[i]), ldapsearch(&server, request), "request {i}: {}", request.filter);
    }
    let team0 = got[0].iter().find(|e| e.dn.starts_with("cn=team0,")).unwrap();
    assert_eq!(team0.values("member").len(), 400);
    assert_eq!(team0.values("entryuuid").len(), 1, "names are lower-cased");

    // One connection, one bind, whatever the number of searches: counted through a relay.
    let relay = Relay::start(SocketAddr::from(([127, 0, 0, 1], server.port)));
    let cfg = config(server.dir(), &relay.url(), "insecure = true");
    let plain = source::AnyDirectory::from_config(&cfg.directory);
    let mut count = vec![0usize; requests.len()];
    let end = plain.search(&requests, &mut |i, _| count[i] += 1).await.unwrap();
    assert_eq!(end, ReadEnd::Complete);
    assert_eq!(count, got.iter().map(Vec::len).collect::<Vec<_>>());
    let wire = relay.wire();
    assert_eq!((wire.connections, wire.binds), (1, 1), "{wire:?}");
    // Each search is paged (page_size 100): 1 + 1 + 20 requests (19.2 pages of people).
    assert_eq!(wire.searches, 1 + 1 + 20, "{wire:?}");
    assert!(wire.pages.iter().all(|&n| n <= 100), "{:?}", wire.pages);
    eprintln!("on the wire: {} connection, {} bind, {} search requests", wire.connections, wire.binds, wire.searches);
}

#[tokio::test]
async fn errors_before_the_first_entry_and_incomplete_after_it() {
    let server = Slapd::start(&directory_ldif(20));
    let directory = ldaps(&server);
    let nowhere = "ou=nowhere,dc=example,dc=com";
    let missing = SearchRequest {
        base: nowhere.into(),
        scope: SearchScope::Subtree,
        filter: "(objectClass=*)".into(),
        attributes: vec!["1.1".into()],
    };
    let mut seen = Vec::new();
    let err = directory.search(std::slice::from_ref(&missing), &mut |i, e| seen.push((i, e.dn))).await.unwrap_err();
    assert_eq!(err, SourceError::BaseDnNotFound { base_dn: nowhere.into() });
    assert!(seen.is_empty());

    // A Base search of an entry that is not there, first in the list: the same error.
    let gone = format!("uid=nobody,{PEOPLE}");
    let base_gone = SearchRequest { base: gone.clone(), scope: SearchScope::Base, ..missing.clone() };
    let err = directory.search(&[base_gone.clone(), requests()[0].clone()], &mut |_, _| {}).await.unwrap_err();
    assert_eq!(err, SourceError::BaseDnNotFound { base_dn: gone });

    // After entries were handed on, the same failure cannot be an error (the caller has
    // entries) nor a complete read: it is INCOMPLETE, naming the search.
    let mut seen = Vec::new();
    let end = directory.search(&[requests()[0].clone(), missing.clone()], &mut |i, e| seen.push((i, e.dn))).await;
    match end.unwrap() {
        ReadEnd::Incomplete { reason } => {
            assert!(reason.contains("search 2 of 2") && reason.contains(nowhere), "{reason}")
        }
        ReadEnd::Complete => panic!("a missing base after entries must not look complete"),
    }
    assert_eq!(seen.len(), TEAMS + 1);
    assert!(seen.iter().all(|(i, _)| *i == 0));

    // A filter that does not parse is refused before anything is read, wherever it is.
    let bad = SearchRequest { filter: "(cn=unbalanced".into(), ..requests()[0].clone() };
    let mut seen = 0;
    let err = directory.search(&[requests()[0].clone(), bad], &mut |_, _| seen += 1).await.unwrap_err();
    assert!(matches!(&err, SourceError::SearchRefused { detail } if detail.contains("(cn=unbalanced")), "{err:?}");
    assert_eq!(seen, 0);

    // The same connection errors as the user read.
    let cfg = config(server.dir(), &server.ldaps_url(), &format!("ca_file = {:?}", server.other_ca_file()));
    let err = source::AnyDirectory::from_config(&cfg.directory).search(&requests(), &mut |_, _| {}).await.unwrap_err();
    assert!(matches!(err, SourceError::Tls { .. }), "{err:?}");
    let nobody = crate::support::servers::ports::free_port();
    let ca = format!("ca_file = {:?}", server.ca_file());
    let cfg = config(server.dir(), &format!("ldaps://127.0.0.1:{nobody}"), &ca);
    let unreachable = source::AnyDirectory::from_config(&cfg.directory);
    let err = unreachable.search(&requests(), &mut |_, _| {}).await.unwrap_err();
    assert!(matches!(err, SourceError::Unreachable { .. }), "{err:?}");
    // Nothing to search: nothing to connect to.
    assert_eq!(unreachable.search(&[], &mut |_, _| {}).await.unwrap(), ReadEnd::Complete);
}

#[tokio::test]
async fn slapd_killed_mid_search_is_incomplete_not_shorter() {
    let mut server = Slapd::start(&directory_ldif(10_000));
    let directory = ldaps(&server);
    let mut people = requests()[2].clone();
    people.filter = "(objectClass=inetOrgPerson)".into();
    let requests = [requests()[0].clone(), people];
    let mut count = [0usize; 2];
    let end = directory
        .search(&requests, &mut |i, _| {
            count[i] += 1;
            if i == 1 && count[1] == 1_000 {
                server.kill();
            }
        })
        .await
        .unwrap();
    match end {
        ReadEnd::Incomplete { reason } => {
            eprintln!("killed after {count:?}: {reason}");
            assert!(reason.contains("search 2 of 2"), "{reason}");
        }
        ReadEnd::Complete => panic!("a killed server must not look like a complete read"),
    }
    assert_eq!(count[0], TEAMS + 1);
    assert!(count[1] >= 1_000 && count[1] < 10_000, "{count:?}");
}
