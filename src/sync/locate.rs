//! PURE: which user `provision <selector>` means — by anchor, DN, userName, uid, mail or
//! sAMAccountName in the directory read, else among the users zoomsync manages.

use crate::model::{DirectoryUser, KnownUser, Rejected};
use crate::source::Snapshot;

/// Where the selector led.
#[derive(Debug, PartialEq)]
pub enum Located<'a> {
    /// A user in the directory scope.
    InScope(&'a DirectoryUser),
    /// Not in the directory scope, but zoomsync manages it (gone, moved or filtered out).
    Managed(KnownUser),
    /// Read, but rejected: the reason says why.
    Rejected(&'a Rejected),
    /// Neither in the directory scope nor in zoomsync's state.
    Nowhere,
}

pub fn locate<'a>(selector: &str, read: &'a Snapshot, known: Vec<KnownUser>) -> Located<'a> {
    let wanted = selector.to_ascii_lowercase();
    let in_scope = read.users.iter().find(|u| {
        u.anchor.as_str() == wanted
            || u.dn.eq_ignore_ascii_case(selector)
            || u.user_name == wanted
            || ["uid", "mail", "samaccountname"]
                .iter()
                .any(|a| u.attrs.values(a).any(|v| v.eq_ignore_ascii_case(selector)))
    });
    if let Some(u) = in_scope {
        return Located::InScope(u);
    }
    let managed = known
        .into_iter()
        .find(|k| k.anchor.as_str() == wanted || k.dn.eq_ignore_ascii_case(selector) || k.user_name == wanted);
    if let Some(k) = managed {
        return Located::Managed(k);
    }
    match read.rejected.iter().find(|r| r.dn.eq_ignore_ascii_case(selector)) {
        Some(r) => Located::Rejected(r),
        None => Located::Nowhere,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::{Anchor, Attributes, Lifecycle, Origin};

    fn user(anchor: &str, uid: &str) -> DirectoryUser {
        let mut attrs = Attributes::default();
        attrs.push(Arc::from("uid"), uid);
        DirectoryUser {
            anchor: Anchor::new(anchor).unwrap(),
            dn: format!("uid={uid},ou=people"),
            user_name: format!("{uid}@example.com"),
            disabled: false,
            attrs,
        }
    }

    fn known(anchor: &str, name: &str) -> KnownUser {
        KnownUser {
            anchor: Anchor::new(anchor).unwrap(),
            zoom_id: "z".into(),
            dn: format!("uid={name},ou=gone"),
            user_name: format!("{name}@example.com"),
            fingerprint: 0,
            lifecycle: Lifecycle::Active,
            origin: Origin::Created,
            privileged: false,
            rename_refused: None,
            not_kept: Default::default(),
        }
    }

    #[test]
    fn selector_table() {
        let read = Snapshot {
            users: vec![user("a1", "ann"), user("b2", "bob")],
            rejected: vec![Rejected { dn: "uid=bad,ou=people".into(), anchor: None, reason: "no mail".into() }],
            ..Snapshot::default()
        };
        let state = || vec![known("c3", "cid")];
        let dn_of = |l: Located<'_>| match l {
            Located::InScope(u) => u.dn.clone(),
            Located::Managed(k) => k.dn,
            Located::Rejected(r) => r.dn.clone(),
            Located::Nowhere => "-".into(),
        };
        for (selector, want) in [
            ("A1", "uid=ann,ou=people"),
            ("UID=BOB,ou=people", "uid=bob,ou=people"),
            ("bob@example.com", "uid=bob,ou=people"),
            ("Ann", "uid=ann,ou=people"),
            ("c3", "uid=cid,ou=gone"),
            ("cid@example.com", "uid=cid,ou=gone"),
            ("uid=bad,ou=people", "uid=bad,ou=people"),
            ("nobody", "-"),
        ] {
            assert_eq!(dn_of(locate(selector, &read, state())), want, "{selector}");
        }
    }
}
