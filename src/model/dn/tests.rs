use proptest::prelude::*;

use super::*;

/// The collecting normaliser as it was before [`NormalizedChars`] streamed it: the
/// reference the streaming form must reproduce exactly.
fn reference(dn: &str) -> String {
    let dn = dn.trim();
    let mut out = String::with_capacity(dn.len());
    let mut escaped = false;
    let mut after_separator = false;
    for c in dn.chars() {
        if escaped {
            out.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => {
                escaped = true;
                after_separator = false;
                out.push(c);
            }
            ',' | '=' | '+' => {
                while out.ends_with(' ') && !out.ends_with("\\ ") {
                    out.pop();
                }
                out.push(c);
                after_separator = true;
            }
            ' ' if after_separator => {}
            _ => {
                after_separator = false;
                if c.is_ascii() {
                    out.push(c.to_ascii_lowercase());
                } else {
                    out.extend(c.to_lowercase());
                }
            }
        }
    }
    out
}

#[test]
fn dn_normalization_table() {
    let cases = [
        ("CN=Zoom Users, OU=Groups ,DC=Example,DC=com", "cn=zoom users,ou=groups,dc=example,dc=com"),
        ("uid=a , ou=people", "uid=a,ou=people"),
        ("cn = x+sn = y,o=z", "cn=x+sn=y,o=z"),
        (r"cn=Smith\, John,ou=P", r"cn=smith\, john,ou=p"),
        (r"cn=trailing\ ,ou=p", r"cn=trailing\ ,ou=p"),
        (r"cn=a\\  ,ou=p", r"cn=a\\ ,ou=p"),
        (r"cn=a\  ,ou=p", r"cn=a\ ,ou=p"),
        ("cn=İstanbul Ärger,o=x", "cn=i\u{307}stanbul ärger,o=x"),
        ("  ", ""),
    ];
    for (input, expected) in cases {
        assert_eq!(normalize_dn(input), expected, "{input}");
        assert_eq!(reference(input), expected, "{input}");
        assert!(same_dn(input, expected), "{input}");
        assert!(is_dn(input, expected), "{input}");
        assert_eq!(dn_hash(input), normalized_dn_hash(expected), "{input}");
    }
}

#[test]
fn index_finds_any_spelling_and_the_first_of_equals() {
    let dns = ["uid=a,ou=people", "UID=B, OU=People", "uid=a , ou=people", r"cn=x\,y,o=z"];
    let index = DnIndex::new(dns.iter().copied());
    let find = |dn: &str| index.find(dn, |i| dns[i]);
    assert_eq!(find("UID=A,OU=PEOPLE"), Some(0), "first in input order");
    assert_eq!(find("uid=b,ou=people"), Some(1));
    assert_eq!(find(r"CN=X\,Y , O=Z"), Some(3));
    assert_eq!(find("uid=c,ou=people"), None);
    assert_eq!(index.find_normalized("uid=b,ou=people", |i| dns[i]), Some(1));
    let map = DnMap::new(dns.iter().copied().zip(0..));
    assert_eq!(map.get("uid=B,ou=people"), Some(&1));
    assert_eq!(map.get_normalized("uid=a,ou=people"), Some(&0));
    assert_eq!(map.get("cn=nobody"), None);
    assert_eq!(map.last_normalized("uid=a,ou=people"), Some(&2), "last in input order");
    assert_eq!(map.len(), 4);
}

proptest! {
    #[test]
    fn streaming_matches_the_reference(dn in r"[aA zZ,=+\\\t\u{e9}\u{c9}\u{130}]{0,24}") {
        let expected = reference(&dn);
        prop_assert_eq!(&normalize_dn(&dn), &expected);
        prop_assert!(is_dn(&dn, &expected));
        prop_assert_eq!(dn_hash(&dn), normalized_dn_hash(&expected));
    }

    #[test]
    fn same_dn_is_equal_normal_forms(a in r"[aA ,=\\]{0,8}", b in r"[aA ,=\\]{0,8}") {
        prop_assert_eq!(same_dn(&a, &b), reference(&a) == reference(&b));
        if reference(&a) == reference(&b) {
            prop_assert_eq!(dn_hash(&a), dn_hash(&b));
        }
    }
}

#[test]
fn under_the_base() {
    assert!(is_under("cn=a,ou=sync,dc=x", "ou=sync,dc=x"));
    assert!(is_under("ou=sync,dc=x", "ou=sync,dc=x"));
    assert!(!is_under("cn=a,ou=async,dc=x", "sync,dc=x"));
    assert!(!is_under("cn=a,ou=other,dc=x", "ou=sync,dc=x"));
    assert!(is_under("cn=a,dc=x", ""));
}
