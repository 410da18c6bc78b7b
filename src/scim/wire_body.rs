//! PURE: request bodies of the two wire profiles.
//!
//! - `zoom`: create = POST core + enterprise schemas, never `externalId` (Zoom's
//!   `externalId eq` means Zoom's own id); update = PUT with `schemas` and only the changed
//!   attributes (Zoom's PUT is a partial update), a cleared attribute sent as "".
//! - `scim` (RFC 7644): create carries `externalId` = anchor (an adopted user gets it by a
//!   PATCH of its own); update = PATCH with one operation per change at [`Field::scim_path`].
//!
//! Only managed attributes are ever sent (scim2-server rejects unknown ones with 400).

use serde_json::{Map, Value, json};

use super::wire::{CORE_USER, ENTERPRISE, PATCH_OP};
use crate::model::Anchor;
use crate::model::{Change, Field, ScimUser};

/// Multi-valued attribute holding a `work` entry, for the fields that live in one.
fn multi_valued(field: Field) -> Option<&'static str> {
    match field {
        Field::WorkEmail => Some("emails"),
        Field::WorkPhone => Some("phoneNumbers"),
        _ => None,
    }
}

fn work_entry(field: Field, value: &str) -> Value {
    match field {
        Field::WorkEmail => json!({"type": "work", "value": value, "primary": true}),
        _ => json!({"type": "work", "value": value}),
    }
}

/// Sets `field` in a resource object; `None` = the profile's "cleared" form (Zoom: "").
fn put_field(obj: &mut Map<String, Value>, field: Field, value: Option<&str>) {
    let text = json!(value.unwrap_or(""));
    let mut nested = |outer: &str, inner: &str| {
        let slot = obj.entry(outer).or_insert_with(|| json!({}));
        if let Value::Object(m) = slot {
            m.insert(inner.to_string(), text.clone());
        }
    };
    match field {
        Field::GivenName => nested("name", "givenName"),
        Field::FamilyName => nested("name", "familyName"),
        Field::Department => nested(ENTERPRISE, "department"),
        Field::EmployeeNumber => nested(ENTERPRISE, "employeeNumber"),
        Field::UserName => {
            obj.insert("userName".into(), text);
        }
        Field::DisplayName => {
            obj.insert("displayName".into(), text);
        }
        Field::Title => {
            obj.insert("title".into(), text);
        }
        Field::WorkEmail | Field::WorkPhone => {
            let attr = multi_valued(field).unwrap_or("emails");
            // Clearing a multi-valued attribute is an empty list; "" would be a bad e-mail.
            let list = value.map_or_else(Vec::new, |v| vec![work_entry(field, v)]);
            obj.insert(attr.into(), Value::Array(list));
        }
    }
}

fn schemas(obj: &Map<String, Value>) -> Value {
    if obj.contains_key(ENTERPRISE) { json!([CORE_USER, ENTERPRISE]) } else { json!([CORE_USER]) }
}

/// POST /Users. `anchor` goes out as `externalId` only when given (generic profile).
pub fn create_body(user: &ScimUser, anchor: Option<&Anchor>, always_enterprise: bool) -> Value {
    let mut obj = Map::new();
    for (field, value) in user.fields.iter() {
        if !value.is_empty() {
            put_field(&mut obj, field, Some(value));
        }
    }
    obj.insert("active".into(), json!(user.active));
    if let Some(a) = anchor {
        obj.insert("externalId".into(), json!(a.as_str()));
    }
    let schemas = if always_enterprise { json!([CORE_USER, ENTERPRISE]) } else { schemas(&obj) };
    obj.insert("schemas".into(), schemas);
    Value::Object(obj)
}

/// Zoom PUT: `schemas` plus only the changed attributes; a cleared one is sent empty.
pub fn zoom_put_body(changes: &[Change]) -> Value {
    let mut obj = Map::new();
    for c in changes {
        put_field(&mut obj, c.field, c.new.as_deref().filter(|v| !v.is_empty()));
    }
    obj.insert("schemas".into(), schemas(&obj));
    Value::Object(obj)
}

/// One PATCH operation for one change (RFC 7644 §3.5.2).
fn patch_op(c: &Change) -> Value {
    let new = c.new.as_deref().filter(|v| !v.is_empty());
    let old = c.old.as_deref().filter(|v| !v.is_empty());
    match (multi_valued(c.field), new) {
        // A valuePath `replace` fails with noTarget when no work entry exists yet: add one.
        (Some(attr), Some(v)) if old.is_none() => {
            json!({"op": "add", "path": attr, "value": [work_entry(c.field, v)]})
        }
        // Removing only `.value` would leave an empty entry behind: remove the entry.
        (Some(attr), None) => json!({"op": "remove", "path": format!("{attr}[type eq \"work\"]")}),
        (_, Some(v)) => json!({"op": "replace", "path": c.field.scim_path(), "value": v}),
        (None, None) => json!({"op": "remove", "path": c.field.scim_path()}),
    }
}

/// Generic PATCH with one operation per change.
pub fn scim_patch_body(changes: &[Change]) -> Value {
    let ops: Vec<Value> = changes.iter().map(patch_op).collect();
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

/// Generic PATCH setting `externalId` (an adopted user gets the anchor a created one has).
pub fn external_id_body(anchor: &Anchor) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "externalId", "value": anchor.as_str()}]})
}

/// PATCH `active` — the one PATCH Zoom supports on users (capital-O `Operations`).
pub fn active_body(active: bool) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": active}]})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> ScimUser {
        let mut u = ScimUser { active: true, ..ScimUser::default() };
        for (f, v) in [
            (Field::UserName, "a@x.org"),
            (Field::GivenName, "Ann"),
            (Field::WorkEmail, "a@x.org"),
            (Field::WorkPhone, "+1 555"),
            (Field::Department, "R&D"),
            (Field::Title, ""),
        ] {
            u.fields.insert(f, v.to_string());
        }
        u
    }

    fn change(field: Field, old: Option<&str>, new: Option<&str>) -> Change {
        Change { field, old: old.map(str::to_string), new: new.map(str::to_string) }
    }

    #[test]
    fn zoom_create_has_both_schemas_and_no_external_id() {
        let b = create_body(&user(), None, true);
        assert_eq!(
            b,
            json!({"schemas": [CORE_USER, ENTERPRISE], "userName": "a@x.org", "active": true,
                "name": {"givenName": "Ann"},
                "emails": [{"type": "work", "value": "a@x.org", "primary": true}],
                "phoneNumbers": [{"type": "work", "value": "+1 555"}],
                ENTERPRISE: {"department": "R&D"}})
        );
    }

    #[test]
    fn scim_create_carries_the_anchor() {
        let anchor = Anchor::new("4C2D-01").unwrap();
        let mut u = user();
        u.fields.remove(Field::Department);
        let b = create_body(&u, Some(&anchor), false);
        assert_eq!(b["externalId"], "4c2d-01");
        assert_eq!(b["schemas"], json!([CORE_USER]));
    }

    #[test]
    fn zoom_put_sends_only_changes_and_clears_with_empty_string() {
        let b = zoom_put_body(&[
            change(Field::FamilyName, None, Some("Lee")),
            change(Field::Title, Some("Eng"), None),
            change(Field::EmployeeNumber, None, Some("7")),
            change(Field::WorkPhone, Some("1"), None),
        ]);
        assert_eq!(
            b,
            json!({"schemas": [CORE_USER, ENTERPRISE], "name": {"familyName": "Lee"}, "title": "",
                ENTERPRISE: {"employeeNumber": "7"}, "phoneNumbers": []})
        );
    }

    #[test]
    fn scim_patch_one_operation_per_change() {
        let b = scim_patch_body(&[
            change(Field::GivenName, Some("A"), Some("B")),
            change(Field::Title, Some("Eng"), None),
            change(Field::WorkPhone, None, Some("2")),
            change(Field::WorkPhone, Some("2"), Some("3")),
            change(Field::WorkEmail, Some("a@x"), None),
            change(Field::Department, None, Some("Ops")),
        ]);
        assert_eq!(
            b["Operations"],
            json!([
                {"op": "replace", "path": "name.givenName", "value": "B"},
                {"op": "remove", "path": "title"},
                {"op": "add", "path": "phoneNumbers", "value": [{"type": "work", "value": "2"}]},
                {"op": "replace", "path": "phoneNumbers[type eq \"work\"].value", "value": "3"},
                {"op": "remove", "path": "emails[type eq \"work\"]"},
                {"op": "replace", "path": Field::Department.scim_path(), "value": "Ops"},
            ])
        );
        assert_eq!(b["schemas"], json!([PATCH_OP]));
    }

    #[test]
    fn external_id_patch_sets_the_anchor() {
        let anchor = Anchor::new("4C2D-01").unwrap();
        assert_eq!(
            external_id_body(&anchor),
            json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "externalId", "value": "4c2d-01"}]})
        );
    }

    #[test]
    fn active_patch_is_zoom_shaped() {
        assert_eq!(
            active_body(false),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "active", "value": false}]})
        );
    }
}
