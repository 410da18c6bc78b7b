//! Mapping expressions: computed SCIM values from a directory user, e.g.
//! `coalesce(displayName, givenName ~ " " ~ sn)`, `e164(telephoneNumber, "GB")`,
//! `"Licensed" if member_of("Zoom Phone Users") else omit()`.
//!
//! The language is minijinja's expression syntax (Jinja2's: `~` concatenation, `x if c else
//! y`, `and`/`or`/`not`, filters `mail | lower`), evaluated by minijinja's VM. We add the
//! directory functions it lacks (`functions`), a compile-time check that makes unknown
//! names and wrong arities load errors rather than per-user failures (`analyze`), and
//! null-safe ordering comparisons (`rewrite`). See ARCHITECTURE.md, "Mapping expressions".
//!
//! Layer 1, beside `config` (which compiles expressions when it loads): pure, imports only
//! `model`.
//!
//! **Missing values.** A directory attribute is read by bare name, case-insensitively
//! (`givenName`, `GIVENNAME`), as its first value, or undefined when absent; `values("x")`
//! gives every value as a list; `dn` is the entry's DN. Undefined prints as "", is unequal
//! to everything, is false in conditions and makes every ordering comparison false, and our
//! functions pass it through (`lower(sn)` of a missing `sn` is undefined), so an expression
//! never fails because an attribute is absent.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, LazyLock};

use minijinja::value::ValueKind;
use minijinja::{Environment, UndefinedBehavior, Value};

use crate::model::DirectoryUser;

mod analyze;
mod dates;
mod engine;
mod functions;
mod phone;
mod rewrite;
#[cfg(test)]
mod tests;
mod values;

/// The environment every expression is compiled in: minijinja's builtin filters and tests,
/// our functions (see `functions`), lenient undefined (a missing attribute is undefined:
/// it prints as "", compares unequal, is false), and none of its global functions (`range`,
/// `dict`, `namespace`, `debug`), so every callable name is one of ours and a bare name is
/// always an attribute.
static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    let builtin: Vec<String> = env.globals().map(|(name, _)| name.to_string()).collect();
    for name in builtin {
        env.remove_global(&name);
    }
    env.set_undefined_behavior(UndefinedBehavior::Lenient);
    functions::register(&mut env);
    env
});

/// Longest expression accepted (Entra's limit): a mapping, not a program.
pub const MAX_SOURCE_CHARS: usize = 10_000;

/// A compiled expression. Compiled once at config load; cheap to clone (shared), and safe
/// to evaluate from many threads at once.
#[derive(Clone)]
pub struct Expr {
    inner: Arc<Compiled>,
}

struct Compiled {
    source: String,
    expression: minijinja::Expression<'static, 'static>,
    plan: Arc<engine::Plan>,
    uses_groups: bool,
}

/// What one evaluation sees: the user, and the display names of the groups it is in
/// (flattened through nesting, and direct only).
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    pub user: &'a DirectoryUser,
    pub groups: &'a [&'a str],
    pub direct_groups: &'a [&'a str],
}

/// The result of an evaluation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Evaluated {
    /// The text to send. Missing (none, undefined) and empty results are `Value("")`, which
    /// the caller treats as absent: never sent as "".
    Value(String),
    /// `omit()`: send nothing; on an update leave the target's value as it is.
    Omit,
}

impl Expr {
    /// Compiles an expression. Errors (for the caller to prefix with the config key): syntax,
    /// unknown function/filter/test, wrong arity of our functions, a constant that is wrong
    /// (regex, country code, date format, length), a non-constant name where one is needed.
    pub fn compile(source: &str) -> Result<Expr, String> {
        if source.chars().count() > MAX_SOURCE_CHARS {
            return Err(format!("the expression is longer than {MAX_SOURCE_CHARS} characters"));
        }
        let analysis = analyze::analyze(source)?;
        let rewritten = match analysis.chains.is_empty() {
            true => source.to_string(),
            false => {
                let rewritten = rewrite::rewrite(source, &analysis.chains)?;
                let pairs = analysis.chains.iter().flat_map(|c| &c.ops).filter(|op| rewrite::is_ordering(op)).count();
                rewrite::verify(&rewritten, pairs)?;
                rewritten
            }
        };
        let expression = ENV
            .compile_expression_owned(rewritten)
            .map_err(|e| format!("syntax error: {}", e.detail().unwrap_or("invalid expression")))?;
        Ok(Expr {
            inner: Arc::new(Compiled {
                source: source.to_string(),
                expression,
                plan: Arc::new(analysis.plan),
                uses_groups: analysis.uses_groups,
            }),
        })
    }

    /// The text the expression was compiled from.
    pub fn source(&self) -> &str {
        &self.inner.source
    }

    /// The directory attributes it reads (lower-case), so the LDAP search requests them.
    pub fn attributes(&self) -> BTreeSet<String> {
        let plan = &self.inner.plan;
        plan.vars
            .iter()
            .filter(|v| &***v != "dn")
            .chain(&plan.attr)
            .chain(&plan.values)
            .map(|n| n.to_ascii_lowercase())
            .collect()
    }

    /// Whether it reads group membership (`member_of`, `member_of_direct`).
    pub fn uses_groups(&self) -> bool {
        self.inner.uses_groups
    }

    /// The group names it asks about (flattened and direct), as written: the caller can
    /// check them against the groups it reads.
    pub fn groups(&self) -> BTreeSet<String> {
        let plan = &self.inner.plan;
        plan.groups.iter().chain(&plan.direct_groups).map(|g| g.to_string()).collect()
    }

    /// Evaluates for one user. `Err` is the reason this user is rejected, e.g.
    /// "e164: cannot parse '+44 (0)20 79' as a phone number".
    pub fn eval(&self, input: &Input<'_>) -> Result<Evaluated, String> {
        let context = self.inner.plan.context(input);
        let value = self.inner.expression.eval(Value::from_object(context)).map_err(|e| describe(&e))?;
        evaluated(value)
    }
}

/// The result as text; lists and maps are an error (a SCIM value here is one text).
fn evaluated(value: Value) -> Result<Evaluated, String> {
    if value.downcast_object_ref::<functions::Omit>().is_some() {
        return Ok(Evaluated::Omit);
    }
    match value.kind() {
        ValueKind::Undefined | ValueKind::None => Ok(Evaluated::Value(String::new())),
        ValueKind::String => Ok(Evaluated::Value(value.as_str().unwrap_or_default().to_string())),
        ValueKind::Bool => Ok(Evaluated::Value(if value.is_true() { "true" } else { "false" }.to_string())),
        ValueKind::Number => Ok(Evaluated::Value(value.to_string())),
        kind => Err(format!("the expression gave a {kind}, not text (join a list with join(list, \", \"))")),
    }
}

/// An evaluation error as a reason: our functions' messages as they are ("e164: …"),
/// minijinja's with their kind ("invalid operation: …").
fn describe(e: &minijinja::Error) -> String {
    match e.detail() {
        Some(detail) if functions::SPECS.iter().any(|s| detail.starts_with(&format!("{}: ", s.name))) => {
            detail.to_string()
        }
        Some(detail) => format!("{}: {detail}", e.kind()),
        None => e.kind().to_string(),
    }
}

impl fmt::Debug for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Expr").field(&self.inner.source).finish()
    }
}

/// Two expressions are equal when their source is (a reloaded config compares its rules).
impl PartialEq for Expr {
    fn eq(&self, other: &Self) -> bool {
        self.inner.source == other.inner.source
    }
}

impl Eq for Expr {}
