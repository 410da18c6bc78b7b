//! PURE: the SCIM user we want (or found), as a small set of managed fields.
//!
//! Fields are [`Field`] handles rather than free strings so the planner can diff them, the
//! wire code can place each one (core, extensions, multi-valued `emails[type eq "work"]`,
//! see [`super::attribute`]), and nothing the mapping does not manage is ever sent
//! (scim2-server rejects unknown attributes).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

pub use super::attribute::Field;

/// A user as SCIM sees it: managed fields (absent = empty) and the active flag.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimUser {
    pub fields: Fields,
    pub active: bool,
    /// Fields a mapping said to leave alone for this user (`omit()`): never sent, and an
    /// update leaves the target's value as it is. Only a desired user has any; not stored.
    #[serde(skip)]
    pub omitted: Box<[Field]>,
}

impl ScimUser {
    pub fn get(&self, field: Field) -> Option<&str> {
        self.fields.get(field)
    }

    pub fn user_name(&self) -> &str {
        self.get(Field::UserName).unwrap_or("")
    }

    /// Keeps only `fields`: what a target returns beyond the managed attributes (its roles,
    /// an unmapped employee number) is not zoomsync's to compare, nor to clear.
    pub fn retain(&mut self, fields: &std::collections::BTreeSet<Field>) {
        if self.fields.iter().any(|(f, _)| !fields.contains(&f)) {
            self.fields = self.fields.iter().filter(|(f, _)| fields.contains(f)).collect();
        }
    }
}

/// One attribute change: the new value, or `None` to clear it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub field: Field,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// A user found on the target (from a create/update response, a lookup or a list).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteUser {
    /// The target's id (Zoom: 22 characters, may contain `&`).
    pub id: String,
    /// What the target returned. Fields it did not return are absent here, which for Zoom's
    /// trimmed list responses means "unknown", not "empty".
    pub user: ScimUser,
    /// Zoom role: owners and admins are never deactivated or deleted by zoomsync.
    pub privileged: bool,
    /// Zoom "pending": invited, not yet activated; cannot be deactivated.
    pub pending: bool,
    /// `externalId` as the target returned it (generic SCIM: the anchor zoomsync set; Zoom
    /// does not return one).
    pub external_id: Option<String>,
}

impl RemoteUser {
    /// Whether the user carries zoomsync's mark for this anchor (`externalId`, generic SCIM).
    pub fn marked_for(&self, anchor: &super::Anchor) -> bool {
        self.external_id.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(anchor.as_str()))
    }
}

/// A group found on (or created on) the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteGroup {
    pub id: String,
    pub display_name: String,
    /// Member user ids when the target lists them (generic SCIM servers do; Zoom's GET
    /// group does not), so a linked group's existing members can be taken into account.
    pub members: Option<Vec<String>>,
    /// `externalId` as the target returned it: on the generic profile, the directory group's
    /// anchor marks a group zoomsync created (Zoom keeps no group externalId).
    pub external_id: Option<String>,
}

impl RemoteGroup {
    /// Whether the group carries zoomsync's mark for this directory group: created by it.
    pub fn marked_for(&self, anchor: &super::Anchor) -> bool {
        self.external_id.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(anchor.as_str()))
    }
}

/// One membership PATCH: only adds or only removes (Zoom documents each PatchOp shape on its
/// own), of target user ids. `scim::group_body::member_batches` keeps each body under the limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberPatch {
    Add(Vec<String>),
    Remove(Vec<String>),
}

impl MemberPatch {
    pub fn ids(&self) -> &[String] {
        match self {
            Self::Add(ids) | Self::Remove(ids) => ids,
        }
    }
}

/// A user's managed field values, stored compactly.
///
/// One text buffer holds every value back to back and a small index says where each ends:
/// two allocations per user instead of a map node plus one string per field. At 1,000,000
/// users that is the difference between fitting the plan in 1 GiB or not (BENCHMARKS.md).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Fields {
    /// Values back to back, in `index` order.
    text: Box<str>,
    /// (field, end offset in `text`), sorted by field.
    index: Box<[(Field, u32)]>,
}

impl Fields {
    pub fn get(&self, field: Field) -> Option<&str> {
        let at = self.index.binary_search_by(|(f, _)| f.cmp(&field)).ok()?;
        let start = if at == 0 { 0 } else { self.index[at - 1].1 as usize };
        self.text.get(start..self.index[at].1 as usize)
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    pub fn contains(&self, field: Field) -> bool {
        self.get(field).is_some()
    }

    /// `(field, value)` in field order.
    pub fn iter(&self) -> impl Iterator<Item = (Field, &str)> {
        let mut start = 0usize;
        self.index.iter().map(move |&(f, end)| {
            let value = self.text.get(start..end as usize).unwrap_or("");
            start = end as usize;
            (f, value)
        })
    }

    /// Sets a value (rebuilds the buffer: fine for the handful of edits a user gets).
    pub fn insert(&mut self, field: Field, value: String) {
        let mut all: BTreeMap<Field, String> = self.iter().map(|(f, v)| (f, v.to_string())).collect();
        all.insert(field, value);
        *self = all.into_iter().collect();
    }

    pub fn remove(&mut self, field: Field) -> Option<String> {
        let old = self.get(field).map(String::from)?;
        *self = self.iter().filter(|(f, _)| *f != field).map(|(f, v)| (f, v.to_string())).collect();
        Some(old)
    }
}

impl<S: AsRef<str>> FromIterator<(Field, S)> for Fields {
    /// Later values for the same field win; the result is sorted by field.
    fn from_iter<I: IntoIterator<Item = (Field, S)>>(iter: I) -> Self {
        let sorted: BTreeMap<Field, S> = iter.into_iter().collect();
        let mut text = String::with_capacity(sorted.values().map(|v| v.as_ref().len()).sum());
        let mut index = Vec::with_capacity(sorted.len());
        for (f, v) in &sorted {
            text.push_str(v.as_ref());
            index.push((*f, text.len() as u32));
        }
        Self { text: text.into_boxed_str(), index: index.into_boxed_slice() }
    }
}

impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for Fields {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(BTreeMap::<Field, String>::deserialize(deserializer)?.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_insert_remove_iterate() {
        let mut f: Fields =
            [(Field::Title, "Eng"), (Field::UserName, "a@x.com"), (Field::Title, "Mgr")].into_iter().collect();
        assert_eq!(f.get(Field::Title), Some("Mgr"));
        assert_eq!(f.get(Field::UserName), Some("a@x.com"));
        assert_eq!(f.get(Field::GivenName), None);
        f.insert(Field::GivenName, "Ann".into());
        f.insert(Field::Title, String::new());
        assert_eq!(
            f.iter().collect::<Vec<_>>(),
            vec![(Field::UserName, "a@x.com"), (Field::GivenName, "Ann"), (Field::Title, "")]
        );
        assert_eq!(f.remove(Field::UserName).as_deref(), Some("a@x.com"));
        assert_eq!(f.remove(Field::UserName), None);
        assert_eq!(f.len(), 2);
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(json, r#"{"givenName":"Ann","title":""}"#);
        assert_eq!(serde_json::from_str::<Fields>(&json).unwrap(), f);
        assert!(Fields::default().is_empty());
    }
}
