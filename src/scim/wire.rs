//! PURE: SCIM user and group resources and list responses on the wire -> [`RemoteUser`],
//! [`RemoteGroup`].
//!
//! Only known [`Field`]s are read (see `wire_path`), and only when the target returned them: Zoom's
//! trimmed list resources lack most attributes, and "absent" must stay "unknown" there.
//! An empty string counts as absent, matching [`crate::model::ScimUser`] (absent = empty).

use serde_json::Value;

use super::wire_path;
use crate::model::{Field, RemoteGroup, RemoteUser, ScimUser};

pub const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub use crate::model::attribute::ENTERPRISE;
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Zoom's owner/admin roles (`roles[].value` or `display`), which zoomsync never
/// deactivates or deletes.
fn is_privileged(v: &Value) -> bool {
    let Some(roles) = v.get("roles").and_then(Value::as_array) else {
        return false;
    };
    roles.iter().any(|r| {
        ["value", "display"].iter().any(|k| {
            r.get(*k)
                .and_then(Value::as_str)
                .is_some_and(|s| s.eq_ignore_ascii_case("owner") || s.eq_ignore_ascii_case("admin"))
        })
    })
}

/// Zoom does not show pending users through SCIM today; read a `pending` status should a
/// target expose one (`userType`/`status` "pending"), so the flag is right when it does.
fn is_pending(v: &Value) -> bool {
    ["status", "userStatus"]
        .iter()
        .any(|k| v.get(*k).and_then(Value::as_str).is_some_and(|s| s.eq_ignore_ascii_case("pending")))
}

/// A user resource; `None` without a string `id`.
pub fn parse_user(v: &Value) -> Option<RemoteUser> {
    let id = v.get("id")?.as_str().filter(|s| !s.is_empty())?.to_string();
    let fields = Field::all().filter_map(|f| wire_path::read(v, f).map(|val| (f, val))).collect();
    Some(RemoteUser {
        id,
        user: ScimUser {
            fields,
            // RFC 7643: a user without the attribute is conventionally active.
            active: v.get("active").and_then(Value::as_bool).unwrap_or(true),
            ..Default::default()
        },
        privileged: is_privileged(v),
        pending: is_pending(v),
        external_id: external_id(v),
    })
}

/// `externalId`, when the resource carries a non-empty one.
fn external_id(v: &Value) -> Option<String> {
    v.get("externalId").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string)
}

/// The resources of a ListResponse and its `totalResults`; `None` when it is not one.
fn list_resources(v: &Value) -> Option<(&[Value], Option<u64>)> {
    let total = v.get("totalResults").and_then(Value::as_u64);
    let resources = match v.get("Resources") {
        Some(Value::Array(items)) => items.as_slice(),
        // RFC 7644: Resources may be left out when there are no results.
        None if total.is_some() => &[],
        _ => return None,
    };
    Some((resources, total))
}

/// One page of a ListResponse: the users and `totalResults`. `None` when it is not one.
pub fn parse_list(v: &Value) -> Option<(Vec<RemoteUser>, Option<u64>)> {
    let (resources, total) = list_resources(v)?;
    let users = resources.iter().map(parse_user).collect::<Option<Vec<_>>>()?;
    Some((users, total))
}

/// A group resource; `None` without a string `id`. `members` only when the resource has
/// the attribute (Zoom never shows it, so `None` there means "unknown", not "empty"); a
/// server that leaves out an empty `members` (scim2-server does) is read as unknown too,
/// which costs nothing: the engine then adds what is missing, as for Zoom. Members typed
/// `Group` (nested groups) are not user ids and are left out: zoomsync pushes flattened
/// user memberships and leaves a nested group it did not put there alone.
pub fn parse_group(v: &Value) -> Option<RemoteGroup> {
    let id = v.get("id")?.as_str().filter(|s| !s.is_empty())?.to_string();
    let display_name = v.get("displayName").and_then(Value::as_str).unwrap_or_default().to_string();
    let members = v.get("members").and_then(Value::as_array).map(|items| {
        items
            .iter()
            .filter(|m| !m.get("type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case("Group")))
            .filter_map(|m| m.get("value").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string))
            .collect()
    });
    Some(RemoteGroup { id, display_name, members, external_id: external_id(v) })
}

/// One page of a group ListResponse: the groups and `totalResults`. `None` when it is not one.
pub fn parse_group_list(v: &Value) -> Option<(Vec<RemoteGroup>, Option<u64>)> {
    let (resources, total) = list_resources(v)?;
    let groups = resources.iter().map(parse_group).collect::<Option<Vec<_>>>()?;
    Some((groups, total))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn full_zoom_user() {
        let v = json!({
            "id": "k&KdKr6TLWuxdDtk0hjSzL", "userName": "a@x.org",
            "name": {"givenName": "Ann", "familyName": ""}, "displayName": "Ann",
            "emails": [{"type": "work", "value": "a@x.org", "primary": true}],
            "phoneNumbers": [{"type": "home", "value": "1"}, {"type": "work", "value": "2"}],
            "title": "Eng", "active": false,
            "roles": [{"value": "Admin", "display": "Admin", "primary": true}],
            ENTERPRISE: {"department": "R&D", "employeeNumber": "42"}
        });
        let u = parse_user(&v).unwrap();
        assert_eq!(u.id, "k&KdKr6TLWuxdDtk0hjSzL");
        assert!(!u.user.active && u.privileged && !u.pending);
        assert_eq!(u.user.get(Field::FamilyName), None);
        assert_eq!(u.user.get(Field::WorkPhone), Some("2"));
        assert_eq!(u.user.get(Field::Department), Some("R&D"));
        assert_eq!(u.user.get(Field::EmployeeNumber), Some("42"));
        // Every catalogue attribute the resource carries is read (the engine keeps the
        // managed ones): here also the primary role.
        assert_eq!(u.user.get(Field::from_config_name("role").unwrap()), Some("Admin"));
        assert_eq!(u.user.fields.len(), 9);
    }

    #[test]
    fn trimmed_and_generic_shapes() {
        let trimmed = json!({"id": "z1", "userName": "b@x.org", "active": true,
            "roles": [{"value": "Member"}], ENTERPRISE: {"department": "Ops"}});
        let u = parse_user(&trimmed).unwrap();
        assert!(!u.privileged && u.user.active);
        assert_eq!(u.user.fields.len(), 2);
        assert_eq!(u.external_id, None);
        let generic =
            json!({"id": "g", "userName": "c", "externalId": "a-1", "emails": [{"value": "c@x.org", "primary": true}]});
        let u = parse_user(&generic).unwrap();
        assert_eq!(u.user.get(Field::WorkEmail), Some("c@x.org"));
        assert_eq!(u.external_id.as_deref(), Some("a-1"));
        assert!(u.user.active);
        assert_eq!(parse_user(&json!({"userName": "no id"})), None);
        assert!(parse_user(&json!({"id": "p", "status": "Pending"})).unwrap().pending);
    }

    #[test]
    fn list_pages() {
        let page = json!({"totalResults": 3, "itemsPerPage": 10, "Resources": [{"id": "a"}, {"id": "b"}]});
        let (users, total) = parse_list(&page).unwrap();
        assert_eq!((users.len(), total), (2, Some(3)));
        assert_eq!(parse_list(&json!({"totalResults": 0})).unwrap().0.len(), 0);
        assert_eq!(parse_list(&json!({"hello": 1})), None);
        assert_eq!(parse_list(&json!({"Resources": [{"noid": 1}]})), None);
    }

    #[test]
    fn groups_with_and_without_members() {
        let zoom = json!({"id": "g&1", "displayName": "Eng", "meta": {"resourceType": "Group"}});
        let g = parse_group(&zoom).unwrap();
        assert_eq!((g.id.as_str(), g.display_name.as_str(), g.members), ("g&1", "Eng", None));
        assert_eq!(g.external_id, None);
        let anchor = |a: &str| crate::model::Anchor::new(a).unwrap();
        let marked = parse_group(&json!({"id": "g", "externalId": "A-1"})).unwrap();
        assert!(marked.marked_for(&anchor("a-1")) && !marked.marked_for(&anchor("a-2")));
        assert!(!parse_group(&json!({"id": "g", "externalId": ""})).unwrap().marked_for(&anchor("x")));
        let generic = json!({"id": "g2", "displayName": "Ops", "members": [
            {"value": "u1", "$ref": "../Users/u1"}, {"value": "u2", "type": "User"},
            {"value": "g9", "type": "group"}, {"display": "no value"}]});
        assert_eq!(parse_group(&generic).unwrap().members, Some(vec!["u1".to_string(), "u2".to_string()]));
        assert_eq!(parse_group(&json!({"id": "g3", "members": []})).unwrap().members, Some(vec![]));
        assert_eq!(parse_group(&json!({"displayName": "no id"})), None);
        let page = json!({"totalResults": 1, "Resources": [zoom]});
        let (groups, total) = parse_group_list(&page).unwrap();
        assert_eq!((groups.len(), total), (1, Some(1)));
        assert_eq!(parse_group_list(&json!({"totalResults": 0})).unwrap().0, vec![]);
        assert_eq!(parse_group_list(&json!({"Resources": [{"displayName": "x"}]})), None);
    }
}
