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
use super::wire_path;
use crate::model::Anchor;
use crate::model::{Change, ScimUser};

/// Every schema the object uses: core, then the extensions present.
fn schemas(obj: &Map<String, Value>) -> Value {
    let mut out = vec![json!(CORE_USER)];
    out.extend(obj.keys().filter(|k| k.to_ascii_lowercase().starts_with("urn:")).map(|k| json!(k)));
    Value::Array(out)
}

/// POST /Users. `anchor` goes out as `externalId` only when given (generic profile).
pub fn create_body(user: &ScimUser, anchor: Option<&Anchor>, always_enterprise: bool) -> Value {
    let mut obj = Map::new();
    for (field, value) in user.fields.iter() {
        if !value.is_empty() {
            wire_path::write(&mut obj, field, Some(value));
        }
    }
    obj.insert("active".into(), json!(user.active));
    if let Some(a) = anchor {
        obj.insert("externalId".into(), json!(a.as_str()));
    }
    if always_enterprise {
        obj.entry(ENTERPRISE).or_insert_with(|| json!({}));
    }
    obj.insert("schemas".into(), schemas(&obj));
    Value::Object(obj)
}

/// Zoom PUT: `schemas` plus only the changed attributes; a cleared one is sent empty. A
/// PUT replaces a multi-valued attribute's whole list, so the changes carry the unchanged
/// entries zoomsync manages beside a changed one (`plan::diff::with_list_entries`).
pub fn zoom_put_body(changes: &[Change]) -> Value {
    let mut obj = Map::new();
    for c in changes {
        wire_path::write(&mut obj, c.field, c.new.as_deref().filter(|v| !v.is_empty()));
    }
    obj.insert("schemas".into(), schemas(&obj));
    Value::Object(obj)
}

/// One PATCH operation for one change (RFC 7644 §3.5.2).
fn patch_op(c: &Change) -> Value {
    let new = c.new.as_deref().filter(|v| !v.is_empty());
    let old = c.old.as_deref().filter(|v| !v.is_empty());
    let path = c.field.path();
    let attr = match path.schema {
        Some(urn) => format!("{urn}:{}", path.attr),
        None => path.attr.to_string(),
    };
    match (path.filter, new) {
        // A valuePath `replace` fails with noTarget when no such entry exists yet: add one.
        (Some(_), Some(v)) if old.is_none() => {
            json!({"op": "add", "path": attr, "value": [wire_path::new_entry(c.field, v)]})
        }
        // Removing only `.value` would leave an empty entry behind: remove the entry.
        (Some((fa, fv)), None) => json!({"op": "remove", "path": format!("{attr}[{fa} eq \"{fv}\"]")}),
        (_, Some(v)) => {
            json!({"op": "replace", "path": c.field.scim_path(), "value": wire_path::typed(c.field, Some(v))})
        }
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
    use crate::model::Field;

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
