//! PURE: one managed attribute read from, or written into, a SCIM user resource, by its
//! [`ScimPath`](crate::model::attribute::ScimPath): core or extension schema, a plain or
//! complex attribute (`manager.value`), or one entry of a multi-valued one
//! (`phoneNumbers[type eq "mobile"].value`). Values are text in zoomsync; on the wire they
//! take the attribute's kind (string, boolean, integer).

use serde_json::{Map, Value, json};

use crate::model::Field;
use crate::model::attribute::Kind;

/// `obj[key]`, matching the key exactly or else case-insensitively (RFC 7643 attribute
/// names are case-insensitive).
fn get<'v>(obj: &'v Value, key: &str) -> Option<&'v Value> {
    let map = obj.as_object()?;
    map.get(key).or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

/// Whether a filter value (`"work"`, `true`) matches an entry's attribute.
fn literal_matches(v: &Value, literal: &str) -> bool {
    match v {
        Value::String(s) => s.eq_ignore_ascii_case(literal),
        Value::Bool(b) => b.to_string() == literal.to_ascii_lowercase(),
        _ => false,
    }
}

/// The filter value as JSON: `true`/`false` as booleans, everything else a string.
fn literal(text: &str) -> Value {
    match text {
        "true" => json!(true),
        "false" => json!(false),
        t => json!(t),
    }
}

/// The entry of a multi-valued attribute a filter selects. `type eq "work"` also accepts
/// the primary entry, or the only one when no entry has a type (what targets return when
/// they keep one e-mail or phone).
fn entry<'v>(items: &'v [Value], (attr, value): (&str, &str)) -> Option<&'v Value> {
    let hit = items.iter().find(|i| get(i, attr).is_some_and(|v| literal_matches(v, value)));
    if hit.is_some() || !(attr == "type" && value == "work") {
        return hit;
    }
    items
        .iter()
        .find(|i| get(i, "primary").and_then(Value::as_bool) == Some(true))
        .or_else(|| (items.len() == 1 && get(&items[0], "type").is_none()).then(|| &items[0]))
}

/// The field's value in a resource, as text; `None` when absent or empty.
pub fn read(resource: &Value, field: Field) -> Option<String> {
    let path = field.path();
    let root = match path.schema {
        Some(urn) => get(resource, urn)?,
        None => resource,
    };
    let attr = get(root, path.attr)?;
    let leaf = match (path.filter, path.sub) {
        (Some(filter), Some(sub)) => get(entry(attr.as_array()?, filter)?, sub)?,
        (_, Some(sub)) => get(attr, sub)?,
        (_, None) => attr,
    };
    let text = match leaf {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

/// The value as the attribute's JSON kind; `None` = the profile's cleared form (Zoom: "";
/// a boolean: false; an integer: null, since "" is not a number).
pub fn typed(field: Field, value: Option<&str>) -> Value {
    match (field.def().kind, value) {
        (Kind::Boolean, v) => json!(v.is_some_and(|v| field.canonical(v).is_ok_and(|c| c == "true"))),
        (Kind::Integer, Some(v)) => v.trim().parse::<i64>().map_or_else(|_| json!(v), |n| json!(n)),
        (Kind::Integer, None) => Value::Null,
        (Kind::String, v) => json!(v.unwrap_or("")),
    }
}

/// A multi-valued attribute's entry for `field`'s filter: `{type: "mobile", value: ...}`;
/// the work e-mail is the primary one.
pub fn new_entry(field: Field, value: &str) -> Value {
    let path = field.path();
    let mut entry = Map::new();
    if let Some((attr, lit)) = path.filter {
        entry.insert(attr.to_string(), literal(lit));
    }
    entry.insert(path.sub.unwrap_or("value").to_string(), typed(field, Some(value)));
    if field == Field::WorkEmail {
        entry.insert("primary".into(), json!(true));
    }
    Value::Object(entry)
}

/// Sets `field` in a resource object; `None` = the profile's cleared form. A multi-valued
/// attribute keeps its other entries (the work and mobile phones live in one list); a
/// cleared entry is left out (an empty list clears the attribute: "" is a bad e-mail).
pub fn write(obj: &mut Map<String, Value>, field: Field, value: Option<&str>) {
    let path = field.path();
    let container = match path.schema {
        Some(urn) => match obj.entry(urn).or_insert_with(|| json!({})) {
            Value::Object(m) => m,
            _ => return,
        },
        None => obj,
    };
    match (path.filter, path.sub) {
        (Some(filter), Some(_)) => {
            let slot = container.entry(path.attr).or_insert_with(|| json!([]));
            let Value::Array(items) = slot else { return };
            items.retain(|i| !get(i, filter.0).is_some_and(|v| literal_matches(v, filter.1)));
            if let Some(v) = value {
                items.push(new_entry(field, v));
            }
        }
        (_, Some(sub)) => {
            if let Value::Object(m) = container.entry(path.attr).or_insert_with(|| json!({})) {
                m.insert(sub.to_string(), typed(field, value));
            }
        }
        (_, None) => {
            container.insert(path.attr.to_string(), typed(field, value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str) -> Field {
        Field::from_config_name(name).unwrap()
    }

    #[test]
    fn written_values_read_back_for_every_catalogue_attribute() {
        for f in Field::catalogue() {
            let value = match f.def().kind {
                Kind::String => "Value 1",
                Kind::Boolean => "true",
                Kind::Integer => "3000",
            };
            let mut obj = Map::new();
            write(&mut obj, f, Some(value));
            assert_eq!(read(&Value::Object(obj.clone()), f).as_deref(), Some(value), "{}", f.scim_path());
            write(&mut obj, f, None);
            let cleared = read(&Value::Object(obj), f);
            assert!(cleared.is_none() || cleared.as_deref() == Some("false"), "{}: {cleared:?}", f.scim_path());
        }
    }

    #[test]
    fn entries_of_one_list_live_side_by_side_and_kinds_go_out_typed() {
        let mut obj = Map::new();
        write(&mut obj, Field::WorkPhone, Some("+1 555"));
        write(&mut obj, field("mobilePhone"), Some("+44 7700"));
        write(&mut obj, field("zoomPhoneCallingPlan"), Some("3000"));
        write(&mut obj, field("zoomIQ"), Some("yes"));
        write(&mut obj, field("manager"), Some("zoom-id-1"));
        let v = Value::Object(obj);
        assert_eq!(
            v["phoneNumbers"],
            json!([{"type": "work", "value": "+1 555"}, {"type": "mobile", "value": "+44 7700"}])
        );
        let zoom = &v["urn:ietf:params:scim:schemas:extension:zoom:1.0:User"];
        assert_eq!((zoom["zoomPhoneCallingPlan"].clone(), zoom["zoomIQ"].clone()), (json!(3000), json!(true)));
        assert_eq!(
            v["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"],
            json!({"value": "zoom-id-1"})
        );
        assert_eq!(read(&v, field("mobilePhone")).as_deref(), Some("+44 7700"));
    }

    #[test]
    fn a_work_entry_is_found_by_type_primary_or_being_the_only_one() {
        let typed = json!({"emails": [{"type": "home", "value": "h@x"}, {"type": "work", "value": "w@x"}]});
        let primary = json!({"emails": [{"type": "home", "value": "h@x"}, {"value": "p@x", "primary": true}]});
        let only = json!({"emails": [{"value": "o@x"}]});
        let none = json!({"emails": [{"type": "home", "value": "h@x"}]});
        let got: Vec<Option<String>> = [typed, primary, only, none].iter().map(|v| read(v, Field::WorkEmail)).collect();
        assert_eq!(got, [Some("w@x".into()), Some("p@x".into()), Some("o@x".into()), None]);
        let role = json!({"roles": [{"value": "Member", "primary": true}]});
        assert_eq!(read(&role, field("role")).as_deref(), Some("Member"));
    }
}
