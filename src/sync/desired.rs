//! PURE: directory users -> the users we want on the target, converted as entries arrive.

use std::collections::BTreeSet;

use crate::config::mapping::MappingConfig;
use crate::mapping::map_user;
use crate::model::Field;
use crate::model::{DirectoryUser, Rejected};
use crate::plan::{Desired, DesiredUser, fingerprint};
use crate::source::{Convert, DirectoryRead, Snapshot};

/// Maps one decoded user; a mapping failure becomes a rejection that keeps the anchor
/// (present-but-unreadable, never treated as gone).
pub fn mapper<'a>(mapping: &'a MappingConfig, create_only: &'a BTreeSet<Field>) -> Convert<'a, DesiredUser> {
    Box::new(move |user: DirectoryUser| match map_user(&user, mapping) {
        Ok(scim) => Ok(DesiredUser {
            fingerprint: fingerprint(&scim, create_only),
            anchor: user.anchor,
            dn: user.dn,
            user: scim,
        }),
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
    (Desired { users, unreadable, incomplete }, rejected)
}
