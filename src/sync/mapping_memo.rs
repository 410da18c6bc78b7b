//! What the previous read mapped, so that a user whose directory entry has not changed is
//! not mapped again. A mapping of expressions costs microseconds a user (`e164` alone ≈ 14 µs
//! a number), which made a daemon's no-change cycle over 100,000 users spend seconds
//! computing what it computed 40 minutes before (BENCHMARKS.md, "expression mapping").
//!
//! Sound because mapping is a pure function of the decoded user and the rules: expressions
//! read nothing else (no clock, no environment; `crate::expr` offers no such function), and
//! a reload builds a new engine with an empty memo. The rules that read group membership are
//! not memoised: they run after the group read, every cycle. The key is the anchor; the
//! entry is used only when the decoded user hashes the same under this process's random
//! SipHash keys (a directory value cannot be crafted to collide with keys it cannot know).
//!
//! Kept only for mappings with an expression: attribute, constant and template rules cost
//! less than the look-up, and the memo's copy of every mapped user would be pure overhead.
//! Each read replaces the memo with what it mapped, so leavers drop out.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, PoisonError};

use crate::config::mapping::MappingConfig;
use crate::mapping::map_user;
use crate::model::{Anchor, DirectoryUser, ScimUser};

/// The last read's mapped users, by anchor, with the hash of the user each was mapped from.
#[derive(Default)]
pub struct MappingMemo {
    keys: RandomState,
    last: Mutex<HashMap<Anchor, (u64, ScimUser)>>,
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
        let next = HashMap::with_capacity(previous.len());
        Some(MemoRead { memo: self, previous, next })
    }

    /// How many users the memo holds (the debug log, tests).
    pub fn remembered(&self) -> usize {
        self.last.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

pub struct MemoRead<'a> {
    memo: &'a MappingMemo,
    previous: HashMap<Anchor, (u64, ScimUser)>,
    next: HashMap<Anchor, (u64, ScimUser)>,
}

impl MemoRead<'_> {
    /// [`map_user`], or what it gave last time for the same user. Failures are not kept:
    /// a rejected user is evaluated again (and named again) every cycle.
    pub fn map_user(&mut self, user: &DirectoryUser, mapping: &MappingConfig) -> Result<ScimUser, String> {
        let content = self.memo.keys.hash_one(user);
        let scim = match self.previous.remove(&user.anchor) {
            Some((hash, scim)) if hash == content => scim,
            _ => map_user(user, mapping)?,
        };
        self.next.insert(user.anchor.clone(), (content, scim.clone()));
        Ok(scim)
    }
}

impl Drop for MemoRead<'_> {
    fn drop(&mut self) {
        *self.memo.last.lock().unwrap_or_else(PoisonError::into_inner) = std::mem::take(&mut self.next);
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
            let (hash, scim) = last.get_mut(&Anchor::new("a").unwrap()).unwrap();
            scim.fields.insert(Field::Title, "PLANTED".into());
            *hash
        };
        let mut read = memo.read(&m).unwrap();
        assert_eq!(read.map_user(&user("a", "eng"), &m).unwrap().get(Field::Title), Some("PLANTED"));
        assert_eq!(read.map_user(&user("b", "sre"), &m).unwrap().get(Field::Title), Some("SRE"), "changed: mapped");
        drop(read);
        assert_eq!(memo.last.lock().unwrap()[&Anchor::new("a").unwrap()].0, planted);

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
}
