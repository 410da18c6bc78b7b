//! PURE data: the records of what zoomsync pushed and decided, kept in the state store.
//! Serialized as JSON: readable in a bug report, and new optional fields can be added
//! without a migration.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::Anchor;
use super::scim_user::{Change, Field, Fields, ScimUser};

/// Seconds since the Unix epoch (UTC). Plain integers keep records comparable and small.
pub type UnixTime = i64;

/// The wall clock as [`UnixTime`] (0 if the clock is before 1970). Pure steps take `now` as
/// an argument; only the edges call this.
pub fn unix_now() -> UnixTime {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as UnixTime).unwrap_or(0)
}

/// An anchor zoomsync manages on the target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownUser {
    pub anchor: Anchor,
    pub zoom_id: String,
    /// Last DN seen, for operators (DNs change; the anchor does not).
    pub dn: String,
    /// The userName on the target as far as we know.
    pub user_name: String,
    /// Fingerprint of the payload last pushed (`plan::fingerprint`).
    pub fingerprint: u64,
    pub lifecycle: Lifecycle,
    pub origin: Origin,
    /// A Zoom owner or admin: zoomsync never deactivates or deletes it.
    #[serde(default)]
    pub privileged: bool,
    /// The target kept the old userName when we sent this one (Zoom managed-domain rules):
    /// the rename is not retried while the directory still asks for this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rename_refused: Option<String>,
    /// Other attributes the target answered with another value than the one sent (Zoom may
    /// ignore a displayName or normalise a value): field -> the value asked for. Not re-sent,
    /// and not taken for drift, while the directory still asks for that value.
    #[serde(default, skip_serializing_if = "Fields::is_empty")]
    pub not_kept: Fields,
}

impl KnownUser {
    /// Every value the target did not keep, userName included: field -> the value asked for.
    pub fn refused_values(&self) -> Fields {
        let mut all = self.not_kept.clone();
        if let Some(asked) = &self.rename_refused {
            all.insert(Field::UserName, asked.clone());
        }
        all
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Lifecycle {
    Active,
    Deactivated { since: UnixTime },
}

/// A directory group zoomsync keeps in step with a Zoom group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownGroup {
    /// The directory group's anchor (entryUUID / objectGUID, or `dn:…` without one).
    pub anchor: Anchor,
    pub dn: String,
    pub zoom_id: String,
    /// The Zoom displayName as last set or found.
    pub zoom_name: String,
    /// zoomsync created the Zoom group (and may delete it when the directory group goes);
    /// a group found by name and linked is never deleted.
    pub created: bool,
    /// Members as pushed: user anchor -> the Zoom user id added. Zoom does not list group
    /// members, so this cache is what membership changes are computed against.
    pub members: std::collections::BTreeMap<Anchor, String>,
}

/// How the Zoom user came under management. zoomsync only deactivates or deletes users it
/// created or adopted, and adoption needs the Zoom id to be unowned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    Created,
    Adopted,
}

/// Consecutive failures of one object, and when it may be tried again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureRecord {
    pub anchor: Anchor,
    pub dn: String,
    pub user_name: String,
    pub attempts: u32,
    pub last_error: String,
    /// Bounded class of the error, for metrics.
    #[serde(default)]
    pub class: FailureClass,
    pub first_failed: UnixTime,
    pub last_failed: UnixTime,
    /// Not tried before this time while its source is unchanged.
    pub next_attempt: UnixTime,
    /// Fingerprint of the desired payload that failed: a different one releases it.
    pub source_fingerprint: u64,
    /// Past the quarantine threshold (shown by `quarantine list`).
    pub quarantined: bool,
}

/// Why an object failed, as a bounded metric label. Stored with the failure record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    /// The target refused the object's data (400): fix the directory entry.
    Rejected,
    /// zoomsync itself refused (e.g. the Zoom user belongs to another anchor).
    Refused,
    /// The target was unavailable after the client's retries.
    Unavailable,
    /// The name is taken and could not be adopted.
    Conflict,
    /// The object is gone on the target.
    NotFound,
    /// Nothing works until an operator acts (bad credentials, forbidden).
    Fatal,
    /// Written by a version that kept no class (or an unknown one): counted nowhere.
    #[default]
    #[serde(other)]
    Unclassified,
}

impl FailureClass {
    /// Every class a metric reports (zeros too).
    pub const ALL: [FailureClass; 6] =
        [Self::Rejected, Self::Refused, Self::Unavailable, Self::Conflict, Self::NotFound, Self::Fatal];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rejected => "rejected",
            Self::Refused => "refused",
            Self::Unavailable => "unavailable",
            Self::Conflict => "conflict",
            Self::NotFound => "not_found",
            Self::Fatal => "fatal",
            Self::Unclassified => "",
        }
    }
}

/// Destructive operations a guard held back, waiting for `zoomsync approve`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldOps {
    pub reason: String,
    pub since: UnixTime,
    pub ops: Vec<HeldOp>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct HeldOp {
    pub anchor: Anchor,
    pub dn: String,
    pub user_name: String,
    /// "deactivate" or "delete".
    pub action: String,
}

/// Whole-connector quarantine: Fatal errors or too many failures slow the job down.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorQuarantine {
    pub reason: String,
    pub since: UnixTime,
    pub consecutive: u32,
    pub next_attempt: UnixTime,
}

/// The target refuses every request until `until` (Zoom's daily rate limit): the cycle
/// stopped there, and scheduled cycles wait until then.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetPause {
    pub until: UnixTime,
    /// What the target answered (redacted).
    pub reason: String,
}

/// Small singletons.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    #[serde(default)]
    pub last_success: Option<UnixTime>,
    #[serde(default)]
    pub last_full_reconcile: Option<UnixTime>,
    #[serde(default)]
    pub last_cycle_summary: Option<String>,
    #[serde(default)]
    pub held: Option<HeldOps>,
    /// Set by `approve`: the held operations it allows (applied by the next cycle, then cleared).
    #[serde(default)]
    pub approved: Option<Vec<HeldOp>>,
    #[serde(default)]
    pub connector_quarantine: Option<ConnectorQuarantine>,
    #[serde(default)]
    pub cycle_counter: u64,
    /// Set by a cycle the target paused (a daily rate limit), cleared by the next cycle that
    /// is not paused.
    #[serde(default)]
    pub target_paused: Option<TargetPause>,
    /// Set when a cycle starts applying an approval, cleared when that cycle ends having
    /// applied it. Still set when a later cycle begins: the cycle crashed mid-way.
    #[serde(default)]
    pub approval_applying: Option<ApprovalRun>,
    /// An approval whose cycle crashed or was stopped before applying all of it. Not applied
    /// again (what is left is held again, for a new `approve`); shown by `status` until an
    /// approval is applied or nothing is held.
    #[serde(default)]
    pub approval_interrupted: Option<ApprovalRun>,
    /// Where the directory change channel resumes, written with the meta of the batch or
    /// cycle that applied everything before it.
    #[serde(default)]
    pub change_channel: Option<ChannelRecord>,
}

/// The change channel's stored position and what `status` shows of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelRecord {
    /// `syncrepl`, `usn` or `dirsync`.
    pub mechanism: String,
    /// Where to resume, in the mechanism's own form (JSON: cookies, or DC, invocationID and
    /// USN); opaque to everything but the channel.
    pub position: String,
    /// A line for `status`: "USN 41873 on dc1.example.com", "cookie rid=000,csn=…".
    pub describe: String,
    /// When this position was stored.
    pub stored_at: UnixTime,
    /// When the last batch of changes was applied, and its summary.
    #[serde(default)]
    pub last_batch: Option<(UnixTime, String)>,
}

/// An approval being applied: by which cycle, how many operations it allowed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRun {
    pub cycle: u64,
    pub ops: usize,
}

/// One line of the provisioning log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryRecord {
    pub time: UnixTime,
    pub cycle: u64,
    pub anchor: Anchor,
    pub dn: String,
    pub user_name: String,
    /// create, update, deactivate, reactivate, delete, adopt, skip, hold.
    pub action: String,
    /// success, failure, skipped, warning, held.
    pub result: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The fields of a payload, for history records of creates.
pub fn all_as_changes(user: &ScimUser) -> Vec<Change> {
    user.fields.iter().map(|(f, v): (Field, &str)| Change { field: f, old: None, new: Some(v.to_string()) }).collect()
}
