//! Zoom's user attributes beyond the core schema, as the emulator knows them (independently
//! of zoomsync's own catalogue, so a mistake there is caught here): the two Zoom extensions,
//! the enterprise extension, which of them are never returned, and the value checks Zoom
//! applies on create and PUT (`zoom-scim-api.md` §5; where Zoom publishes no rule the check
//! is marked as our reading). Checks run only for SCIM writes; `/_emulator` seeds and drift
//! bypass them. Knob `validate_attribute_values = false` accepts every value as given.

use serde::Serialize;
use serde_json::{Map, Value};

use super::config::Knobs;
use super::state::{Store, User};
use super::wire::{ENTERPRISE, Reply, ZOOM_USER};

/// `userType` values Zoom accepts (§5.3: Licensed and On-Prem current, Pro and Corp still
/// accepted from older connectors). Everything else is refused with AttributeValidationFailed:
/// Collaboration and None (peers-and-mechanisms §4, devforum 139015), and Basic, which the
/// brief for this emulator (and zoomsync's catalogue) say Zoom no longer takes. Sources
/// disagree on Basic (an older Okta note lists it as accepted): the stricter reading wins.
pub const USER_TYPES: [&str; 4] = ["Licensed", "On-Prem", "Pro", "Corp"];

/// Licence (plan) fields of the zoom:1.0 extension whose values are enumerated strings (§5.2;
/// the enum lists are not published: knob `plan_values`).
pub const PLAN_FIELDS: [&str; 16] = [
    "zoomOneBizPlus",
    "zoomUnited",
    "zoomWorkplaceSubscription",
    "zoomPhoneCallingPlanSubscription",
    "zoomOneEdu",
    "zoomOneEntPremier",
    "zoomOneEduEntPremier",
    "zoomOneSchoolCampusPlus",
    "zoomAICompanionSubscription",
    "zoomRevenueAccelerator",
    "zoomDocs",
    "zoomClipsPlus",
    "zoomScheduler",
    "zoomQualityManagement",
    "zoomWorkforceManagement",
    "zoomMailAndCalendar",
];

/// Boolean fields of the zoom:1.0 extension (QDX samples, §5.2).
pub const BOOLEAN_FIELDS: [&str; 6] = [
    "zoomIQ",
    "zoomWhiteboard",
    "zoomWhiteboardPlus",
    "zoomTranslatedCaptions",
    "zoomHuddles",
    "zoomCustomerManagedKey",
];

/// String profile fields of the zoom:1.0 extension.
pub const PROFILE_FIELDS: [&str; 2] = ["personalLinkName", "pronouns"];

/// Zoom Phone provisioning (Zoom KB 360057866692): accepted on create/update, never returned.
pub const PHONE_FIELDS: [&str; 4] = ["zoomPhoneExtNumber", "zoomPhoneSite", "zoomPhoneCallingPlan", "zoomPhoneNumber"];

/// Contact Center provisioning (CHG 2024-10-19; role and region from the Okta attribute list):
/// accepted, never returned.
pub const CONTACT_CENTER_FIELDS: [&str; 5] = [
    "zoomContactCenterRole",
    "zoomContactCenterRegion",
    "zoomContactCenterPackage",
    "zoomContactCenterAddonsPlan",
    "zoomContactCenterUserTemplate",
];

/// Other request-only fields (CHG 2026-03-12): accepted, never returned.
const OTHER_REQUEST_ONLY: [&str; 2] = ["zoomRevenueAcceleratorSegment", "zoomRevenueAcceleratorRegion"];

/// Other documented zoom:1.0 fields (CHG 2024–2026) whose type nobody published: any scalar.
const OTHER_DOCUMENTED: [&str; 20] = [
    "clinicalNotes",
    "zoomComplianceManagement",
    "visitorManagement",
    "visitorManagementSubscription",
    "zoomAutoDialer",
    "zoomAutoDialerSubscription",
    "zoomEnhancedMedia",
    "zoomAdvancedDataProtection",
    "zoomAdvancedDataProtectionSubscription",
    "zoomTranslatedCaptionsSubscription",
    "zoomClipsPlusSubscription",
    "zoomRevenueAcceleratorSubscription",
    "zoomCustomerManagedKeySubscription",
    "zoomDocsSubscription",
    "zoomComplianceManagementSubscription",
    "zoomQualityManagementSubscription",
    "zoomWorkforceManagementSubscription",
    "zoomSchedulerSubscription",
    "zoomWhiteboardSubscription",
    "zoomMailAndCalendarSubscription",
];

/// Enterprise extension attributes that are plain strings (RFC 7643 §4.3).
const ENTERPRISE_STRINGS: [&str; 5] = ["employeeNumber", "costCenter", "organization", "division", "department"];

/// The lowest extension `zoomPhoneExtNumber: 0` hands out (our choice: Zoom Phone assigns
/// from the account's extension range, which the sources do not give).
pub const FIRST_EXTENSION: i64 = 1000;

/// Attributes of the zoom:1.0 extension that GET/POST/PUT never return.
pub fn is_hidden_field(name: &str) -> bool {
    PHONE_FIELDS.contains(&name) || CONTACT_CENTER_FIELDS.contains(&name) || OTHER_REQUEST_ONLY.contains(&name)
}

/// What zoom:1.0 knows about `name`; anything else is a custom attribute.
fn is_documented(name: &str) -> bool {
    PLAN_FIELDS.contains(&name)
        || BOOLEAN_FIELDS.contains(&name)
        || PROFILE_FIELDS.contains(&name)
        || is_hidden_field(name)
        || OTHER_DOCUMENTED.contains(&name)
}

/// A user's Zoom Phone provisioning as stored (JSON numbers for the integer fields: a value
/// of another JSON type, accepted only with validation relaxed, shows as `None` here and
/// as given in [`User::hidden`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneProvisioning {
    pub ext_number: Option<i64>,
    pub site: Option<String>,
    pub calling_plan: Option<i64>,
    pub number: Option<String>,
}

/// A user's Contact Center provisioning as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactCenterProvisioning {
    pub role: Option<String>,
    pub region: Option<String>,
    pub package: Option<String>,
    pub addons_plan: Option<String>,
    pub user_template: Option<String>,
}

impl User {
    /// The Zoom Phone fields this user was provisioned with (never in SCIM answers).
    pub fn phone(&self) -> PhoneProvisioning {
        let int = |k: &str| self.hidden.get(k).and_then(Value::as_i64);
        let text = |k: &str| self.hidden.get(k).and_then(Value::as_str).map(str::to_string);
        PhoneProvisioning {
            ext_number: int("zoomPhoneExtNumber"),
            site: text("zoomPhoneSite"),
            calling_plan: int("zoomPhoneCallingPlan"),
            number: text("zoomPhoneNumber"),
        }
    }

    /// The Contact Center fields this user was provisioned with (never in SCIM answers).
    pub fn contact_center(&self) -> ContactCenterProvisioning {
        let text = |k: &str| self.hidden.get(k).and_then(Value::as_str).map(str::to_string);
        ContactCenterProvisioning {
            role: text("zoomContactCenterRole"),
            region: text("zoomContactCenterRegion"),
            package: text("zoomContactCenterPackage"),
            addons_plan: text("zoomContactCenterAddonsPlan"),
            user_template: text("zoomContactCenterUserTemplate"),
        }
    }
}

/// The 400 Zoom answers a refused attribute value with: `AttributeValidationFailed` (the
/// devforum report of a refused userType) in a SCIM error with `scimType: invalidValue`
/// (RFC 7644 §3.12; that Zoom sets scimType is our reading).
pub fn refused(attr: &str, value: &Value, why: &str) -> Reply {
    let shown = match value {
        Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    };
    let mut detail = format!("AttributeValidationFailed: invalid value {shown} for attribute \"{attr}\"");
    if !why.is_empty() {
        detail.push_str(&format!(": {why}"));
    }
    detail.push('.');
    Reply::scim_error_typed(400, "invalidValue", detail)
}

/// A cleared value: null, or the empty string zoomsync's Zoom profile sends for "no value".
fn cleared(v: &Value) -> bool {
    v.is_null() || v.as_str() == Some("")
}

/// Checks the values of a create or PUT body (`id`: the user being written, `None` on
/// create). Does nothing with `validate_attribute_values` off.
pub fn validate(knobs: &Knobs, store: &Store, body: &Map<String, Value>, id: Option<&str>) -> Result<(), Reply> {
    if !knobs.validate_attribute_values {
        return Ok(());
    }
    if let Some(v) = body.get("userType")
        && !cleared(v)
        && !v.as_str().is_some_and(|t| USER_TYPES.contains(&t))
    {
        return Err(refused("userType", v, "accepted values are Licensed, On-Prem, Pro and Corp"));
    }
    if let Some(Value::Object(ent)) = body.get(ENTERPRISE) {
        validate_enterprise(store, ent)?;
    }
    if let Some(Value::Object(zoom)) = body.get(ZOOM_USER) {
        validate_zoom(knobs, store, zoom, id)?;
    }
    Ok(())
}

fn validate_enterprise(store: &Store, ent: &Map<String, Value>) -> Result<(), Reply> {
    for (k, v) in ent {
        if ENTERPRISE_STRINGS.contains(&k.as_str()) && !(v.is_null() || v.is_string()) {
            return Err(refused(k, v, "a string is expected"));
        }
    }
    match ent.get("manager") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Object(m)) => match m.get("value") {
            None => Ok(()),
            Some(v) if cleared(v) => Ok(()),
            // manager.value is "the id of the SCIM resource representing the User's manager"
            // (RFC 7643 §4.3). That Zoom refuses an id that is no user of the account is our
            // assumption (not documented); with it a wrong reference cannot pass unseen.
            Some(Value::String(s)) if store.user(s).is_some() => Ok(()),
            Some(v) => Err(refused("manager.value", v, "no user of this account has this id")),
        },
        Some(v) => Err(refused("manager", v, "a complex value {\"value\": id} is expected")),
    }
}

fn validate_zoom(knobs: &Knobs, store: &Store, zoom: &Map<String, Value>, id: Option<&str>) -> Result<(), Reply> {
    for (k, v) in zoom {
        if cleared(v) {
            continue;
        }
        let name = k.as_str();
        let ok = if PLAN_FIELDS.contains(&name) {
            v.as_str().is_some_and(|s| knobs.plan_values.iter().any(|p| p == s))
        } else if BOOLEAN_FIELDS.contains(&name) {
            v.is_boolean()
        } else if matches!(name, "zoomPhoneExtNumber" | "zoomPhoneCallingPlan") {
            v.as_i64().is_some_and(|n| n >= 0)
        } else if OTHER_DOCUMENTED.contains(&name) {
            !v.is_object() && !v.is_array()
        } else {
            // Profile strings, phone site and number, Contact Center, custom attributes.
            v.is_string()
        };
        if !ok {
            let why = if PLAN_FIELDS.contains(&name) {
                format!("accepted values are {}", knobs.plan_values.join(", "))
            } else if BOOLEAN_FIELDS.contains(&name) {
                "a boolean is expected".to_string()
            } else if matches!(name, "zoomPhoneExtNumber" | "zoomPhoneCallingPlan") {
                "a non-negative integer is expected".to_string()
            } else if !is_documented(name) {
                "a custom attribute is a string".to_string()
            } else {
                "a string is expected".to_string()
            };
            return Err(refused(name, v, &why));
        }
    }
    // "This number should be unassigned" (Zoom KB 360057866692); the same for an extension
    // is our reading (an extension rings one user).
    if let Some(n) = zoom.get("zoomPhoneNumber").filter(|v| !cleared(v))
        && store.phone_number_held(n, id)
    {
        return Err(refused("zoomPhoneNumber", n, "the number is assigned to another user"));
    }
    if let Some(ext) = zoom.get("zoomPhoneExtNumber").and_then(Value::as_i64).filter(|e| *e != 0)
        && store.extension_held(ext, id)
    {
        return Err(refused("zoomPhoneExtNumber", &Value::from(ext), "the extension is assigned to another user"));
    }
    Ok(())
}

/// `zoomPhoneExtNumber: 0` means "assign one" (Zoom KB 360057866692): a user that had an
/// extension keeps it, else it gets the lowest free one from [`FIRST_EXTENSION`] up.
pub fn assign_extension(store: &Store, u: &mut User, before: Option<&User>) {
    if u.hidden.get("zoomPhoneExtNumber").and_then(Value::as_i64) != Some(0) {
        return;
    }
    let ext = match before.and_then(|b| b.phone().ext_number).filter(|e| *e != 0) {
        Some(kept) => kept,
        None => store.lowest_free_extension(FIRST_EXTENSION, &u.id),
    };
    u.hidden.insert("zoomPhoneExtNumber".into(), Value::from(ext));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn documented_names_are_not_custom_and_hidden_ones_are_never_returned() {
        for f in PLAN_FIELDS.iter().chain(&BOOLEAN_FIELDS).chain(&PROFILE_FIELDS) {
            assert!(is_documented(f) && !is_hidden_field(f), "{f}");
        }
        for f in PHONE_FIELDS.iter().chain(&CONTACT_CENTER_FIELDS) {
            assert!(is_documented(f) && is_hidden_field(f), "{f}");
        }
        assert!(!is_documented("badgeColour"));
    }

    #[test]
    fn values_are_checked_by_kind_unless_relaxed() {
        let store = Store::new(None, false);
        let strict = Knobs::default();
        let ok = body(json!({"userType": "On-Prem", ZOOM_USER: {"zoomOneBizPlus": strict.plan_values[0],
            "zoomIQ": true, "zoomPhoneCallingPlan": 3000, "zoomPhoneExtNumber": 0, "badge": "red",
            "zoomDocs": ""}, ENTERPRISE: {"manager": {"value": ""}, "costCenter": "7"}}));
        assert!(validate(&strict, &store, &ok, None).is_ok());
        for bad in [
            json!({"userType": "Collaboration"}),
            json!({"userType": "Basic"}),
            json!({ZOOM_USER: {"zoomOneBizPlus": "Gold"}}),
            json!({ZOOM_USER: {"zoomIQ": "true"}}),
            json!({ZOOM_USER: {"zoomPhoneCallingPlan": "3000"}}),
            json!({ZOOM_USER: {"badge": 3}}),
            json!({ENTERPRISE: {"manager": {"value": "nobody"}}}),
            json!({ENTERPRISE: {"manager": "nobody"}}),
            json!({ENTERPRISE: {"division": 4}}),
        ] {
            let r = validate(&strict, &store, &body(bad.clone()), None).unwrap_err();
            let b = r.body.unwrap();
            assert_eq!((r.status, b["scimType"].as_str()), (400, Some("invalidValue")), "{bad}");
            assert!(b["detail"].as_str().unwrap().starts_with("AttributeValidationFailed"), "{b}");
            let relaxed = Knobs { validate_attribute_values: false, ..Knobs::default() };
            assert!(validate(&relaxed, &store, &body(bad), None).is_ok());
        }
    }

    #[test]
    fn extension_zero_takes_the_lowest_free_one_and_a_kept_one_stays() {
        let mut store = Store::new(None, false);
        let mut ids = Vec::new();
        for (i, ext) in [1000, 1002].into_iter().enumerate() {
            let id = store.new_id();
            let mut u = store.blank_user(id.clone(), format!("u{i}@x.org"));
            u.hidden.insert("zoomPhoneExtNumber".into(), json!(ext));
            store.insert_user(u);
            ids.push(id);
        }
        let id = store.new_id();
        let mut u = store.blank_user(id, "n@x.org".into());
        u.hidden.insert("zoomPhoneExtNumber".into(), json!(0));
        assign_extension(&store, &mut u, None);
        assert_eq!(u.phone().ext_number, Some(1001));
        let before = store.user(&ids[1]).unwrap().clone();
        let mut again = before.clone();
        again.hidden.insert("zoomPhoneExtNumber".into(), json!(0));
        assign_extension(&store, &mut again, Some(&before));
        assert_eq!(again.phone().ext_number, Some(1002));
        let taken = body(json!({ZOOM_USER: {"zoomPhoneExtNumber": 1000}}));
        assert!(validate(&Knobs::default(), &store, &taken, None).is_err());
        assert!(validate(&Knobs::default(), &store, &taken, Some(&ids[0])).is_ok());
    }
}
