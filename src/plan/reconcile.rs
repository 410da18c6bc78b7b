//! PURE: a full read of the target against what state says — the repair step.
//!
//! Run on the first cycle, after state loss, on `sync --full` and on its schedule. It
//! (1) forgets Zoom ids that no longer exist (the user is created again by the plan),
//! (2) records drift: where the target differs from what we pushed, the stored payload
//!     becomes what the target has, so the plan sends exactly the fields to put right,
//! (3) adopts target users whose userName a directory user without state has, when no
//!     other anchor owns that id.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};

use super::{Desired, fingerprint};
use crate::model::Anchor;
use crate::model::{Field, RemoteUser, ScimUser};
use crate::model::{KnownUser, Lifecycle, Origin, UnixTime};

/// State changes the reconcile decided; the caller writes them. Users found deactivated
/// are recorded as deactivated *now*: their real date is unknown, and "since 1970" would
/// make `safety.delete_after` delete them at once.
#[derive(Debug, Default)]
pub struct Repair {
    /// Anchors whose Zoom user is gone: drop from state.
    pub forget: Vec<KnownUser>,
    /// Records (and payloads as the target has them) to write: drift and adoptions.
    pub put: Vec<(KnownUser, ScimUser, RepairKind)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepairKind {
    Drift,
    Adopted,
}

/// The payload as the target holds it: what we pushed, overlaid with every field the target
/// returned (a trimmed list leaves the others as we pushed them). A field the target stores
/// case-folded (`AttrDef::folds_case`: Zoom lower-cases the login and the work e-mail) held
/// in another case keeps the pushed value, so a mixed-case mail is not seen as drift (and
/// sent again) on every full reconcile.
pub fn remote_view(pushed: &ScimUser, remote: &RemoteUser) -> ScimUser {
    let mut view = pushed.clone();
    if !remote.user.fields.is_empty() {
        let same_but_case = |field: Field, value: &str| pushed.get(field).is_some_and(|p| field.same(p, value));
        let from_remote = remote.user.fields.iter().filter(|&(f, v)| !same_but_case(f, v));
        view.fields = view.fields.iter().chain(from_remote).collect();
    }
    view.active = remote.user.active;
    view
}

/// The view as zoomsync counts it in step: a value the target did not keep (it answered
/// with another, recorded in `KnownUser::not_kept`) and still holds as it answered counts
/// as the value asked for, so it is not drift and not re-sent on every full reconcile.
fn as_asked<'v>(view: &'v ScimUser, pushed: &ScimUser, known: &KnownUser) -> Cow<'v, ScimUser> {
    if known.rename_refused.is_none() && known.not_kept.is_empty() {
        return Cow::Borrowed(view); // the common case: no copy per user
    }
    let refused = known.refused_values();
    let mut out = view.clone();
    for (field, asked) in refused.iter() {
        if view.get(field) == pushed.get(field) {
            out.fields.insert(field, asked.to_string());
        }
    }
    Cow::Owned(out)
}

/// `pushed` holds the payloads last pushed for the known users still on the target (a user
/// without one compares as empty).
pub fn reconcile(
    known: &HashMap<Anchor, KnownUser>,
    pushed: &HashMap<Anchor, ScimUser>,
    remote: &[RemoteUser],
    desired: &Desired,
    create_only: &BTreeSet<Field>,
    now: UnixTime,
) -> Repair {
    let mut repair = Repair::default();
    let by_id: HashMap<&str, &RemoteUser> = remote.iter().map(|r| (r.id.as_str(), r)).collect();
    let owned: HashSet<&str> = known.values().map(|k| k.zoom_id.as_str()).collect();
    let nothing_pushed = ScimUser::default();
    for k in known.values() {
        match by_id.get(k.zoom_id.as_str()) {
            None => repair.forget.push(k.clone()),
            Some(r) => {
                let pushed = pushed.get(&k.anchor).unwrap_or(&nothing_pushed);
                let view = remote_view(pushed, r);
                let fp = fingerprint(&as_asked(&view, pushed, k), create_only);
                let lifecycle_matches = (k.lifecycle == Lifecycle::Active) == r.user.active;
                if fp != k.fingerprint || !lifecycle_matches || k.privileged != r.privileged {
                    let mut fixed = k.clone();
                    fixed.fingerprint = fp;
                    fixed.privileged = r.privileged;
                    fixed.user_name = view.user_name().to_string();
                    fixed.lifecycle = match (r.user.active, k.lifecycle) {
                        (true, _) => Lifecycle::Active,
                        (false, Lifecycle::Deactivated { since }) => Lifecycle::Deactivated { since },
                        (false, Lifecycle::Active) => Lifecycle::Deactivated { since: now },
                    };
                    repair.put.push((fixed, view, RepairKind::Drift));
                }
            }
        }
    }
    let by_name: HashMap<String, &RemoteUser> = remote.iter().map(|r| (r.user.user_name().to_lowercase(), r)).collect();
    for d in &desired.users {
        if known.contains_key(&d.anchor) {
            continue;
        }
        let Some(r) = by_name.get(&d.user.user_name().to_lowercase()) else { continue };
        if owned.contains(r.id.as_str()) || r.pending {
            continue; // the apply step reports these when it tries to create
        }
        let view = remote_view(&ScimUser::default(), r);
        let record = KnownUser {
            anchor: d.anchor.clone(),
            zoom_id: r.id.clone(),
            dn: d.dn.clone(),
            user_name: view.user_name().to_string(),
            fingerprint: fingerprint(&view, create_only),
            lifecycle: if r.user.active { Lifecycle::Active } else { Lifecycle::Deactivated { since: now } },
            origin: Origin::Adopted,
            privileged: r.privileged,
            rename_refused: None,
            not_kept: Default::default(),
        };
        repair.put.push((record, view, RepairKind::Adopted));
    }
    repair
}
