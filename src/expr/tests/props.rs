//! Property tests: invariants of the functions over arbitrary input, and no panics.

use proptest::prelude::*;

use super::{ev, eval_in};
use crate::expr::{Evaluated, Expr};

fn text(r: Result<Evaluated, String>) -> Result<String, String> {
    r.map(|e| match e {
        Evaluated::Value(v) => v,
        Evaluated::Omit => "<omit>".into(),
    })
}

proptest! {
    #[test]
    fn strip_diacritics_gives_ascii_and_is_idempotent(s in any::<String>()) {
        let once = ev("strip_diacritics(x)", &[("x", &s)]).unwrap();
        prop_assert!(once.is_ascii(), "{once:?}");
        let twice = ev("strip_diacritics(x)", &[("x", &once)]).unwrap();
        prop_assert_eq!(&twice, &once);
    }

    #[test]
    fn e164_is_e164_or_an_error(s in prop_oneof![any::<String>(), "[+]?[0-9 ()./-]{0,24}", "\\+44 ?\\(0\\)[0-9 ]{0,14}"]) {
        let shape = regex::Regex::new(r"^\+[1-9][0-9]{6,14}$").unwrap();
        match ev(r#"e164(x, "GB")"#, &[("x", &s)]) {
            Ok(out) if s.trim().is_empty() => prop_assert_eq!(out, ""),
            Ok(out) => prop_assert!(shape.is_match(&out), "{s:?} gave {out:?}"),
            Err(e) => prop_assert!(e.starts_with("e164: cannot parse"), "{e}"),
        }
    }

    #[test]
    fn truncate_keeps_a_prefix_of_at_most_n_chars(s in any::<String>(), n in 0usize..40) {
        let out = ev(&format!("truncate(x, {n})"), &[("x", &s)]).unwrap();
        prop_assert!(out.chars().count() <= n);
        prop_assert!(s.starts_with(&out));
        prop_assert_eq!(out.chars().count(), s.chars().count().min(n));
    }

    #[test]
    fn switch_and_coalesce_never_panic_and_read_only_their_arguments(
        value in proptest::option::of(any::<String>()),
        key in any::<String>(),
        other in proptest::option::of(any::<String>()),
    ) {
        let source = r#"switch(v, "default", k, "hit") ~ "|" ~ coalesce(v, k, "none")"#;
        let mut attrs = vec![("k", key.as_str())];
        if let Some(v) = &value { attrs.push(("v", v)); }
        let without = ev(source, &attrs).unwrap();
        if let Some(o) = &other { attrs.push(("other", o)); }
        let with = ev(source, &attrs).unwrap();
        // Another attribute changing never changes (or nulls) the result.
        prop_assert_eq!(&with, &without);
        let hit = value.as_deref().is_some_and(|v| v.to_lowercase() == key.to_lowercase());
        prop_assert_eq!(with.starts_with("hit|"), hit);
    }

    #[test]
    fn generalized_time_round_trips(y in 1601i32..9999, mo in 1u32..=12, d in 1u32..=28, h in 0u32..24, mi in 0u32..60, se in 0u32..60) {
        let stamp = format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{se:02}Z");
        let out = ev(r#"format_date(t, "%Y%m%d%H%M%SZ")"#, &[("t", &stamp)]).unwrap();
        prop_assert_eq!(out, stamp);
    }

    #[test]
    fn format_date_never_panics(s in any::<String>(), digits in "[0-9]{1,20}") {
        for input in [&s, &digits] {
            if let Err(e) = ev("format_date(t)", &[("t", input)]) {
                prop_assert!(e.starts_with("format_date: "), "{e}");
            }
        }
    }

    #[test]
    fn comparisons_match_rust(a in -1000i64..1000, b in -1000i64..1000) {
        let attrs = [("a", a.to_string()), ("b", b.to_string())];
        let attrs: Vec<(&str, &str)> = attrs.iter().map(|(n, v)| (*n, v.as_str())).collect();
        for (source, want) in [
            (format!("a < {b}"), a < b),
            (format!("a <= {b}"), a <= b),
            (format!("{a} > b"), a > b),
            (format!("a >= {b}"), a >= b),
            (format!("{a} < b < 1000"), a < b),
        ] {
            prop_assert_eq!(ev(&source, &attrs).unwrap(), want.to_string(), "{}", source);
        }
    }

    #[test]
    fn regex_replace_of_a_literal_is_str_replace(s in "[a-z.@ ]{0,30}") {
        let out = ev(r#"regex_replace(x, "\\.", "-")"#, &[("x", &s)]).unwrap();
        prop_assert_eq!(out, s.replace('.', "-"));
    }

    #[test]
    fn compile_never_panics(source in any::<String>(), glued in "[a-z()<>=!~|,. \"0-9]{0,40}") {
        for s in [&source, &glued] {
            if let Ok(e) = Expr::compile(s) {
                let _ = text(eval_in(e.source(), &[("a", "1"), ("x", "y")], &["g"], &[]));
            }
        }
    }
}

proptest! {
    #[test]
    fn caseless_eq_agrees_with_lowercasing(a in "[aAbBäÄ ]{0,6}", b in "[aAbBäÄ ]{0,6}") {
        prop_assert_eq!(crate::expr::values::caseless_eq(&a, &b), a.to_lowercase() == b.to_lowercase());
    }
}
