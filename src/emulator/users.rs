//! The six user operations of Zoom's SCIM API (`/scim2/Users`), with Zoom's quirks: trimmed
//! lists, pending users answering 400 to a filter, PUT as a partial update that ignores
//! identity changes, PATCH that only toggles `active` and insists on capital-O `Operations`.

use serde_json::{Map, Value};

use super::attributes::{assign_extension, validate};
use super::config::{DeleteMode, Knobs};
use super::query::{invalid_filter, list_response, paging, param, parse_eq};
use super::state::{Store, User, UserState};
use super::user_json::{apply_attributes, domain_of, full, is_valid_email, trimmed};
use super::wire::{ENTERPRISE, PATCH_OP, Reply, text};

/// Zoom REST code for "User does not exist" (used with the `rest` error style).
const USER_MISSING_CODE: u32 = 1001;

fn not_found(knobs: &Knobs, id: &str) -> Reply {
    Reply::error(knobs, 404, USER_MISSING_CODE, format!("User does not exist: {id}."))
}

/// Parses a JSON object body; Zoom's texts for non-JSON and empty bodies.
pub fn json_object(body: &[u8]) -> Result<Map<String, Value>, Reply> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Reply::scim_error(400, text::EMPTY_JSON));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) if m.is_empty() => Err(Reply::scim_error(400, text::EMPTY_JSON)),
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(Reply::scim_error(400, text::NOT_JSON)),
    }
}

/// A user SCIM may see: present and not pending.
fn visible<'a>(store: &'a Store, id: &str) -> Option<&'a User> {
    store.user(id).filter(|u| u.state != UserState::Pending)
}

/// Checks a userName for create or rename: format, managed domain, uniqueness.
fn check_user_name(knobs: &Knobs, store: &Store, name: &str, except: Option<&str>) -> Result<(), Reply> {
    if !is_valid_email(name) {
        return Err(Reply::scim_error(400, "The \"userName\" of the request is invalid."));
    }
    if !knobs.managed_domains.is_empty() {
        let domain = domain_of(name);
        if !knobs.managed_domains.iter().any(|d| d.eq_ignore_ascii_case(&domain)) {
            return Err(Reply::scim_error(400, text::DOMAIN));
        }
    }
    let same_user = except.and_then(|id| store.user(id)).is_some_and(|u| u.user_name.eq_ignore_ascii_case(name));
    if store.name_taken(name) && !same_user {
        return Err(Reply::scim_error(knobs.duplicate_create_status, text::USER_EXISTS));
    }
    Ok(())
}

fn check_employee_number(knobs: &Knobs, store: &Store, u: &User) -> Result<(), Reply> {
    if let Some(n) = u.enterprise.get("employeeNumber")
        && knobs.unique_employee_number
        && store.employee_number_taken(n, Some(&u.id))
    {
        return Err(Reply::scim_error(400, "The employee number already exists."));
    }
    Ok(())
}

/// `GET /scim2/Users` with optional `filter`, `startIndex`, `count`.
pub fn list(knobs: &Knobs, store: &Store, origin: &str, params: &[(String, String)]) -> Reply {
    let paging = match paging(knobs, params) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let page = |matches: Vec<&User>| {
        let total = matches.len();
        let items = matches.into_iter().skip(paging.start - 1).take(paging.count).map(|u| trimmed(u, origin)).collect();
        Reply::json(200, list_response(total, paging, items))
    };
    let Some(filter) = param(params, "filter") else {
        return page(store.users().filter(|u| u.state != UserState::Pending).collect());
    };
    match parse_eq(filter, &["userName", "externalId"]) {
        Some(("userName", name)) => match store.user_by_name(&name) {
            Some(u) if u.state == UserState::Pending => Reply::error(
                knobs,
                knobs.pending_filter_status,
                USER_MISSING_CODE,
                format!("User {name} not exist or not belong to this account."),
            ),
            Some(u) => page(vec![u]),
            None => page(Vec::new()),
        },
        // Zoom's externalId filter matches Zoom's own user id.
        Some((_, id)) => page(visible(store, &id).into_iter().collect()),
        None => invalid_filter(),
    }
}

pub fn get(knobs: &Knobs, store: &Store, origin: &str, id: &str) -> Reply {
    match visible(store, id) {
        Some(u) => Reply::json(200, full(u, store, origin)),
        None => not_found(knobs, id),
    }
}

/// `POST /scim2/Users`: the new user is active at once (SSO users need no confirmation).
pub fn create(knobs: &Knobs, store: &mut Store, origin: &str, body: &[u8]) -> Reply {
    let body = match json_object(body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(name) = body.get("userName").and_then(Value::as_str) else {
        return Reply::scim_error(400, "The \"userName\" of the request is invalid.");
    };
    if let Err(r) = check_user_name(knobs, store, name, None) {
        return r;
    }
    if let Err(r) = validate(knobs, store, &body, None) {
        return r;
    }
    let id = store.new_id();
    // Zoom keeps the login lower-cased, whatever case it was sent in.
    let mut u = store.blank_user(id, name.to_lowercase());
    if let Err(detail) = apply_attributes(&mut u, &body, true) {
        return Reply::scim_error(400, detail);
    }
    assign_extension(store, &mut u, None);
    if let Err(r) = check_employee_number(knobs, store, &u) {
        return r;
    }
    let v = full(&u, store, origin);
    let location = v["meta"]["location"].as_str().unwrap_or_default().to_string();
    store.insert_user(u);
    Reply::json(201, v).with_header("location", location)
}

/// Refusal for deactivating/deleting an owner or admin (text and code unknown: knob).
fn privileged(knobs: &Knobs) -> Reply {
    Reply::scim_error(knobs.privileged_change_status, text::PRIVILEGED)
}

/// Sets the active state, applying Zoom's rules. Returns whether anything changed.
fn set_active(knobs: &Knobs, u: &mut User, active: bool) -> Result<bool, Reply> {
    match (u.state, active) {
        (UserState::Active, false) if u.role.is_privileged() => Err(privileged(knobs)),
        (UserState::Active, false) => {
            u.state = UserState::Inactive;
            u.clear_licences();
            Ok(true)
        }
        // Reactivation leaves the licences empty: they must be reassigned.
        (UserState::Inactive, true) => {
            u.state = UserState::Active;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// `PUT /scim2/Users/{id}`: a partial update; omitted attributes keep their values, and a
/// multi-valued attribute that is sent replaces its whole list (see [`apply_attributes`]).
/// Values are checked as on create; a refused one changes nothing.
pub fn put(knobs: &Knobs, store: &mut Store, origin: &str, id: &str, body: &[u8]) -> Reply {
    let Some(before) = visible(store, id).cloned() else {
        return not_found(knobs, id);
    };
    let body = match json_object(body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let identity = !knobs.ignore_identity_changes;
    let mut u = before.clone();
    let mut rename = None;
    if let Some(v) = body.get("userName") {
        let Some(name) = v.as_str() else {
            return Reply::scim_error(400, "The \"userName\" of the request is invalid.");
        };
        if identity && name.to_lowercase() != u.user_name {
            if let Err(r) = check_user_name(knobs, store, name, Some(id)) {
                return r;
            }
            rename = Some(name.to_lowercase());
        }
    }
    if let Err(r) = validate(knobs, store, &body, Some(id)) {
        return r;
    }
    if let Err(detail) = apply_attributes(&mut u, &body, identity) {
        return Reply::scim_error(400, detail);
    }
    assign_extension(store, &mut u, Some(&before));
    if body.get(ENTERPRISE).is_some()
        && let Err(r) = check_employee_number(knobs, store, &u)
    {
        return r;
    }
    if let Some(v) = body.get("active") {
        let Some(active) = v.as_bool() else {
            return Reply::scim_error(400, "Invalid value for attribute \"active\".");
        };
        if let Err(r) = set_active(knobs, &mut u, active) {
            return r;
        }
    }
    if let Some(name) = &rename {
        u.user_name = name.clone();
    }
    if u != before {
        u.touch();
    }
    if let Some(name) = rename {
        store.rename_user(id, &name);
    }
    let v = full(&u, store, origin);
    store.replace_user(u);
    Reply::json(200, v)
}

/// Reads the wanted `active` value out of a PatchOp body, Zoom-strictly.
fn wanted_active(knobs: &Knobs, body: &[u8]) -> Option<bool> {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(body) else {
        return None;
    };
    if knobs.validate_patch_schemas {
        let schemas = body.get("schemas")?.as_array()?;
        if !schemas.iter().any(|s| s.as_str() == Some(PATCH_OP)) {
            return None;
        }
    }
    // Case-sensitive on purpose: `operations` is Zoom's famous 400.
    let ops = body.get("Operations")?.as_array()?;
    let mut wanted = None;
    for op in ops {
        if !op.get("op")?.as_str()?.eq_ignore_ascii_case("replace") {
            return None;
        }
        let value = op.get("value")?;
        wanted = Some(match op.get("path") {
            Some(Value::String(p)) if p.eq_ignore_ascii_case("active") => value.as_bool()?,
            None => {
                let obj = value.as_object()?;
                if obj.len() != 1 {
                    return None;
                }
                obj.get("active")?.as_bool()?
            }
            _ => return None,
        });
    }
    wanted
}

/// `PATCH /scim2/Users/{id}`: activate or deactivate, nothing else (the only user PATCH Zoom
/// documents, §6.5): every other attribute, the extensions' included, changes through PUT.
pub fn patch(knobs: &Knobs, store: &mut Store, origin: &str, id: &str, body: &[u8]) -> Reply {
    let Some(mut u) = visible(store, id).cloned() else {
        return not_found(knobs, id);
    };
    let Some(active) = wanted_active(knobs, body) else {
        return Reply::scim_error(400, text::PATCH_ACTIVE);
    };
    match set_active(knobs, &mut u, active) {
        Err(r) => return r,
        Ok(true) => u.touch(),
        Ok(false) => {}
    }
    let v = full(&u, store, origin);
    store.replace_user(u);
    Reply::json(200, v)
}

/// `DELETE /scim2/Users/{id}`: 204; hard delete or disassociate per the `delete_mode` knob.
pub fn delete(knobs: &Knobs, store: &mut Store, id: &str) -> Reply {
    let Some(u) = visible(store, id) else {
        return not_found(knobs, id);
    };
    if u.role.is_privileged() {
        return privileged(knobs);
    }
    store.remove_user(id, knobs.delete_mode == DeleteMode::Disassociate);
    Reply::no_content()
}
