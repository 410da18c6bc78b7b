//! 389 Directory Server test data for [`super::ds389::Ds389`]: `n` inetOrgPerson users (some
//! with non-ASCII names), locks set directly (`nsAccountLock: true` / `false`) and through
//! roles, a managed role `Contractors`, and groupOfNames nested three levels
//! (everyone → department → team → users). Everything follows from the user's index, so
//! tests can compute what to expect.
//!
//! Users and groups carry the `nsMemberOf` auxiliary class (what 389-ds gives entries that
//! have `memberOf`): without it the MemberOf plugin repairs each entry's schema on the fly and
//! logs an error and a warning per member.

use std::fmt::Write;

use base64::Engine as _;

use super::PEOPLE;
use crate::support::servers::ds389::MANAGED_DISABLED_ROLE;

pub const GROUPS: &str = "ou=groups,dc=example,dc=com";
/// A managed role (members name it in `nsRoleDN`); `Ds389::lock_role` can lock it.
pub const CONTRACTORS_ROLE: &str = "cn=Contractors,dc=example,dc=com";
/// The top group: its members are the department groups.
pub const EVERYONE: &str = "cn=everyone,ou=groups,dc=example,dc=com";
pub const MAX_TEAMS: usize = 12;
pub const MAX_DEPARTMENTS: usize = 4;

/// How user `i` is (or is not) locked in the fixture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// No lock attribute, no role.
    None,
    /// `nsAccountLock: true` stored on the entry.
    Locked,
    /// `nsAccountLock: false` stored on the entry.
    ExplicitlyUnlocked,
    /// `nsRoleDN: cn=nsManagedDisabledRole,…`: locked through the roles and the CoS.
    RoleLocked,
    /// `nsRoleDN: cn=Contractors,…`: in a role that is not locked (until a test locks it).
    Contractor,
}

/// Every 50 users: one of each lock kind (indexes 7 to 10), the rest plain.
pub fn lock(i: usize) -> Lock {
    match i % 50 {
        7 => Lock::Locked,
        8 => Lock::ExplicitlyUnlocked,
        9 => Lock::RoleLocked,
        10 => Lock::Contractor,
        _ => Lock::None,
    }
}

/// How many of the first `n` users have lock kind `kind`.
pub fn count(n: usize, kind: Lock) -> usize {
    (0..n).filter(|&i| lock(i) == kind).count()
}

pub fn uid(i: usize) -> String {
    format!("user{i:06}")
}

pub fn user_dn(i: usize) -> String {
    format!("uid={},{PEOPLE}", uid(i))
}

pub fn mail(i: usize) -> String {
    format!("{}@example.com", uid(i))
}

const GIVEN: [&str; 10] =
    ["Zoë", "José", "Søren", "Łukasz", "Ana María", "Jürgen", "Frédérique", "Дмитрий", "陽翔", "Ærin"];
const FAMILY: [&str; 10] =
    ["Müller", "Çelik", "Ødegård", "Wróblewska", "García", "Öztürk", "Lefèvre", "Иванов", "佐藤", "Þórsdóttir"];

/// Every 10th user (index 3, 13, 23 …) has a non-ASCII given and family name.
pub fn given_name(i: usize) -> String {
    if i % 10 == 3 { GIVEN[(i / 10) % GIVEN.len()].to_string() } else { format!("Given{i}") }
}

pub fn family_name(i: usize) -> String {
    if i % 10 == 3 { FAMILY[(i / 10) % FAMILY.len()].to_string() } else { format!("Family{i}") }
}

pub fn common_name(i: usize) -> String {
    format!("{} {}", given_name(i), family_name(i))
}

/// Teams among `n` users: at most 12, and none empty.
pub fn team_count(n: usize) -> usize {
    n.clamp(1, MAX_TEAMS)
}

pub fn department_count(n: usize) -> usize {
    team_count(n).min(MAX_DEPARTMENTS)
}

/// The team (level 3 group) of user `i` among `n`.
pub fn team_of(i: usize, n: usize) -> usize {
    i % team_count(n)
}

/// The department (level 2 group) of team `t` among `n` users.
pub fn department_of(t: usize, n: usize) -> usize {
    t % department_count(n)
}

pub fn team_dn(t: usize) -> String {
    format!("cn=team-{t:02},{GROUPS}")
}

pub fn department_dn(d: usize) -> String {
    format!("cn=department-{d},{GROUPS}")
}

/// The groups user `i` among `n` is in, directly or through nesting (what `memberOf`
/// should list): team, department, everyone.
pub fn groups_of(i: usize, n: usize) -> [String; 3] {
    let t = team_of(i, n);
    [team_dn(t), department_dn(department_of(t, n)), EVERYONE.to_string()]
}

/// `ou=people`, `ou=groups`, the Contractors role, `n` users and (for `n > 0`) the nested
/// groups, as ldapadd records: users before the groups that name them, inner groups before
/// outer ones (so the MemberOf plugin sees every member when it exists).
pub fn directory_ldif(n: usize) -> String {
    let mut out = String::with_capacity(n * 380 + 4096);
    let _ = write!(
        out,
        "dn: {PEOPLE}\nobjectClass: top\nobjectClass: organizationalUnit\nou: people\n\n\
         dn: {GROUPS}\nobjectClass: top\nobjectClass: organizationalUnit\nou: groups\n\n\
         dn: {CONTRACTORS_ROLE}\nobjectClass: top\nobjectClass: LDAPsubentry\nobjectClass: nsRoleDefinition\n\
         objectClass: nsSimpleRoleDefinition\nobjectClass: nsManagedRoleDefinition\ncn: Contractors\n\n"
    );
    for i in 0..n {
        person(&mut out, i);
    }
    if n == 0 {
        return out;
    }
    for t in 0..team_count(n) {
        let members: Vec<String> = (t..n).step_by(team_count(n)).map(user_dn).collect();
        group(&mut out, &team_dn(t), &members);
    }
    for d in 0..department_count(n) {
        let members: Vec<String> = (0..team_count(n)).filter(|&t| department_of(t, n) == d).map(team_dn).collect();
        group(&mut out, &department_dn(d), &members);
    }
    let departments: Vec<String> = (0..department_count(n)).map(department_dn).collect();
    group(&mut out, EVERYONE, &departments);
    out
}

/// User `i`'s entry (ldapadd record).
pub fn person(out: &mut String, i: usize) {
    let _ = writeln!(out, "dn: {}", user_dn(i));
    out.push_str("objectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\n");
    out.push_str("objectClass: inetOrgPerson\nobjectClass: nsMemberOf\n");
    attr(out, "uid", &uid(i));
    attr(out, "cn", &common_name(i));
    attr(out, "sn", &family_name(i));
    attr(out, "givenName", &given_name(i));
    attr(out, "mail", &mail(i));
    attr(out, "title", &format!("Engineer {}", i % 7));
    match lock(i) {
        Lock::None => {}
        Lock::Locked => attr(out, "nsAccountLock", "true"),
        Lock::ExplicitlyUnlocked => attr(out, "nsAccountLock", "false"),
        Lock::RoleLocked => attr(out, "nsRoleDN", MANAGED_DISABLED_ROLE),
        Lock::Contractor => attr(out, "nsRoleDN", CONTRACTORS_ROLE),
    }
    out.push('\n');
}

/// A groupOfNames (ldapadd record); `members` must not be empty.
pub fn group(out: &mut String, dn: &str, members: &[String]) {
    assert!(!members.is_empty(), "groupOfNames {dn} needs a member");
    let cn = dn.split(',').next().and_then(|rdn| rdn.strip_prefix("cn=")).unwrap_or(dn);
    let _ = writeln!(out, "dn: {dn}\nobjectClass: top\nobjectClass: groupOfNames\nobjectClass: nsMemberOf\ncn: {cn}");
    for m in members {
        let _ = writeln!(out, "member: {m}");
    }
    out.push('\n');
}

/// `name: value`, or `name:: base64` when the value is not plain ASCII (LDIF, RFC 2849).
fn attr(out: &mut String, name: &str, value: &str) {
    if value.bytes().all(|b| (0x20..0x7f).contains(&b)) && !value.starts_with([' ', ':', '<']) {
        let _ = writeln!(out, "{name}: {value}");
    } else {
        let _ = writeln!(out, "{name}:: {}", base64::engine::general_purpose::STANDARD.encode(value));
    }
}
