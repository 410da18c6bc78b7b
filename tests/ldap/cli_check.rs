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
    let dir = server.dir();
    std::fs::write(dir.join("ldap-password"), SERVICE_PASSWORD).unwrap();
    let path = dir.join("zoomsync.toml");
    std::fs::write(
        &path,
        format!(
            "[directory]\nurl = \"{}\"\nca_file = {:?}\nbind_dn = \"{SERVICE_DN}\"\nbind_password_file = \"ldap-password\"\n\
             base_dn = \"ou=people,dc=example,dc=com\"\ndisabled_attribute = \"employeeType\"\ndisabled_value = \"former\"\n",
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
