//! PURE: the SCIM user we want (or found), as a small set of managed fields.
//!
//! Fields are an enum rather than free strings so the planner can diff them, the wire code
//! can place each one (core, enterprise extension, multi-valued `emails[type eq "work"]`),
//! and nothing outside this list is ever sent (scim2-server rejects unknown attributes).

use serde::{Deserialize, Serialize};

/// A user attribute zoomsync manages. `active` is separate: it is a lifecycle, not data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Field {
    /// `userName`: the Zoom login e-mail.
    UserName,
    /// `name.givenName`
    GivenName,
    /// `name.familyName`
    FamilyName,
    /// `displayName`
    DisplayName,
    /// `emails[type eq "work"].value`
    WorkEmail,
    /// `title`
    Title,
    /// `phoneNumbers[type eq "work"].value`
    WorkPhone,
    /// enterprise extension `department`
    Department,
    /// enterprise extension `employeeNumber`
    EmployeeNumber,
}

impl Field {
    pub const ALL: [Field; 9] = [
        Field::UserName,
        Field::GivenName,
        Field::FamilyName,
        Field::DisplayName,
        Field::WorkEmail,
        Field::Title,
        Field::WorkPhone,
        Field::Department,
        Field::EmployeeNumber,
    ];

    /// The SCIM attribute path, as shown to operators and used in PATCH operations.
    pub fn scim_path(self) -> &'static str {
        match self {
            Field::UserName => "userName",
            Field::GivenName => "name.givenName",
            Field::FamilyName => "name.familyName",
            Field::DisplayName => "displayName",
            Field::WorkEmail => "emails[type eq \"work\"].value",
            Field::Title => "title",
            Field::WorkPhone => "phoneNumbers[type eq \"work\"].value",
            Field::Department => "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            Field::EmployeeNumber => "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        }
    }

    /// The name used in config files (`[mapping]` keys) and in history records.
    pub fn config_name(self) -> &'static str {
        match self {
            Field::UserName => "userName",
            Field::GivenName => "givenName",
            Field::FamilyName => "familyName",
            Field::DisplayName => "displayName",
            Field::WorkEmail => "email",
            Field::Title => "title",
            Field::WorkPhone => "phone",
            Field::Department => "department",
            Field::EmployeeNumber => "employeeNumber",
        }
    }

    pub fn from_config_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.config_name().eq_ignore_ascii_case(name))
    }
}

/// A user as SCIM sees it: managed fields (absent = empty) and the active flag.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimUser {
    pub fields: super::fields::Fields,
    pub active: bool,
}

impl ScimUser {
    pub fn get(&self, field: Field) -> Option<&str> {
        self.fields.get(field)
    }

    pub fn user_name(&self) -> &str {
        self.get(Field::UserName).unwrap_or("")
    }
}

/// One attribute change: the new value, or `None` to clear it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub field: Field,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// A user found on the target (from a create/update response, a lookup or a list).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteUser {
    /// The target's id (Zoom: 22 characters, may contain `&`).
    pub id: String,
    /// What the target returned. Fields it did not return are absent here, which for Zoom's
    /// trimmed list responses means "unknown", not "empty".
    pub user: ScimUser,
    /// Zoom role: owners and admins are never deactivated or deleted by zoomsync.
    pub privileged: bool,
    /// Zoom "pending": invited, not yet activated; cannot be deactivated.
    pub pending: bool,
}

/// A group found on (or created on) the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteGroup {
    pub id: String,
    pub display_name: String,
    /// Member user ids when the target lists them (generic SCIM servers do; Zoom's GET
    /// group does not), so a linked group's existing members can be taken into account.
    pub members: Option<Vec<String>>,
}

/// One membership PATCH: only adds or only removes (Zoom documents each PatchOp shape on its
/// own), of target user ids. `group_body::member_batches` keeps each body under the limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberPatch {
    Add(Vec<String>),
    Remove(Vec<String>),
}

impl MemberPatch {
    pub fn ids(&self) -> &[String] {
        match self {
            Self::Add(ids) | Self::Remove(ids) => ids,
        }
    }
}
