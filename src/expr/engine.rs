//! The per-user context an expression is evaluated against.
//!
//! The context is a small [`Object`] holding only what the expression reads — the plan
//! made at compile time lists its bare attribute names, `attr()`/`values()` names and
//! `member_of` groups — so building it for a user costs one vector of values, not a map of
//! every attribute, and no environment is built per evaluation.

use std::sync::Arc;

use minijinja::value::{Object, ObjectRepr};
use minijinja::{Error, State, Value};
use regex::Regex;

use super::Input;
use super::values::{caseless_eq, fail};

/// The key under which the context hands itself to our functions (`Ctx::of`). Reserved:
/// directory attribute names start with a letter, and `analyze` refuses `__` names.
const SELF_KEY: &str = "__zoomsync";

/// What an expression reads, found at compile time. Slots of [`Ctx::values`] follow this
/// order: bare names, then `attr()` names, `values()` names, `member_of`, `member_of_direct`.
#[derive(Debug, Default)]
pub(super) struct Plan {
    /// Bare names as written (`givenName`; `dn` is the entry's DN).
    pub vars: Vec<Box<str>>,
    pub attr: Vec<Box<str>>,
    pub values: Vec<Box<str>>,
    pub groups: Vec<Box<str>>,
    pub direct_groups: Vec<Box<str>>,
    /// Constant `regex_replace` patterns, compiled once.
    pub regexes: Vec<(Box<str>, Regex)>,
}

impl Plan {
    /// The context for one user: one allocation for the slots (plus the value texts longer
    /// than minijinja's inline strings, and the lists `values()` needs).
    pub fn context(self: &Arc<Self>, input: &Input<'_>) -> Ctx {
        let user = input.user;
        let first = |name: &str| match name {
            "dn" => Value::from(user.dn.as_str()),
            _ => user.attr(name).map_or(Value::UNDEFINED, Value::from),
        };
        let member = |groups: &[&str], name: &str| Value::from(groups.iter().any(|g| caseless_eq(g, name)));
        let mut slots = Vec::with_capacity(
            self.vars.len() + self.attr.len() + self.values.len() + self.groups.len() + self.direct_groups.len(),
        );
        slots.extend(self.vars.iter().map(|n| first(n)));
        slots.extend(self.attr.iter().map(|n| user.attr(n).map_or(Value::UNDEFINED, Value::from)));
        slots.extend(self.values.iter().map(|n| user.attrs.values(n).map(Value::from).collect::<Value>()));
        slots.extend(self.groups.iter().map(|g| member(input.groups, g)));
        slots.extend(self.direct_groups.iter().map(|g| member(input.direct_groups, g)));
        Ctx { plan: Arc::clone(self), slots }
    }
}

/// One user's view for one evaluation (the root object of the expression).
#[derive(Debug)]
pub(super) struct Ctx {
    plan: Arc<Plan>,
    slots: Vec<Value>,
}

impl Object for Ctx {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let key = key.as_str()?;
        if key == SELF_KEY {
            return Some(Value::from_dyn_object(Arc::clone(self)));
        }
        let at = self.plan.vars.iter().position(|v| **v == *key)?;
        self.slots.get(at).cloned()
    }
}

impl Ctx {
    /// The context of the evaluation `state` belongs to.
    pub fn of(state: &State) -> Result<Arc<Ctx>, Error> {
        state
            .lookup(SELF_KEY)
            .and_then(|v| v.downcast_object::<Ctx>())
            .ok_or_else(|| fail("internal: expression evaluated without a user".into()))
    }

    fn slot(&self, offset: usize, names: &[Box<str>], name: &str, what: &str) -> Result<Value, Error> {
        let at = names.iter().position(|n| **n == *name).ok_or_else(|| {
            fail(format!("{what}: the name must be a string constant, {name:?} was not known at compile time"))
        })?;
        Ok(self.slots.get(offset + at).cloned().unwrap_or(Value::UNDEFINED))
    }

    pub fn attr(&self, name: &str) -> Result<Value, Error> {
        self.slot(self.plan.vars.len(), &self.plan.attr, name, "attr")
    }

    pub fn values(&self, name: &str) -> Result<Value, Error> {
        let p = &self.plan;
        self.slot(p.vars.len() + p.attr.len(), &p.values, name, "values")
    }

    pub fn member_of(&self, group: &str, direct: bool) -> Result<bool, Error> {
        let p = &self.plan;
        let offset = p.vars.len() + p.attr.len() + p.values.len();
        let value = match direct {
            false => self.slot(offset, &p.groups, group, "member_of")?,
            true => self.slot(offset + p.groups.len(), &p.direct_groups, group, "member_of_direct")?,
        };
        Ok(value.is_true())
    }

    pub fn regex(&self, pattern: &str) -> Result<&Regex, Error> {
        self.plan
            .regexes
            .iter()
            .find(|(p, _)| **p == *pattern)
            .map(|(_, r)| r)
            .ok_or_else(|| fail("regex_replace: the pattern must be a string constant".into()))
    }
}
