//! The AD change pollers against a real Samba AD DC: uSNChanged polling (the first poll
//! gives a position only; a disabled account and a new user show up alone; a deletion's
//! tombstone is seen by Administrator, not by the service account; another invocationID or
//! DC name asks for a full cycle) and DirSync as
//! Administrator (everything first, then only what changed, deletions included).

use std::process::Command;

use crate::support::ad::{AD_FILTER, ldaps};
use crate::support::servers::samba::{self, SambaDc};
use zoomsync::config::{Bind, LdapConfig, Secret, SourceConfig};
use zoomsync::model::RawEntry;
use zoomsync::source::changes::{
    ChangeSearch, Changed, DirSyncPoller, FullCycleReason, PollOutcome, SearchKind, UsnPoller, UsnPosition,
};

/// The service account's LDAPS config for OU=Sync, and the attributes a full read asks for.
fn setup(dc: &SambaDc) -> (LdapConfig, ChangeSearch) {
    let cfg = ldaps(dc, samba::SYNC_OU, 500);
    let attributes = cfg.directory.decode.requested_attributes();
    let SourceConfig::Ldap(ldap) = cfg.directory.source else { panic!("not LDAP") };
    let search =
        ChangeSearch { kind: SearchKind::Users, base: ldap.base_dn.clone(), filter: AD_FILTER.into(), attributes };
    (ldap, search)
}

/// `samba-tool user disable`, as an admin on the DC would.
fn samba_tool_disable(dc: &SambaDc, sam_account_name: &str) {
    let out = Command::new("samba-tool")
        .args(["user", "disable", sam_account_name, "-s"])
        .arg(dc.smb_conf())
        .output()
        .unwrap();
    assert!(out.status.success(), "samba-tool user disable: {}", String::from_utf8_lossy(&out.stderr));
}

fn dns(changed: &[Changed]) -> Vec<String> {
    let mut dns: Vec<String> = changed.iter().map(|c| c.entry.dn.to_ascii_lowercase()).collect();
    dns.sort();
    dns
}

fn uac(entry: &RawEntry) -> u32 {
    entry.first_text("userAccountControl").unwrap().parse().unwrap()
}

fn changes(outcome: PollOutcome) -> (Vec<Changed>, Vec<RawEntry>, UsnPosition) {
    match outcome {
        PollOutcome::Changes { changed, deleted, position } => (changed, deleted, position),
        other => panic!("expected changes: {other:?}"),
    }
}

fn guid_of(dc: &SambaDc, dn: &str) -> Vec<u8> {
    dc.search(dn, "(objectClass=*)", &["objectGUID"]).into_values().next().unwrap().first("objectguid").unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usn_polling_sees_exactly_what_changed() {
    let dc = crate::support::ad::start_dc();
    dc.ldapadd(&samba::users_ldif(5, |_| false));
    let (ldap, search) = setup(&dc);
    let deleted_search = ChangeSearch {
        kind: SearchKind::Users,
        base: samba::BASE.into(),
        filter: "(objectClass=user)".into(),
        attributes: vec!["objectGUID".into(), "lastKnownParent".into()],
    };
    let poller = UsnPoller::new(ldap, search).with_deleted(deleted_search.clone());

    // First poll: a position and nothing else (the caller runs a full cycle).
    let first = match poller.poll(None).await.unwrap() {
        PollOutcome::FullCycleNeeded { reason: FullCycleReason::NoPosition, position } => position,
        other => panic!("{other:?}"),
    };
    assert!(!first.dns_host_name.is_empty() && first.highest_committed_usn > 0, "{first:?}");
    assert_eq!(first.invocation_id.len(), 36, "{first:?}");

    // Nothing changed: nothing returned, the position stays.
    let (changed, deleted, same) = changes(poller.poll(Some(&first)).await.unwrap());
    assert!(changed.is_empty() && deleted.is_empty(), "{changed:?} {deleted:?}");
    assert_eq!(same, first);

    // A disabled account is a change of that entry alone, read whole.
    samba_tool_disable(&dc, &samba::sam_name(1));
    let (changed, deleted, second) = changes(poller.poll(Some(&first)).await.unwrap());
    assert_eq!(dns(&changed), vec![samba::user_dn(1).to_ascii_lowercase()]);
    assert!(deleted.is_empty());
    let entry = &changed[0].entry;
    assert_eq!(changed[0].search, SearchKind::Users);
    assert_eq!(uac(entry) & 2, 2, "ACCOUNTDISABLE");
    assert_eq!(entry.first_text("userPrincipalName"), Some(samba::upn(1).as_str()), "the whole entry");
    assert!(second.highest_committed_usn > first.highest_committed_usn);

    // A new user appears alone.
    dc.ldapadd(&samba::user_entry(7, samba::UAC_ENABLED_NO_PASSWORD));
    let (changed, _, third) = changes(poller.poll(Some(&second)).await.unwrap());
    assert_eq!(dns(&changed), vec![samba::user_dn(7).to_ascii_lowercase()]);

    // A deletion is not a change of the users search. Its tombstone (Show Deleted) is
    // invisible to the service account — CN=Deleted Objects is readable by administrators
    // only, by default — and shows, with its objectGUID, to Administrator.
    let guid = guid_of(&dc, &samba::user_dn(2));
    dc.ldapmodify(&format!("dn: {}\nchangetype: delete\n", samba::user_dn(2)));
    let (changed, deleted, _) = changes(poller.poll(Some(&third)).await.unwrap());
    assert!(changed.is_empty(), "{changed:?}");
    assert!(deleted.is_empty(), "the service account sees no tombstone: {deleted:?}");
    let (mut admin, search) = setup(&dc);
    admin.bind = Some(Bind { dn: samba::ADMIN_BIND.into(), password: Secret::from_value(samba::ADMIN_PASSWORD) });
    let as_admin = UsnPoller::new(admin, search).with_deleted(deleted_search.clone());
    let (changed, deleted, _) = changes(as_admin.poll(Some(&third)).await.unwrap());
    assert!(changed.is_empty(), "{changed:?}");
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    assert_eq!(deleted[0].values("objectGUID"), &[guid]);
    assert!(deleted[0].dn.contains("Deleted Objects"), "{}", deleted[0].dn);

    // A position from another incarnation of the DC, or another DC: a full cycle.
    let restored = UsnPosition { invocation_id: "00000000-0000-0000-0000-000000000000".into(), ..third.clone() };
    match poller.poll(Some(&restored)).await.unwrap() {
        PollOutcome::FullCycleNeeded { reason: FullCycleReason::Restored { .. }, position } => {
            assert_eq!(position.invocation_id, third.invocation_id)
        }
        other => panic!("{other:?}"),
    }
    let other_dc = UsnPosition { dns_host_name: "dc2.example.test".into(), ..third.clone() };
    assert!(matches!(
        poller.poll(Some(&other_dc)).await.unwrap(),
        PollOutcome::FullCycleNeeded { reason: FullCycleReason::OtherDc { .. }, .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dirsync_as_administrator_returns_everything_then_only_changes() {
    let dc = crate::support::ad::start_dc();
    dc.ldapadd(&samba::users_ldif(5, |_| false));
    let (mut ldap, search) = setup(&dc);
    // DirSync needs replication rights: Administrator has them.
    ldap.bind = Some(Bind { dn: samba::ADMIN_BIND.into(), password: Secret::from_value(samba::ADMIN_PASSWORD) });
    let poller = DirSyncPoller::new(ldap, search);

    let first = poller.poll(None).await.unwrap();
    let expected: Vec<String> = (0..5).map(|i| samba::user_dn(i).to_ascii_lowercase()).collect();
    let mut got: Vec<String> = first.changed.iter().map(|e| e.dn.to_ascii_lowercase()).collect();
    got.sort();
    assert_eq!(got, expected, "everything under the base, nothing outside it");
    assert!(!first.cookie.is_empty());

    // Nothing changed: nothing.
    let same = poller.poll(Some(&first.cookie)).await.unwrap();
    assert!(same.changed.is_empty() && same.deleted.is_empty(), "{same:?}");

    samba_tool_disable(&dc, &samba::sam_name(3));
    let second = poller.poll(Some(&same.cookie)).await.unwrap();
    let got: Vec<String> = second.changed.iter().map(|e| e.dn.to_ascii_lowercase()).collect();
    assert_eq!(got, vec![samba::user_dn(3).to_ascii_lowercase()]);
    let entry = &second.changed[0];
    assert_eq!(uac(entry) & 2, 2);
    assert_eq!(entry.first_text("userPrincipalName"), Some(samba::upn(3).as_str()), "read again whole");
    assert!(second.deleted.is_empty());

    let guid = guid_of(&dc, &samba::user_dn(4));
    dc.ldapmodify(&format!("dn: {}\nchangetype: delete\n", samba::user_dn(4)));
    let third = poller.poll(Some(&second.cookie)).await.unwrap();
    assert!(third.changed.is_empty(), "{:?}", third.changed);
    assert!(third.deleted.iter().any(|e| e.values("objectGUID") == [guid.clone()]), "{:?}", third.deleted);
}
