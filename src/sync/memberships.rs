//! The mapping rules that read group membership (`member_of` in an expression), evaluated
//! once the groups are read and matched to the users: licence or calling plan by group.
//!
//! The mapper keeps such a user's directory entry (`DesiredUser::deferred`) until here. A
//! group read cut short could take a licence from someone still in the group, so then the
//! users waiting here are not mapped but rejected as present-but-unreadable: kept as they
//! are on Zoom this cycle, never deactivated for it.

use std::collections::BTreeSet;

use super::mapping_memo::MappingMemo;
use crate::config::mapping::MappingConfig;
use crate::mapping::{Memberships, map_group_rules};
use crate::model::{Anchor, Field, QuickMap, Rejected};
use crate::plan::managers::has_references;
use crate::plan::{Desired, fingerprint};
use crate::source::groups::GroupRead;

/// Group names per user: flattened, and direct.
#[derive(Debug, Default)]
struct Index<'g> {
    all: QuickMap<&'g Anchor, Vec<&'g str>>,
    direct: QuickMap<&'g Anchor, Vec<&'g str>>,
}

fn index(read: &GroupRead) -> Index<'_> {
    let mut out = Index::default();
    for g in &read.groups {
        for a in &g.members {
            out.all.entry(a).or_default().push(g.name.as_str());
        }
        for a in &g.direct {
            out.direct.entry(a).or_default().push(g.name.as_str());
        }
    }
    out
}

/// Maps the waiting rules of every user in `desired` (groups resolved, scope applied),
/// through the engine's memo when given; returns the users rejected on the way (they stay
/// in `desired.unreadable`).
pub fn complete(
    desired: &mut Desired,
    read: &GroupRead,
    mapping: &MappingConfig,
    create_only: &BTreeSet<Field>,
    memo: Option<&MappingMemo>,
) -> Vec<Rejected> {
    if !desired.users.iter().any(|u| u.deferred.is_some()) {
        return Vec::new();
    }
    let mut memo = memo.map(MappingMemo::completions);
    let index = index(read);
    let mut rejected = Vec::new();
    let mut spent = Vec::with_capacity(desired.users.len());
    desired.users.retain_mut(|u| {
        let Some(user) = u.deferred.take() else { return true };
        let outcome = match &read.incomplete {
            Some(why) => {
                Err(format!("group membership could not be read whole ({why}); mapped values that depend on it wait"))
            }
            None => {
                let all = index.all.get(&u.anchor).map_or(&[][..], Vec::as_slice);
                let direct = index.direct.get(&u.anchor).map_or(&[][..], Vec::as_slice);
                let groups = Memberships { groups: all, direct };
                let evaluate = |into: &mut _| map_group_rules(&user, mapping, groups, into);
                match memo.as_mut() {
                    Some(memo) => memo.complete(&u.anchor, groups, &mut u.user, evaluate),
                    None => evaluate(&mut u.user),
                }
            }
        };
        spent.push(user);
        match outcome {
            Ok(()) => {
                // With a reference, `plan::resolve_managers` computes it, after rewriting it.
                if !has_references(&u.user) {
                    u.fingerprint = fingerprint(&u.user, create_only);
                }
                true
            }
            Err(reason) => {
                rejected.push(Rejected { dn: u.dn.clone(), anchor: Some(u.anchor.clone()), reason });
                false
            }
        }
    });
    desired.unreadable.extend(rejected.iter().filter_map(|r| r.anchor.clone()));
    super::free_aside(spent);
    rejected
}
