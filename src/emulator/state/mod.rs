//! The emulated account's data: users, groups and their indexes. Plain data and invariants
//! (unique case-insensitive userName, unique group name, one undeletable default group);
//! no HTTP here. Everything is behind one mutex in the server, never held across an await.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::SystemTime;

use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::clock::unix_secs;
use phone_index::PhoneIndex;

mod phone_index;

/// A user's lifecycle state in Zoom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserState {
    Active,
    Inactive,
    /// Invited but never activated: invisible to SCIM (filter answers 400, id lookups 404).
    Pending,
}

/// Zoom account role. Owners and admins cannot be deactivated or deleted through SCIM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Member,
}

impl Role {
    pub fn display(self) -> &'static str {
        match self {
            Role::Owner => "Owner",
            Role::Admin => "Admin",
            Role::Member => "Member",
        }
    }

    pub fn is_privileged(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}

/// `urn:us:zoom:scim:schemas:extension:1.0:ZoomUser.loginType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginType {
    pub work_email: bool,
    pub sso: bool,
}

/// One Zoom user as the emulator stores it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub id: String,
    pub user_name: String,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub state: UserState,
    pub role: Role,
    pub user_type: String,
    pub title: Option<String>,
    pub locale: Option<String>,
    pub phone_numbers: Vec<Value>,
    pub login_type: LoginType,
    /// Enterprise extension attributes (department, manager, …, custom).
    pub enterprise: Map<String, Value>,
    /// `…extension:zoom:1.0:User` attributes: plan/licence fields and profile extras.
    pub zoom: Map<String, Value>,
    /// zoom:1.0 fields accepted and stored but never returned (Zoom Phone, Contact Center, the
    /// request-only ones), as sent; typed views: [`User::phone`], [`User::contact_center`].
    pub hidden: Map<String, Value>,
    pub created: u64,
    pub modified: u64,
    pub version: u64,
    /// Creation order (list order).
    pub seq: u64,
}

impl User {
    pub fn is_active(&self) -> bool {
        self.state == UserState::Active
    }

    /// Marks a change: bumps `meta.version` and `lastModified`.
    pub fn touch(&mut self) {
        self.version += 1;
        self.modified = unix_secs(SystemTime::now());
    }

    /// Deactivation removes all licences (Zoom product docs): plan fields go, userType is Basic.
    pub fn clear_licences(&mut self) {
        self.zoom.retain(|k, _| !is_licence_field(k));
        self.user_type = "Basic".to_string();
    }
}

/// Plan/licence attributes of the zoom:1.0 extension (cleared on deactivation). Profile extras
/// (`personalLinkName`, `pronouns`) and custom attributes are kept.
pub fn is_licence_field(name: &str) -> bool {
    name.starts_with("zoom") || matches!(name, "clinicalNotes" | "visitorManagement" | "visitorManagementSubscription")
}

/// One Zoom user group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    pub id: String,
    pub display_name: String,
    pub email_alias: Option<String>,
    pub members: BTreeSet<String>,
    pub is_default: bool,
    pub created: u64,
    pub modified: u64,
    pub seq: u64,
}

pub const DEFAULT_GROUP_NAME: &str = "Default";
const ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789&_-";

/// Users and groups with their indexes.
pub struct Store {
    users: HashMap<String, User>,
    by_name: HashMap<String, String>,
    user_order: BTreeMap<u64, String>,
    /// userNames taken by disassociated users (they keep a free Zoom account).
    reserved: HashSet<String>,
    groups: HashMap<String, Group>,
    group_by_name: HashMap<String, String>,
    group_order: BTreeMap<u64, String>,
    next_seq: u64,
    pub ids_with_ampersand: bool,
    phones: PhoneIndex,
}

impl Store {
    /// An account with its default group and, if given, an active owner.
    pub fn new(owner: Option<&str>, ids_with_ampersand: bool) -> Self {
        let mut s = Self {
            users: HashMap::new(),
            by_name: HashMap::new(),
            user_order: BTreeMap::new(),
            reserved: HashSet::new(),
            groups: HashMap::new(),
            group_by_name: HashMap::new(),
            group_order: BTreeMap::new(),
            next_seq: 0,
            ids_with_ampersand,
            phones: PhoneIndex::default(),
        };
        let id = s.new_id();
        let mut g = s.blank_group(id, DEFAULT_GROUP_NAME.to_string());
        g.is_default = true;
        s.insert_group(g);
        if let Some(name) = owner {
            let id = s.new_id();
            let mut u = s.blank_user(id, name.to_string());
            u.role = Role::Owner;
            u.user_type = "Licensed".to_string();
            s.insert_user(u);
        }
        s
    }

    /// A fresh 22-character id from `[A-Za-z0-9&_-]`, unique among users and groups.
    pub fn new_id(&self) -> String {
        let mut rng = rand::rng();
        loop {
            let mut bytes: Vec<u8> = (0..22).map(|_| ID_ALPHABET[rng.random_range(0..ID_ALPHABET.len())]).collect();
            if self.ids_with_ampersand && !bytes.contains(&b'&') {
                let at = rng.random_range(1..21);
                bytes[at] = b'&';
            }
            let id: String = bytes.into_iter().map(char::from).collect();
            if !self.users.contains_key(&id) && !self.groups.contains_key(&id) {
                return id;
            }
        }
    }

    fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    /// A new active member with defaults; not yet inserted.
    pub fn blank_user(&mut self, id: String, user_name: String) -> User {
        let now = unix_secs(SystemTime::now());
        User {
            id,
            user_name,
            display_name: None,
            given_name: None,
            family_name: None,
            state: UserState::Active,
            role: Role::Member,
            user_type: "Basic".to_string(),
            title: None,
            locale: None,
            phone_numbers: Vec::new(),
            login_type: LoginType { work_email: false, sso: true },
            enterprise: Map::new(),
            zoom: Map::new(),
            hidden: Map::new(),
            created: now,
            modified: now,
            version: 1,
            seq: self.next_seq(),
        }
    }

    pub fn blank_group(&mut self, id: String, display_name: String) -> Group {
        let now = unix_secs(SystemTime::now());
        Group {
            id,
            display_name,
            email_alias: None,
            members: BTreeSet::new(),
            is_default: false,
            created: now,
            modified: now,
            seq: self.next_seq(),
        }
    }

    /// Is this userName used by any user of the account (any state) or a disassociated one?
    pub fn name_taken(&self, user_name: &str) -> bool {
        let key = user_name.to_lowercase();
        self.by_name.contains_key(&key) || self.reserved.contains(&key)
    }

    pub fn id_taken(&self, id: &str) -> bool {
        self.users.contains_key(id) || self.groups.contains_key(id)
    }

    pub fn insert_user(&mut self, user: User) {
        self.by_name.insert(user.user_name.to_lowercase(), user.id.clone());
        self.user_order.insert(user.seq, user.id.clone());
        self.phones.add(&user);
        if let Some(old) = self.users.insert(user.id.clone(), user) {
            self.phones.remove(&old);
        }
    }

    /// Puts a changed user in place of the stored one with the same id (its userName
    /// changes through [`Store::rename_user`]); absent ids are left absent.
    pub fn replace_user(&mut self, user: User) {
        if let Some(slot) = self.users.get_mut(&user.id) {
            self.phones.remove(slot);
            self.phones.add(&user);
            *slot = user;
        }
    }

    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.get(id)
    }

    pub fn user_by_name(&self, user_name: &str) -> Option<&User> {
        self.by_name.get(&user_name.to_lowercase()).and_then(|id| self.users.get(id))
    }

    /// Changes a userName and keeps the index right. The caller checks uniqueness.
    pub fn rename_user(&mut self, id: &str, new_name: &str) {
        if let Some(u) = self.users.get_mut(id) {
            self.by_name.remove(&u.user_name.to_lowercase());
            u.user_name = new_name.to_string();
            self.by_name.insert(new_name.to_lowercase(), id.to_string());
        }
    }

    /// Removes a user and its group memberships; `reserve` keeps its userName taken.
    pub fn remove_user(&mut self, id: &str, reserve: bool) -> Option<User> {
        let u = self.users.remove(id)?;
        self.phones.remove(&u);
        self.by_name.remove(&u.user_name.to_lowercase());
        self.user_order.remove(&u.seq);
        if reserve {
            self.reserved.insert(u.user_name.to_lowercase());
        }
        for g in self.groups.values_mut() {
            g.members.remove(id);
        }
        Some(u)
    }

    /// Users in creation order.
    pub fn users(&self) -> impl Iterator<Item = &User> {
        self.user_order.values().filter_map(|id| self.users.get(id))
    }

    /// Does a user other than `except` hold this Zoom Phone number?
    pub fn phone_number_held(&self, number: &Value, except: Option<&str>) -> bool {
        self.phones.number_held(number, except)
    }

    /// Does a user other than `except` hold this Zoom Phone extension?
    pub fn extension_held(&self, ext: i64, except: Option<&str>) -> bool {
        self.phones.extension_held(ext, except)
    }

    /// The lowest extension from `first` up that no user other than `except` holds.
    pub fn lowest_free_extension(&self, first: i64, except: &str) -> i64 {
        self.phones.lowest_free(first, except)
    }

    /// Does any user other than `except` carry this employeeNumber?
    pub fn employee_number_taken(&self, number: &Value, except: Option<&str>) -> bool {
        self.users.values().any(|u| Some(u.id.as_str()) != except && u.enterprise.get("employeeNumber") == Some(number))
    }

    pub fn insert_group(&mut self, group: Group) {
        self.group_by_name.insert(group.display_name.to_lowercase(), group.id.clone());
        self.group_order.insert(group.seq, group.id.clone());
        self.groups.insert(group.id.clone(), group);
    }

    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.get(id)
    }

    pub fn group_by_name(&self, name: &str) -> Option<&Group> {
        self.group_by_name.get(&name.to_lowercase()).and_then(|id| self.groups.get(id))
    }

    /// Replaces a stored group (after a validated PATCH), keeping the name index right.
    pub fn replace_group(&mut self, group: Group) {
        if let Some(old) = self.groups.get(&group.id) {
            self.group_by_name.remove(&old.display_name.to_lowercase());
        }
        self.group_by_name.insert(group.display_name.to_lowercase(), group.id.clone());
        self.groups.insert(group.id.clone(), group);
    }

    pub fn remove_group(&mut self, id: &str) -> Option<Group> {
        let g = self.groups.remove(id)?;
        self.group_by_name.remove(&g.display_name.to_lowercase());
        self.group_order.remove(&g.seq);
        Some(g)
    }

    /// Groups in creation order (the default group first).
    pub fn groups(&self) -> impl Iterator<Item = &Group> {
        self.group_order.values().filter_map(|id| self.groups.get(id))
    }

    /// Names of the groups a user belongs to, in group order.
    pub fn groups_of(&self, user_id: &str) -> Vec<&str> {
        self.groups().filter(|g| g.members.contains(user_id)).map(|g| g.display_name.as_str()).collect()
    }
}

#[cfg(test)]
mod tests;
