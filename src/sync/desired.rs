//! PURE: directory users -> the users we want on the target, converted as entries arrive.

use std::collections::BTreeSet;

use super::mapping_memo::MemoRead;
use crate::config::mapping::MappingConfig;
use crate::mapping::map_user;
use crate::model::Field;
use crate::model::{DirectoryUser, Rejected};
use crate::plan::managers::has_references;
use crate::plan::{Desired, DesiredUser, fingerprint};
use crate::source::{Convert, DirectoryRead, Snapshot};

/// Maps one decoded user (through the memo when given); a mapping failure becomes a
/// rejection that keeps the anchor (present-but-unreadable, never treated as gone).
pub fn mapper<'a>(
    mapping: &'a MappingConfig,
    create_only: &'a BTreeSet<Field>,
    mut memo: Option<MemoRead<'a>>,
) -> Convert<'a, DesiredUser> {
    let waits_for_groups = mapping.uses_groups();
    let mut map = move |user: &DirectoryUser| match &mut memo {
        Some(memo) => memo.map_user(user, mapping),
        None => map_user(user, mapping),
    };
    Box::new(move |user: DirectoryUser| match map(&user) {
        Ok(scim) => {
            // A user with a manager reference gets its fingerprint once the reference is
            // resolved (`plan::resolve_managers`, before every plan), one with rules waiting
            // for the groups once they are mapped (`memberships::complete`) if it has none.
            let fingerprint = match has_references(&scim) {
                true => 0,
                false => fingerprint(&scim, create_only),
            };
            // Rules that read group membership are evaluated after the group read
            // (`memberships::complete`), from the directory user kept here until then.
            let (anchor, dn, deferred) = match waits_for_groups {
                true => (user.anchor.clone(), user.dn.clone(), Some(Box::new(user))),
                false => (user.anchor, user.dn, None),
            };
            Ok(DesiredUser { anchor, dn, user: scim, fingerprint, deferred })
        }
        Err(reason) => Err(Rejected { dn: user.dn, anchor: Some(user.anchor), reason }),
    })
}

/// The plan's input from a mapped read.
pub fn desired_from_read(read: DirectoryRead<DesiredUser>) -> (Desired, Vec<Rejected>) {
    let (snapshot, incomplete) = match read {
        DirectoryRead::Complete(s) => (s, None),
        DirectoryRead::Incomplete { partial, reason } => (partial, Some(reason)),
    };
    let Snapshot { users, rejected, .. } = snapshot;
    let unreadable = rejected.iter().filter_map(|r| r.anchor.clone()).collect();
    (Desired { users, unreadable, incomplete, changes: None }, rejected)
}
