//! The directory side of the hermetic world: generated LDIF people and groups, and a
//! [`HermeticDirectory`] that shares one in-memory directory between engines (so a
//! "restarted" engine reads the same entries) and can cut a read short on demand.

use std::fmt::Write;
use std::sync::{Arc, Mutex};

use zoomsync::model::RawEntry;
use zoomsync::source::memory::MemoryDirectory;
use zoomsync::source::{Directory, ReadEnd, SearchRequest, SourceError};

pub const PEOPLE: &str = "ou=people,dc=example,dc=com";
pub const GROUPS: &str = "ou=groups,dc=example,dc=com";

pub fn uid(i: usize) -> String {
    format!("user{i:03}")
}

pub fn user_dn(i: usize) -> String {
    format!("uid={},{PEOPLE}", uid(i))
}

pub fn user_name(i: usize) -> String {
    format!("{}@example.com", uid(i))
}

pub fn group_dn(name: &str) -> String {
    format!("cn={name},{GROUPS}")
}

/// The entryUUID of person `i` (stable, so anchors survive edits and restarts).
pub fn entry_uuid(i: usize) -> String {
    format!("{i:08x}-0000-4000-8000-{i:012x}")
}

/// Person `i` as an LDIF content record (inetOrgPerson, as `slapcat` shows it).
pub fn person_ldif(i: usize, mail: &str) -> String {
    format!(
        "dn: {dn}\nobjectClass: inetOrgPerson\nentryUUID: {uuid}\nuid: {uid}\ncn: Given{i} Family{i}\n\
         givenName: Given{i}\nsn: Family{i}\nmail: {mail}\ntitle: Engineer {t}\n\n",
        dn = user_dn(i),
        uuid = entry_uuid(i),
        uid = uid(i),
        t = i % 5,
    )
}

/// `n` people (`user000`..), all enabled.
pub fn people_ldif(n: usize) -> String {
    let mut out = String::from("version: 1\n\n");
    for i in 0..n {
        out.push_str(&person_ldif(i, &user_name(i)));
    }
    out
}

/// A groupOfNames with these people and member groups.
pub fn group_ldif(name: &str, people: impl IntoIterator<Item = usize>, groups: &[&str]) -> String {
    let mut out = format!("dn: {}\nobjectClass: groupOfNames\ncn: {name}\n", group_dn(name));
    for i in people {
        let _ = writeln!(out, "member: {}", user_dn(i));
    }
    for g in groups {
        let _ = writeln!(out, "member: {}", group_dn(g));
    }
    out.push('\n');
    out
}

/// Person `i` as a [`RawEntry`], for adding a hire between cycles.
pub fn person_entry(i: usize, mail: &str) -> RawEntry {
    let mut entry = None;
    zoomsync::source::ldif::parse(person_ldif(i, mail).as_bytes(), "<hire>", &mut |e| entry = Some(e)).unwrap();
    entry.unwrap()
}

/// Removes one value of an attribute (e.g. a `member` DN).
pub fn remove_value(entry: &mut RawEntry, attribute: &str, value: &str) {
    for (name, values) in &mut entry.attrs {
        if name.eq_ignore_ascii_case(attribute) {
            values.retain(|v| !v.eq_ignore_ascii_case(value.as_bytes()));
        }
    }
}

/// How the next reads end.
#[derive(Clone, Debug, Default)]
pub enum ReadMode {
    #[default]
    Complete,
    /// Hands over the first `after` user entries, then reports the read incomplete (a size
    /// limit, a server that went away mid-read).
    CutAfter { after: usize },
}

/// One in-memory directory shared by every engine of a world, with a switchable read mode.
#[derive(Clone)]
pub struct HermeticDirectory {
    inner: Arc<MemoryDirectory>,
    mode: Arc<Mutex<ReadMode>>,
}

impl HermeticDirectory {
    pub fn new(inner: MemoryDirectory) -> Self {
        Self { inner: Arc::new(inner), mode: Arc::default() }
    }

    pub fn edit(&self, edit: impl FnOnce(&mut Vec<RawEntry>)) {
        self.inner.edit(edit);
    }

    pub fn set_mode(&self, mode: ReadMode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn mode(&self) -> ReadMode {
        self.mode.lock().unwrap().clone()
    }
}

impl Directory for HermeticDirectory {
    async fn stream(&self, on_entry: &mut (dyn FnMut(RawEntry) + Send)) -> Result<ReadEnd, SourceError> {
        match self.mode() {
            ReadMode::Complete => self.inner.stream(on_entry).await,
            ReadMode::CutAfter { after } => {
                let mut seen = 0;
                self.inner
                    .stream(&mut |e| {
                        seen += 1;
                        if seen <= after {
                            on_entry(e);
                        }
                    })
                    .await?;
                Ok(ReadEnd::Incomplete { reason: format!("connection lost after {after} entries") })
            }
        }
    }

    async fn search(
        &self,
        requests: &[SearchRequest],
        on_entry: &mut (dyn FnMut(usize, RawEntry) + Send),
    ) -> Result<ReadEnd, SourceError> {
        self.inner.search(requests, on_entry).await
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}
