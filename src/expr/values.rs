//! Helpers every function shares: the error that rejects a user, reading a value as text
//! (missing stays missing), caseless comparison. A leaf: imports nothing of `expr`.

use std::borrow::Cow;

use minijinja::value::ValueKind;
use minijinja::{Error, ErrorKind, Value};

/// The global holding the null-safe ordering comparison the compiler rewrites `<`, `<=`,
/// `>`, `>=` into (see `rewrite`). Reserved: user names may not start with `__`.
pub(super) const CMP: &str = "__cmp";

/// An error that rejects the user, with the function's own message.
pub(super) fn fail(message: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, message)
}

/// The text of a value: `None` when missing (none or undefined); numbers and booleans as
/// they print; a list is an error naming the function.
pub(super) fn text<'a>(function: &str, value: &'a Value) -> Result<Option<Cow<'a, str>>, Error> {
    if value.is_undefined() || value.is_none() {
        return Ok(None);
    }
    if let Some(s) = value.as_str() {
        return Ok(Some(Cow::Borrowed(s)));
    }
    match value.kind() {
        ValueKind::Number | ValueKind::Bool => Ok(Some(value.to_string().into())),
        kind => {
            Err(fail(format!("{function}: expected text, got {kind} (pick one value with first, or join the list)")))
        }
    }
}

/// Unicode case-insensitive equality without allocating.
pub(super) fn caseless_eq(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    a.chars().flat_map(char::to_lowercase).eq(b.chars().flat_map(char::to_lowercase))
}
