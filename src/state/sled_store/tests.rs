use super::*;
use crate::model::{Anchor, KnownUser, Lifecycle, Origin};

fn user(i: usize) -> KnownUser {
    KnownUser {
        anchor: Anchor::new(&format!("a{i}")).unwrap(),
        zoom_id: format!("z{i}"),
        dn: format!("uid=u{i}"),
        user_name: format!("u{i}@example.com"),
        fingerprint: 0,
        lifecycle: Lifecycle::Active,
        origin: Origin::Created,
        privileged: false,
        rename_refused: None,
        not_kept: Default::default(),
    }
}

/// Opens, runs `work` as one committed (or not) cycle, and closes.
fn cycle(dir: &Path, commit: bool, work: impl FnOnce(&SledStore)) {
    let store = SledStore::open(dir).unwrap();
    store.begin_cycle().unwrap();
    work(&store);
    store.flush().unwrap();
    if commit {
        store.commit_cycle().unwrap();
    }
}

fn refused(dir: &Path) -> String {
    match SledStore::open(dir) {
        Err(StateError::Integrity { detail, recovery, .. }) => format!("{detail} / {recovery}"),
        Err(other) => panic!("not an integrity refusal: {other}"),
        Ok(_) => panic!("opened"),
    }
}

#[test]
fn a_crash_mid_cycle_is_not_taken_for_lost_records_but_a_silent_loss_is() {
    let dir = tempfile::tempdir().unwrap();
    cycle(dir.path(), true, |s| (0..3).for_each(|i| s.put_user(&user(i), None).unwrap()));
    let record = SledStore::open(dir.path()).unwrap().integrity_record().unwrap();
    assert_eq!((record.generation, record.users, record.held), (1, 3, 0));
    assert!(record.last_snapshot.is_some(), "the first commit writes a snapshot");

    // A cycle that removes a user and dies before its commit: the store is a cycle
    // ahead of its record, which is accepted.
    cycle(dir.path(), false, |s| s.remove_user(&user(0).anchor).unwrap());
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(store.users().unwrap().len(), 2);
    store.commit_cycle().unwrap();
    drop(store);

    // A record lost with no cycle begun: opening does not count the users, the first full
    // read of them (every cycle's) and `verify_users` (the daemon's start) refuse.
    SledStore::open(dir.path()).unwrap().remove_user(&user(1).anchor).unwrap();
    for check in [SledStore::verify_users, |s: &SledStore| s.users().map(drop)] {
        let store = SledStore::open(dir.path()).unwrap();
        let why = match check(&store) {
            Err(StateError::Integrity { detail, recovery, .. }) => format!("{detail} / {recovery}"),
            other => panic!("not an integrity refusal: {other:?}"),
        };
        assert!(why.contains("records were lost") && why.contains("state restore --latest"), "{why}");
    }
}

#[test]
fn the_user_count_follows_writes_without_a_scan() {
    let dir = tempfile::tempdir().unwrap();
    cycle(dir.path(), true, |s| {
        (0..4).for_each(|i| s.put_user(&user(i), None).unwrap());
        assert_eq!(s.users().unwrap().len(), 4, "the first full read counts");
        s.put_user(&user(1), None).unwrap();
        s.put_user(&user(9), None).unwrap();
        s.remove_user(&user(0).anchor).unwrap();
        s.remove_user(&user(0).anchor).unwrap();
    });
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(store.integrity_record().unwrap().users, 4);
    assert_eq!(store.user_count().unwrap(), 4);
    let streamed: Vec<_> = store.users_with_payloads().unwrap().map(|r| r.unwrap().0.anchor).collect();
    assert_eq!(streamed.len(), 4);
}

#[test]
fn a_replaced_store_is_refused_and_set_aside_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    cycle(dir.path(), true, |s| s.put_user(&user(0), None).unwrap());
    // Another store's files put in its place (a wrong backup): a different id.
    let other = tempfile::tempdir().unwrap();
    cycle(other.path(), true, |s| s.put_user(&user(0), None).unwrap());
    for name in ["db", "conf"] {
        std::fs::copy(other.path().join(name), dir.path().join(name)).unwrap();
    }
    assert!(refused(dir.path()).contains("different store"));
    let aside = SledStore::set_aside(dir.path()).unwrap().unwrap();
    assert!(aside.join("db").exists() && aside.join(integrity::FILE).exists());
    // Nothing left: a new store can be created, with its own record.
    let store = SledStore::create(dir.path(), SnapshotPolicy::default()).unwrap();
    assert_eq!(store.integrity_record().unwrap().users, 0);
    assert!(SledStore::create(dir.path(), SnapshotPolicy::default()).is_err(), "not over an existing store");
}

#[test]
fn set_aside_refuses_a_store_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let _open = SledStore::open(dir.path()).unwrap();
    assert!(matches!(SledStore::set_aside(dir.path()), Err(StateError::Locked { .. })));
}
