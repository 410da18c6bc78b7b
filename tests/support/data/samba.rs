//! Samba test data: AD user and group entries for `ldapadd`, and reading `ldapsearch` LDIF.

use std::collections::BTreeMap;

use base64::Engine as _;

use crate::support::servers::samba::{SYNC_OU, UAC_DISABLED_NO_PASSWORD, UAC_ENABLED_NO_PASSWORD, UPN_SUFFIX};

/// One entry of ldapsearch output: values by lower-case attribute name.
#[derive(Debug, Default, Clone)]
pub struct Entry {
    pub attrs: BTreeMap<String, Vec<Vec<u8>>>,
}

impl Entry {
    pub fn first(&self, name: &str) -> Option<&Vec<u8>> {
        self.attrs.get(name).and_then(|v| v.first())
    }

    pub fn text(&self, name: &str) -> Option<String> {
        self.first(name).map(|v| String::from_utf8_lossy(v).into_owned())
    }
}

/// Unwrapped LDIF (ldapsearch `-o ldif-wrap=no -LLL`) to entries keyed by DN. Search
/// references (`# refldap://…`) are comments and skipped.
pub fn parse_ldif(text: &str) -> BTreeMap<String, Entry> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = BTreeMap::new();
    for block in text.split("\n\n") {
        let mut dn = None;
        let mut entry = Entry::default();
        for line in block.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let (name, value) = if let Some((n, v)) = line.split_once(":: ") {
                (n, b64.decode(v.trim()).unwrap_or_else(|e| panic!("bad base64 in {line:?}: {e}")))
            } else if let Some((n, v)) = line.split_once(": ") {
                (n, v.as_bytes().to_vec())
            } else {
                panic!("unexpected LDIF line {line:?}");
            };
            if name.eq_ignore_ascii_case("dn") {
                dn = Some(String::from_utf8(value).unwrap());
            } else {
                entry.attrs.entry(name.to_ascii_lowercase()).or_default().push(value);
            }
        }
        if let Some(dn) = dn {
            out.insert(dn, entry);
        }
    }
    out
}

/// The DN `users_ldif` gives user `i`.
pub fn user_dn(i: usize) -> String {
    format!("CN={},{SYNC_OU}", sam_name(i))
}

/// sAMAccountName of user `i`.
pub fn sam_name(i: usize) -> String {
    format!("aduser{i:05}")
}

/// The userPrincipalName of user `i` (zoomsync's login for AD).
pub fn upn(i: usize) -> String {
    format!("{}@{UPN_SUFFIX}", sam_name(i))
}

/// OU=Sync and `count` users in it (ldapadd LDIF). `disabled(i)` users get UAC 546 (as
/// Samba creates password-less users), the others 544 (enabled, no password required).
pub fn users_ldif(count: usize, disabled: impl Fn(usize) -> bool) -> String {
    let mut s = format!("dn: {SYNC_OU}\nobjectClass: organizationalUnit\nou: Sync\n\n");
    for i in 0..count {
        let uac = if disabled(i) { UAC_DISABLED_NO_PASSWORD } else { UAC_ENABLED_NO_PASSWORD };
        s.push_str(&user_entry(i, uac));
    }
    s
}

/// OU=Sync and `count` users with only what makes an enabled account (same DNs as
/// `users_ldif`): for member lists, where the attributes are never read.
pub fn light_users_ldif(count: usize) -> String {
    let mut s = format!("dn: {SYNC_OU}\nobjectClass: organizationalUnit\nou: Sync\n\n");
    for i in 0..count {
        s.push_str(&format!(
            "dn: {}\nobjectClass: user\nsAMAccountName: {}\nuserAccountControl: {UAC_ENABLED_NO_PASSWORD}\n\n",
            user_dn(i),
            sam_name(i)
        ));
    }
    s
}

/// One user entry (ldapadd LDIF) of `users_ldif`'s shape.
pub fn user_entry(i: usize, uac: u32) -> String {
    let name = sam_name(i);
    format!(
        "dn: {dn}\nobjectClass: user\nsAMAccountName: {name}\nuserPrincipalName: {upn}\n\
         givenName: Given{i}\nsn: Family{i}\ndisplayName: Given{i} Family{i}\nmail: {name}@{UPN_SUFFIX}\n\
         title: Engineer {title}\ndepartment: dept{dept:03}\ntelephoneNumber: +1 555 {i:07}\n\
         userAccountControl: {uac}\n\n",
        dn = user_dn(i),
        upn = upn(i),
        title = i % 7,
        dept = i % 20,
    )
}

/// A global security group in OU=Sync with these member DNs (ldapadd LDIF).
pub fn group_entry(name: &str, members: &[String]) -> String {
    let mut s = format!("dn: CN={name},{SYNC_OU}\nobjectClass: group\nsAMAccountName: {name}\n");
    for m in members {
        s.push_str(&format!("member: {m}\n"));
    }
    s.push('\n');
    s
}
