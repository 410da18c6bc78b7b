//! The vocabulary every step shares: what the directory says a user is (this file), the SCIM
//! user we want ([`scim_user`]), the records of what was pushed and decided ([`record`]) and
//! the LDAP filter type ([`ldap_filter`]).
//!
//! Pure data: no I/O, no async, and no import of any other module of this crate: it is the
//! bottom layer (the rule is stated in `lib.rs` and checked by its layering test). Everything downstream (map, plan, state) keys on [`Anchor`],
//! the directory's immutable identifier, never on mail or DN, so renames stay updates.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub mod attribute;
pub mod dn;
pub mod ldap_filter;
pub mod printable;
pub mod record;
pub mod scim_user;

pub use dn::{DnIndex, DnMap, is_under, normalize_dn};
pub use ldap_filter::Filter;
pub use printable::printable;
pub use record::*;
pub use scim_user::{Change, Field, Fields, MemberPatch, RemoteGroup, RemoteUser, ScimUser};

/// A map for one process's work over the directory's anchors and names (the read's duplicate
/// check, the mapping memo, the plan's departures, decode's kept attribute names): foldhash
/// with a per-process seed rather than the standard SipHash, which was about 6% of a
/// 100,000-user no-change cycle (BENCHMARKS.md, "expression mapping"). The keys are the
/// directory server's anchors and names, and a flood of colliding keys would cost time,
/// never a wrong answer.
pub type QuickMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
/// The set counterpart of [`QuickMap`].
pub type QuickSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

/// The directory's immutable id for an entry: `entryUUID` (OpenLDAP), `objectGUID` in AD's
/// text form, or a configured attribute. Stored lower-cased so comparisons are exact.
///
/// A boxed `str`, not a `String`: an anchor never grows, and every user carries two or three
/// (its record, the state map's key, the mapped user), so the 8 bytes of capacity it does
/// not need are 24 bytes a user, 40 MiB of the 1,000,000-user plan (BENCHMARKS.md, "Plan").
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Anchor(Box<str>);

impl Anchor {
    /// Builds an anchor from its text form; returns `None` for an empty value.
    pub fn new(text: &str) -> Option<Self> {
        let trimmed = text.trim();
        if trimmed.is_empty() { None } else { Some(Self(trimmed.to_ascii_lowercase().into_boxed_str())) }
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
/// A small vector, not a map: entries carry a dozen attributes, and a linear scan with
/// case-insensitive compare allocates nothing per lookup.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawEntry {
    pub dn: String,
    pub attrs: Vec<(String, Vec<Vec<u8>>)>,
}

impl RawEntry {
    pub fn new(dn: impl Into<String>) -> Self {
        Self { dn: dn.into(), attrs: Vec::new() }
    }

    /// Adds one value; the name is lower-cased here so callers need not care.
    pub fn push(&mut self, name: &str, value: Vec<u8>) {
        match self.attrs.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some((_, values)) => values.push(value),
            None => self.attrs.push((name.to_ascii_lowercase(), vec![value])),
        }
    }

    /// Replaces an attribute's values (`None` removes it).
    pub fn set(&mut self, name: &str, value: Option<&str>) {
        self.attrs.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        if let Some(v) = value {
            self.attrs.push((name.to_ascii_lowercase(), vec![v.as_bytes().to_vec()]));
        }
    }

    /// All values of an attribute (name matched case-insensitively).
    pub fn values(&self, name: &str) -> &[Vec<u8>] {
        self.attrs.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice()).unwrap_or(&[])
    }

    /// The first value as UTF-8 text, trimmed; `None` when absent, empty or not text.
    pub fn first_text(&self, name: &str) -> Option<&str> {
        self.values(name).first().and_then(|v| std::str::from_utf8(v).ok()).map(str::trim).filter(|s| !s.is_empty())
    }
}

/// A directory user after decode: identity settled, attributes kept as text for mapping.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DirectoryUser {
    pub anchor: Anchor,
    pub dn: String,
    /// The value that becomes Zoom's `userName` (login e-mail), lower-cased.
    pub user_name: String,
    /// True when the directory marks the account disabled (UAC bit, lock, configured value).
    pub disabled: bool,
    /// Text attributes that mapping may use. The anchor's binary form is not repeated here.
    pub attrs: Attributes,
}

impl DirectoryUser {
    /// The first value of a text attribute, if any.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.first(name)
    }
}

/// A user's text attributes, stored compactly: one copy of each attribute *name* for the
/// whole directory (shared `Arc<str>`) and, per user, one buffer holding every value, so a
/// decoded user costs two allocations however many values it has. Each value's own
/// allocation was a fifth of a 100,000-user no-change cycle's allocator time, paid again to
/// free it (BENCHMARKS.md, "expression mapping"). Names are lower-case; values of one
/// attribute are adjacent, in server order.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Attributes {
    /// Each value's attribute name and the end of its text in `text`.
    names: Vec<(Arc<str>, usize)>,
    /// Every value, one after another.
    text: String,
}

impl Attributes {
    /// Room for `values` values of `bytes` bytes in all (decode knows both up front).
    pub fn with_capacity(values: usize, bytes: usize) -> Self {
        Self { names: Vec::with_capacity(values), text: String::with_capacity(bytes) }
    }

    /// Appends a value; `name` must already be lower-case (decode shares one `Arc` per name).
    pub fn push(&mut self, name: Arc<str>, value: &str) {
        self.text.push_str(value);
        self.names.push((name, self.text.len()));
    }

    /// The first value of an attribute (name matched case-insensitively).
    pub fn first(&self, name: &str) -> Option<&str> {
        self.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }

    /// All values of an attribute.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }

    /// `(name, value)` pairs, values of one name adjacent.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let starts = std::iter::once(0).chain(self.names.iter().map(|(_, end)| *end));
        self.names.iter().zip(starts).map(|((name, end), start)| (&**name, &self.text[start..*end]))
    }

    pub fn contains(&self, name: &str) -> bool {
        self.first(name).is_some()
    }
}

impl std::fmt::Debug for Attributes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Attributes {
    /// As a map of name -> list of values, the shape people expect in a dump.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut grouped: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (n, v) in self.iter() {
            grouped.entry(n).or_default().push(v);
        }
        grouped.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Attributes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let grouped: BTreeMap<String, Vec<String>> = BTreeMap::deserialize(deserializer)?;
        let mut attrs = Attributes::default();
        for (name, values) in grouped {
            let name: Arc<str> = name.to_ascii_lowercase().into();
            for v in values {
                attrs.push(name.clone(), &v);
            }
        }
        Ok(attrs)
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

/// What cross-entry checks (duplicates) need from a user, whatever stage it is at.
pub trait Identity {
    fn anchor(&self) -> &Anchor;
    fn dn(&self) -> &str;
    fn user_name(&self) -> &str;
}

impl Identity for DirectoryUser {
    fn anchor(&self) -> &Anchor {
        &self.anchor
    }
    fn dn(&self) -> &str {
        &self.dn
    }
    fn user_name(&self) -> &str {
        &self.user_name
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// Two words, not three: the anchor is in every record, mapped user and state map key.
    #[test]
    fn an_anchor_is_a_lower_cased_boxed_str_stored_as_a_plain_string() {
        assert_eq!(std::mem::size_of::<Anchor>(), 16);
        assert_eq!(std::mem::size_of::<Option<Anchor>>(), 16);
        let a = Anchor::new("  7B01-1041-92B7 ").unwrap();
        assert_eq!((a.as_str(), a.to_string()), ("7b01-1041-92b7", "7b01-1041-92b7".to_string()));
        assert_eq!(Anchor::new(" \t "), None);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, r#""7b01-1041-92b7""#);
        assert_eq!(serde_json::from_str::<Anchor>(&json).unwrap(), a);
        let map: HashMap<Anchor, u8> = [(a.clone(), 1)].into_iter().collect();
        assert_eq!(map.get(&Anchor::new("7b01-1041-92B7").unwrap()), Some(&1));
    }
}
