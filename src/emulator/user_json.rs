//! The user resource on the wire: reading attributes from create/PUT bodies and rendering the
//! full (Get/POST/PUT/PATCH) and trimmed (List) shapes exactly as Zoom splits them.

use serde_json::{Map, Value, json};

use super::attributes::is_hidden_field;
use super::clock::rfc3339;
use super::state::{LoginType, Store, User};
use super::wire::{CORE_USER, ENTERPRISE, ZOOM_LOGIN, ZOOM_USER};

/// A loose but honest email check: one `@`, a non-empty local part, a dotted domain, no spaces.
pub fn is_valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
}

/// The domain part of an email, lowercased.
pub fn domain_of(email: &str) -> String {
    email.rsplit_once('@').map(|(_, d)| d.to_lowercase()).unwrap_or_default()
}

fn invalid(attr: &str) -> String {
    format!("Invalid value for attribute \"{attr}\".")
}

fn opt_string(v: &Value, attr: &str) -> Result<Option<String>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(invalid(attr)),
    }
}

/// Merges the extension object `ext` into `target` (null removes a key).
fn merge_map(target: &mut Map<String, Value>, ext: &Value, attr: &str) -> Result<(), String> {
    let Value::Object(ext) = ext else {
        return Err(invalid(attr));
    };
    for (k, v) in ext {
        if v.is_null() {
            target.remove(k);
        } else {
            target.insert(k.clone(), v.clone());
        }
    }
    Ok(())
}

/// Applies the attributes present in `body` to `u`: Zoom's PUT is a partial update (§6.4), so
/// an absent attribute is unchanged and null clears it. A multi-valued attribute that is
/// present (`phoneNumbers`) replaces the user's whole list: an entry left out of it is gone,
/// which is why a client changing one phone must send the others too. Extensions merge key
/// by key (null, or "" for a never-returned field or `manager.value`, removes the key).
/// `identity` says whether displayName and loginType may change. `userName` and `active` are
/// the caller's business (they need the store and the role rules); value checks are
/// `attributes::validate`'s, before this.
pub fn apply_attributes(u: &mut User, body: &Map<String, Value>, identity: bool) -> Result<(), String> {
    if let Some(name) = body.get("name") {
        match name {
            Value::Null => {
                u.given_name = None;
                u.family_name = None;
            }
            Value::Object(n) => {
                if let Some(v) = n.get("givenName") {
                    u.given_name = opt_string(v, "name.givenName")?;
                }
                if let Some(v) = n.get("familyName") {
                    u.family_name = opt_string(v, "name.familyName")?;
                }
            }
            _ => return Err(invalid("name")),
        }
    }
    if let Some(v) = body.get("displayName") {
        let v = opt_string(v, "displayName")?;
        if identity {
            u.display_name = v;
        }
    }
    if let Some(v) = body.get("userType") {
        u.user_type = opt_string(v, "userType")?.unwrap_or_else(|| "Basic".to_string());
    }
    if let Some(v) = body.get("title") {
        u.title = opt_string(v, "title")?;
    }
    if let Some(v) = body.get("locale") {
        u.locale = opt_string(v, "locale")?;
    }
    if let Some(v) = body.get("phoneNumbers") {
        match v {
            Value::Null => u.phone_numbers.clear(),
            Value::Array(items) if items.iter().all(Value::is_object) => u.phone_numbers = items.clone(),
            _ => return Err(invalid("phoneNumbers")),
        }
    }
    if let Some(ext) = body.get(ENTERPRISE) {
        merge_map(&mut u.enterprise, ext, ENTERPRISE)?;
        // `{"manager": {"value": ""}}` is how a client clears the reference.
        let no_manager = u.enterprise.get("manager").and_then(|m| m.get("value")).is_some_and(|v| v == "");
        if no_manager {
            u.enterprise.remove("manager");
        }
    }
    if let Some(ext) = body.get(ZOOM_USER) {
        let Value::Object(map) = ext else {
            return Err(invalid(ZOOM_USER));
        };
        let (hidden, shown): (Map<String, Value>, Map<String, Value>) =
            map.clone().into_iter().partition(|(k, _)| is_hidden_field(k));
        merge_map(&mut u.hidden, &Value::Object(hidden), ZOOM_USER)?;
        u.hidden.retain(|_, v| v != "");
        merge_map(&mut u.zoom, &Value::Object(shown), ZOOM_USER)?;
    }
    if let Some(ext) = body.get(ZOOM_LOGIN) {
        let login = ext.get("loginType").ok_or_else(|| invalid("loginType"))?;
        let Value::Object(login) = login else {
            return Err(invalid("loginType"));
        };
        let flag = |key: &str, current: bool| match login.get(key) {
            None => Ok(current),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(invalid("loginType")),
        };
        let next =
            LoginType { work_email: flag("workEmail", u.login_type.work_email)?, sso: flag("sso", u.login_type.sso)? };
        if !next.work_email && !next.sso {
            return Err("At least one of loginType.sso and loginType.workEmail must be true.".to_string());
        }
        if identity {
            u.login_type = next;
        }
    }
    Ok(())
}

fn location(origin: &str, id: &str) -> String {
    let enc = percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC);
    format!("{origin}/scim2/Users/{enc}")
}

fn meta(u: &User, origin: &str) -> Value {
    json!({
        "resourceType": "User",
        "created": rfc3339(u.created),
        "lastModified": rfc3339(u.modified),
        "location": location(origin, &u.id),
        "version": format!("W/\"{}\"", u.version),
    })
}

/// Core attributes shared by both shapes.
fn core(u: &User, origin: &str, schemas: [&str; 3]) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("schemas".into(), json!(schemas));
    m.insert("id".into(), json!(u.id));
    m.insert("meta".into(), meta(u, origin));
    m.insert("userName".into(), json!(u.user_name));
    let mut name = Map::new();
    if let Some(g) = &u.given_name {
        name.insert("givenName".into(), json!(g));
    }
    if let Some(f) = &u.family_name {
        name.insert("familyName".into(), json!(f));
    }
    m.insert("name".into(), Value::Object(name));
    // Zoom builds displayName from first + last name when none was given.
    let display = u.display_name.clone().unwrap_or_else(|| {
        [u.given_name.as_deref(), u.family_name.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ")
    });
    m.insert("displayName".into(), json!(display));
    m.insert("emails".into(), json!([{"type": "work", "value": u.user_name, "primary": true}]));
    m.insert("active".into(), json!(u.is_active()));
    m.insert("userType".into(), json!(u.user_type));
    if !u.phone_numbers.is_empty() {
        m.insert("phoneNumbers".into(), Value::Array(u.phone_numbers.clone()));
    }
    m
}

/// Get/POST/PUT/PATCH shape: core + enterprise + zoom:1.0 plan fields, no loginType.
pub fn full(u: &User, store: &Store, origin: &str) -> Value {
    let mut m = core(u, origin, [CORE_USER, ENTERPRISE, ZOOM_USER]);
    if let Some(t) = &u.title {
        m.insert("title".into(), json!(t));
    }
    if let Some(l) = &u.locale {
        m.insert("locale".into(), json!(l));
    }
    let role = u.role.display();
    m.insert("roles".into(), json!([{"value": role, "display": role, "primary": true}]));
    let groups = store.groups_of(&u.id);
    if !groups.is_empty() {
        let items: Vec<Value> =
            groups.iter().map(|g| json!({"display": g, "type": "direct", "primary": false})).collect();
        m.insert("groups".into(), Value::Array(items));
    }
    m.insert(ENTERPRISE.into(), Value::Object(u.enterprise.clone()));
    m.insert(ZOOM_USER.into(), Value::Object(u.zoom.clone()));
    Value::Object(m)
}

/// List shape: core + userType + enterprise department + ZoomUser loginType only.
pub fn trimmed(u: &User, origin: &str) -> Value {
    let mut m = core(u, origin, [CORE_USER, ENTERPRISE, ZOOM_LOGIN]);
    let mut ent = Map::new();
    if let Some(d) = u.enterprise.get("department") {
        ent.insert("department".into(), d.clone());
    }
    m.insert(ENTERPRISE.into(), Value::Object(ent));
    m.insert(ZOOM_LOGIN.into(), json!({"loginType": {"workEmail": u.login_type.work_email, "sso": u.login_type.sso}}));
    Value::Object(m)
}

/// State dump shape for `/_emulator/users`: the full resource plus what SCIM never shows.
pub fn dump(u: &User, store: &Store, origin: &str) -> Value {
    let mut v = full(u, store, origin);
    if let Value::Object(m) = &mut v {
        m.insert(
            "_emulator".into(),
            json!({
                "state": u.state,
                "role": u.role,
                "loginType": {"workEmail": u.login_type.work_email, "sso": u.login_type.sso},
                "hidden": u.hidden,
                "phone": u.phone(),
                "contactCenter": u.contact_center(),
            }),
        );
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_check() {
        for ok in ["a@b.co", "first.last+tag@sub.example.org"] {
            assert!(is_valid_email(ok), "{ok}");
        }
        for bad in ["", "a", "@b.co", "a@b", "a@@b.co", "a b@c.de", "a@.b", "a@b."] {
            assert!(!is_valid_email(bad), "{bad}");
        }
        assert_eq!(domain_of("x@Example.COM"), "example.com");
    }

    #[test]
    fn attributes_merge_partially_and_respect_identity_flag() {
        let mut s = Store::new(None, false);
        let id = s.new_id();
        let mut u = s.blank_user(id, "a@x.org".into());
        let body = json!({"name": {"givenName": "Ann", "familyName": "Lee"}, "title": "Eng",
            ENTERPRISE: {"department": "R&D"}, ZOOM_USER: {"zoomOneBizPlus": "x", "zoomPhoneNumber": "+1"}});
        apply_attributes(&mut u, body.as_object().unwrap(), true).unwrap();
        let body =
            json!({"name": {"familyName": "Li"}, "displayName": "X", ZOOM_LOGIN: {"loginType": {"workEmail": true}}});
        apply_attributes(&mut u, body.as_object().unwrap(), false).unwrap();
        assert_eq!((u.given_name.as_deref(), u.family_name.as_deref()), (Some("Ann"), Some("Li")));
        assert_eq!(u.display_name, None);
        assert!(!u.login_type.work_email);
        assert_eq!(u.hidden.get("zoomPhoneNumber"), Some(&json!("+1")));
        let f = full(&u, &s, "http://h");
        assert!(f[ZOOM_USER].get("zoomPhoneNumber").is_none());
        assert_eq!(f["displayName"], "Ann Li");
        let t = trimmed(&u, "http://h");
        assert!(t.get(ZOOM_USER).is_none());
        assert_eq!(t[ENTERPRISE], json!({"department": "R&D"}));
        let bad = json!({ZOOM_LOGIN: {"loginType": {"workEmail": false, "sso": false}}});
        assert!(apply_attributes(&mut u, bad.as_object().unwrap(), true).is_err());
    }
}
