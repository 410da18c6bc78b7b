use super::*;
use crate::config::{DecodeRules, Flavor};

fn openldap_rules() -> DecodeRules {
    DecodeRules {
        flavor: Flavor::OpenLdap,
        anchor_attribute: "entryUUID".into(),
        anchor_fallback: None,
        anchor_format: AnchorFormat::Text,
        user_name_attribute: "mail".into(),
        disabled: DisabledRule::Equals { attribute: "employeeType".into(), value: "former".into() },
        keep_attributes: vec!["givenName".into(), "sn".into(), "title".into()],
    }
}

fn ad_rules() -> DecodeRules {
    DecodeRules {
        flavor: Flavor::ActiveDirectory,
        anchor_attribute: "objectGUID".into(),
        anchor_fallback: None,
        anchor_format: AnchorFormat::Guid,
        user_name_attribute: "userPrincipalName".into(),
        disabled: DisabledRule::AccountControl,
        keep_attributes: vec!["givenName".into()],
    }
}

fn entry(dn: &str, attrs: &[(&str, &[u8])]) -> RawEntry {
    let mut e = RawEntry::new(dn);
    for (k, v) in attrs {
        e.push(k, v.to_vec());
    }
    e
}

#[test]
fn guid_known_vectors() {
    // .NET's Guid(byte[]) and AD tools print the first three groups little-endian.
    let seq: [u8; 16] = std::array::from_fn(|i| i as u8);
    assert_eq!(guid_to_text(&seq), "03020100-0504-0706-0809-0a0b0c0d0e0f");
    // The Guid.ToByteArray example in Microsoft's .NET documentation.
    let wire = [0xc9, 0x8b, 0x91, 0x35, 0x6d, 0x19, 0xea, 0x40, 0x97, 0x79, 0x88, 0x9d, 0x79, 0xb7, 0x53, 0xf0];
    assert_eq!(guid_to_text(&wire), "35918bc9-196d-40ea-9779-889d79b753f0");
    // base64 9OTvZoorE0yf/P/V/1smBQ== from a Samba DC (f4 e4 ef 66 8a 2b 13 4c 9f fc ff d5 ff 5b 26 05)
    let samba = [0xf4, 0xe4, 0xef, 0x66, 0x8a, 0x2b, 0x13, 0x4c, 0x9f, 0xfc, 0xff, 0xd5, 0xff, 0x5b, 0x26, 0x05];
    assert_eq!(guid_to_text(&samba), "66efe4f4-2b8a-4c13-9ffc-ffd5ff5b2605");
    for bytes in [seq, wire, samba] {
        assert_eq!(guid_from_text(&guid_to_text(&bytes)), Some(bytes));
    }
    assert_eq!(guid_from_text("not-a-guid"), None);
}

#[test]
fn email_table() {
    let cases = [
        ("alice@example.com", true),
        ("a.b+tag@sub.example.co.uk", true),
        ("", false),
        ("alice", false),
        ("alice@localhost", false),
        ("@example.com", false),
        ("alice@@example.com", false),
        ("al ice@example.com", false),
        ("alice@example..com", false),
        ("alice@.example.com", false),
        (".alice@example.com", false),
    ];
    for (value, ok) in cases {
        assert_eq!(is_valid_email(value), ok, "{value:?}");
    }
}

#[test]
fn decode_table() {
    let d = Decoder::new(openldap_rules());
    let uuid: &[u8] = b"4C2D8246-7b01-1041-92b7-bfb3b0785055";
    struct Case {
        name: &'static str,
        attrs: Vec<(&'static str, &'static [u8])>,
        expect: Result<(bool, &'static str), &'static str>,
    }
    let cases = [
        Case {
            name: "plain user",
            attrs: vec![("entryUUID", uuid), ("mail", b"Alice@Example.com"), ("givenName", b"Alice")],
            expect: Ok((false, "alice@example.com")),
        },
        Case {
            name: "disabled by value, case-insensitive",
            attrs: vec![("entryUUID", uuid), ("mail", b"a@example.com"), ("employeeType", b"Former")],
            expect: Ok((true, "a@example.com")),
        },
        Case { name: "no anchor", attrs: vec![("mail", b"a@example.com")], expect: Err("no entryUUID") },
        Case {
            name: "two anchors",
            attrs: vec![("entryUUID", uuid), ("entryUUID", b"x"), ("mail", b"a@example.com")],
            expect: Err("has 2 values"),
        },
        Case { name: "no mail", attrs: vec![("entryUUID", uuid)], expect: Err("no value for mail") },
        Case {
            name: "bad mail",
            attrs: vec![("entryUUID", uuid), ("mail", b"not an address")],
            expect: Err("is not a valid e-mail"),
        },
        Case {
            name: "empty mail",
            attrs: vec![("entryUUID", uuid), ("mail", b"   ")],
            expect: Err("no value for mail"),
        },
    ];
    for c in cases {
        let e = entry("uid=x,ou=people,dc=example,dc=com", &c.attrs);
        match (d.decode(&e), c.expect) {
            (Ok(u), Ok((disabled, user_name))) => {
                assert_eq!(u.disabled, disabled, "{}", c.name);
                assert_eq!(u.user_name, user_name, "{}", c.name);
                assert_eq!(u.anchor.as_str(), "4c2d8246-7b01-1041-92b7-bfb3b0785055", "{}", c.name);
            }
            (Err(r), Err(reason)) => {
                assert!(r.reason.contains(reason), "{}: {}", c.name, r.reason);
                assert_eq!(r.dn, "uid=x,ou=people,dc=example,dc=com");
            }
            (got, want) => panic!("{}: got {got:?}, want {want:?}", c.name),
        }
    }
}

#[test]
fn rejected_after_anchor_keeps_the_anchor() {
    let d = Decoder::new(openldap_rules());
    let r = d.decode(&entry("uid=x", &[("entryUUID", b"abc")])).unwrap_err();
    assert_eq!(r.anchor.as_ref().map(Anchor::as_str), Some("abc"));
}

#[test]
fn only_requested_attributes_are_kept() {
    let d = Decoder::new(openldap_rules());
    let u = d
        .decode(&entry(
            "uid=x",
            &[("entryUUID", b"abc"), ("mail", b"x@example.com"), ("userPassword", b"secret"), ("sn", b"X")],
        ))
        .unwrap();
    assert!(u.attrs.contains("sn"));
    assert!(!u.attrs.contains("userpassword"));
    assert!(!u.attrs.contains("entryuuid"));
}

#[test]
fn active_directory_guid_and_account_control() {
    let d = Decoder::new(ad_rules());
    let guid: &[u8] = &[0xf4, 0xe4, 0xef, 0x66, 0x8a, 0x2b, 0x13, 0x4c, 0x9f, 0xfc, 0xff, 0xd5, 0xff, 0x5b, 0x26, 0x05];
    let cases: [(&[u8], Result<bool, &str>); 5] = [
        (b"512", Ok(false)),
        (b"514", Ok(true)),
        (b"546", Ok(true)),
        (b"-2147483646", Ok(true)),
        (b"lots", Err("not a number")),
    ];
    for (uac, want) in cases {
        let e = entry(
            "CN=a,DC=ex",
            &[("objectGUID", guid), ("userPrincipalName", b"a@ex.test"), ("userAccountControl", uac)],
        );
        match (d.decode(&e), want) {
            (Ok(u), Ok(disabled)) => {
                assert_eq!(u.disabled, disabled, "{uac:?}");
                assert_eq!(u.anchor.as_str(), "66efe4f4-2b8a-4c13-9ffc-ffd5ff5b2605");
            }
            (Err(r), Err(reason)) => assert!(r.reason.contains(reason)),
            (got, want) => panic!("{uac:?}: {got:?} vs {want:?}"),
        }
    }
    let short = entry("CN=b", &[("objectGUID", b"short"), ("userPrincipalName", b"b@ex.test")]);
    assert!(d.decode(&short).unwrap_err().reason.contains("5 bytes"));
    let text =
        entry("CN=c", &[("objectGUID", b"66EFE4F4-2b8a-4c13-9ffc-ffd5ff5b2605"), ("userPrincipalName", b"c@ex.test")]);
    assert_eq!(d.decode(&text).unwrap().anchor.as_str(), "66efe4f4-2b8a-4c13-9ffc-ffd5ff5b2605");
}

/// The 389ds flavour's rules: entryUUID, else nsUniqueId; locked by nsAccountLock or role.
fn ds389_rules() -> DecodeRules {
    DecodeRules {
        flavor: Flavor::Ds389,
        anchor_attribute: "entryUUID".into(),
        anchor_fallback: Some("nsUniqueId".into()),
        anchor_format: AnchorFormat::Text,
        user_name_attribute: "mail".into(),
        disabled: DisabledRule::AccountLock,
        keep_attributes: vec!["givenName".into()],
    }
}

#[test]
fn ds389_anchor_falls_back_to_nsuniqueid_and_locks_are_read_by_value() {
    let d = Decoder::new(ds389_rules());
    let uuid: &[u8] = b"8b78b7a3-ee4e-11f1-b306-9d60c7dae29b";
    let unique: &[u8] = b"8b78b7a3-ee4e11f1-b3069d60-c7dae29b";
    let mail: &[u8] = b"a@example.com";
    let both = entry("uid=a", &[("entryUUID", uuid), ("nsUniqueId", unique), ("mail", mail)]);
    assert_eq!(d.decode(&both).unwrap().anchor.as_str(), "8b78b7a3-ee4e-11f1-b306-9d60c7dae29b");
    assert!(!d.uses_fallback(&both));
    let fallback = entry("uid=a", &[("nsuniqueid", unique), ("mail", mail)]);
    assert_eq!(d.decode(&fallback).unwrap().anchor.as_str(), "8b78b7a3-ee4e11f1-b3069d60-c7dae29b");
    assert!(d.uses_fallback(&fallback));
    let err = d.decode(&entry("uid=a", &[("mail", mail)])).unwrap_err();
    assert_eq!(err.reason, "no entryUUID or nsUniqueId (the anchor that identifies the user)");
    assert!(!d.uses_fallback(&entry("uid=a", &[("mail", mail)])), "no anchor at all is not the fallback");
    // Neither anchor attribute is kept among the mapping attributes.
    let kept: Vec<String> = d.decode(&both).unwrap().attrs.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(kept, ["mail"]);

    let locked = |attrs: &[(&str, &[u8])]| {
        let mut all: Vec<(&str, &[u8])> = vec![("entryUUID", uuid), ("mail", mail)];
        all.extend_from_slice(attrs);
        d.decode(&entry("uid=a", &all)).unwrap().disabled
    };
    assert!(!locked(&[]));
    assert!(locked(&[("nsAccountLock", b"true")]));
    assert!(locked(&[("nsaccountlock", b" TRUE ")]));
    assert!(!locked(&[("nsAccountLock", b"false")]), "389-ds unlocks by writing false");
    assert!(!locked(&[("nsAccountLock", b"FALSE")]));
    assert!(locked(&[("nsRole", b"cn=nsdisabledrole,dc=example,dc=com")]), "a role lock");
    assert!(locked(&[("nsRole", b"cn=contractors,dc=example,dc=com"), ("nsRole", b"CN = nsDisabledRole, o=x")]));
    assert!(!locked(&[("nsRole", b"cn=nsmanageddisabledrole,dc=example,dc=com")]), "only the nested role locks");
    assert!(!locked(&[("nsRole", b"cn=contractors,dc=example,dc=com")]));
    // Requested by name: both are operational.
    let requested = ds389_rules().requested_attributes();
    assert_eq!(requested[..4], ["entryUUID", "nsUniqueId", "mail", "nsAccountLock"]);
    assert!(requested.iter().any(|a| a == "nsRole"));
}

/// Notes change nothing about the user: the first mail is the userName, a value that is not
/// UTF-8 is left out; they only say so.
#[test]
fn notes_table() {
    let d = Decoder::new(openldap_rules());
    let uuid: &[u8] = b"4c2d8246-7b01-1041-92b7-bfb3b0785055";
    let latin1: &[u8] = b"M\xfcller";
    struct Case {
        name: &'static str,
        attrs: Vec<(&'static str, &'static [u8])>,
        several: Option<usize>,
        non_utf8: Vec<&'static str>,
        user_name: Option<&'static str>,
        sn: Option<&'static str>,
    }
    let cases = [
        Case {
            name: "plain",
            attrs: vec![("entryUUID", uuid), ("mail", b"a@example.com"), ("sn", b"Smith")],
            several: None,
            non_utf8: vec![],
            user_name: Some("a@example.com"),
            sn: Some("Smith"),
        },
        Case {
            name: "two mails, the first is used",
            attrs: vec![("entryUUID", uuid), ("mail", b"First@example.com"), ("mail", b"second@example.com")],
            several: Some(2),
            non_utf8: vec![],
            user_name: Some("first@example.com"),
            sn: None,
        },
        Case {
            name: "a surname in Latin-1 is ignored",
            attrs: vec![("entryUUID", uuid), ("mail", b"a@example.com"), ("sn", latin1), ("sn", latin1)],
            several: None,
            non_utf8: vec!["sn"],
            user_name: Some("a@example.com"),
            sn: None,
        },
        Case {
            name: "a good value beside a bad one is kept",
            attrs: vec![("entryUUID", uuid), ("mail", b"a@example.com"), ("sn", latin1), ("sn", b"Mueller")],
            several: None,
            non_utf8: vec!["sn"],
            user_name: Some("a@example.com"),
            sn: Some("Mueller"),
        },
        Case {
            name: "both, on a rejected entry (no anchor) too",
            attrs: vec![("mail", b"a@example.com"), ("mail", b"b@example.com")],
            several: Some(2),
            non_utf8: vec![],
            user_name: None,
            sn: None,
        },
        Case {
            name: "attributes not kept are not looked at",
            attrs: vec![("entryUUID", uuid), ("mail", b"a@example.com"), ("description", latin1)],
            several: None,
            non_utf8: vec![],
            user_name: Some("a@example.com"),
            sn: None,
        },
    ];
    for c in cases {
        let e = entry("uid=x,dc=example,dc=com", &c.attrs);
        let (decoded, notes) = d.decode_noted(&e);
        assert_eq!(notes.several_user_names, c.several, "{}", c.name);
        assert_eq!(notes.non_utf8, c.non_utf8, "{}", c.name);
        assert_eq!(notes.is_empty(), c.several.is_none() && c.non_utf8.is_empty(), "{}", c.name);
        assert_eq!(decoded.clone().ok(), d.decode(&e).ok(), "{}: same user either way", c.name);
        let user = decoded.ok();
        assert_eq!(user.as_ref().map(|u| u.user_name.as_str()), c.user_name, "{}", c.name);
        assert_eq!(user.as_ref().and_then(|u| u.attrs.first("sn")), c.sn, "{}", c.name);
    }
}
