//! PURE: a directory read -> the users we want on the target.

use std::collections::BTreeSet;

use crate::mapping::{MappingConfig, map_user};
use crate::model::Rejected;
use crate::plan::{Desired, DesiredUser, fingerprint};
use crate::scim::Field;
use crate::source::{DirectoryRead, Snapshot};

/// Maps every user; a mapping failure becomes a rejection (present-but-unreadable).
/// Consumes the read so decoded users are freed as they are mapped.
pub fn desired_from_read(read: DirectoryRead, mapping: &MappingConfig) -> (Desired, Vec<Rejected>) {
    let (snapshot, incomplete) = match read {
        DirectoryRead::Complete(s) => (s, None),
        DirectoryRead::Incomplete { partial, reason } => (partial, Some(reason)),
    };
    let Snapshot { users, mut rejected } = snapshot;
    let create_only: BTreeSet<Field> = mapping.create_only();
    let mut desired = Desired { users: Vec::with_capacity(users.len()), unreadable: Default::default(), incomplete };
    for user in users {
        match map_user(&user, mapping) {
            Ok(scim) => desired.users.push(DesiredUser {
                fingerprint: fingerprint(&scim, &create_only),
                anchor: user.anchor,
                dn: user.dn,
                user: scim,
            }),
            Err(reason) => rejected.push(Rejected { dn: user.dn, anchor: Some(user.anchor), reason }),
        }
    }
    desired.unreadable = rejected.iter().filter_map(|r| r.anchor.clone()).collect();
    (desired, rejected)
}
