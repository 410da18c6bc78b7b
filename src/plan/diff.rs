//! PURE: payload fingerprints and attribute changes.

use std::collections::BTreeSet;

use crate::model::{Change, Field, Fields, ScimUser};

/// A stable 64-bit fingerprint (FNV-1a over a canonical encoding) of the fields zoomsync
/// keeps in step. Stored in state, so it must never change between versions: std's hasher
/// makes no such promise. Fields in `exclude` (only-on-create) do not count.
pub fn fingerprint(user: &ScimUser, exclude: &BTreeSet<Field>) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(PRIME);
        }
    };
    for (field, value) in user.fields.iter() {
        if exclude.contains(&field) {
            continue;
        }
        eat(field.config_name().as_bytes());
        eat(&[0xfe]);
        eat(value.as_bytes());
        eat(&[0xff]);
    }
    eat(if user.active { b"A" } else { b"I" });
    hash
}

/// The attribute changes that take `pushed` to `desired`, leaving out only-on-create fields
/// and values the target already refused to keep (`refused`: field -> the value asked for,
/// `KnownUser::refused_values`), while the directory still asks for that same value.
pub fn changes(pushed: &ScimUser, desired: &ScimUser, create_only: &BTreeSet<Field>, refused: &Fields) -> Vec<Change> {
    let mut fields: Vec<Field> = pushed.fields.iter().chain(desired.fields.iter()).map(|(f, _)| f).collect();
    fields.sort_unstable();
    fields.dedup();
    fields
        .into_iter()
        .filter(|f| !create_only.contains(f) && !desired.omitted.contains(f))
        .filter(|f| refused.get(*f).is_none_or(|asked| desired.get(*f) != Some(asked)))
        .filter_map(|field| {
            let old = pushed.get(field);
            let new = desired.get(field);
            let same = match (old, new) {
                (Some(a), Some(b)) => field.same(a, b),
                (a, b) => a == b,
            };
            (!same).then(|| Change { field, old: old.map(String::from), new: new.map(String::from) })
        })
        .collect()
}

/// `changes` plus, beside each changed entry of a multi-valued attribute
/// (`phoneNumbers[type eq "mobile"]`), the unchanged entries `desired` has in the same list,
/// as changes to the same value: a Zoom PUT replaces the whole list, and would otherwise
/// drop the work phone when the mobile one changes.
pub fn with_list_entries(changes: &[Change], desired: &ScimUser) -> Vec<Change> {
    let mut out = changes.to_vec();
    for c in changes.iter().filter(|c| c.field.path().filter.is_some()) {
        let (schema, attr) = (c.field.path().schema, c.field.path().attr);
        for (field, value) in desired.fields.iter() {
            let p = field.path();
            let sibling = p.filter.is_some() && p.attr == attr && p.schema == schema;
            if sibling && !out.iter().any(|o| o.field == field) {
                out.push(Change { field, old: Some(value.to_string()), new: Some(value.to_string()) });
            }
        }
    }
    out
}

/// `pushed` with `changes` applied (what the target holds after a successful update).
pub fn apply_changes(pushed: &ScimUser, changes: &[Change]) -> ScimUser {
    let mut out = pushed.clone();
    for c in changes {
        match &c.new {
            Some(v) => out.fields.insert(c.field, v.clone()),
            None => {
                out.fields.remove(c.field);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(pairs: &[(Field, &str)], active: bool) -> ScimUser {
        ScimUser { fields: pairs.iter().map(|(f, v)| (*f, *v)).collect(), active, ..Default::default() }
    }

    #[test]
    fn fingerprint_is_stable_and_sensitive() {
        let a = user(&[(Field::UserName, "a@example.com"), (Field::Title, "Eng")], true);
        // A fixed value: if this changes, every stored user would look changed after an upgrade.
        assert_eq!(fingerprint(&a, &BTreeSet::new()), fingerprint(&a.clone(), &BTreeSet::new()));
        assert_eq!(fingerprint(&ScimUser::default(), &BTreeSet::new()), 0xaf64_044c_8602_3084);
        let b = user(&[(Field::UserName, "a@example.com"), (Field::Title, "Mgr")], true);
        assert_ne!(fingerprint(&a, &BTreeSet::new()), fingerprint(&b, &BTreeSet::new()));
        let inactive = user(&[(Field::UserName, "a@example.com"), (Field::Title, "Eng")], false);
        assert_ne!(fingerprint(&a, &BTreeSet::new()), fingerprint(&inactive, &BTreeSet::new()));
        let only_title: BTreeSet<Field> = [Field::Title].into();
        assert_eq!(fingerprint(&a, &only_title), fingerprint(&b, &only_title));
        // Field boundaries matter: "ab"+"c" is not "a"+"bc".
        let x = user(&[(Field::GivenName, "ab"), (Field::FamilyName, "c")], true);
        let y = user(&[(Field::GivenName, "a"), (Field::FamilyName, "bc")], true);
        assert_ne!(fingerprint(&x, &BTreeSet::new()), fingerprint(&y, &BTreeSet::new()));
    }

    #[test]
    fn changes_table() {
        let none = BTreeSet::new();
        let old = user(&[(Field::UserName, "a@x.com"), (Field::Title, "Eng"), (Field::Department, "R&D")], true);
        let new = user(&[(Field::UserName, "b@x.com"), (Field::Title, "Eng"), (Field::WorkPhone, "+1 555")], true);
        let nothing = Fields::default();
        let c = changes(&old, &new, &none, &nothing);
        let fields: Vec<Field> = c.iter().map(|c| c.field).collect();
        assert_eq!(fields, vec![Field::UserName, Field::WorkPhone, Field::Department]);
        assert_eq!(c[2].new, None, "a cleared department is a change to nothing");
        assert_eq!(apply_changes(&old, &c), new);
        let only_dept: BTreeSet<Field> = [Field::Department].into();
        assert_eq!(changes(&old, &new, &only_dept, &nothing).len(), 2);
        let refused = |f: Field, v: &str| -> Fields { [(f, v)].into_iter().collect() };
        assert!(
            changes(&old, &new, &none, &refused(Field::UserName, "b@x.com")).iter().all(|c| c.field != Field::UserName)
        );
        assert!(
            changes(&old, &new, &none, &refused(Field::UserName, "c@x.com")).iter().any(|c| c.field == Field::UserName)
        );
        let phone = changes(&old, &new, &none, &refused(Field::WorkPhone, "+1 555"));
        assert!(phone.iter().all(|c| c.field != Field::WorkPhone), "a value the target did not keep is not re-sent");
        assert!(
            changes(&old, &new, &none, &refused(Field::WorkPhone, "+1 556"))
                .iter()
                .any(|c| c.field == Field::WorkPhone)
        );
    }
}
