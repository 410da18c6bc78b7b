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
