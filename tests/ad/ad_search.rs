//! `Directory::search` against a real Samba AD DC: AD ranged retrieval of a 5,000-member
//! group, in-chain membership through three levels of nesting, one connection and one bind
//! for several searches (counted on the wire), and a failed follow-up reported INCOMPLETE.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Instant;

use crate::support::ad::{IN_CHAIN, SERVICE_PASSWORD, config, group_dn, start_dc};
use crate::support::servers::relay::Relay;
use crate::support::servers::samba;
use zoomsync::model::RawEntry;
use zoomsync::source::{self, Directory, ReadEnd, SearchRequest, SearchScope};

/// `Directory::search` against the DC: a 5,000-member group read whole through ranged
/// retrieval, and in-chain membership through three levels of nesting, in one call over
/// one connection and one bind.
///
/// What Samba 4.17 does (found here, and unlike Windows AD): it does not apply MaxValRange
/// by itself. A plain `member` request returns all 5,000 values under `member`, where AD
/// would answer `member;range=0-1499`. It does honour an explicit range (its ranged_results
/// module): `member;range=0-999` comes back as `member;range=0-999` with 1,000 values, and
/// `member;range=1000-*` as `member;range=1000-*` with the remaining 4,000 (no cap on a
/// chunk either). So the test asks for the first chunk explicitly and counts, on the wire,
/// the follow-up the reader sends for the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_reads_a_5000_member_group_through_ranges_and_nested_groups_in_chain() {
    const USERS: usize = 5_000;
    let dc = start_dc();
    let started = Instant::now();
    dc.ldapadd(&samba::light_users_ldif(USERS));
    eprintln!("ldapadd of {USERS} light users: {:.1?}", started.elapsed());
    // outer ∋ {middle, users 20..30}, middle ∋ {inner, users 10..20}, inner ∋ users 0..10.
    let dns = |r: std::ops::Range<usize>| r.map(samba::user_dn).collect::<Vec<_>>();
    let mut nested = samba::group_entry("inner", &dns(0..10));
    nested.push_str(&samba::group_entry("middle", &[&[group_dn("inner")][..], &dns(10..20)].concat()));
    nested.push_str(&samba::group_entry("outer", &[&[group_dn("middle")][..], &dns(20..30)].concat()));
    dc.ldapadd(&nested);
    // Samba's in-chain search is slow over members of a large group (~0.8 s before the big
    // group, ~10 s after it, for the same 30 results); ldapsearch's answer is taken now.
    let in_chain = |group: &str, rule: &str| SearchRequest {
        base: samba::SYNC_OU.into(),
        scope: SearchScope::Subtree,
        filter: format!("(&(objectClass=user)(memberOf{rule}={}))", group_dn(group)),
        attributes: vec!["1.1".into()],
    };
    let chain = in_chain("outer", &format!(":{IN_CHAIN}:"));
    let started = Instant::now();
    let dc_chain: BTreeSet<String> =
        dc.search(&chain.base, &chain.filter, &["1.1"]).into_keys().map(|dn| dn.to_lowercase()).collect();
    eprintln!("ldapsearch in chain before the big group: {} entries in {:.1?}", dc_chain.len(), started.elapsed());
    let all: Vec<String> = (0..USERS).map(samba::user_dn).collect();
    let started = Instant::now();
    dc.ldapadd(&samba::group_entry("big", &all));
    eprintln!("ldapadd of one group of {USERS} members: {:.1?}", started.elapsed());

    // (b) Does Samba cut `member` by itself? ldapsearch for the plain name, then a range.
    let big = group_dn("big");
    let plain = dc.search(&big, "(objectClass=*)", &["member"]);
    let plain = &plain.values().next().unwrap().attrs;
    let names: Vec<&String> = plain.keys().collect();
    eprintln!("plain member request: attributes {names:?}, {} values", plain.get("member").map_or(0, Vec::len));
    assert_eq!(names, ["member"], "Samba returns the whole attribute (no MaxValRange)");
    let truth: Vec<String> = plain["member"].iter().map(|v| String::from_utf8(v.clone()).unwrap()).collect();
    assert_eq!(truth.iter().collect::<BTreeSet<_>>().len(), USERS);
    let expected: BTreeSet<String> = all.iter().map(|dn| dn.to_lowercase()).collect();
    assert_eq!(truth.iter().map(|dn| dn.to_lowercase()).collect::<BTreeSet<_>>(), expected);
    let first = dc.search(&big, "(objectClass=*)", &["member;range=0-999"]);
    let first = &first.values().next().unwrap().attrs;
    let chunks: Vec<(&String, usize)> = first.iter().map(|(n, v)| (n, v.len())).collect();
    eprintln!("member;range=0-999 request: {chunks:?}");
    assert_eq!(chunks, [(&"member;range=0-999".to_string(), 1_000)]);
    let rest = dc.search(&big, "(objectClass=*)", &["member;range=1000-*"]);
    let rest: Vec<(&String, usize)> = rest.values().next().unwrap().attrs.iter().map(|(n, v)| (n, v.len())).collect();
    eprintln!("member;range=1000-* request: {rest:?}");
    assert_eq!(rest, [(&"member;range=1000-*".to_string(), 4_000)], "no cap on a chunk");

    let requests = [
        chain,
        in_chain("outer", ""),
        SearchRequest {
            base: big.clone(),
            scope: SearchScope::Base,
            filter: "(objectClass=group)".into(),
            attributes: vec!["cn".into(), "member;range=0-999".into()],
        },
    ];
    let relay = Relay::start(SocketAddr::from((dc.ip(), 389)));
    let cfg = config(dc.dir(), &relay.url(), samba::SYNC_OU, "insecure = true\npage_size = 1000", SERVICE_PASSWORD);
    let directory = source::AnyDirectory::from_config(&cfg.directory);
    let mut got: Vec<Vec<RawEntry>> = vec![Vec::new(); requests.len()];
    let started = Instant::now();
    let mut last = vec![started; requests.len()];
    let end = directory
        .search(&requests, &mut |i, e| {
            got[i].push(e);
            last[i] = Instant::now();
        })
        .await
        .unwrap();
    let at: Vec<_> = last.iter().map(|t| t.duration_since(started)).collect();
    eprintln!("in-chain, direct and ranged searches in one call: {:.1?}; last entries at {at:.1?}", started.elapsed());
    assert_eq!(end, ReadEnd::Complete);

    // (a) In chain: the users of all three levels; a plain memberOf only the direct ones.
    let users = |entries: &[RawEntry]| entries.iter().map(|e| e.dn.to_lowercase()).collect::<BTreeSet<_>>();
    let want = |r: std::ops::Range<usize>| r.map(|i| samba::user_dn(i).to_lowercase()).collect::<BTreeSet<_>>();
    assert_eq!(users(&got[0]), want(0..30), "in chain: inner, middle and outer users");
    assert_eq!(users(&got[1]), want(20..30), "direct members of outer only");
    assert!(got[0].iter().all(|e| e.attrs.is_empty()));
    assert_eq!(users(&got[0]), dc_chain, "as ldapsearch");
    let direct = &requests[1];
    let dc_direct: BTreeSet<String> =
        dc.search(&direct.base, &direct.filter, &["1.1"]).into_keys().map(|dn| dn.to_lowercase()).collect();
    assert_eq!(users(&got[1]), dc_direct, "as ldapsearch");

    // The ranged read: one entry, every value under the plain name, as ldapsearch has them.
    assert_eq!(got[2].len(), 1);
    let group = &got[2][0];
    let names: Vec<&str> = group.attrs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["cn", "member"], "no ;range= name is handed on");
    let members: Vec<String> = group.values("member").iter().map(|v| String::from_utf8(v.clone()).unwrap()).collect();
    assert_eq!(members, truth, "the values ldapsearch reports, in its order: none lost, none twice");
    let wire = relay.wire();
    eprintln!("on the wire: {wire:?}");
    assert_eq!((wire.connections, wire.binds), (1, 1), "one connection, one bind");
    // Two paged in-chain searches (one page each), the Base search, and its follow-up.
    assert_eq!(wire.searches, 4, "the reader asked once for member;range=1000-*: {wire:?}");

    // A follow-up that fails (the connection drops when the reader asks for the rest) makes
    // the read INCOMPLETE, naming the entry and the attribute; the entry is not handed on.
    let cutting = Relay::cutting(SocketAddr::from((dc.ip(), 389)), b"member;range=1000-*");
    let cfg = config(dc.dir(), &cutting.url(), samba::SYNC_OU, "insecure = true", SERVICE_PASSWORD);
    let mut seen = 0;
    let end =
        source::AnyDirectory::from_config(&cfg.directory).search(&requests[2..], &mut |_, _| seen += 1).await.unwrap();
    match end {
        ReadEnd::Incomplete { reason } => {
            eprintln!("follow-up cut: {reason}");
            assert!(reason.contains("ranged retrieval of member of") && reason.contains(&big), "{reason}");
        }
        ReadEnd::Complete => panic!("a failed follow-up must not look complete"),
    }
    assert_eq!(seen, 0, "no group with part of its members");
}
