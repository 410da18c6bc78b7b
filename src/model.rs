//! Domain types shared by every step: what the directory says a user is.
//!
//! Pure data: no I/O, no async. Everything downstream (map, plan, state) keys on [`Anchor`],
//! the directory's immutable identifier, never on mail or DN, so renames stay updates.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The directory's immutable id for an entry: `entryUUID` (OpenLDAP), `objectGUID` in AD's
/// text form, or a configured attribute. Stored lower-cased so comparisons are exact.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Anchor(String);

impl Anchor {
    /// Builds an anchor from its text form; returns `None` for an empty value.
    pub fn new(text: &str) -> Option<Self> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            None
        } else {
            Some(Self(trimmed.to_ascii_lowercase()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Anchor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One directory entry as read off the wire or out of an LDIF file, before any decision.
///
/// Attribute names are lower-cased (LDAP names are case-insensitive); values are raw bytes
/// because some (objectGUID) are binary. Options such as `;binary` are kept in the name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawEntry {
    pub dn: String,
    pub attrs: BTreeMap<String, Vec<Vec<u8>>>,
}

impl RawEntry {
    pub fn new(dn: impl Into<String>) -> Self {
        Self { dn: dn.into(), attrs: BTreeMap::new() }
    }

    /// Adds one value; the name is lower-cased here so callers need not care.
    pub fn push(&mut self, name: &str, value: Vec<u8>) {
        self.attrs.entry(name.to_ascii_lowercase()).or_default().push(value);
    }

    /// All values of an attribute (name matched case-insensitively).
    pub fn values(&self, name: &str) -> &[Vec<u8>] {
        self.attrs.get(&name.to_ascii_lowercase()).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The first value as UTF-8 text, trimmed; `None` when absent, empty or not text.
    pub fn first_text(&self, name: &str) -> Option<&str> {
        self.values(name)
            .first()
            .and_then(|v| std::str::from_utf8(v).ok())
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
}

/// A directory user after decode: identity settled, attributes kept as text for mapping.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryUser {
    pub anchor: Anchor,
    pub dn: String,
    /// The value that becomes Zoom's `userName` (login e-mail), lower-cased.
    pub user_name: String,
    /// True when the directory marks the account disabled (UAC bit, lock, configured value).
    pub disabled: bool,
    /// Text attributes (lower-cased names) that mapping may use. The anchor's binary form is
    /// not repeated here.
    pub attrs: BTreeMap<String, Vec<String>>,
}

impl DirectoryUser {
    /// The first value of a text attribute, if any.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .get(&name.to_ascii_lowercase())
            .and_then(|v| v.first())
            .map(String::as_str)
    }
}

/// An entry decode refused, with enough for an operator to find and fix it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    pub dn: String,
    /// The anchor when one could be read: such an entry is present-but-unreadable, so the
    /// planner must never treat its user as deleted.
    pub anchor: Option<Anchor>,
    pub reason: String,
}
