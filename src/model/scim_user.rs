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

/// A user's managed field values, stored compactly: one allocation per user, two words.
///
/// One `Box<str>` holds a small header, then every value back to back. The header lists each
/// entry's field and the byte length of its value, in field order, preceded by the header's
/// own length; every number is written in 6-bit digits, least significant first, a digit
/// with 0x40 added meaning "more follow". Every header byte is ASCII, so the whole is one
/// valid `str` and a value is a plain slice of it. With the catalogue's fields (indexes below
/// 64) and values under 64 bytes an entry costs two bytes. At 1,000,000 users one buffer
/// instead of a text and an index is 16 bytes less in every record and mapped user, and one
/// allocation less per mapped user (BENCHMARKS.md, "Plan").
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Fields(Box<str>);

/// Bytes `n` takes in 6-bit digits.
fn digits(mut n: usize) -> usize {
    let mut width = 1;
    while n >= 0x40 {
        n >>= 6;
        width += 1;
    }
    width
}

fn put(out: &mut String, mut n: usize) {
    while n >= 0x40 {
        out.push(char::from(0x40 | (n & 0x3f) as u8));
        n >>= 6;
    }
    out.push(char::from(n as u8));
}

/// The number at `*at` in `bytes`, moving `*at` past it.
fn take(bytes: &[u8], at: &mut usize) -> usize {
    let mut n = 0usize;
    let mut shift = 0u32;
    while let Some(&b) = bytes.get(*at) {
        *at += 1;
        n |= usize::from(b & 0x3f).checked_shl(shift).unwrap_or(0);
        if b & 0x40 == 0 {
            break;
        }
        shift += 6;
    }
    n
}

impl Fields {
    pub fn get(&self, field: Field) -> Option<&str> {
        self.iter().take_while(|(f, _)| *f <= field).find(|(f, _)| *f == field).map(|(_, v)| v)
    }

    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, field: Field) -> bool {
        self.get(field).is_some()
    }

    /// `(field, value)` in field order.
    pub fn iter(&self) -> impl Iterator<Item = (Field, &str)> {
        let bytes = self.0.as_bytes();
        let mut at = 0;
        let header_len = take(bytes, &mut at);
        let header_end = at + header_len;
        let mut start = header_end;
        std::iter::from_fn(move || {
            if at >= header_end {
                return None;
            }
            let field = Field::from_index(take(bytes, &mut at));
            let end = start + take(bytes, &mut at);
            let value = self.0.get(start..end).unwrap_or("");
            start = end;
            Some((field, value))
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
        if sorted.is_empty() {
            return Self::default();
        }
        let entry = |f: &Field, v: &S| digits(f.index()) + digits(v.as_ref().len());
        let header_len: usize = sorted.iter().map(|(f, v)| entry(f, v)).sum();
        let text_len: usize = sorted.values().map(|v| v.as_ref().len()).sum();
        let mut out = String::with_capacity(digits(header_len) + header_len + text_len);
        put(&mut out, header_len);
        for (f, v) in &sorted {
            put(&mut out, f.index());
            put(&mut out, v.as_ref().len());
        }
        for v in sorted.values() {
            out.push_str(v.as_ref());
        }
        Self(out.into_boxed_str())
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

    /// Two words, one allocation: a record's `not_kept` and a mapped user's fields are
    /// 16 bytes each, and an empty set allocates nothing.
    #[test]
    fn fields_are_one_boxed_str() {
        assert_eq!(std::mem::size_of::<Fields>(), 16);
        assert_eq!(std::mem::size_of::<ScimUser>(), 40);
        let empty: Fields = std::iter::empty::<(Field, &str)>().collect();
        assert_eq!(empty, Fields::default());
        assert!(empty.is_empty() && empty.0.is_empty());
        let one: Fields = [(Field::Title, "")].into_iter().collect();
        assert!(!one.is_empty());
        assert_eq!((one.len(), one.get(Field::Title)), (1, Some("")));
    }

    /// Long values and fields past the catalogue need more than one digit in the header;
    /// multi-byte text is sliced on its own boundaries.
    #[test]
    fn long_values_high_fields_and_any_text() {
        let custom: Vec<Field> = (0..10)
            .map(|i| Field::resolve(&format!("urn:ietf:params:scim:schemas:extension:acme:2.0:User:fieldsTest{i}")))
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(custom.iter().any(|f| f.index() >= 64), "two digits");
        let long = "é".repeat(40_000);
        let mut model = BTreeMap::new();
        model.insert(Field::UserName, "a@x.com".to_string());
        model.insert(Field::DisplayName, "x".repeat(63));
        model.insert(Field::Title, "y".repeat(64));
        model.insert(Field::Department, "Straße 東京".to_string());
        model.insert(Field::WorkPhone, String::new());
        for (i, f) in custom.iter().enumerate() {
            model.insert(*f, if i == 7 { long.clone() } else { format!("v{i}") });
        }
        let fields: Fields = model.iter().rev().map(|(f, v)| (*f, v.as_str())).collect();
        let back: BTreeMap<Field, String> = fields.iter().map(|(f, v)| (f, v.to_string())).collect();
        assert_eq!(back, model);
        assert_eq!(fields.len(), model.len());
        for (f, v) in &model {
            assert_eq!(fields.get(*f), Some(v.as_str()), "{f:?}");
        }
        assert_eq!(fields.get(Field::GivenName), None);
        let json = serde_json::to_string(&fields).unwrap();
        assert_eq!(serde_json::from_str::<Fields>(&json).unwrap(), fields);
    }

    proptest::proptest! {
        /// Whatever is put in comes back, in field order, the last value of a field
        /// winning, and equal sets are equal whatever order they were built in.
        #[test]
        fn fields_behave_like_a_sorted_map(
            entries in proptest::collection::vec((0usize..57, "\\PC{0,90}"), 0..20),
            edit in (0usize..57, "\\PC{0,8}"),
        ) {
            let field = |i: usize| Field::catalogue().nth(i).unwrap();
            let model: BTreeMap<Field, String> = entries.iter().map(|(i, v)| (field(*i), v.clone())).collect();
            let mut fields: Fields = entries.iter().map(|(i, v)| (field(*i), v.as_str())).collect();
            let got: Vec<(Field, &str)> = fields.iter().collect();
            let want: Vec<(Field, &str)> = model.iter().map(|(f, v)| (*f, v.as_str())).collect();
            proptest::prop_assert_eq!(got, want);
            let reversed: Fields = model.iter().rev().map(|(f, v)| (*f, v.as_str())).collect();
            proptest::prop_assert_eq!(&reversed, &fields);
            for i in 0..57 {
                proptest::prop_assert_eq!(fields.get(field(i)), model.get(&field(i)).map(String::as_str));
            }
            let mut model = model;
            model.insert(field(edit.0), edit.1.clone());
            fields.insert(field(edit.0), edit.1.clone());
            let removed = fields.remove(Field::UserName);
            proptest::prop_assert_eq!(removed, model.remove(&Field::UserName));
            let got: BTreeMap<Field, String> = fields.iter().map(|(f, v)| (f, v.to_string())).collect();
            proptest::prop_assert_eq!(got, model);
        }
    }
}
