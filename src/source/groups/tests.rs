use super::*;
use crate::config::{DecodeRules, GroupsConfig, Nesting};
use crate::source::memory::MemoryDirectory;

fn anchor(s: &str) -> Anchor {
    Anchor::new(s).unwrap()
}

fn group(name: &str, members: &[&str]) -> RawGroup {
    RawGroup {
        anchor: anchor(name),
        dn: format!("cn={name},ou=groups"),
        name: name.to_string(),
        members: members.iter().map(|m| m.to_string()).collect(),
    }
}

fn user_dn(u: &str) -> String {
    format!("uid={u},ou=people")
}

/// Members: `u:x` is a user, `g:x` a group of the universe, anything else unknown.
fn universe(spec: &[(&str, &[&str])]) -> Vec<RawGroup> {
    spec.iter()
        .map(|(name, members)| {
            let dns: Vec<String> = members
                .iter()
                .map(|m| match m.split_once(':') {
                    Some(("u", u)) => user_dn(u),
                    Some(("g", g)) => format!("cn={g},ou=groups"),
                    _ => m.to_string(),
                })
                .collect();
            let refs: Vec<&str> = dns.iter().map(String::as_str).collect();
            group(name, &refs)
        })
        .collect()
}

fn flat(spec: &[(&str, &[&str])], start: &str, nested: bool) -> (Vec<String>, Vec<Vec<String>>) {
    let groups = universe(spec);
    let by_dn: HashMap<&str, &RawGroup> = groups.iter().map(|g| (g.dn.as_str(), g)).collect();
    let users: HashMap<String, Anchor> =
        ["a", "b", "c", "d", "e"].iter().map(|u| (user_dn(u), anchor(&format!("id-{u}")))).collect();
    let start = groups.iter().find(|g| g.name == start).unwrap();
    let out = flatten(start, &by_dn, &users, nested);
    (out.members.iter().map(|a| a.as_str().trim_start_matches("id-").to_string()).collect(), out.cycles)
}

#[test]
fn flattening_table() {
    type Case<'a> = (&'a str, &'a [(&'a str, &'a [&'a str])], &'a str, bool, &'a [&'a str], usize);
    let cases: &[Case] = &[
        ("direct users", &[("g1", &["u:a", "u:b"])], "g1", true, &["a", "b"], 0),
        ("unknown members ignored", &[("g1", &["u:a", "uid=x,ou=elsewhere", "u:zz"])], "g1", true, &["a"], 0),
        (
            "three levels deep",
            &[("top", &["g:mid", "u:a"]), ("mid", &["g:low"]), ("low", &["g:leaf"]), ("leaf", &["u:e"])],
            "top",
            true,
            &["a", "e"],
            0,
        ),
        ("direct only ignores nesting", &[("top", &["g:mid", "u:a"]), ("mid", &["u:b"])], "top", false, &["a"], 0),
        (
            "cycle counted once and reported",
            &[("x", &["g:y", "u:a"]), ("y", &["g:z", "u:b"]), ("z", &["g:x", "u:c"])],
            "x",
            true,
            &["a", "b", "c"],
            1,
        ),
        ("self member", &[("s", &["g:s", "u:d"])], "s", true, &["d"], 1),
        (
            "diamond is not a cycle",
            &[("top", &["g:l", "g:r"]), ("l", &["g:bottom"]), ("r", &["g:bottom"]), ("bottom", &["u:a"])],
            "top",
            true,
            &["a"],
            0,
        ),
        ("empty group", &[("e", &[])], "e", true, &[], 0),
    ];
    for (what, spec, start, nested, members, cycles) in cases {
        let (got, got_cycles) = flat(spec, start, *nested);
        assert_eq!(got, members.iter().map(|s| s.to_string()).collect::<Vec<_>>(), "{what}");
        assert_eq!(got_cycles.len(), *cycles, "{what}: {got_cycles:?}");
    }
}

#[test]
fn cycle_is_reported_with_the_groups_on_it() {
    let (_, cycles) = flat(&[("x", &["g:y"]), ("y", &["g:z"]), ("z", &["g:y"])], "x", true);
    assert_eq!(cycles, vec![vec!["y".to_string(), "z".to_string()]]);
    assert!(same_cycle(&["y".into(), "z".into()], &["z".into(), "y".into()]));
    assert!(!same_cycle(&["y".into(), "z".into()], &["y".into(), "x".into()]));
}

#[test]
fn filter_values_are_escaped() {
    assert_eq!(escape_filter_value(r"CN=A (B)*\x,DC=c"), r"CN=A \28B\29\2a\5cx,DC=c");
}

fn config(names: &[&str], scope: &[&str], nesting: Nesting) -> GroupsConfig {
    GroupsConfig {
        base_dn: "ou=groups,dc=t".into(),
        class_filter: "(objectClass=groupOfNames)".into(),
        filter: None,
        names: names.iter().map(|s| s.to_string()).collect(),
        name_attribute: "cn".into(),
        member_attributes: vec!["member".into(), "uniqueMember".into()],
        nesting,
        scope: scope.iter().map(|s| s.to_string()).collect(),
        delete_created: true,
        zoom_names: Default::default(),
        mapped: Vec::new(),
    }
}

fn entry(dn: &str, attrs: &[(&str, &str)]) -> RawEntry {
    let mut e = RawEntry::new(dn);
    for (n, v) in attrs {
        e.push(n, v.as_bytes().to_vec());
    }
    e
}

fn decoder() -> Decoder {
    Decoder::new(DecodeRules {
        flavor: crate::config::Flavor::OpenLdap,
        anchor_attribute: "entryUUID".into(),
        anchor_fallback: None,
        anchor_format: crate::config::AnchorFormat::Text,
        user_name_attribute: "mail".into(),
        disabled: crate::config::DisabledRule::Never,
        keep_attributes: vec![],
    })
}

fn directory() -> MemoryDirectory {
    let g = |cn: &str, uuid: &str, members: &[&str]| {
        let mut attrs = vec![("objectClass", "groupOfNames"), ("cn", cn), ("entryUUID", uuid)];
        attrs.extend(members.iter().map(|m| ("member", *m)));
        entry(&format!("cn={cn},ou=groups,dc=t"), &attrs)
    };
    MemoryDirectory::new(
        vec![
            g("Phone", "g-phone", &["uid=a,ou=people,dc=t", "cn=Nested,ou=groups,dc=t"]),
            g("Nested", "g-nested", &["uid=b,ou=people,dc=t"]),
            g("Twin", "g-twin1", &[]),
            entry("cn=Twin,ou=other,ou=groups,dc=t", &[("objectClass", "groupOfNames"), ("cn", "Twin")]),
            entry("cn=NoName,ou=groups,dc=t", &[("objectClass", "groupOfNames")]),
            entry("cn=Elsewhere,ou=x,dc=t", &[("objectClass", "groupOfNames"), ("cn", "Elsewhere")]),
        ],
        crate::model::ldap_filter::Filter::parse("(objectClass=*)").unwrap(),
    )
}

fn users() -> HashMap<String, Anchor> {
    [("uid=a,ou=people,dc=t", "u-a"), ("uid=b,ou=people,dc=t", "u-b")]
        .into_iter()
        .map(|(dn, a)| (dn.to_string(), anchor(a)))
        .collect()
}

#[tokio::test]
async fn read_selects_flattens_and_reports_missing_and_ambiguous_names() {
    let cfg = config(&["phone", "Twin", "Absent"], &[], Nesting::Expand);
    let read = read_groups(&directory(), &cfg, &decoder(), None, &users()).await.unwrap();
    let phone = read.named("Phone").unwrap();
    assert_eq!(phone.anchor.as_str(), "g-phone");
    assert_eq!(phone.members.iter().map(Anchor::as_str).collect::<Vec<_>>(), ["u-a", "u-b"]);
    assert_eq!(read.groups.len(), 1);
    assert_eq!(read.missing, ["Twin", "Absent"]);
    assert!(read.rejected.iter().any(|r| r.reason.contains("2 groups are named \"Twin\"")), "{:?}", read.rejected);
    assert!(read.rejected.iter().any(|r| r.reason == "group has no cn"), "{:?}", read.rejected);
    assert!(read.incomplete.is_none());
}

#[tokio::test]
async fn a_filter_chooses_groups_and_scope_groups_are_read_but_not_pushed() {
    let mut cfg = config(&[], &[], Nesting::Direct);
    cfg.base_dn = "dc=t".into();
    cfg.filter = Some("(|(cn=Phone)(cn=Elsewhere))".into());
    let read = read_groups(&directory(), &cfg, &decoder(), None, &users()).await.unwrap();
    let names: Vec<&str> = read.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["Phone", "Elsewhere"]);
    assert_eq!(read.named("phone").unwrap().members.len(), 1, "direct: the nested group's user is not counted");
    assert_eq!(read.pushed.len(), 2);

    let cfg = config(&["Nested"], &["Phone"], Nesting::Expand);
    let read = read_groups(&directory(), &cfg, &decoder(), None, &users()).await.unwrap();
    let names: Vec<&str> = read.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["Nested", "Phone"]);
    assert_eq!(read.pushed.iter().collect::<Vec<_>>(), ["cn=nested,ou=groups,dc=t"]);
}

#[test]
fn the_dump_search_asks_for_what_a_read_of_the_file_needs() {
    let decoder = Decoder::new(DecodeRules {
        flavor: crate::config::Flavor::ActiveDirectory,
        anchor_attribute: "objectGUID".into(),
        anchor_fallback: None,
        anchor_format: crate::config::AnchorFormat::Guid,
        user_name_attribute: "userPrincipalName".into(),
        disabled: crate::config::DisabledRule::AccountControl,
        keep_attributes: vec![],
    });
    let mut c = config(&["Zoom"], &[], Nesting::InChain);
    c.class_filter = "(&(objectClass=group)(!(isCriticalSystemObject=TRUE)))".into();
    c.filter = Some("(&(objectclass=group)(CN=Zoom-*))".into());
    let r = dump_request(&c, &decoder);
    assert_eq!(r.attributes, ["cn", "objectGUID", "member", "uniqueMember", "objectClass", "isCriticalSystemObject"]);
    assert_eq!(
        (r.base.as_str(), r.filter.as_str(), r.scope),
        ("ou=groups,dc=t", c.class_filter.as_str(), SearchScope::Subtree)
    );
}
