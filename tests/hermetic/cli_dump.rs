//! `zoomsync dump --format ldif` is a fixture: read back with `kind = "ldif"` and the same
//! `user_filter` (and `[groups]`), it gives the same users and the same groups. Run as a
//! user would, from an LDIF source, so no directory server is needed (the dump of a slapd
//! read is in the ldap tier's cli_check.rs).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use zoomsync::config;
use zoomsync::model::DirectoryUser;
use zoomsync::source::groups::{normalize_dn, read_groups};
use zoomsync::source::{self, AnyDirectory, Decoder};

fn zoomsync(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zoomsync")).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const PEOPLE: &str = "ou=people,dc=example,dc=com";
const GROUPS: &str = "ou=groups,dc=example,dc=com";

fn person(i: usize, extra: &str) -> String {
    format!(
        "dn: uid=user{i:03},{PEOPLE}\nobjectClass: top\nobjectClass: inetOrgPerson\n\
         entryUUID: {i:08x}-0000-4000-8000-{i:012x}\nuid: user{i:03}\ncn: Given{i} Family{i}\n\
         givenName: Given{i}\nsn: Family{i}\nmail: user{i:03}@example.com\ntitle: Engineer {i}\n\
         telephoneNumber: +1 555 {i:04}\n{extra}\n"
    )
}

fn group(name: &str, uuid: usize, members: &[String]) -> String {
    let mut out = format!(
        "dn: cn={name},{GROUPS}\nobjectClass: groupOfNames\ncn: {name}\n\
         entryUUID: 99999999-0000-4000-8000-{uuid:012x}\ndescription: {name} team\n"
    );
    for m in members {
        out.push_str(&format!("member: {m}\n"));
    }
    out.push('\n');
    out
}

fn user_dn(i: usize) -> String {
    format!("uid=user{i:03},{PEOPLE}")
}

/// Twelve people (one locked, one a service account the filter leaves out, one not an
/// inetOrgPerson at all), and groups nested two levels with a group that is not pushed.
fn source_ldif() -> String {
    let mut out = String::from("version: 1\n\n");
    for i in 0..12 {
        let extra = match i {
            4 => "pwdAccountLockedTime: 20260101000000Z\n",
            7 => "description: service account\n",
            _ => "",
        };
        out.push_str(&person(i, extra));
    }
    out.push_str(&format!(
        "dn: cn=printer,{PEOPLE}\nobjectClass: device\ncn: printer\nmail: printer@example.com\n\
         entryUUID: 77777777-0000-4000-8000-000000000001\n\n"
    ));
    let team: Vec<String> = (0..5).map(user_dn).chain([format!("cn=Team B,{GROUPS}")]).collect();
    out.push_str(&group("Zoom Phone Users", 1, &team));
    out.push_str(&group("Team B", 2, &(5..9).map(user_dn).collect::<Vec<_>>()));
    out.push_str(&group("Unpushed", 3, &(0..12).map(user_dn).collect::<Vec<_>>()));
    out
}

const CONFIG: &str = r#"[directory]
kind = "ldif"
flavor = "openldap"
path = "PATH"
user_filter = "(&(objectClass=inetOrgPerson)(!(description=service account)))"

[mapping]
phone = "telephoneNumber"

[groups]
names = ["Zoom Phone Users"]
class_filter = "(&(objectClass=groupOfNames)(description=*))"
"#;

fn write_config(dir: &Path, name: &str, ldif: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, CONFIG.replace("PATH", ldif)).unwrap();
    path.to_str().unwrap().to_string()
}

/// What zoomsync reads from a config's directory: the users, and each group found with its
/// members' userNames.
fn read_back(config_path: &str) -> (Vec<DirectoryUser>, BTreeMap<String, BTreeSet<String>>) {
    let config = config::load(Path::new(config_path)).unwrap();
    let directory = AnyDirectory::from_config(&config.directory);
    let decoder = Decoder::new(config.directory.decode.clone());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let read = source::read_users(&directory, &decoder).await.unwrap();
        let users = read.snapshot().users.clone();
        let by_dn = users.iter().map(|u| (normalize_dn(&u.dn), u.anchor.clone())).collect();
        let names: BTreeMap<_, _> = users.iter().map(|u| (u.anchor.clone(), u.user_name.clone())).collect();
        let groups_config = config.groups.as_ref().unwrap();
        let groups = read_groups(&directory, groups_config, &decoder, None, &by_dn).await.unwrap();
        assert!(groups.incomplete.is_none(), "{groups:?}");
        let groups = groups
            .groups
            .iter()
            .map(|g| (g.name.clone(), g.members.iter().map(|a| names[a].clone()).collect()))
            .collect();
        (users, groups)
    })
}

#[test]
fn dump_ldif_reads_back_with_the_same_filter_to_the_same_users_and_groups() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("source.ldif"), source_ldif()).unwrap();
    let source = write_config(dir.path(), "source.toml", "source.ldif");
    let (users, groups) = read_back(&source);
    assert_eq!(users.len(), 11, "twelve people, less the service account");
    assert_eq!(users.iter().filter(|u| u.disabled).count(), 1);
    assert_eq!(groups["Zoom Phone Users"].len(), 8, "{groups:?}");

    let (code, ldif, err) = zoomsync(&["dump", "--config", &source, "--format", "ldif"]);
    assert_eq!(code, 0, "{err}");
    std::fs::write(dir.path().join("dump.ldif"), &ldif).unwrap();
    let dumped = write_config(dir.path(), "dump.toml", "dump.ldif");
    let (users_back, groups_back) = read_back(&dumped);
    assert_eq!(users_back.len(), users.len(), "the dump read back with the same user_filter:\n{ldif}");
    assert_eq!(users_back, users);
    assert_eq!(groups_back, groups, "the groups read back:\n{ldif}");
    assert!(!ldif.contains("cn=printer"), "only users in scope are dumped");

    // The same through the binary: `dump --format json` of both agrees on every user.
    let (_, from_source, _) = zoomsync(&["dump", "--config", &source, "--format", "json"]);
    let (code, from_dump, err) = zoomsync(&["dump", "--config", &dumped, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let json = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap()["users"].clone();
    assert_eq!(json(&from_dump), json(&from_source));
    assert!(!err.contains("WARN"), "{err}");
}

#[test]
fn an_ldif_source_that_matches_nothing_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    // What older dumps wrote: no objectClass, so `(objectClass=inetOrgPerson)` matches nothing.
    let old = "version: 1\n\ndn: uid=a,ou=people,dc=example,dc=com\nentryUUID: 1\nmail: a@example.com\n\n\
               dn: uid=b,ou=people,dc=example,dc=com\nentryUUID: 2\nmail: b@example.com\n";
    std::fs::write(dir.path().join("old.ldif"), old).unwrap();
    let path = dir.path().join("old.toml");
    std::fs::write(&path, "[directory]\nkind = \"ldif\"\nflavor = \"openldap\"\npath = \"old.ldif\"\n").unwrap();
    let (code, out, err) = zoomsync(&["dump", "--config", path.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"users\": []"), "{out}");
    assert!(err.contains("none of the 2 entries") && err.contains("it tests objectClass"), "{err}");

    // An empty file is said too.
    std::fs::write(dir.path().join("old.ldif"), "version: 1\n").unwrap();
    let (_, _, err) = zoomsync(&["dump", "--config", path.to_str().unwrap(), "--format", "json"]);
    assert!(err.contains("no entries"), "{err}");
}
