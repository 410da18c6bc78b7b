//! `zoomsync check` and `zoomsync dump`, run as a user would, against a private slapd (a bad
//! config, which needs no directory: the hermetic tier's cli_check.rs).

use std::process::Command;

use crate::support::data::{self, SERVICE_DN, SERVICE_PASSWORD};
use crate::support::servers::slapd::Slapd;

fn zoomsync(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zoomsync")).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write_config(server: &Slapd) -> String {
    write_config_with(server, "")
}

/// The test config with `extra` lines appended to `[directory]`.
fn write_config_with(server: &Slapd, extra: &str) -> String {
    let dir = server.dir();
    std::fs::write(dir.join("ldap-password"), SERVICE_PASSWORD).unwrap();
    let path = dir.join("zoomsync.toml");
    std::fs::write(
        &path,
        format!(
            "[directory]\nurl = \"{}\"\nca_file = {:?}\nbind_dn = \"{SERVICE_DN}\"\nbind_password_file = \"ldap-password\"\n\
             base_dn = \"ou=people,dc=example,dc=com\"\ndisabled_attribute = \"employeeType\"\ndisabled_value = \"former\"\n{extra}\n",
            server.ldaps_url(),
            server.ca_file()
        ),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn check_prints_count_and_rejected_entries_and_writes_nothing() {
    let mut ldif = String::new();
    data::base_entries(&mut ldif);
    for i in 0..50 {
        data::person(&mut ldif, i, &format!("user{i:06}@example.com"));
    }
    data::person(&mut ldif, 50, "broken address");
    let server = Slapd::start(&ldif);
    let config = write_config(&server);
    let before: Vec<_> = std::fs::read_dir(server.dir()).unwrap().map(|e| e.unwrap().file_name()).collect();
    let (code, out, err) = zoomsync(&["check", "--config", &config]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("users in scope: 50 (2 disabled)"), "{out}");
    assert!(out.contains("rejected entries: 1"), "{out}");
    // The root DSE: slapd names no vendor; its root DSE's objectClass says OpenLDAP, which
    // the default flavour is made for.
    assert!(out.contains("server: OpenLDAP (no vendorName; known by its root DSE)"), "{out}");
    assert!(!out.contains("needs attention"), "{out}");
    assert!(
        out.contains("uid=user000050,ou=people,dc=example,dc=com: mail \"broken address\" is not a valid e-mail"),
        "{out}"
    );
    assert!(!out.contains(SERVICE_PASSWORD) && !err.contains(SERVICE_PASSWORD));
    let after: Vec<_> = std::fs::read_dir(server.dir()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(before, after, "check must write nothing");
}

#[test]
fn dump_ldif_reads_back_to_the_same_users() {
    let server = Slapd::start(&data::people_ldif(200));
    let config = write_config(&server);
    let (code, ldif, err) = zoomsync(&["dump", "--config", &config, "--format", "ldif"]);
    assert_eq!(code, 0, "{err}");
    let (code, json, err) = zoomsync(&["dump", "--config", &config, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let from_ldap: serde_json::Value = serde_json::from_str(&json).unwrap();

    let dir = server.dir();
    std::fs::write(dir.join("dump.ldif"), ldif).unwrap();
    let ldif_config = dir.join("ldif.toml");
    std::fs::write(
        &ldif_config,
        "[directory]\nkind = \"ldif\"\npath = \"dump.ldif\"\nuser_filter = \"(mail=*)\"\n\
         disabled_attribute = \"employeeType\"\ndisabled_value = \"former\"\n",
    )
    .unwrap();
    let (code, json2, err) = zoomsync(&["dump", "--config", ldif_config.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let from_file: serde_json::Value = serde_json::from_str(&json2).unwrap();
    assert_eq!(from_ldap["users"].as_array().unwrap().len(), 200);
    assert_eq!(from_ldap, from_file);
}

/// A size limit the server enforces is named, with what to change. slapd counts
/// `size.prtotal` over the whole paged search (smaller pages do not help) and refuses a page
/// larger than `size.pr` outright (rc=11) — the two limits an admin meets.
#[test]
fn check_names_the_size_limit_that_stopped_the_read_and_what_to_change() {
    // The whole search: 100 entries in pages of 40, then rc=4 (sizeLimitExceeded, no text).
    let server = Slapd::start_with_limits(&data::people_ldif(300), "size.prtotal=100");
    let (code, out, err) = zoomsync(&["check", "--config", &write_config_with(&server, "page_size = 40")]);
    assert_eq!(code, 3, "an incomplete read: {out}\n{err}");
    let line = out.lines().find(|l| l.contains("INCOMPLETE")).unwrap_or_else(|| panic!("{out}"));
    assert!(!line.contains(" ;") && !line.contains(" )"), "no stray blank after the result code: {line:?}");
    for part in ["size limit", "after 100 entries", "whole search", "page_size", "bind account"] {
        assert!(line.contains(part), "{part:?} in {line:?}");
    }

    // Per page: a page_size above size.pr is refused before any entry; the message says
    // lower page_size, and a page_size within the limit then reads everything.
    let server = Slapd::start_with_limits(&data::people_ldif(300), "size.pr=100 size.prtotal=unlimited");
    let (code, out, err) = zoomsync(&["check", "--config", &write_config_with(&server, "page_size = 500")]);
    assert_eq!(code, 3, "{out}\n{err}");
    let line = out.lines().find(|l| l.contains("INCOMPLETE")).unwrap_or_else(|| panic!("{out}"));
    for part in ["page size 500", "rc=11", "directory.page_size", "limit"] {
        assert!(line.contains(part), "{part:?} in {line:?}");
    }
    let (code, out, err) = zoomsync(&["check", "--config", &write_config_with(&server, "page_size = 100")]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("users in scope: 300 (12 disabled)"), "{out}");
}
