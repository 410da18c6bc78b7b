//! PURE: manager references — a mapped manager DN becomes the manager's target id.
//!
//! The directory names a manager by DN; Zoom (and SCIM) by the manager's user id. The DN is
//! never sent: after the read and the reconcile, [`resolve_managers`] replaces it with the id
//! the state records for the user with that DN in scope, or leaves the field out of the
//! payload and says why ([`ManagerOutcome`]). The fingerprint is computed afterwards (only
//! here for a user with a reference: the last stage that changes its payload), so a
//! manager whose id became known (created last cycle) changes the user's fingerprint and the
//! plan sends an update carrying only `manager`; an unchanged id changes nothing.
//!
//! The reference fields are the catalogue's with `AttrDef::reference` (`manager` today).

use std::collections::{BTreeSet, HashMap, HashSet};

use serde::Serialize;

use super::{Desired, DesiredUser, Note, fingerprint};
use crate::model::{Anchor, DnIndex, Field, KnownUser, ScimUser};

/// What becomes of one manager reference this cycle, and so what happens next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ManagerOutcome<'k> {
    /// The manager's target id (as the state records it): sent.
    Resolved(&'k str),
    /// In scope and enabled, but not on the target yet (created this cycle, or its create
    /// failing): left unset now; the cycle after the manager is created sets it.
    NotYetOnTarget,
    /// In scope but disabled in the directory, and never created (disabled users are not):
    /// left unset until the manager is enabled and created.
    Disabled,
    /// No user in scope has that DN: left unset until one does.
    OutOfScope,
    /// The user's own DN: left unset.
    SelfReference,
    /// Not among the entries read, the read was cut short, and the state knows nobody with
    /// that DN: left unset (a complete read decides).
    NotRead,
}

impl ManagerOutcome<'_> {
    /// Why the field is left unset, for the plan's notes (`None` when resolved).
    fn note(&self, field: Field, dn: &str) -> Option<String> {
        let f = field.config_name();
        Some(match self {
            Self::Resolved(_) => return None,
            Self::NotYetOnTarget => format!("{f} {dn} is not on Zoom yet; {f} is set on the cycle after it is created"),
            Self::Disabled => format!("{f} {dn} is disabled in the directory and not on Zoom; {f} left unset"),
            Self::OutOfScope => format!("{f} {dn} is outside the sync scope; {f} left unset"),
            Self::SelfReference => format!("{f} {dn} is the user itself; {f} left unset"),
            Self::NotRead => format!("{f} {dn} was not read (the directory read is incomplete); {f} left unset"),
        })
    }
}

/// How many references ended each way (a bounded label each: `zoomsync_manager_references`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ManagerCounts {
    pub resolved: usize,
    pub not_yet_on_target: usize,
    pub disabled: usize,
    pub out_of_scope: usize,
    pub self_reference: usize,
    pub not_read: usize,
}

impl ManagerCounts {
    fn add(&mut self, outcome: &ManagerOutcome<'_>) {
        *match outcome {
            ManagerOutcome::Resolved(_) => &mut self.resolved,
            ManagerOutcome::NotYetOnTarget => &mut self.not_yet_on_target,
            ManagerOutcome::Disabled => &mut self.disabled,
            ManagerOutcome::OutOfScope => &mut self.out_of_scope,
            ManagerOutcome::SelfReference => &mut self.self_reference,
            ManagerOutcome::NotRead => &mut self.not_read,
        } += 1;
    }

    /// Every outcome with its label, zeros included (a gauge per label).
    pub fn by_outcome(&self) -> [(&'static str, usize); 6] {
        [
            ("resolved", self.resolved),
            ("not_yet_on_target", self.not_yet_on_target),
            ("disabled", self.disabled),
            ("out_of_scope", self.out_of_scope),
            ("self_reference", self.self_reference),
            ("not_read", self.not_read),
        ]
    }

    pub fn total(&self) -> usize {
        self.by_outcome().iter().map(|(_, n)| n).sum()
    }
}

/// What [`resolve_managers`] did: counts, and a note per reference left unset.
#[derive(Clone, Debug, Default)]
pub struct ManagerResolution {
    pub counts: ManagerCounts,
    /// Sorted by userName.
    pub notes: Vec<Note>,
}

/// Replaces every manager DN in `desired` with the manager's id from `known`, or removes it
/// (see [`ManagerOutcome`]), and computes the fingerprints of the users that had one (the
/// stages before leave them unset: [`has_references`]).
///
/// Matched against the users in scope (DNs normalised: case, spaces around separators).
/// When a DN is not among them but might still be in the directory — the read was cut
/// short, or that entry was rejected (present but unreadable) — the state's record with
/// that DN keeps the reference, so a partial read does not clear managers.
pub fn resolve_managers(
    desired: &mut Desired,
    known: &HashMap<Anchor, KnownUser>,
    create_only: &BTreeSet<Field>,
) -> ManagerResolution {
    let mut out = ManagerResolution::default();
    if !desired.users.iter().any(|u| references(u).next().is_some()) {
        return out;
    }
    let in_scope = DnIndex::new(desired.users.iter().map(|u| u.dn.as_str()));
    // A batch of changes read only the changed entries: everyone the state knows may still
    // be in the directory, as after a read cut short (but a DN found nowhere is out of scope).
    let unread = Unread::new(known, &desired.unreadable, desired.incomplete.is_some(), desired.changes.is_some());
    let mut decided: Vec<(Field, ManagerOutcome<'_>)> = Vec::new();
    for i in 0..desired.users.len() {
        decided.clear();
        for (field, dn) in references(&desired.users[i]) {
            let outcome = outcome(i, dn, &desired.users, &in_scope, known, &unread);
            out.counts.add(&outcome);
            if let Some(note) = outcome.note(field, dn) {
                let user = &desired.users[i];
                out.notes.push(Note {
                    anchor: user.anchor.clone(),
                    dn: user.dn.clone(),
                    user_name: user.user.user_name().to_string(),
                    note,
                });
            }
            decided.push((field, outcome));
        }
        if decided.is_empty() {
            continue;
        }
        let user = &mut desired.users[i];
        // One rebuild of the fields for all of the user's references, borrowing the values
        // (`Fields::insert` copies every value of the user once per call).
        let resolved = |f: Field| decided.iter().find(|(d, _)| *d == f).map(|(_, o)| o);
        user.user.fields = user
            .user
            .fields
            .iter()
            .filter_map(|(f, v)| match resolved(f) {
                None => Some((f, v)),
                Some(ManagerOutcome::Resolved(id)) => Some((f, *id)),
                Some(_) => None,
            })
            .collect();
        user.fingerprint = fingerprint(&user.user, create_only);
    }
    out.notes.sort_by(|a, b| a.user_name.cmp(&b.user_name));
    out
}

/// Whether the payload has a reference field: [`resolve_managers`], which runs before every
/// plan, then rewrites it and computes its fingerprint, so the stages before it need not
/// (`sync::desired`, `sync::memberships`).
pub fn has_references(user: &ScimUser) -> bool {
    user.fields.iter().any(|(f, _)| f.def().reference)
}

/// A user's reference fields and their mapped values (DNs).
fn references(user: &DesiredUser) -> impl Iterator<Item = (Field, &str)> {
    user.user.fields.iter().filter(|(f, _)| f.def().reference)
}

/// The decision for user `i`'s reference to `dn`.
fn outcome<'k>(
    i: usize,
    dn: &str,
    users: &[DesiredUser],
    in_scope: &DnIndex,
    known: &'k HashMap<Anchor, KnownUser>,
    unread: &Unread<'k>,
) -> ManagerOutcome<'k> {
    if let Some(m) = in_scope.find(dn, |j| users[j].dn.as_str()) {
        if m == i {
            return ManagerOutcome::SelfReference;
        }
        let manager = &users[m];
        return match known.get(&manager.anchor) {
            Some(k) => ManagerOutcome::Resolved(&k.zoom_id),
            None if manager.user.active => ManagerOutcome::NotYetOnTarget,
            None => ManagerOutcome::Disabled,
        };
    }
    match unread.find(dn) {
        Some(k) => ManagerOutcome::Resolved(&k.zoom_id),
        None if unread.incomplete => ManagerOutcome::NotRead,
        None => ManagerOutcome::OutOfScope,
    }
}

/// The state's users that may be in the directory though not among the users read: the
/// rejected ones, and, after a read cut short, everyone.
struct Unread<'a> {
    incomplete: bool,
    users: Vec<&'a KnownUser>,
    index: DnIndex,
}

impl<'a> Unread<'a> {
    fn new(
        known: &'a HashMap<Anchor, KnownUser>,
        unreadable: &HashSet<Anchor>,
        incomplete: bool,
        partial: bool,
    ) -> Self {
        let everyone = incomplete || partial;
        let users: Vec<&KnownUser> = known.values().filter(|k| everyone || unreadable.contains(&k.anchor)).collect();
        let index = DnIndex::new(users.iter().map(|k| k.dn.as_str()));
        Self { incomplete, users, index }
    }

    fn find(&self, dn: &str) -> Option<&'a KnownUser> {
        self.index.find(dn, |j| self.users[j].dn.as_str()).map(|j| self.users[j])
    }
}

#[cfg(test)]
mod tests;
