//! The five group operations (`/scim2/Groups`): groups are Zoom user groups with one
//! undeletable default group; PATCH edits members and the name, and answers 204.

use std::collections::BTreeSet;
use std::time::SystemTime;

use serde_json::{Map, Value, json};

use super::clock::{rfc3339, unix_secs};
use super::config::Knobs;
use super::query::{invalid_filter, list_response, paging, param, parse_eq};
use super::state::{Group, Store, UserState};
use super::users::json_object;
use super::wire::{CORE_GROUP, Reply, ZOOM_GROUP, text};

/// Zoom REST code for "Group does not exist" (used with the `rest` error style).
const GROUP_MISSING_CODE: u32 = 4130;
const MAX_NAME_CHARS: usize = 128;

fn not_found(knobs: &Knobs) -> Reply {
    Reply::error(knobs, 404, GROUP_MISSING_CODE, text::GROUP_MISSING)
}

fn meta(g: &Group, origin: &str) -> Value {
    let enc = percent_encoding::utf8_percent_encode(&g.id, percent_encoding::NON_ALPHANUMERIC);
    json!({
        "resourceType": "Group",
        "created": rfc3339(g.created),
        "lastModified": rfc3339(g.modified),
        "location": format!("{origin}/scim2/Groups/{enc}"),
        "version": "1.0.0",
    })
}

/// Get/POST shape (Zoom's samples show no `members`; knob to add them).
pub fn full(knobs: &Knobs, g: &Group, origin: &str) -> Value {
    let mut v = json!({
        "schemas": [CORE_GROUP, ZOOM_GROUP],
        "id": g.id,
        "displayName": g.display_name,
        "meta": meta(g, origin),
        ZOOM_GROUP: {"emailAlias": g.email_alias},
    });
    if knobs.group_get_includes_members
        && let Value::Object(m) = &mut v
    {
        let members: Vec<Value> = g.members.iter().map(|id| json!({"value": id})).collect();
        m.insert("members".into(), Value::Array(members));
    }
    v
}

fn trimmed(g: &Group, origin: &str) -> Value {
    json!({"id": g.id, "displayName": g.display_name, "meta": meta(g, origin)})
}

pub fn list(knobs: &Knobs, store: &Store, origin: &str, params: &[(String, String)]) -> Reply {
    let paging = match paging(knobs, params) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let matches: Vec<&Group> = match param(params, "filter") {
        None => store.groups().collect(),
        Some(f) => match parse_eq(f, &["displayName"]) {
            Some((_, name)) => store.group_by_name(&name).into_iter().collect(),
            None => return invalid_filter(),
        },
    };
    let total = matches.len();
    let items = matches.into_iter().skip(paging.start - 1).take(paging.count).map(|g| trimmed(g, origin)).collect();
    Reply::json(200, list_response(total, paging, items))
}

pub fn get(knobs: &Knobs, store: &Store, origin: &str, id: &str) -> Reply {
    match store.group(id) {
        Some(g) => Reply::json(200, full(knobs, g, origin)),
        None => not_found(knobs),
    }
}

fn valid_name(v: Option<&Value>) -> Option<String> {
    let name = v?.as_str()?.trim();
    (!name.is_empty() && name.chars().count() <= MAX_NAME_CHARS).then(|| name.to_string())
}

/// Member ids out of `[{"value": id}, …]`, each an existing, non-pending user.
fn member_ids(store: &Store, v: &Value) -> Result<Vec<String>, Reply> {
    let items = v.as_array().ok_or_else(|| Reply::scim_error(400, "Invalid members."))?;
    items
        .iter()
        .map(|item| {
            let id =
                item.get("value").and_then(Value::as_str).ok_or_else(|| Reply::scim_error(400, "Invalid members."))?;
            match store.user(id) {
                Some(u) if u.state != UserState::Pending => Ok(id.to_string()),
                _ => Err(Reply::scim_error(400, format!("User does not exist: {id}."))),
            }
        })
        .collect()
}

fn check_rename(store: &Store, g: &Group, name: &str) -> Result<(), Reply> {
    match store.group_by_name(name) {
        Some(other) if other.id != g.id => Err(Reply::scim_error(400, format!("Group name {name} already exists."))),
        _ => Ok(()),
    }
}

pub fn create(knobs: &Knobs, store: &mut Store, origin: &str, body: &[u8]) -> Reply {
    let body = match json_object(body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if !body.get("schemas").is_some_and(Value::is_array) {
        return Reply::scim_error(400, "The \"schemas\" of the request is invalid.");
    }
    let Some(name) = valid_name(body.get("displayName")) else {
        return Reply::scim_error(400, text::BAD_DISPLAY_NAME);
    };
    // Only documented failure text for a create that cannot be done (e.g. a taken name).
    if store.group_by_name(&name).is_some() {
        return Reply::scim_error(400, "Create group failed.");
    }
    let members = match body.get("members") {
        Some(v) => match member_ids(store, v) {
            Ok(m) => m,
            Err(r) => return r,
        },
        None => Vec::new(),
    };
    let id = store.new_id();
    let mut g = store.blank_group(id, name);
    g.email_alias = body.get(ZOOM_GROUP).and_then(|e| e.get("emailAlias")).and_then(Value::as_str).map(str::to_string);
    g.members = members.into_iter().collect();
    let v = full(knobs, &g, origin);
    store.insert_group(g);
    Reply::json(201, v)
}

/// Applies one PatchOp operation to a working copy of the group.
fn apply_op(store: &Store, g: &mut Group, op: &Map<String, Value>) -> Result<(), Reply> {
    let bad = || Reply::scim_error(400, "Invalid patch operation.");
    let kind = op.get("op").and_then(Value::as_str).ok_or_else(bad)?.to_ascii_lowercase();
    let path = op.get("path").and_then(Value::as_str);
    let value = op.get("value");
    match (kind.as_str(), path) {
        ("add", Some(p)) if p.eq_ignore_ascii_case("members") => {
            g.members.extend(member_ids(store, value.ok_or_else(bad)?)?);
        }
        ("replace", Some(p)) if p.eq_ignore_ascii_case("members") => {
            g.members = member_ids(store, value.ok_or_else(bad)?)?.into_iter().collect();
        }
        ("remove", Some(p)) if p.eq_ignore_ascii_case("members") => match value {
            None => g.members.clear(),
            Some(v) => {
                let ids = v.as_array().ok_or_else(bad)?;
                for id in ids.iter().filter_map(|i| i.get("value").and_then(Value::as_str)) {
                    g.members.remove(id);
                }
            }
        },
        ("remove", Some(p)) if p.get(..8).is_some_and(|s| s.eq_ignore_ascii_case("members[")) && p.ends_with(']') => {
            let inner = p.get(8..p.len() - 1).ok_or_else(bad)?;
            let (_, id) = parse_eq(inner, &["value"]).ok_or_else(bad)?;
            g.members.remove(&id);
        }
        ("replace", Some(p)) if p.eq_ignore_ascii_case("displayName") => {
            let name = valid_name(value).ok_or_else(|| Reply::scim_error(400, text::BAD_DISPLAY_NAME))?;
            check_rename(store, g, &name)?;
            g.display_name = name;
        }
        ("add" | "replace", None) => {
            let obj = value.and_then(Value::as_object).ok_or_else(bad)?;
            for (k, v) in obj {
                if k.eq_ignore_ascii_case("displayName") {
                    let name = valid_name(Some(v)).ok_or_else(|| Reply::scim_error(400, text::BAD_DISPLAY_NAME))?;
                    check_rename(store, g, &name)?;
                    g.display_name = name;
                } else if k.eq_ignore_ascii_case("members") {
                    let ids = member_ids(store, v)?;
                    if kind == "add" {
                        g.members.extend(ids);
                    } else {
                        g.members = ids.into_iter().collect::<BTreeSet<_>>();
                    }
                } else if k == ZOOM_GROUP {
                    g.email_alias = v.get("emailAlias").and_then(Value::as_str).map(str::to_string);
                } else {
                    return Err(bad());
                }
            }
        }
        _ => return Err(bad()),
    }
    Ok(())
}

/// `PATCH /scim2/Groups/{id}`: all operations or none; 204 with an empty body.
pub fn patch(knobs: &Knobs, store: &mut Store, id: &str, body: &[u8]) -> Reply {
    let Some(before) = store.group(id).cloned() else {
        return not_found(knobs);
    };
    let Ok(text_body) = std::str::from_utf8(body) else {
        return Reply::scim_error(400, text::NOT_JSON);
    };
    if text_body.chars().count() > knobs.group_patch_max_chars {
        return Reply::scim_error(
            400,
            format!("The request body must not exceed {} characters.", knobs.group_patch_max_chars),
        );
    }
    let body = match json_object(body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let (Some(Value::Array(_)), Some(Value::Array(ops))) = (body.get("schemas"), body.get("Operations")) else {
        return Reply::scim_error(400, "The request JSON must contain \"schemas\" and \"Operations\".");
    };
    if ops.is_empty() {
        return Reply::scim_error(400, "The request JSON must contain \"schemas\" and \"Operations\".");
    }
    let mut g = before.clone();
    for op in ops {
        let Some(op) = op.as_object() else {
            return Reply::scim_error(400, "Invalid patch operation.");
        };
        if let Err(r) = apply_op(store, &mut g, op) {
            return r;
        }
    }
    if g != before {
        g.modified = unix_secs(SystemTime::now());
        store.replace_group(g);
    }
    Reply::no_content()
}

pub fn delete(knobs: &Knobs, store: &mut Store, id: &str) -> Reply {
    match store.group(id) {
        None => not_found(knobs),
        Some(g) if g.is_default => Reply::scim_error(400, text::DEFAULT_GROUP),
        Some(_) => {
            store.remove_group(id);
            Reply::no_content()
        }
    }
}
