//! What the previous read mapped, so that a user whose directory entry has not changed is
//! not mapped again. A mapping of expressions costs microseconds a user (`e164` alone ≈ 14 µs
//! a number), which made a daemon's no-change cycle over 100,000 users spend seconds
//! computing what it computed 40 minutes before (BENCHMARKS.md, "expression mapping").
//!
//! Sound because mapping is a pure function of the decoded user and the rules: expressions
//! read nothing else (no clock, no environment; `crate::expr` offers no such function), and
//! a reload builds a new engine with an empty memo. The key is the anchor; an entry is used
//! only when the decoded user hashes the same under this process's random SipHash keys (a
//! directory value cannot be crafted to collide with keys it cannot know). The rules that
//! read group membership run after the group read: their result is remembered beside,
//! used again only for the same user with the same groups (`Completions`).
//!
//! Kept only for mappings with an expression: attribute, constant and template rules cost
//! less than the look-up, and the memo's copy of every mapped user would be pure overhead.
//! Each read replaces the memo with what it mapped, so leavers drop out.

use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::config::mapping::MappingConfig;
use crate::mapping::{Memberships, map_user};
use crate::model::{Anchor, DirectoryUser, QuickMap, ScimUser};

/// The last read's mapped users, by anchor.
#[derive(Default)]
pub struct MappingMemo {
    keys: RandomState,
    last: Mutex<QuickMap<Anchor, Remembered>>,
}

/// One user as the last read mapped it.
struct Remembered {
    /// Hash of the decoded directory user.
    content: u64,
    /// What the rules that need no group gave.
    mapped: ScimUser,
    /// With the rules that read membership too, and the hash of the memberships they saw.
    completed: Option<(u64, ScimUser)>,
}

impl MappingMemo {
    /// One read's use of the memo: looks up in what the last read left, records what this
    /// one maps, and leaves that as the memo when dropped. `None` when the mapping has no
    /// expression (nothing worth remembering).
    pub fn read<'a>(&'a self, mapping: &MappingConfig) -> Option<MemoRead<'a>> {
        if !mapping.has_expressions() {
            return None;
        }
        let previous = std::mem::take(&mut *self.last.lock().unwrap_or_else(PoisonError::into_inner));
        let next = QuickMap::with_capacity_and_hasher(previous.len(), Default::default());
        Some(MemoRead { memo: self, previous, next })
    }

    /// How many users the memo holds (the debug log, tests).
    pub fn remembered(&self) -> usize {
        self.lock().len()
    }

    /// The memo of this cycle's read, for the rules that read membership (after the read:
    /// every entry describes the user as read this cycle).
    pub fn completions(&self) -> Completions<'_> {
        Completions { keys: &self.keys, last: self.lock() }
    }

    fn lock(&self) -> MutexGuard<'_, QuickMap<Anchor, Remembered>> {
        self.last.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub struct Completions<'a> {
    keys: &'a RandomState,
    last: MutexGuard<'a, QuickMap<Anchor, Remembered>>,
}

impl Completions<'_> {
    /// Completes `user` with the rules that read membership: what they gave last time for
    /// this user in these groups, else `evaluate`'s result (remembered when it succeeds).
    pub fn complete(
        &mut self,
        anchor: &Anchor,
        groups: Memberships<'_>,
        user: &mut ScimUser,
        evaluate: impl FnOnce(&mut ScimUser) -> Result<(), String>,
    ) -> Result<(), String> {
        let key = self.keys.hash_one((groups.groups, groups.direct));
        let Some(entry) = self.last.get_mut(anchor) else { return evaluate(user) };
        if let Some((seen, done)) = &entry.completed
            && *seen == key
        {
            user.clone_from(done);
            return Ok(());
        }
        evaluate(user)?;
        entry.completed = Some((key, user.clone()));
        Ok(())
    }
}

pub struct MemoRead<'a> {
    memo: &'a MappingMemo,
    previous: QuickMap<Anchor, Remembered>,
    next: QuickMap<Anchor, Remembered>,
}

impl MemoRead<'_> {
    /// [`map_user`], or what it gave last time for the same user. Failures are not kept:
    /// a rejected user is evaluated again (and named again) every cycle.
    pub fn map_user(&mut self, user: &DirectoryUser, mapping: &MappingConfig) -> Result<ScimUser, String> {
        let content = self.memo.keys.hash_one(user);
        // The key moves from the last read's map to this one's (no copy of the anchor).
        let (anchor, remembered) = match self.previous.remove_entry(&user.anchor) {
            Some((anchor, r)) if r.content == content => (anchor, r),
            found => {
                let anchor = found.map_or_else(|| user.anchor.clone(), |(a, _)| a);
                (anchor, Remembered { content, mapped: map_user(user, mapping)?, completed: None })
            }
        };
        let scim = remembered.mapped.clone();
        self.next.insert(anchor, remembered);
        Ok(scim)
    }
}

impl Drop for MemoRead<'_> {
    fn drop(&mut self) {
        *self.memo.lock() = std::mem::take(&mut self.next);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::config::mapping::{MappingRule, ValueSource};
    use crate::expr::Expr;
    use crate::model::{Attributes, Field};

    fn user(anchor: &str, title: &str) -> DirectoryUser {
        let mut attrs = Attributes::default();
        attrs.push(Arc::from("title"), title);
        DirectoryUser {
            anchor: Anchor::new(anchor).unwrap(),
            dn: format!("uid={anchor}"),
            user_name: format!("{anchor}@example.com"),
            disabled: false,
            attrs,
        }
    }

    fn mapping(source: ValueSource) -> MappingConfig {
        let rule = MappingRule { source, lowercase: false, only_on_create: false };
        MappingConfig { rules: BTreeMap::from([(Field::Title, rule)]) }
    }

    fn upper() -> MappingConfig {
        mapping(ValueSource::Expression(Expr::compile("upper(title)").unwrap()))
    }

    #[test]
    fn an_unchanged_user_gets_last_reads_result_and_a_changed_one_is_mapped_again() {
        let memo = MappingMemo::default();
        let m = upper();
        let mut read = memo.read(&m).unwrap();
        assert_eq!(read.map_user(&user("a", "eng"), &m).unwrap().get(Field::Title), Some("ENG"));
        read.map_user(&user("b", "ops"), &m).unwrap();
        drop(read);
        assert_eq!(memo.remembered(), 2);

        // What the memo hands back is what it stored: prove the look-up is used by
        // planting a value the rules would never give for this user.
        let planted = {
            let mut last = memo.last.lock().unwrap();
            let r = last.get_mut(&Anchor::new("a").unwrap()).unwrap();
            r.mapped.fields.insert(Field::Title, "PLANTED".into());
            r.content
        };
        let mut read = memo.read(&m).unwrap();
        assert_eq!(read.map_user(&user("a", "eng"), &m).unwrap().get(Field::Title), Some("PLANTED"));
        assert_eq!(read.map_user(&user("b", "sre"), &m).unwrap().get(Field::Title), Some("SRE"), "changed: mapped");
        drop(read);
        assert_eq!(memo.last.lock().unwrap()[&Anchor::new("a").unwrap()].content, planted);

        // A user the read did not see (a leaver) leaves the memo with it.
        let mut read = memo.read(&m).unwrap();
        read.map_user(&user("b", "sre"), &m).unwrap();
        drop(read);
        assert_eq!(memo.remembered(), 1);
    }

    #[test]
    fn a_mapping_without_expressions_is_not_memoised() {
        let memo = MappingMemo::default();
        assert!(memo.read(&mapping(ValueSource::Attribute("title".into()))).is_none());
    }

    #[test]
    fn a_failure_is_not_kept() {
        let memo = MappingMemo::default();
        let m = mapping(ValueSource::Expression(Expr::compile("e164(title, \"GB\")").unwrap()));
        let mut read = memo.read(&m).unwrap();
        assert!(read.map_user(&user("a", "not a number"), &m).is_err());
        drop(read);
        assert_eq!(memo.remembered(), 0);
    }

    #[test]
    fn membership_rules_are_remembered_for_the_same_user_in_the_same_groups() {
        let memo = MappingMemo::default();
        let m = upper();
        let anchor = Anchor::new("a").unwrap();
        let (phone, none): ([&str; 1], [&str; 0]) = (["Phone"], []);
        let complete = |groups: &[&str], value: &str| {
            let mut read = memo.read(&m).unwrap();
            let mut user = read.map_user(&user("a", "eng"), &m).unwrap();
            drop(read);
            let mut evaluated = false;
            memo.completions()
                .complete(&anchor, Memberships { groups, direct: groups }, &mut user, |u| {
                    evaluated = true;
                    u.fields.insert(Field::Department, value.into());
                    Ok(())
                })
                .unwrap();
            (evaluated, user.get(Field::Department).map(String::from))
        };
        assert_eq!(complete(&phone, "first"), (true, Some("first".into())));
        assert_eq!(complete(&phone, "second"), (false, Some("first".into())), "same groups: remembered");
        assert_eq!(complete(&none, "third"), (true, Some("third".into())), "other groups: evaluated again");
    }
}
