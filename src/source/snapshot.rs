//! PURE: decoded users of one read, with cross-entry checks (duplicate anchors and
//! userNames) that no single entry can decide.

use std::collections::HashMap;

use serde::Serialize;

use super::Decoder;
use super::decode::EntryNotes;
use crate::model::{DirectoryUser, Identity, QuickMap, RawEntry, Rejected};

/// Users (decoded, or further converted, e.g. mapped) and rejected entries of one read.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot<U = DirectoryUser> {
    pub users: Vec<U>,
    pub rejected: Vec<Rejected>,
    /// What decode noticed without rejecting anything (for `check`).
    #[serde(skip_serializing_if = "DecodeNotes::is_empty")]
    pub notes: DecodeNotes,
}

impl<U> Default for Snapshot<U> {
    fn default() -> Self {
        Self { users: Vec::new(), rejected: Vec::new(), notes: DecodeNotes::default() }
    }
}

/// How many DNs a note keeps as examples.
pub const NOTE_EXAMPLES: usize = 10;

/// A count and its first [`NOTE_EXAMPLES`] examples.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Noted {
    pub count: usize,
    pub examples: Vec<String>,
}

impl Noted {
    fn add(&mut self, example: impl FnOnce() -> String) {
        self.count += 1;
        if self.examples.len() < NOTE_EXAMPLES {
            self.examples.push(example());
        }
    }
}

/// What decode noticed over a read without changing its outcome: entries with several
/// values of the user-name attribute (the first is used), attribute values that are not
/// UTF-8 (ignored). Examples are `dn` and `dn (attribute)`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DecodeNotes {
    pub several_user_names: Noted,
    pub non_utf8: Noted,
}

impl DecodeNotes {
    pub fn is_empty(&self) -> bool {
        self.several_user_names.count == 0 && self.non_utf8.count == 0
    }

    /// Adds one entry's notes.
    pub fn add(&mut self, dn: &str, notes: &EntryNotes) {
        if notes.several_user_names.is_some() {
            self.several_user_names.add(|| dn.to_string());
        }
        for attribute in &notes.non_utf8 {
            self.non_utf8.add(|| format!("{dn} ({attribute})"));
        }
    }
}

/// Turns a decoded user into what the caller keeps (identity for `check`, mapping for sync).
pub type Convert<'a, U> = Box<dyn FnMut(DirectoryUser) -> Result<U, Rejected> + Send + 'a>;

/// Collects entries as they arrive: decode, convert, keep; `finish` applies the duplicate
/// rules. Converting on arrival means the raw and decoded forms are never all in memory.
pub struct SnapshotBuilder<'a, U = DirectoryUser> {
    decoder: &'a Decoder,
    convert: Convert<'a, U>,
    snapshot: Snapshot<U>,
}

impl Snapshot {
    pub fn builder(decoder: &Decoder) -> SnapshotBuilder<'_> {
        Snapshot::converting(decoder, Box::new(Ok))
    }

    pub fn disabled_count(&self) -> usize {
        self.users.iter().filter(|u| u.disabled).count()
    }
}

impl<U: Identity> Snapshot<U> {
    pub fn converting<'a>(decoder: &'a Decoder, convert: Convert<'a, U>) -> SnapshotBuilder<'a, U> {
        SnapshotBuilder { decoder, convert, snapshot: Snapshot::default() }
    }
}

impl<U: Identity> SnapshotBuilder<'_, U> {
    pub fn push(&mut self, entry: &RawEntry) {
        let (decoded, notes) = self.decoder.decode_noted(entry);
        if !notes.is_empty() {
            self.snapshot.notes.add(&entry.dn, &notes);
        }
        match decoded.and_then(&mut self.convert) {
            Ok(user) => self.snapshot.users.push(user),
            Err(rejected) => self.snapshot.rejected.push(rejected),
        }
    }

    /// Entries that share an anchor or a userName are all rejected, whatever the order the
    /// server sent them in, so the outcome does not flap between cycles. Their anchors stay
    /// on the rejection: present-but-unreadable, never deleted.
    pub fn finish(self) -> Snapshot<U> {
        let Snapshot { users, mut rejected, notes } = self.snapshot;
        // First pass allocates nothing per user beyond the two index maps; only values seen
        // twice get a list of holders.
        let mut first_anchor: QuickMap<&str, usize> =
            QuickMap::with_capacity_and_hasher(users.len(), Default::default());
        let mut first_name: QuickMap<&str, usize> = QuickMap::with_capacity_and_hasher(users.len(), Default::default());
        let mut shared: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
        for (i, u) in users.iter().enumerate() {
            for (what, value, seen) in
                [("anchor", u.anchor().as_str(), &mut first_anchor), ("userName", u.user_name(), &mut first_name)]
            {
                if let Some(&first) = seen.get(value) {
                    shared.entry((what, value)).or_insert_with(|| vec![first]).push(i);
                } else {
                    seen.insert(value, i);
                }
            }
        }
        let mut shared: Vec<_> = shared.into_iter().collect();
        shared.sort();
        let mut reasons: HashMap<usize, String> = HashMap::new();
        for ((what, value), idx) in &shared {
            for &i in idx {
                let others: Vec<&str> = idx.iter().filter(|&&j| j != i).map(|&j| users[j].dn()).collect();
                reasons
                    .entry(i)
                    .or_insert_with(|| format!("duplicate {what} {value:?}, also on {}", others.join("; ")));
            }
        }
        if reasons.is_empty() {
            return Snapshot { users, rejected, notes };
        }
        let mut kept = Vec::with_capacity(users.len() - reasons.len());
        for (i, u) in users.into_iter().enumerate() {
            match reasons.remove(&i) {
                Some(reason) => {
                    rejected.push(Rejected { dn: u.dn().to_string(), anchor: Some(u.anchor().clone()), reason })
                }
                None => kept.push(u),
            }
        }
        Snapshot { users: kept, rejected, notes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AnchorFormat, DecodeRules, DisabledRule, Flavor};

    fn decoder() -> Decoder {
        Decoder::new(DecodeRules {
            flavor: Flavor::Generic,
            anchor_attribute: "uid".into(),
            anchor_fallback: None,
            anchor_format: AnchorFormat::Text,
            user_name_attribute: "mail".into(),
            disabled: DisabledRule::Never,
            keep_attributes: vec![],
        })
    }

    fn entry(dn: &str, uid: &str, mail: &str) -> RawEntry {
        let mut e = RawEntry::new(dn);
        e.push("uid", uid.as_bytes().to_vec());
        e.push("mail", mail.as_bytes().to_vec());
        e
    }

    #[test]
    fn duplicates_are_all_rejected_with_their_anchor() {
        let d = decoder();
        let mut b = Snapshot::builder(&d);
        b.push(&entry("cn=a", "1", "a@example.com"));
        b.push(&entry("cn=b", "2", "shared@example.com"));
        b.push(&entry("cn=c", "3", "SHARED@example.com"));
        b.push(&entry("cn=d", "4", "d@example.com"));
        b.push(&entry("cn=e", "4", "e@example.com"));
        b.push(&entry("cn=f", "", "f@example.com"));
        let s = b.finish();
        let kept: Vec<&str> = s.users.iter().map(|u| u.dn.as_str()).collect();
        assert_eq!(kept, vec!["cn=a"]);
        assert_eq!(s.rejected.len(), 5);
        let c = s.rejected.iter().find(|r| r.dn == "cn=c").unwrap();
        assert!(c.reason.contains("duplicate userName") && c.reason.contains("cn=b"), "{}", c.reason);
        let e = s.rejected.iter().find(|r| r.dn == "cn=e").unwrap();
        assert!(e.reason.contains("duplicate anchor") && e.anchor.is_some(), "{}", e.reason);
        assert!(s.rejected.iter().any(|r| r.dn == "cn=f" && r.anchor.is_none()));
    }

    #[test]
    fn notes_count_every_entry_and_keep_the_first_examples() {
        let d = decoder();
        let mut b = Snapshot::builder(&d);
        for i in 0..12 {
            let mut e = entry(&format!("cn={i}"), &i.to_string(), &format!("u{i}@example.com"));
            e.push("mail", b"other@example.com".to_vec());
            b.push(&e);
        }
        let mut bad = RawEntry::new("cn=bad");
        bad.push("uid", b"\xff".to_vec());
        bad.push("mail", b"bad@example.com".to_vec());
        b.push(&bad);
        let s = b.finish();
        assert_eq!(s.users.len(), 12, "notes reject nothing");
        assert_eq!(s.notes.several_user_names.count, 12);
        let first: Vec<String> = (0..10).map(|i| format!("cn={i}")).collect();
        assert_eq!(s.notes.several_user_names.examples, first);
        // The anchor is not a kept attribute: its bytes are the rejection's business.
        assert_eq!(s.notes.non_utf8.count, 0);
        assert_eq!(s.rejected.len(), 1);
    }
}
