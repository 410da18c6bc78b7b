//! The directory-specific functions minijinja lacks, registered as functions (`lower(mail)`)
//! and, where it reads naturally, as filters (`mail | lower`).
//!
//! Every function is null-safe: a missing input (none or undefined) gives undefined back,
//! never an error, so `coalesce(lower(mail), "x")` and `x if c else y` compose. Errors are
//! reserved for inputs that are present but wrong (an unparseable phone number), and their
//! text starts with the function's name: it becomes the reason a user is rejected.
//!
//! [`SPECS`] is the one list of names, arities and constant arguments: the compile-time
//! check in `analyze` reads it, and a test checks that each name is registered.

use std::borrow::Cow;

use minijinja::value::{Object, ObjectRepr, Rest};
use minijinja::{Environment, Error, State, Value};

use super::engine::Ctx;
use super::values::{CMP, caseless_eq, fail, text};
use super::{dates, phone, rewrite};

/// One custom function: its arity, whether it is also a filter, and which arguments must be
/// string constants (positions counted with the piped value of the filter form as 0).
pub(super) struct Spec {
    pub name: &'static str,
    pub min: usize,
    /// `None`: any number from `min` on.
    pub max: Option<usize>,
    pub filter: bool,
    /// Arguments that must be string constants, so what the expression reads (attributes,
    /// groups) is known at load and its regex is compiled once.
    pub constant: &'static [usize],
}

const fn spec(name: &'static str, min: usize, max: Option<usize>, filter: bool, constant: &'static [usize]) -> Spec {
    Spec { name, min, max, filter, constant }
}

pub(super) const SPECS: &[Spec] = &[
    spec("coalesce", 1, None, true, &[]),
    spec("switch", 2, None, true, &[]),
    spec("join", 1, Some(2), true, &[]),
    spec("split", 2, Some(2), true, &[]),
    spec("regex_replace", 3, Some(3), true, &[1]),
    spec("upper", 1, Some(1), true, &[]),
    spec("lower", 1, Some(1), true, &[]),
    spec("strip_diacritics", 1, Some(1), true, &[]),
    spec("truncate", 2, Some(2), true, &[]),
    spec("e164", 1, Some(2), true, &[]),
    spec("format_date", 1, Some(2), true, &[]),
    spec("member_of", 1, Some(1), false, &[0]),
    spec("member_of_direct", 1, Some(1), false, &[0]),
    spec("values", 1, Some(1), false, &[0]),
    spec("attr", 1, Some(1), false, &[0]),
    spec("omit", 0, Some(0), false, &[]),
];

/// The custom function of that name, if any.
pub(super) fn spec_of(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.name == name)
}

/// Registers every function (and filter form) on the engine's environment.
pub(super) fn register(env: &mut Environment<'static>) {
    macro_rules! both {
        ($name:literal, $f:expr) => {
            env.add_function($name, $f);
            env.add_filter($name, $f);
        };
    }
    both!("coalesce", coalesce);
    both!("switch", switch);
    both!("join", join);
    both!("split", split);
    both!("regex_replace", regex_replace);
    both!("upper", upper);
    both!("lower", lower);
    both!("strip_diacritics", strip_diacritics);
    both!("truncate", truncate);
    both!("e164", phone::e164);
    both!("format_date", dates::format_date);
    env.add_function("member_of", member_of);
    env.add_function("member_of_direct", member_of_direct);
    env.add_function("values", values);
    env.add_function("attr", attr);
    env.add_function("omit", omit);
    env.add_function(CMP, rewrite::compare);
}

/// Missing, or the empty string, or an empty list: what `coalesce` skips.
fn is_empty(value: &Value) -> bool {
    value.is_undefined() || value.is_none() || value.len() == Some(0)
}

fn coalesce(args: Rest<Value>) -> Value {
    args.iter().find(|v| !is_empty(v)).cloned().unwrap_or(Value::UNDEFINED)
}

/// `switch(value, default, k1, v1, k2, v2, …)`: the value paired with the first key equal to
/// `value` ignoring case, else `default`. It reads only its own arguments, so another
/// attribute changing cannot null it (Entra's Switch trap).
fn switch(value: Value, default: Value, pairs: Rest<Value>) -> Result<Value, Error> {
    if pairs.len() % 2 != 0 {
        return Err(fail("switch: keys and values must come in pairs".into()));
    }
    let Some(value) = text("switch", &value)? else { return Ok(default) };
    for pair in pairs.chunks(2) {
        if let Some(key) = text("switch", &pair[0])?
            && caseless_eq(&key, &value)
        {
            return Ok(pair[1].clone());
        }
    }
    Ok(default)
}

/// `join(list, sep)`: the non-empty items joined; a single text value is itself.
fn join(list: Value, separator: Option<Value>) -> Result<Value, Error> {
    if list.is_undefined() || list.is_none() || list.as_str().is_some() {
        return Ok(list);
    }
    let separator = match &separator {
        Some(s) => text("join", s)?.unwrap_or_default(),
        None => Cow::Borrowed(""),
    };
    let mut out = String::new();
    for item in list.try_iter().map_err(|_| fail(format!("join: expected a list, got {}", list.kind())))? {
        if let Some(t) = text("join", &item)?.filter(|t| !t.is_empty()) {
            if !out.is_empty() {
                out.push_str(&separator);
            }
            out.push_str(&t);
        }
    }
    Ok(Value::from(out))
}

/// `split(s, sep)`: the pieces as a list (empty for a missing value).
fn split(value: Value, separator: Value) -> Result<Value, Error> {
    let separator = text("split", &separator)?.unwrap_or_default();
    if separator.is_empty() {
        return Err(fail("split: the separator is empty".into()));
    }
    let Some(value) = text("split", &value)? else { return Ok(Value::from(Vec::<Value>::new())) };
    Ok(value.split(&*separator).map(Value::from).collect())
}

/// `regex_replace(s, pattern, replacement)`: every match replaced (`$1`, `${name}` refer
/// to groups). The pattern is a constant compiled once by `Expr::compile`.
fn regex_replace(state: &State, value: Value, pattern: &str, replacement: Value) -> Result<Value, Error> {
    let Some(value) = text("regex_replace", &value)? else { return Ok(Value::UNDEFINED) };
    let replacement = text("regex_replace", &replacement)?.unwrap_or_default();
    let ctx = Ctx::of(state)?;
    let regex = ctx.regex(pattern)?;
    Ok(Value::from(regex.replace_all(&value, &*replacement).into_owned()))
}

fn map_text(function: &str, value: &Value, f: impl FnOnce(&str) -> String) -> Result<Value, Error> {
    Ok(text(function, value)?.map_or(Value::UNDEFINED, |t| Value::from(f(&t))))
}

fn upper(value: Value) -> Result<Value, Error> {
    map_text("upper", &value, str::to_uppercase)
}

fn lower(value: Value) -> Result<Value, Error> {
    map_text("lower", &value, str::to_lowercase)
}

/// ASCII transliteration (deunicode): ä→a, é→e, ß→ss, æ→ae, ø→o (Entra gives "oe"), Ł→L;
/// other scripts are transliterated (Пётр→Petr); characters with none are dropped.
fn strip_diacritics(value: Value) -> Result<Value, Error> {
    map_text("strip_diacritics", &value, |t| deunicode::deunicode_with_tofu(t, ""))
}

/// The first `n` characters (not bytes).
fn truncate(value: Value, n: Value) -> Result<Value, Error> {
    let n = n
        .as_i64()
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| fail(format!("truncate: the length must be a whole number ≥ 0, not {n}")))?;
    map_text("truncate", &value, |t| match t.char_indices().nth(n) {
        Some((at, _)) => t[..at].to_string(),
        None => t.to_string(),
    })
}

fn member_of(state: &State, group: &str) -> Result<bool, Error> {
    Ctx::of(state)?.member_of(group, false)
}

fn member_of_direct(state: &State, group: &str) -> Result<bool, Error> {
    Ctx::of(state)?.member_of(group, true)
}

fn values(state: &State, name: &str) -> Result<Value, Error> {
    Ctx::of(state)?.values(name)
}

fn attr(state: &State, name: &str) -> Result<Value, Error> {
    Ctx::of(state)?.attr(name)
}

/// What `omit()` returns: the result "send nothing". `analyze` allows it only where it
/// can become the whole result.
#[derive(Debug)]
pub(super) struct Omit;

impl Object for Omit {
    fn repr(self: &std::sync::Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
}

fn omit() -> Value {
    Value::from_object(Omit)
}
