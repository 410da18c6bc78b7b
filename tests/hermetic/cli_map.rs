//! `zoomsync map <user>` run as an admin would: the binary over an LDIF directory with
//! groups, no target. Each attribute shows its rule, what it read and its result; a rule
//! that fails names its reason, exits 1, and is the reason `check` gives for rejecting the
//! same user (the explanation is the cycle's mapping, not a copy of it).

use std::path::Path;
use std::process::Command;

const LDIF: &str = "version: 1

dn: uid=ann,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
entryUUID: 00000000-0000-4000-8000-000000000001
uid: ann
cn: Ann Lee
givenName: Ann
sn: Lee
mail: Ann.Lee@example.com
telephoneNumber: 020 7946 0018

dn: uid=bob,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
entryUUID: 00000000-0000-4000-8000-000000000002
uid: bob
cn: Bob Roe
givenName: Bob
sn: Roe
mail: bob@example.com
telephoneNumber: ext. 12

dn: uid=cy,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
entryUUID: 00000000-0000-4000-8000-000000000003
uid: cy
cn: Cy Poe
sn: Poe
mail: cy@example.com

dn: cn=Zoom Phone Users,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: Zoom Phone Users
member: cn=Phone Team,ou=groups,dc=example,dc=com
member: uid=bob,ou=people,dc=example,dc=com

dn: cn=Phone Team,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: Phone Team
member: uid=ann,ou=people,dc=example,dc=com
";

const MAPPING: &str = r#"
[mapping]
phone = { expression = 'e164(telephoneNumber, "GB")' }
displayName = { expression = 'coalesce(givenName, "?") ~ " " ~ sn' }
title = { expression = 'omit()' }
zoomPhoneCallingPlan = { expression = '3000 if member_of("Zoom Phone Users") else omit()' }
zoomPhoneSite = { expression = '"London" if member_of_direct("Phone Team") else none' }

[groups]
names = ["Phone Team"]
"#;

fn write(dir: &Path, mapping: &str) -> String {
    std::fs::write(dir.join("people.ldif"), LDIF).unwrap();
    let config =
        format!("[directory]\nkind = \"ldif\"\npath = \"people.ldif\"\n\n[state]\npath = \"state\"\n{mapping}");
    let path = dir.join("zoomsync.toml");
    std::fs::write(&path, config).unwrap();
    path.to_str().unwrap().to_string()
}

fn zoomsync(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zoomsync")).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The block of lines `map` prints for one attribute (its heading line to the blank line).
fn block<'a>(out: &'a str, attribute: &str) -> &'a str {
    let heading = format!("\n{attribute}  ");
    let start = out.find(&heading).unwrap_or_else(|| panic!("no {attribute} in:\n{out}")) + 1;
    let end = out[start..].find("\n\n").map_or(out.len(), |e| start + e);
    &out[start..end]
}

#[test]
fn map_shows_each_rule_what_it_read_and_the_value_sent() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), MAPPING);
    let (code, out, err) = zoomsync(&["map", "ann", "--config", &config]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.starts_with("user: uid=ann,ou=people,dc=example,dc=com (anchor 00000000-0000-4000-8000-000000000001"));
    assert!(out.contains("\ngroups: Phone Team, Zoom Phone Users (direct: Phone Team)\n"), "nesting flattened:\n{out}");
    let phone = block(&out, "phone");
    assert!(phone.starts_with("phone  phoneNumbers[type eq \"work\"].value\n"), "{phone}");
    assert!(phone.contains("rule:   expression \"e164(telephoneNumber, \\\"GB\\\")\""), "{phone}");
    assert!(phone.contains("read:   telephonenumber = \"020 7946 0018\""), "{phone}");
    assert!(phone.ends_with("result: \"+442079460018\""), "{phone}");
    let plan = block(&out, "zoomPhoneCallingPlan");
    assert!(plan.contains("read:   groups = \"Phone Team\", \"Zoom Phone Users\""), "{plan}");
    assert!(plan.ends_with("result: \"3000\""), "{plan}");
    assert!(block(&out, "zoomPhoneSite").ends_with("result: \"London\""), "direct member of Phone Team");
    assert!(block(&out, "title").ends_with("result: omitted (nothing sent; an update leaves Zoom's value alone)"));
    assert!(block(&out, "department").contains("read:   departmentNumber = (absent)"));
    assert!(block(&out, "department").ends_with("result: absent (nothing sent)"));
    assert!(block(&out, "userName").ends_with("result: \"ann.lee@example.com\""));
    assert!(out.ends_with("every rule succeeded: 8 attributes to send\n"), "{out}");

    // Cy is in no group and has no givenName: the fallbacks.
    let (code, out, _) = zoomsync(&["map", "cy@example.com", "--config", &config]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("\ngroups: none (direct: none)\n"), "{out}");
    assert!(block(&out, "zoomPhoneCallingPlan").contains("groups = (none)"));
    assert!(
        block(&out, "zoomPhoneCallingPlan")
            .ends_with("result: omitted (nothing sent; an update leaves Zoom's value alone)")
    );
    assert!(block(&out, "zoomPhoneSite").ends_with("result: absent (nothing sent)"));
    assert!(block(&out, "displayName").contains("read:   givenname = (absent); sn = \"Poe\""));
    assert!(block(&out, "displayName").ends_with("result: \"? Poe\""));
}

#[test]
fn a_failing_expression_shows_its_reason_exits_1_and_is_why_check_rejects_the_user() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), MAPPING);
    let (code, out, err) = zoomsync(&["map", "uid=bob,ou=people,dc=example,dc=com", "--config", &config]);
    assert_eq!(code, 1, "{out}\n{err}");
    let reason = "mapping.phone: e164: cannot parse 'ext. 12' as a phone number";
    let phone = block(&out, "phone");
    assert!(phone.contains("read:   telephonenumber = \"ext. 12\""), "{phone}");
    assert!(phone.ends_with(&format!("result: ERROR: {reason}")), "{phone}");
    assert!(block(&out, "zoomPhoneCallingPlan").ends_with("result: \"3000\""), "the other rules still shown");
    assert!(out.contains("1 rule(s) failed: a sync rejects uid=bob,ou=people,dc=example,dc=com"), "{out}");

    let (_, check, _) = zoomsync(&["check", "--config", &config]);
    assert!(check.contains(&format!("  uid=bob,ou=people,dc=example,dc=com: {reason}\n")), "{check}");

    let (code, out, _) = zoomsync(&["map", "bob", "--json", "--config", &config]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["user"]["dn"], "uid=bob,ou=people,dc=example,dc=com");
    assert_eq!(v["groups"]["member_of"], serde_json::json!(["Zoom Phone Users"]));
    let by = |name: &str| v["attributes"].as_array().unwrap().iter().find(|a| a["name"] == name).unwrap().clone();
    let phone = by("phone");
    assert_eq!((phone["result"].as_str(), phone["error"].as_str()), (Some("error"), Some(reason)));
    assert_eq!(phone["path"], "phoneNumbers[type eq \"work\"].value");
    assert_eq!(phone["inputs"], serde_json::json!([{"name": "telephonenumber", "values": ["ext. 12"]}]));
    assert_eq!(
        (by("zoomPhoneCallingPlan")["result"].as_str(), by("zoomPhoneCallingPlan")["value"].as_str()),
        (Some("value"), Some("3000"))
    );
    assert_eq!(by("title")["result"], "omitted");
    assert_eq!(by("zoomPhoneSite")["result"], "absent");
}

#[test]
fn map_exits_2_on_a_config_error_and_1_for_a_user_it_cannot_find() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "[mapping]\ntitle = { expression = 'lowr(title)' }\n");
    let (code, out, err) = zoomsync(&["map", "ann", "--config", &config]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("mapping.title") && err.contains("lowr"), "{err}");

    let config = write(dir.path(), MAPPING);
    let (code, out, err) = zoomsync(&["map", "nobody", "--config", &config]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("no user \"nobody\" in the directory scope"), "{err}");
    assert!(out.is_empty(), "{out}");
}
