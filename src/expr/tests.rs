use std::sync::Arc;

use super::*;
use crate::model::{Anchor, Attributes};

mod functions;
mod props;

pub(super) fn user(attrs: &[(&str, &str)]) -> DirectoryUser {
    let mut a = Attributes::default();
    for (name, value) in attrs {
        a.push(Arc::from(name.to_ascii_lowercase()), value);
    }
    DirectoryUser {
        anchor: Anchor::new("a1").unwrap(),
        dn: "uid=jo,ou=People,dc=example,dc=com".into(),
        user_name: "jo@example.com".into(),
        disabled: false,
        attrs: a,
    }
}

/// Evaluates `source` for a user with these attributes and groups.
pub(super) fn eval_in(
    source: &str,
    attrs: &[(&str, &str)],
    groups: &[&str],
    direct: &[&str],
) -> Result<Evaluated, String> {
    let expr = Expr::compile(source).map_err(|e| format!("compile: {e}"))?;
    expr.eval(&Input { user: &user(attrs), groups, direct_groups: direct })
}

/// The text result (Omit shows as "<omit>"), or the error.
pub(super) fn ev(source: &str, attrs: &[(&str, &str)]) -> Result<String, String> {
    eval_in(source, attrs, &[], &[]).map(|r| match r {
        Evaluated::Value(v) => v,
        Evaluated::Omit => "<omit>".into(),
    })
}

pub(super) fn compile_err(source: &str) -> String {
    match Expr::compile(source) {
        Ok(_) => panic!("{source:?} compiled"),
        Err(e) => e,
    }
}

const JO: &[(&str, &str)] = &[("givenName", "Jo"), ("sn", "Bloggs"), ("mail", "Jo.Bloggs@Example.COM")];

#[test]
fn attributes_by_bare_name_case_insensitive_first_value() {
    let attrs = &[("givenName", "Jo"), ("proxyAddresses", "smtp:a@x"), ("proxyAddresses", "SMTP:b@x")];
    assert_eq!(ev("givenName", attrs).unwrap(), "Jo");
    assert_eq!(ev("GIVENNAME", attrs).unwrap(), "Jo");
    assert_eq!(ev("proxyAddresses", attrs).unwrap(), "smtp:a@x");
    assert_eq!(ev("join(values(\"proxyAddresses\"), \";\")", attrs).unwrap(), "smtp:a@x;SMTP:b@x");
    assert_eq!(ev("attr(\"givenname\")", attrs).unwrap(), "Jo");
    assert_eq!(ev("dn", attrs).unwrap(), "uid=jo,ou=People,dc=example,dc=com");
}

#[test]
fn missing_attributes_are_null_safe_everywhere() {
    let only_given = &[("givenName", "Jo")];
    let cases: &[(&str, &str)] = &[
        (r#"givenName ~ " " ~ sn"#, "Jo "),
        ("sn", ""),
        (r#""yes" if sn == "x" else "no""#, "no"),
        (r#""yes" if sn != "x" else "no""#, "yes"),
        (r#""yes" if sn < "m" else "no""#, "no"),
        (r#""yes" if sn > "m" else "no""#, "no"),
        (r#""yes" if sn >= "" else "no""#, "no"),
        (r#""yes" if sn and givenName else "no""#, "no"),
        (r#""yes" if sn or givenName else "no""#, "yes"),
        (r#""yes" if not sn else "no""#, "yes"),
        (r#""yes" if sn is defined else "no""#, "no"),
        (r#""yes" if "x" in sn else "no""#, "no"),
        ("lower(sn)", ""),
        ("sn | upper", ""),
        (r#"coalesce(sn, givenName)"#, "Jo"),
        (r#"join(values("proxyAddresses"), ",")"#, ""),
        (r#"truncate(sn, 3)"#, ""),
        (r#"e164(telephoneNumber, "GB")"#, ""),
        (r#"format_date(accountExpires, "%Y")"#, ""),
        (r#"regex_replace(sn, "a", "b")"#, ""),
        (r#"switch(sn, "default", "a", "b")"#, "default"),
        (r#"strip_diacritics(sn)"#, ""),
        (r#"split(sn, ",") | first"#, ""),
        (r#"sn if sn else omit()"#, "<omit>"),
        ("debug ~ range ~ dict", ""), // minijinja's globals are gone: bare names are attributes
    ];
    for (source, want) in cases {
        assert_eq!(ev(source, only_given).as_deref(), Ok(*want), "{source}");
    }
}

#[test]
fn ordering_comparisons_are_null_safe_and_numeric_where_one_side_is_a_number() {
    let attrs = &[("employeeNumber", "900"), ("sn", "Bloggs")];
    let cases: &[(&str, &str)] = &[
        ("employeeNumber > 1000", "false"),
        ("employeeNumber < 1000", "true"),
        ("employeeNumber >= 900 and employeeNumber <= 900.0", "true"),
        (r#"employeeNumber < "1000""#, "false"), // text with text compares as text
        ("sn > 5", "false"),                     // not a number: false, not an error
        ("missing < 5 or missing > 5 or missing == 5", "false"),
        (r#""A" < sn < "C""#, "true"),
        (r#""A" < sn == "Bloggs""#, "true"),
        (r#"(sn | lower) < "c" and (sn > "A") == true"#, "true"),
        (r#"1 < 2 < 3 and not 3 < 2"#, "true"),
        (r#"[1, 2] | length > 1"#, "true"),
    ];
    for (source, want) in cases {
        assert_eq!(ev(source, attrs).as_deref(), Ok(*want), "{source}");
    }
}

#[test]
fn unknown_names_are_compile_errors() {
    assert_eq!(compile_err("lowr(mail)"), "unknown function lowr (did you mean lower?)");
    assert!(compile_err("frobnicate(mail)").starts_with("unknown function frobnicate"));
    assert!(compile_err("mail | lowr").starts_with("unknown filter lowr"));
    assert!(compile_err("mail is frobbed").starts_with("unknown test frobbed"));
    // ...also in a branch no probe evaluation would reach.
    assert!(compile_err(r#""x" if false else lowr(mail)"#).starts_with("unknown function lowr"));
    assert!(compile_err("mail.split('@')").contains("method calls"));
    assert!(compile_err("mail.domain").contains("lookups are not supported"));
    assert!(compile_err("__zoomsync").contains("reserved"));
    assert!(compile_err("__cmp(1, '<', 2)").contains("unknown function __cmp"));
    assert!(compile_err("lower").contains("is a function"));
    // minijinja's own globals are gone: every callable is ours.
    assert!(compile_err("range(10)").starts_with("unknown function range"));
}

#[test]
fn builtin_filters_and_tests_still_work() {
    assert_eq!(ev(r#"mail | trim | replace("@Example.COM", "@example.com")"#, JO).unwrap(), "Jo.Bloggs@example.com");
    assert_eq!(ev(r#"sn | default("none")"#, &[]).unwrap(), "none");
    assert_eq!(ev(r#"givenName[:1] ~ sn"#, JO).unwrap(), "JBloggs");
    assert_eq!(ev(r#""y" if mail is defined and mail is startingwith("Jo") else "n""#, JO).unwrap(), "y");
    assert_eq!(ev(r#"{"sales": "S1", "hr": "H1"}[lower(department)]"#, &[("department", "HR")]).unwrap(), "H1");
}

#[test]
fn syntax_and_arity_errors_are_clear() {
    assert!(compile_err("givenName ~").starts_with("syntax error"));
    assert!(compile_err("(mail").starts_with("syntax error"));
    assert_eq!(compile_err("lower(mail, sn)"), "lower takes 1 arguments, got 2");
    assert_eq!(compile_err("mail | lower(1)"), "lower takes 1 arguments, got 2");
    assert_eq!(compile_err("truncate(mail)"), "truncate takes 2 arguments, got 1");
    assert!(compile_err(r#"switch(dept, "d", "k")"#).contains("key/value pairs"));
    assert!(compile_err("coalesce()").contains("at least 1"));
    assert!(compile_err("lower(s=mail)").contains("keyword"));
    assert!(compile_err(r#"regex_replace(mail, "(", "")"#).starts_with("regex_replace: invalid pattern"));
    assert!(compile_err(r#"regex_replace(mail, pattern, "")"#).contains("must be a string constant"));
    assert!(compile_err(r#"member_of(group)"#).contains("must be a string constant"));
    assert!(compile_err(r#"values("a" ~ "b")"#).contains("must be a string constant"));
    assert!(compile_err(r#"e164(mobile, "XX")"#).contains("unknown country code"));
    assert!(compile_err(r#"format_date(whenCreated, "%Q")"#).contains("not a valid strftime format"));
    assert!(compile_err("truncate(mail, -1)").contains("whole number"));
    assert!(compile_err(&"a ~ ".repeat(3000)).contains("longer than"));
}

#[test]
fn omit_only_where_it_can_be_the_result() {
    let groups = &["Zoom Phone Users"];
    let licensed = r#""Licensed" if member_of("Zoom Phone Users") else omit()"#;
    assert_eq!(eval_in(licensed, &[], groups, &[]), Ok(Evaluated::Value("Licensed".into())));
    assert_eq!(eval_in(licensed, &[], &[], &[]), Ok(Evaluated::Omit));
    assert_eq!(ev(r#"switch(dept, omit(), "it", "x")"#, &[("dept", "HR")]).unwrap(), "<omit>");
    assert_eq!(ev(r#"coalesce(sn, omit())"#, &[]).unwrap(), "<omit>");
    assert_eq!(ev("omit()", &[]).unwrap(), "<omit>");
    for bad in [r#""a" ~ omit()"#, "lower(omit())", "coalesce(omit(), sn)", r#"switch(omit(), "a")"#, "omit() | lower"]
    {
        assert!(compile_err(bad).contains("omit() must be"), "{bad}");
    }
}

#[test]
fn results_are_text() {
    assert_eq!(ev("true", &[]).unwrap(), "true");
    assert_eq!(ev("1 + 2", &[]).unwrap(), "3");
    assert_eq!(ev("none", &[]).unwrap(), "");
    assert_eq!(ev(r#""""#, &[]).unwrap(), "");
    assert!(ev(r#"values("mail")"#, JO).unwrap_err().contains("not text"));
}

#[test]
fn reports_what_it_reads() {
    let e = Expr::compile(
        r#"coalesce(displayName, givenName ~ " " ~ SN) ~ join(values("proxyAddresses"), ",") ~ attr("msDS-x") ~ dn
           if member_of("A") or member_of_direct("B") else omit()"#,
    )
    .unwrap();
    let want: BTreeSet<String> =
        ["displayname", "givenname", "sn", "proxyaddresses", "msds-x"].into_iter().map(String::from).collect();
    assert_eq!(e.attributes(), want);
    assert!(e.uses_groups());
    assert_eq!(e.groups(), ["A".to_string(), "B".to_string()].into_iter().collect());
    assert!(!Expr::compile("lower(mail)").unwrap().uses_groups());
    assert_eq!(format!("{:?}", Expr::compile("lower(mail)").unwrap()), r#"Expr("lower(mail)")"#);
    assert_eq!(Expr::compile("sn < 3").unwrap().source(), "sn < 3");
}

#[test]
fn expr_is_clone_send_sync_and_shared_across_threads() {
    fn assert_traits<T: Clone + Send + Sync + fmt::Debug + 'static>() {}
    assert_traits::<Expr>();
    let e = Expr::compile(r#"lower(givenName) ~ "." ~ lower(sn)"#).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let e = e.clone();
            std::thread::spawn(move || {
                let name = format!("N{i}");
                let u = user(&[("givenName", &name), ("sn", "X")]);
                e.eval(&Input { user: &u, groups: &[], direct_groups: &[] })
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(h.join().unwrap(), Ok(Evaluated::Value(format!("n{i}.x"))));
    }
}
#[test]
fn comparisons_are_rewritten_wherever_they_stand() {
    let attrs = &[("n", "5"), ("sn", "Bloggs")];
    let cases: &[(&str, &str)] = &[
        ("(n) < (6)", "true"),
        ("((n)) < 6 and ( n > 4 )", "true"),
        ("not n < 3", "true"),
        ("-(n | int) < -4", "true"),
        (r#""lo" if n < 6 else "hi""#, "lo"),
        (r#""lo" if missing < 6 else "hi""#, "hi"),
        (r#"sn[:1] < "C""#, "true"),
        (r#"sn | lower | truncate(2) < "bm""#, "true"),
        (r#"[n < 6, n > 6] | join(",")"#, "True,False"),
        (r#"switch(n > 3, "no", true, "yes")"#, "yes"),
        (r#"coalesce(sn if n >= 5 else none, "x")"#, "Bloggs"),
        (r#"(n < 6) == (sn > "A")"#, "true"),
        (r#"{"a": n < 6}["a"]"#, "true"),
        ("n\n<\n6", "true"),
        ("n < 6 < 7 > 2", "true"),
        ("n < 6 in [6, 7]", "true"), // a chain: n < 6 and 6 in [6, 7]
        ("n < 6 in [7]", "false"),
    ];
    for (source, want) in cases {
        assert_eq!(ev(source, attrs).as_deref(), Ok(*want), "{source}");
    }
}

#[test]
fn every_spec_is_registered_and_nothing_else_is_callable() {
    let globals: BTreeSet<&str> = ENV.globals().map(|(name, _)| name).collect();
    let mut want: BTreeSet<&str> = super::functions::SPECS.iter().map(|s| s.name).collect();
    want.insert(values::CMP);
    assert_eq!(globals, want);
    for spec in super::functions::SPECS.iter().filter(|s| s.filter) {
        let filter = ENV.empty_state().apply_filter(spec.name, &[]);
        assert!(!matches!(&filter, Err(e) if e.kind() == minijinja::ErrorKind::UnknownFilter), "{}", spec.name);
    }
    // The others are refused as filters, even where minijinja has a builtin of that name.
    for spec in super::functions::SPECS.iter().filter(|s| !s.filter && s.min == 1) {
        assert!(compile_err(&format!("x | {}", spec.name)).contains("not a filter"), "{}", spec.name);
    }
}
