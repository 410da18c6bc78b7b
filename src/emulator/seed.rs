//! Direct changes to the account that bypass SCIM's rules: pre-existing users (an admin, a
//! pending invitee) and out-of-band drift (a rename in the Zoom portal, a deleted user).
//! Shared by the Rust API and the `/_emulator/` endpoints. Attribute values are not checked
//! here (a test may seed what Zoom would refuse); `zoomPhoneExtNumber: 0` is still assigned.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::attributes::assign_extension;
use super::shared::{Shared, lock};
use super::state::{Group, Role, User, UserState};
use super::user_json::{apply_attributes, is_valid_email};

/// Why a direct change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("invalid: {0}")]
    Invalid(String),
}

impl ControlError {
    pub fn status(&self) -> u16 {
        match self {
            ControlError::NotFound(_) => 404,
            ControlError::Conflict(_) => 409,
            ControlError::Invalid(_) => 400,
        }
    }
}

/// A user to create directly. JSON: `{"userName": "a@x.org", "role": "admin", "state":
/// "pending", "id": "…", …any SCIM attributes (name, displayName, extensions)}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedUser {
    pub user_name: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub role: Option<Role>,
    #[serde(default)]
    pub state: Option<UserState>,
    /// SCIM attributes applied as on create (all of them, identity fields included).
    #[serde(flatten)]
    pub attributes: Map<String, Value>,
}

impl SeedUser {
    pub fn new(user_name: impl Into<String>) -> Self {
        Self { user_name: user_name.into(), ..Self::default() }
    }

    pub fn role(mut self, role: Role) -> Self {
        self.role = Some(role);
        self
    }

    pub fn state(mut self, state: UserState) -> Self {
        self.state = Some(state);
        self
    }

    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Adds one SCIM attribute, e.g. `("name", json!({"givenName": "Ann"}))`.
    pub fn attribute(mut self, key: impl Into<String>, value: Value) -> Self {
        self.attributes.insert(key.into(), value);
        self
    }
}

/// Drift applied to an existing user. JSON: `{"userName": "new@x.org", "role": "member",
/// "state": "inactive", …SCIM attributes}`; absent fields stay.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserEdit {
    #[serde(default)]
    pub user_name: Option<String>,
    #[serde(default)]
    pub role: Option<Role>,
    #[serde(default)]
    pub state: Option<UserState>,
    #[serde(flatten)]
    pub attributes: Map<String, Value>,
}

pub fn seed_user(shared: &Shared, seed: SeedUser) -> Result<User, ControlError> {
    if !is_valid_email(&seed.user_name) {
        return Err(ControlError::Invalid(format!("userName `{}` is not an email", seed.user_name)));
    }
    let mut store = lock(&shared.store);
    if store.name_taken(&seed.user_name) {
        return Err(ControlError::Conflict(format!("userName `{}` exists", seed.user_name)));
    }
    let id = match seed.id {
        Some(id) if id.is_empty() || id.contains('/') => {
            return Err(ControlError::Invalid("bad id".to_string()));
        }
        Some(id) if store.id_taken(&id) => {
            return Err(ControlError::Conflict(format!("id `{id}` exists")));
        }
        Some(id) => id,
        None => store.new_id(),
    };
    let mut u = store.blank_user(id, seed.user_name);
    apply_attributes(&mut u, &seed.attributes, true).map_err(ControlError::Invalid)?;
    assign_extension(&store, &mut u, None);
    u.role = seed.role.unwrap_or(Role::Member);
    u.state = seed.state.unwrap_or(UserState::Active);
    store.insert_user(u.clone());
    Ok(u)
}

pub fn edit_user(shared: &Shared, id: &str, edit: UserEdit) -> Result<User, ControlError> {
    let mut store = lock(&shared.store);
    let mut u = store.user(id).cloned().ok_or_else(|| ControlError::NotFound(id.to_string()))?;
    if let Some(name) = &edit.user_name {
        if !is_valid_email(name) {
            return Err(ControlError::Invalid(format!("userName `{name}` is not an email")));
        }
        if store.name_taken(name) && !u.user_name.eq_ignore_ascii_case(name) {
            return Err(ControlError::Conflict(format!("userName `{name}` exists")));
        }
    }
    let before = u.clone();
    apply_attributes(&mut u, &edit.attributes, true).map_err(ControlError::Invalid)?;
    assign_extension(&store, &mut u, Some(&before));
    if let Some(role) = edit.role {
        u.role = role;
    }
    if let Some(state) = edit.state {
        u.state = state;
    }
    if let Some(name) = &edit.user_name {
        u.user_name = name.clone();
        store.rename_user(id, name);
    }
    u.touch();
    store.replace_user(u.clone());
    Ok(u)
}

/// Removes a user outright (its userName becomes free again).
pub fn remove_user(shared: &Shared, id: &str) -> Result<(), ControlError> {
    lock(&shared.store).remove_user(id, false).map(|_| ()).ok_or_else(|| ControlError::NotFound(id.to_string()))
}

/// Creates a group directly, with members (user ids that must exist).
pub fn seed_group(shared: &Shared, display_name: &str, members: &[String]) -> Result<Group, ControlError> {
    let mut store = lock(&shared.store);
    if display_name.trim().is_empty() {
        return Err(ControlError::Invalid("displayName is empty".to_string()));
    }
    if store.group_by_name(display_name).is_some() {
        return Err(ControlError::Conflict(format!("group `{display_name}` exists")));
    }
    if let Some(missing) = members.iter().find(|m| store.user(m).is_none()) {
        return Err(ControlError::NotFound(missing.clone()));
    }
    let id = store.new_id();
    let mut g = store.blank_group(id, display_name.to_string());
    g.members = members.iter().cloned().collect();
    store.insert_group(g.clone());
    Ok(g)
}
