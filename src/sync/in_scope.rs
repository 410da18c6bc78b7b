//! The users a cycle would take, without a target or state (`zoomsync check`): the read
//! stage's directory side ([`DirectorySide`], the same read) and the group-based scope the
//! scope stage applies (`groups::resolve` and `groups::apply_scope`, the same functions),
//! and what in the result needs an operator.

use super::groups;
use super::read::DirectorySide;
use super::{GroupSync, desired, memberships};
use crate::config::{Config, SourceConfig};
use crate::model::Rejected;
use crate::plan::Desired;
use crate::source::groups::GroupRead;
use crate::source::{DecodeNotes, Decoder, Directory, SourceError};

/// The directory as a cycle would see it, scope applied.
#[derive(Debug)]
pub struct InScope {
    /// The users in scope after `[groups] scope`, mapped as the plan takes them; its
    /// `incomplete` also carries a group read cut short or a missing scoping group.
    pub desired: Desired,
    pub rejected: Vec<Rejected>,
    /// Users read and decoded (before group-based scope), and how many of them are disabled.
    pub users_read: usize,
    pub disabled_read: usize,
    /// The user read's own end: `Some(reason)` when the server cut it short.
    pub read_incomplete: Option<String>,
    /// Users group-based scope left out.
    pub out_of_scope: usize,
    /// With `[groups]`: the groups, their members matched to the users read.
    pub groups: Option<GroupRead>,
    /// Entries whose anchor came from the fallback attribute (389-ds: nsUniqueId where no
    /// entryUUID could be read).
    pub fallback_anchors: usize,
    /// What decode noticed in the users read without rejecting them (several userName
    /// values, values not UTF-8).
    pub notes: DecodeNotes,
}

/// Reads the users (and groups) as a cycle's read stage does, and applies group-based scope
/// as its scope stage does.
pub async fn users_in_scope<D: Directory>(config: &Config, directory: &D) -> Result<InScope, SourceError> {
    let decoder = Decoder::new(config.directory.decode.clone());
    let create_only = config.mapping.create_only();
    let settings = GroupSync::from_config(config);
    let side = DirectorySide {
        directory,
        decoder: &decoder,
        mapping: &config.mapping,
        create_only: &create_only,
        groups: settings.as_ref(),
        memo: None,
    };
    let mut fallback_anchors = 0;
    let (users, fetched) = side
        .read(&mut |entry| {
            if decoder.uses_fallback(entry) {
                fallback_anchors += 1;
            }
        })
        .await?;
    let users_read = users.snapshot().users.len();
    let disabled_read = users.snapshot().users.iter().filter(|u| !u.user.active).count();
    let notes = users.snapshot().notes.clone();
    let (mut desired, mut rejected) = desired::desired_from_read(users);
    let read_incomplete = desired.incomplete.clone();
    let (groups, out_of_scope) = match (&settings, fetched) {
        (Some(settings), Some(fetched)) => {
            let read = groups::resolve(fetched, &desired);
            let out_of_scope = groups::apply_scope(&mut desired, &read, &settings.config.scope);
            rejected.extend(memberships::complete(&mut desired, &read, &settings.mapping, &settings.create_only, None));
            (Some(read), out_of_scope)
        }
        _ => (None, 0),
    };
    Ok(InScope {
        desired,
        rejected,
        users_read,
        disabled_read,
        read_incomplete,
        out_of_scope,
        groups,
        fallback_anchors,
        notes,
    })
}

impl InScope {
    /// Disabled users among those in scope.
    pub fn disabled(&self) -> usize {
        self.desired.users.iter().filter(|u| !u.user.active).count()
    }

    /// PURE: why nobody is in scope, when nobody is, with the likely cause: no entry at all
    /// (servers answer a search the bind account may not read with nothing, not an error),
    /// no entry with a readable anchor, every entry rejected, or a group scope that leaves
    /// nobody. `None` when there are users, or the read did not complete (its reason says
    /// more than a count of what it did read).
    pub fn nobody_in_scope(&self, config: &Config) -> Option<String> {
        if !self.desired.users.is_empty() || self.read_incomplete.is_some() {
            return None;
        }
        let decode = &config.directory.decode;
        let anchor = Decoder::new(decode.clone()).anchor_description();
        let entries = self.users_read + self.rejected.len();
        Some(if entries == 0 {
            match &config.directory.source {
                SourceConfig::Ldap(l) => {
                    let account = match &l.bind {
                        Some(bind) => format!("the bind account {}", bind.dn),
                        None => "an anonymous bind".to_string(),
                    };
                    format!(
                        "no entry matched {} under {}. Likely: {account} may not read them (a missing ACI or ACL: \
                         the server then answers with nothing, not an error); else base_dn or user_filter select \
                         nothing",
                        l.user_filter, l.base_dn
                    )
                }
                SourceConfig::Ldif { path, .. } => {
                    format!("no entry of {} matched directory.user_filter", path.display())
                }
            }
        } else if self.users_read == 0 && self.rejected.iter().all(|r| r.anchor.is_none()) {
            format!(
                "none of the {entries} entries has a readable {anchor} (the anchor). Likely: the bind account may \
                 not read it (an ACI or ACL that hides it: allow read of {anchor}); else \
                 directory.anchor_attribute names an attribute these entries do not have"
            )
        } else if self.users_read == 0 {
            format!("every one of the {entries} entries was rejected (reasons above)")
        } else {
            let scope = config.groups.as_ref().map(|g| g.scope.join(", ")).unwrap_or_default();
            format!("groups.scope leaves nobody: none of the {} users read is a member of {scope}", self.users_read)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Anchor;

    fn config(text: &str) -> Config {
        let dir = std::env::temp_dir();
        crate::config::parse(text, &dir, None).unwrap_or_else(|e| panic!("{e}"))
    }

    fn empty() -> InScope {
        InScope {
            desired: Desired::default(),
            rejected: vec![],
            users_read: 0,
            disabled_read: 0,
            read_incomplete: None,
            out_of_scope: 0,
            groups: None,
            fallback_anchors: 0,
            notes: DecodeNotes::default(),
        }
    }

    fn rejected(anchor: Option<&str>) -> Rejected {
        Rejected { dn: "uid=a,dc=x".into(), anchor: anchor.and_then(Anchor::new), reason: "no entryUUID".into() }
    }

    const LDAP: &str = "[directory]\nflavor = \"389ds\"\nurl = \"ldaps://ds.example.com\"\n\
                        base_dn = \"ou=people,dc=example,dc=com\"\n";

    #[test]
    fn nobody_in_scope_says_why() {
        let cfg = config(LDAP);
        let none = empty().nobody_in_scope(&cfg).unwrap();
        assert!(none.starts_with("no entry matched (objectClass=inetOrgPerson) under ou=people"), "{none}");
        assert!(none.contains("an anonymous bind may not read them (a missing ACI"), "{none}");
        let no_anchor = InScope { rejected: vec![rejected(None), rejected(None)], ..empty() };
        let text = no_anchor.nobody_in_scope(&cfg).unwrap();
        assert!(text.starts_with("none of the 2 entries has a readable entryUUID or nsUniqueId"), "{text}");
        let bad = InScope { rejected: vec![rejected(None), rejected(Some("x"))], ..empty() };
        assert!(bad.nobody_in_scope(&cfg).unwrap().starts_with("every one of the 2 entries was rejected"));
        let cut = InScope { read_incomplete: Some("stopped".into()), ..empty() };
        assert_eq!(cut.nobody_in_scope(&cfg), None, "an incomplete read says why itself");
        let scoped = config(&format!("{LDAP}[groups]\nnames = [\"Zoom\"]\nscope = [\"Zoom\", \"Staff\"]\n"));
        let text = InScope { users_read: 5, out_of_scope: 5, ..empty() }.nobody_in_scope(&scoped).unwrap();
        assert_eq!(text, "groups.scope leaves nobody: none of the 5 users read is a member of Zoom, Staff");
    }
}
