use super::*;

fn parse_all(text: &str) -> Result<Vec<RawEntry>, SourceError> {
    let mut out = Vec::new();
    parse(text.as_bytes(), "test.ldif", &mut |e| out.push(e))?;
    Ok(out)
}

#[test]
fn content_records_with_folding_base64_and_comments() {
    let text = "version: 1\n\
# a comment\n\
dn: uid=alice,ou=people,dc=example,dc=com\n\
objectClass: inetOrgPerson\n\
cn: Alice Sm\n ith\n\
description:: w6lsw6hu\n\
mail;lang-en: alice@example.com\n\
\n\
\n\
# second\n\
dn:: dWlkPWJvYixvdT1wZW9wbGUsZGM9ZXhhbXBsZSxkYz1jb20=\n\
cn: Bob\n";
    let entries = parse_all(text).unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].first_text("cn"), Some("Alice Smith"));
    assert_eq!(entries[0].first_text("description"), Some("élèn"));
    assert_eq!(entries[0].first_text("mail;lang-en"), Some("alice@example.com"));
    assert_eq!(entries[1].dn, "uid=bob,ou=people,dc=example,dc=com");
}

#[test]
fn errors_name_the_line() {
    let cases = [
        ("dn: a\nchangetype: add\n", 2, "change records"),
        ("cn: no dn\n", 1, "must start with dn"),
        ("dn: a\nphoto:< file:///x\n", 2, "URL values"),
        ("dn: a\nbad line\n", 2, "has no ':'"),
        ("dn: a\nx:: !!!\n", 2, "invalid base64"),
        (" continued\n", 1, "continuation"),
    ];
    for (text, line, detail) in cases {
        match parse_all(text) {
            Err(SourceError::LdifSyntax { line: l, detail: d, .. }) => {
                assert_eq!(l, line, "{text:?}");
                assert!(d.contains(detail), "{text:?}: {d}");
            }
            other => panic!("{text:?}: {other:?}"),
        }
    }
}

#[test]
fn written_users_read_back_equal() {
    use crate::config::{DisabledRule, Flavor};
    use crate::source::{Decoder, Snapshot};
    let rules = DecodeRules {
        flavor: Flavor::ActiveDirectory,
        anchor_attribute: "objectGUID".into(),
        anchor_fallback: None,
        anchor_format: AnchorFormat::Guid,
        user_name_attribute: "userPrincipalName".into(),
        disabled: DisabledRule::AccountControl,
        keep_attributes: vec!["displayName".into()],
    };
    let decoder = Decoder::new(rules.clone());
    let mut e = RawEntry::new("CN=Zoë Ünal,OU=Sync,DC=example,DC=test");
    e.push(
        "objectGUID",
        vec![0xc9, 0x8b, 0x91, 0x35, 0x6d, 0x19, 0xea, 0x40, 0x97, 0x79, 0x88, 0x9d, 0x79, 0xb7, 0x53, 0xf0],
    );
    e.push("userPrincipalName", b"zoe@example.test".to_vec());
    e.push("userAccountControl", b"514".to_vec());
    e.push("displayName", " Zoë: ünal ".as_bytes().to_vec());
    let user = decoder.decode(&e).unwrap();
    let mut buf = Vec::new();
    write_users(&mut buf, &rules, std::slice::from_ref(&user)).unwrap();
    let mut b = Snapshot::builder(&decoder);
    parse(buf.as_slice(), "dump", &mut |e| b.push(&e)).unwrap();
    let back = b.finish();
    assert_eq!(back.users, vec![user]);
}

#[test]
fn a_source_that_yields_no_user_is_named() {
    let filter = Filter::parse("(&(objectClass=inetOrgPerson)(mail=*))").unwrap();
    assert_eq!(nothing_matched("p.ldif", &filter, 5, 1), None);
    let none = nothing_matched("p.ldif", &filter, 2, 0).unwrap();
    assert!(none.starts_with("none of the 2 entries in LDIF file p.ldif match"), "{none}");
    assert!(none.contains("it tests objectClass, mail"), "{none}");
    assert!(
        nothing_matched("p.ldif", &filter, 1, 0)
            .unwrap()
            .starts_with("the one entry in LDIF file p.ldif does not match")
    );
    assert!(nothing_matched("p.ldif", &filter, 0, 0).unwrap().contains("holds no entries"));
}

#[test]
fn a_user_entry_carries_the_kept_attributes_and_the_anchor() {
    use crate::config::{DisabledRule, Flavor};
    let rules = DecodeRules {
        flavor: Flavor::OpenLdap,
        anchor_attribute: "entryUUID".into(),
        anchor_fallback: None,
        anchor_format: AnchorFormat::Text,
        user_name_attribute: "mail".into(),
        disabled: DisabledRule::Never,
        keep_attributes: vec!["objectClass".into()],
    };
    let decoder = crate::source::Decoder::new(rules.clone());
    let mut e = RawEntry::new("uid=a,dc=x");
    for (k, v) in [("objectClass", "top"), ("objectClass", "inetOrgPerson"), ("entryUUID", "u-1"), ("mail", "a@x.org")]
    {
        e.push(k, v.as_bytes().to_vec());
    }
    let entry = user_entry(&rules, &decoder.decode(&e).unwrap());
    assert!(Filter::parse("(&(objectClass=inetOrgPerson)(mail=*))").unwrap().matches(&entry));
    assert_eq!(entry.first_text("entryUUID"), Some("u-1"));
    let mut buf = Vec::new();
    write_entry(&mut buf, &entry).unwrap();
    let text = String::from_utf8(buf).unwrap();
    assert!(
        text.starts_with("\ndn: uid=a,dc=x\n") && text.contains("objectclass: top\nobjectclass: inetOrgPerson\n"),
        "{text}"
    );
}
