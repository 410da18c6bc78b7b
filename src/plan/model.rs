//! The planner's input and output types.

use std::collections::HashSet;

use serde::Serialize;

use crate::model::Anchor;
use crate::model::{DirectoryUser, ScimUser};

/// A user the directory wants on the target, after mapping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredUser {
    pub anchor: Anchor,
    pub dn: String,
    pub user: ScimUser,
    pub fingerprint: u64,
    /// The directory user, kept only while mapping rules that read group membership wait
    /// for the group read (`sync::memberships`); `None` once mapped in full.
    pub deferred: Option<Box<DirectoryUser>>,
}

impl crate::model::Identity for DesiredUser {
    fn anchor(&self) -> &Anchor {
        &self.anchor
    }
    fn dn(&self) -> &str {
        &self.dn
    }
    fn user_name(&self) -> &str {
        self.user.user_name()
    }
}

/// What the directory wants, and how much of it we could read.
#[derive(Clone, Debug, Default)]
pub struct Desired {
    pub users: Vec<DesiredUser>,
    /// Anchors of entries present but rejected: never treated as gone.
    pub unreadable: HashSet<Anchor>,
    /// `Some(reason)` when the read did not complete: nothing is treated as gone.
    pub incomplete: Option<String>,
    /// `Some` for a change-channel batch: only the changed entries were read, so a known
    /// user who is not among them is as the state knows it, not gone.
    pub changes: Option<ChangeScope>,
}

/// What a change-channel batch knows beyond the entries it read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeScope {
    /// Anchors the channel reported as deleted or out of scope.
    pub gone: HashSet<Anchor>,
    /// Deactivations and deletions the channel already applied within the rolling window
    /// (`safety.change_window`): they count against the same limits as this batch's.
    pub recent_removals: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Reactivate,
    Deactivate,
    Delete,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Reactivate => "reactivate",
            Action::Deactivate => "deactivate",
            Action::Delete => "delete",
        }
    }

    pub fn is_destructive(self) -> bool {
        matches!(self, Action::Deactivate | Action::Delete)
    }
}

/// One planned operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Op {
    pub anchor: Anchor,
    pub dn: String,
    pub user_name: String,
    pub action: Action,
    /// The target id (absent for creates).
    pub zoom_id: Option<String>,
    /// The payload the directory wants (absent when the user left the directory).
    #[serde(skip)]
    pub desired: Option<ScimUser>,
    #[serde(skip)]
    pub fingerprint: u64,
    /// Why, in words for operators (a fixed phrase: no allocation per operation).
    pub reason: &'static str,
}

/// An anchor the plan deliberately leaves alone this cycle, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skip {
    pub anchor: Anchor,
    pub dn: String,
    pub user_name: String,
    pub reason: String,
}

impl Skip {
    pub fn new(anchor: &Anchor, dn: &str, user_name: &str, reason: String) -> Self {
        Self { anchor: anchor.clone(), dn: dn.to_string(), user_name: user_name.to_string(), reason }
    }
}

/// Something an operator should know about a user the plan still acts on (or leaves
/// unchanged): a field left out of its payload, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Note {
    pub anchor: Anchor,
    pub dn: String,
    pub user_name: String,
    pub note: String,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Plan {
    /// Operations to apply now.
    pub ops: Vec<Op>,
    /// Destructive operations a guard holds until `zoomsync approve`.
    pub held: Vec<Op>,
    /// Why `held` is not empty, or why destructive operations were not even planned.
    pub guard: Option<String>,
    pub skipped: Vec<Skip>,
    /// Per-user notes from the stages before the plan (a manager left unset).
    pub notes: Vec<Note>,
    pub unchanged: usize,
}

impl Plan {
    pub fn count(&self, action: Action) -> usize {
        self.ops.iter().filter(|o| o.action == action).count()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty() && self.held.is_empty()
    }

    /// Stable order for display and tests: by action, then userName.
    pub(super) fn sort(&mut self) {
        let key = |o: &Op| (o.action, o.user_name.clone(), o.anchor.clone());
        self.ops.sort_by_key(key);
        self.held.sort_by_key(key);
        self.skipped.sort_by(|a, b| a.user_name.cmp(&b.user_name));
    }
}
