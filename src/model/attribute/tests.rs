use super::*;

#[test]
fn the_nine_original_fields_keep_their_names_and_order() {
    let names: Vec<(&str, &str)> = Field::catalogue().take(9).map(|f| (f.config_name(), f.def().stored)).collect();
    assert_eq!(
        names,
        [
            ("userName", "userName"),
            ("givenName", "givenName"),
            ("familyName", "familyName"),
            ("displayName", "displayName"),
            ("email", "workEmail"),
            ("title", "title"),
            ("phone", "workPhone"),
            ("department", "department"),
            ("employeeNumber", "employeeNumber"),
        ]
    );
    assert!(Field::UserName < Field::GivenName && Field::Department < Field::EmployeeNumber);
    assert_eq!(serde_json::to_string(&Field::WorkEmail).unwrap(), "\"workEmail\"");
    assert_eq!(serde_json::from_str::<Field>("\"workPhone\"").unwrap(), Field::WorkPhone);
}

#[test]
fn every_catalogue_path_parses_and_names_are_unique() {
    let mut names = std::collections::BTreeSet::new();
    for f in Field::catalogue() {
        assert!(names.insert(f.config_name().to_ascii_lowercase()), "duplicate {}", f.config_name());
        assert_eq!(Field::from_config_name(f.config_name()), Some(f));
        assert_eq!(Field::from_config_name(f.scim_path()), Some(f), "{}", f.scim_path());
        assert_eq!(&ScimPath::parse(f.scim_path()).unwrap(), f.path());
    }
}

#[test]
fn path_parsing_table() {
    let ok: [(&str, ScimPath<'static>); 5] = [
        ("title", ScimPath { schema: None, attr: "title", filter: None, sub: None }),
        ("name.givenName", ScimPath { schema: None, attr: "name", filter: None, sub: Some("givenName") }),
        (
            "phoneNumbers[type eq \"mobile\"].value",
            ScimPath { schema: None, attr: "phoneNumbers", filter: Some(("type", "mobile")), sub: Some("value") },
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            ScimPath { schema: Some(ENTERPRISE), attr: "manager", filter: None, sub: Some("value") },
        ),
        (
            "urn:ietf:params:scim:schemas:extension:zoom:1.0:User:zoomPhoneSite",
            ScimPath { schema: Some(ZOOM_USER), attr: "zoomPhoneSite", filter: None, sub: None },
        ),
    ];
    for (text, want) in ok {
        assert_eq!(ScimPath::parse(text).unwrap(), want, "{text}");
    }
    for (text, why) in [
        ("emails[type eq \"work\"]", "needs a sub-attribute"),
        ("emails[type co \"w\"].value", "only `eq`"),
        ("emails[type eq \"w\".value", "unclosed"),
        ("a:b", "outside a schema URN"),
        ("bad name", "attribute names"),
        ("", "attribute names"),
    ] {
        let e = ScimPath::parse(text).unwrap_err();
        assert!(e.contains(why), "{text}: {e}");
    }
}

#[test]
fn unknown_paths_register_once_and_round_trip_through_storage() {
    let path = "urn:ietf:params:scim:schemas:extension:zoom:1.0:User:costCentreCode";
    let f = Field::resolve(path).unwrap();
    assert_eq!(Field::resolve(path).unwrap(), f, "registered once");
    assert!(!f.def().known);
    assert_eq!(f.config_name(), path);
    let json = serde_json::to_string(&f).unwrap();
    assert_eq!(serde_json::from_str::<Field>(&json).unwrap(), f);
    assert!(Field::all().any(|x| x == f));
    assert!(Field::resolve("not a path").is_err());
    assert!(Field::resolve("titel").unwrap_err().contains("not a field zoomsync knows"), "a typo is an error");
    let locality = Field::resolve("addresses[type eq \"work\"].locality").unwrap();
    assert_eq!(locality.path().filter, Some(("type", "work")));
}

#[test]
fn values_are_canonical_by_kind_and_compared_by_case_where_zoom_folds_it() {
    let ext = Field::from_config_name("zoomPhoneExtNumber").unwrap();
    assert_eq!(ext.canonical(" 0042 ").unwrap(), "42");
    assert!(ext.canonical("x1").unwrap_err().contains("not an integer"));
    let iq = Field::from_config_name("zoomIQ").unwrap();
    assert_eq!(iq.canonical("Yes").unwrap(), "true");
    assert_eq!(iq.canonical("0").unwrap(), "false");
    assert!(iq.canonical("maybe").is_err());
    assert!(Field::WorkEmail.same("Mix.Case@example.com", "mix.case@example.com"));
    assert!(!Field::DisplayName.same("Ann", "ann"));
    let user_type = Field::from_config_name("usertype").unwrap();
    assert!(user_type.def().refused.iter().any(|(v, _)| *v == "Basic"));
    assert!(user_type.def().deprecated.is_some());
    assert_eq!(Field::from_config_name("zoomPhoneSite").unwrap().def().returned, Returned::Never);
}
