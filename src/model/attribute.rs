//! PURE: the SCIM attributes zoomsync can manage — a catalogue of what Zoom documents, and
//! any other attribute path a `[mapping]` names (custom attributes, generic SCIM servers).
//!
//! A [`Field`] is a small copyable handle (an index) so a user's values stay compact
//! (`Fields`): the 1,000,000-user plan must fit in 1 GiB. The catalogue's entries have fixed
//! indexes, the nine managed before the open model first, in their old order; a path that
//! is not in the catalogue is registered once (process-wide, append-only) when the config is
//! loaded or a stored record names it. Each entry says how the value is sent (its path, a
//! string, boolean or integer), whether Zoom returns it (a field never returned is compared
//! against state only) and which values Zoom refuses.

use std::fmt;
use std::sync::{LazyLock, RwLock};

use serde::{Deserialize, Serialize};

pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Zoom's licence, phone and profile extension (returned by GET/PUT/POST, not by list).
pub const ZOOM_USER: &str = "urn:ietf:params:scim:schemas:extension:zoom:1.0:User";
/// Zoom's `loginType` extension (returned by list).
pub const ZOOM_LOGIN: &str = "urn:us:zoom:scim:schemas:extension:1.0:ZoomUser";

/// How a value is written on the wire and compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    String,
    /// `true` / `false` (a mapping may say yes/no, 1/0).
    Boolean,
    Integer,
}

/// Whether the target sends the attribute back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Returned {
    /// In GET responses (list responses may still leave it out: absent is "unknown").
    Yes,
    /// Accepted on create and update but never returned (Zoom Phone, Contact Center): drift
    /// cannot be seen, so it is compared against what zoomsync pushed.
    Never,
}

/// One attribute zoomsync can manage.
#[derive(Debug)]
pub struct AttrDef {
    /// The `[mapping]` key and the name shown in plans and history.
    pub name: &'static str,
    /// The name in stored records (the nine original fields kept their stored names).
    pub stored: &'static str,
    /// The full SCIM path (`urn:...:User:manager.value`, `phoneNumbers[type eq "work"].value`).
    pub path: &'static str,
    pub kind: Kind,
    pub returned: Returned,
    /// The values Zoom accepts, when it documents them (empty: any).
    pub allowed: &'static [&'static str],
    /// Values Zoom refuses, with why (config check refuses them).
    pub refused: &'static [(&'static str, &'static str)],
    /// Why the attribute is deprecated, if it is (config check warns).
    pub deprecated: Option<&'static str>,
    /// The target stores it case-folded (Zoom lower-cases the login and work e-mail): a
    /// case-only difference is not drift.
    pub folds_case: bool,
    /// In the catalogue (false: a path a mapping named; allowed with a warning).
    pub known: bool,
    /// The mapped value is the DN of another directory user, sent as that user's target id
    /// (`plan::managers`): true only for `manager`. A DN is never sent as such.
    pub reference: bool,
}

const fn def(name: &'static str, path: &'static str, kind: Kind, returned: Returned) -> AttrDef {
    AttrDef {
        name,
        stored: name,
        path,
        kind,
        returned,
        allowed: &[],
        refused: &[],
        deprecated: None,
        folds_case: false,
        known: true,
        reference: false,
    }
}

const fn s(name: &'static str, path: &'static str) -> AttrDef {
    def(name, path, Kind::String, Returned::Yes)
}

/// A Zoom Phone / Contact Center attribute: accepted, never returned.
const fn unreturned(name: &'static str, path: &'static str, kind: Kind) -> AttrDef {
    def(name, path, kind, Returned::Never)
}

macro_rules! zoom {
    ($name:literal) => {
        concat!("urn:ietf:params:scim:schemas:extension:zoom:1.0:User:", $name)
    };
}
macro_rules! enterprise {
    ($name:literal) => {
        concat!("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:", $name)
    };
}

/// Zoom's documented attributes (`../shared/reference/zoom-scim-api.md` §5). The first nine
/// keep the indexes of the fields managed before the open model.
static CATALOGUE: [AttrDef; 57] = [
    AttrDef { folds_case: true, ..s("userName", "userName") },
    AttrDef { stored: "givenName", ..s("givenName", "name.givenName") },
    s("familyName", "name.familyName"),
    s("displayName", "displayName"),
    AttrDef { stored: "workEmail", folds_case: true, ..s("email", "emails[type eq \"work\"].value") },
    s("title", "title"),
    AttrDef { stored: "workPhone", ..s("phone", "phoneNumbers[type eq \"work\"].value") },
    s("department", enterprise!("department")),
    s("employeeNumber", enterprise!("employeeNumber")),
    // Core profile fields.
    AttrDef {
        allowed: &["Licensed", "On-Prem", "Pro", "Corp"],
        refused: &[
            ("Basic", "Zoom no longer accepts Basic (gone since 2025)"),
            ("Collaboration", "Zoom refuses Collaboration with AttributeValidationFailed"),
        ],
        deprecated: Some("Zoom deprecates userType for licensing; prefer the per-user plan fields"),
        ..s("userType", "userType")
    },
    s("locale", "locale"),
    s("preferredLanguage", "preferredLanguage"),
    s("timezone", "timezone"),
    s("nickName", "nickName"),
    s("profileUrl", "profileUrl"),
    s("mobilePhone", "phoneNumbers[type eq \"mobile\"].value"),
    s("officePhone", "phoneNumbers[type eq \"office\"].value"),
    s("role", "roles[primary eq true].value"),
    // Enterprise extension.
    s("division", enterprise!("division")),
    s("costCenter", enterprise!("costCenter")),
    s("organization", enterprise!("organization")),
    AttrDef { reference: true, ..s("manager", enterprise!("manager.value")) },
    // loginType (at least one must be true; Zoom returns it in lists).
    def(
        "loginWorkEmail",
        "urn:us:zoom:scim:schemas:extension:1.0:ZoomUser:loginType.workEmail",
        Kind::Boolean,
        Returned::Yes,
    ),
    def("loginSso", "urn:us:zoom:scim:schemas:extension:1.0:ZoomUser:loginType.sso", Kind::Boolean, Returned::Yes),
    // Licence (plan) fields: enumerated strings Zoom defines per account.
    s("zoomOneBizPlus", zoom!("zoomOneBizPlus")),
    s("zoomUnited", zoom!("zoomUnited")),
    s("zoomWorkplaceSubscription", zoom!("zoomWorkplaceSubscription")),
    s("zoomPhoneCallingPlanSubscription", zoom!("zoomPhoneCallingPlanSubscription")),
    s("zoomOneEdu", zoom!("zoomOneEdu")),
    s("zoomOneEntPremier", zoom!("zoomOneEntPremier")),
    s("zoomOneEduEntPremier", zoom!("zoomOneEduEntPremier")),
    s("zoomOneSchoolCampusPlus", zoom!("zoomOneSchoolCampusPlus")),
    s("zoomAICompanionSubscription", zoom!("zoomAICompanionSubscription")),
    s("zoomRevenueAccelerator", zoom!("zoomRevenueAccelerator")),
    s("zoomDocs", zoom!("zoomDocs")),
    s("zoomClipsPlus", zoom!("zoomClipsPlus")),
    s("zoomScheduler", zoom!("zoomScheduler")),
    s("zoomQualityManagement", zoom!("zoomQualityManagement")),
    s("zoomWorkforceManagement", zoom!("zoomWorkforceManagement")),
    s("zoomMailAndCalendar", zoom!("zoomMailAndCalendar")),
    def("zoomIQ", zoom!("zoomIQ"), Kind::Boolean, Returned::Yes),
    def("zoomWhiteboard", zoom!("zoomWhiteboard"), Kind::Boolean, Returned::Yes),
    def("zoomWhiteboardPlus", zoom!("zoomWhiteboardPlus"), Kind::Boolean, Returned::Yes),
    def("zoomTranslatedCaptions", zoom!("zoomTranslatedCaptions"), Kind::Boolean, Returned::Yes),
    def("zoomHuddles", zoom!("zoomHuddles"), Kind::Boolean, Returned::Yes),
    def("zoomCustomerManagedKey", zoom!("zoomCustomerManagedKey"), Kind::Boolean, Returned::Yes),
    s("personalLinkName", zoom!("personalLinkName")),
    s("pronouns", zoom!("pronouns")),
    // Zoom Phone: accepted on create/update, never returned.
    unreturned("zoomPhoneExtNumber", zoom!("zoomPhoneExtNumber"), Kind::Integer),
    unreturned("zoomPhoneSite", zoom!("zoomPhoneSite"), Kind::String),
    unreturned("zoomPhoneCallingPlan", zoom!("zoomPhoneCallingPlan"), Kind::Integer),
    unreturned("zoomPhoneNumber", zoom!("zoomPhoneNumber"), Kind::String),
    // Contact Center: the same.
    unreturned("zoomContactCenterRole", zoom!("zoomContactCenterRole"), Kind::String),
    unreturned("zoomContactCenterRegion", zoom!("zoomContactCenterRegion"), Kind::String),
    unreturned("zoomContactCenterPackage", zoom!("zoomContactCenterPackage"), Kind::String),
    unreturned("zoomContactCenterAddonsPlan", zoom!("zoomContactCenterAddonsPlan"), Kind::String),
    unreturned("zoomContactCenterUserTemplate", zoom!("zoomContactCenterUserTemplate"), Kind::String),
];

/// Paths parsed once, index for index with the catalogue.
static CATALOGUE_PATHS: LazyLock<Vec<ScimPath<'static>>> = LazyLock::new(|| {
    CATALOGUE
        .iter()
        // Every catalogue path parses (tested); the fallback only keeps this total.
        .map(|d| ScimPath::parse(d.path).unwrap_or(ScimPath { schema: None, attr: d.path, filter: None, sub: None }))
        .collect()
});

/// Paths a mapping or a stored record named beyond the catalogue (append-only, leaked: a
/// handful per process).
static REGISTERED: RwLock<Vec<(&'static AttrDef, &'static ScimPath<'static>)>> = RwLock::new(Vec::new());

/// RFC 7643 §4.1: the core User schema's attributes (a path without a schema URN must be
/// one of them, so a misspelt `[mapping]` key is an error, not a new attribute).
const CORE_USER_ATTRIBUTES: [&str; 21] = [
    "userName",
    "name",
    "displayName",
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "active",
    "password",
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "groups",
    "entitlements",
    "roles",
    "x509Certificates",
];

/// A managed attribute: an index into the catalogue, or past it into the registered paths.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Field(u16);

#[allow(non_upper_case_globals)]
impl Field {
    pub const UserName: Field = Field(0);
    pub const GivenName: Field = Field(1);
    pub const FamilyName: Field = Field(2);
    pub const DisplayName: Field = Field(3);
    pub const WorkEmail: Field = Field(4);
    pub const Title: Field = Field(5);
    pub const WorkPhone: Field = Field(6);
    pub const Department: Field = Field(7);
    pub const EmployeeNumber: Field = Field(8);
}

impl Field {
    /// The handle as a number, for compact storage (`Fields`).
    pub(super) fn index(self) -> usize {
        usize::from(self.0)
    }

    /// The handle [`Field::index`] gave (only numbers it gave: no check).
    pub(super) fn from_index(index: usize) -> Field {
        Field(u16::try_from(index).unwrap_or(u16::MAX))
    }

    /// Every catalogue attribute.
    pub fn catalogue() -> impl Iterator<Item = Field> {
        (0..CATALOGUE.len() as u16).map(Field)
    }

    /// The catalogue and every registered path.
    pub fn all() -> impl Iterator<Item = Field> {
        let registered = REGISTERED.read().map_or(0, |r| r.len());
        (0..(CATALOGUE.len() + registered) as u16).map(Field)
    }

    pub fn def(self) -> &'static AttrDef {
        self.entry().0
    }

    pub fn path(self) -> &'static ScimPath<'static> {
        self.entry().1
    }

    fn entry(self) -> (&'static AttrDef, &'static ScimPath<'static>) {
        let i = usize::from(self.0);
        if i < CATALOGUE.len() {
            return (&CATALOGUE[i], &CATALOGUE_PATHS[i]);
        }
        let registered = REGISTERED.read().unwrap_or_else(|e| e.into_inner());
        registered[i - CATALOGUE.len()]
    }

    /// The SCIM attribute path, as shown to operators and used in PATCH operations.
    pub fn scim_path(self) -> &'static str {
        self.def().path
    }

    /// The name used in config files (`[mapping]` keys) and in history records.
    pub fn config_name(self) -> &'static str {
        self.def().name
    }

    /// A catalogue name (`title`, `zoomPhoneSite`, case-insensitive) or a catalogue path.
    pub fn from_config_name(name: &str) -> Option<Field> {
        Self::find(|d| d.name.eq_ignore_ascii_case(name) || d.path.eq_ignore_ascii_case(name))
    }

    fn find(matches: impl Fn(&AttrDef) -> bool) -> Option<Field> {
        if let Some(i) = CATALOGUE.iter().position(&matches) {
            return Some(Field(i as u16));
        }
        let registered = REGISTERED.read().unwrap_or_else(|e| e.into_inner());
        let i = registered.iter().position(|(d, _)| matches(d))?;
        Some(Field((CATALOGUE.len() + i) as u16))
    }

    /// The field for a `[mapping]` key: a catalogue name or path, or any other SCIM path
    /// (registered as an unknown, string-valued attribute that the target returns).
    pub fn resolve(name: &str) -> Result<Field, String> {
        if let Some(f) = Self::from_config_name(name) {
            return Ok(f);
        }
        let parsed = ScimPath::parse(name)?;
        if parsed.schema.is_none() && !CORE_USER_ATTRIBUTES.iter().any(|a| a.eq_ignore_ascii_case(parsed.attr)) {
            return Err(format!(
                "{name:?} is not a field zoomsync knows, nor a core SCIM User attribute (a custom attribute \
                 needs its schema URN, e.g. urn:ietf:params:scim:schemas:extension:zoom:1.0:User:{name})"
            ));
        }
        let mut registered = REGISTERED.write().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = registered.iter().position(|(d, _)| d.path.eq_ignore_ascii_case(name)) {
            return Ok(Field((CATALOGUE.len() + i) as u16));
        }
        let index = u16::try_from(CATALOGUE.len() + registered.len()).map_err(|_| "too many attributes".to_string())?;
        let path: &'static str = Box::leak(name.to_string().into_boxed_str());
        let parsed: &'static ScimPath<'static> = Box::leak(Box::new(parsed.into_static()));
        let def = Box::leak(Box::new(AttrDef { known: false, ..def(path, path, Kind::String, Returned::Yes) }));
        registered.push((def, parsed));
        Ok(Field(index))
    }

    /// The field a stored record names (its stored name, or a path registered before).
    fn from_stored(name: &str) -> Result<Field, String> {
        Self::find(|d| d.stored == name).map_or_else(|| Self::resolve(name), Ok)
    }

    /// The value in its canonical form for the wire and for comparing: booleans as
    /// `true`/`false`, integers without padding. `Err` names what is wrong.
    pub fn canonical(self, value: &str) -> Result<String, String> {
        let def = self.def();
        match def.kind {
            Kind::String => Ok(value.to_string()),
            Kind::Boolean => match value.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" | "on" => Ok("true".into()),
                "false" | "no" | "0" | "off" => Ok("false".into()),
                _ => Err(format!("{}: {value:?} is not a boolean (true or false)", def.name)),
            },
            Kind::Integer => value
                .trim()
                .parse::<i64>()
                .map(|n| n.to_string())
                .map_err(|_| format!("{}: {value:?} is not an integer", def.name)),
        }
    }

    /// Whether two values are the same to the target (case-folded attributes ignore case).
    pub fn same(self, a: &str, b: &str) -> bool {
        a == b || (self.def().folds_case && a.eq_ignore_ascii_case(b))
    }
}

impl fmt::Debug for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.config_name())
    }
}

impl Serialize for Field {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.def().stored)
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Field::from_stored(&name).map_err(serde::de::Error::custom)
    }
}

/// A parsed SCIM attribute path (RFC 7644 §3.10), the forms a mapping can target:
/// `attr`, `attr.sub`, `attr[filterAttr eq value].sub`, each optionally prefixed by a schema
/// URN (`urn:...:User:attr`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScimPath<'a> {
    /// The extension schema URN, `None` for the core schema.
    pub schema: Option<&'a str>,
    pub attr: &'a str,
    /// A multi-valued attribute's entry: (attribute, value), e.g. (`type`, `work`) or
    /// (`primary`, `true`).
    pub filter: Option<(&'a str, &'a str)>,
    pub sub: Option<&'a str>,
}

impl<'a> ScimPath<'a> {
    pub fn parse(path: &'a str) -> Result<Self, String> {
        let bad = |why: &str| format!("{path:?} is not a SCIM attribute path: {why}");
        let head_end = path.find('[').unwrap_or(path.len());
        let (schema, rest) = match path[..head_end].rfind(':') {
            Some(i) if path.to_ascii_lowercase().starts_with("urn:") => (Some(&path[..i]), &path[i + 1..]),
            Some(_) => return Err(bad("a ':' outside a schema URN")),
            None => (None, path),
        };
        let (attr, filter, after) = match rest.find('[') {
            Some(open) => {
                let close = rest.find(']').ok_or_else(|| bad("unclosed '['"))?;
                let inner: Vec<&str> = rest[open + 1..close].split_whitespace().collect();
                let [fattr, op, value] = inner[..] else { return Err(bad("the filter must be `attr eq value`")) };
                if !op.eq_ignore_ascii_case("eq") {
                    return Err(bad("only `eq` filters can be targeted"));
                }
                (&rest[..open], Some((fattr, value.trim_matches('"'))), &rest[close + 1..])
            }
            None => match rest.split_once('.') {
                Some((a, _)) => (a, None, &rest[a.len()..]),
                None => (rest, None, ""),
            },
        };
        let sub = match after {
            "" => None,
            s => Some(s.strip_prefix('.').ok_or_else(|| bad("expected '.sub' after the filter"))?),
        };
        let name_ok =
            |n: &str| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$');
        if !name_ok(attr) || sub.is_some_and(|s| !name_ok(s)) || filter.is_some_and(|(a, _)| !name_ok(a)) {
            return Err(bad("attribute names are letters, digits, '_', '-' or '$'"));
        }
        if filter.is_some() && sub.is_none() {
            return Err(bad("a filtered path needs a sub-attribute, e.g. `.value`"));
        }
        Ok(Self { schema, attr, filter, sub })
    }

    fn into_static(self) -> ScimPath<'static> {
        let leak = |s: &str| -> &'static str { Box::leak(s.to_string().into_boxed_str()) };
        ScimPath {
            schema: self.schema.map(leak),
            attr: leak(self.attr),
            filter: self.filter.map(|(a, v)| (leak(a), leak(v))),
            sub: self.sub.map(leak),
        }
    }
}

#[cfg(test)]
mod tests;
