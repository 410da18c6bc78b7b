//! Generated directory data: the same people for slapd, LDIF files and benchmarks.
//!
//! Here: the slapd people (`dc=example,dc=com`). Beside them: groupOfNames for slapd
//! (`groups`), AD users and groups for Samba with an ldapsearch LDIF reader (`samba`), and the
//! AD group tests' flattening model (`group_model`).

pub mod ds389;
pub mod group_model;
pub mod groups;
pub mod samba;

use std::fmt::Write;

pub const BASE: &str = "dc=example,dc=com";
pub const PEOPLE: &str = "ou=people,dc=example,dc=com";
pub const SERVICE_DN: &str = "cn=sync,ou=services,dc=example,dc=com";
pub const SERVICE_PASSWORD: &str = "syncpass";

/// Base entries, the read-only service account and `n` inetOrgPerson users. Every 25th
/// user is `employeeType: former` (disabled under the test config).
pub fn people_ldif(n: usize) -> String {
    let mut out = String::with_capacity(n * 420 + 1024);
    base_entries(&mut out);
    for i in 0..n {
        person(&mut out, i, &format!("user{i:06}@example.com"));
    }
    out
}

pub fn base_entries(out: &mut String) {
    let _ = write!(
        out,
        "dn: {BASE}\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\n\
         dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n\n\
         dn: ou=groups,{BASE}\nobjectClass: organizationalUnit\nou: groups\n\n\
         dn: ou=services,{BASE}\nobjectClass: organizationalUnit\nou: services\n\n\
         dn: {SERVICE_DN}\nobjectClass: applicationProcess\nobjectClass: simpleSecurityObject\ncn: sync\nuserPassword: {SERVICE_PASSWORD}\n\n"
    );
}

/// Base entries and `n` users, all enabled.
pub fn active_people_ldif(n: usize) -> String {
    let mut out = String::with_capacity(n * 420 + 1024);
    base_entries(&mut out);
    for i in 0..n {
        person_with(&mut out, i, &format!("user{i:06}@example.com"), "staff");
    }
    out
}

/// One person; `mail` may be anything (bad values make rejected entries).
pub fn person(out: &mut String, i: usize, mail: &str) {
    person_with(out, i, mail, if i % 25 == 24 { "former" } else { "staff" });
}

pub fn person_with(out: &mut String, i: usize, mail: &str, employee_type: &str) {
    let _ = write!(
        out,
        "dn: uid=user{i:06},{PEOPLE}\nobjectClass: inetOrgPerson\nuid: user{i:06}\ncn: Given{i} Family{i}\n\
         sn: Family{i}\ngivenName: Given{i}\ntitle: Engineer {}\ndepartmentNumber: dept{:03}\n\
         telephoneNumber: +1 555 {i:07}\nemployeeType: {}\nuserPassword: pw{i}\n",
        i % 7,
        i % 20,
        employee_type,
    );
    if !mail.is_empty() {
        let _ = writeln!(out, "mail: {mail}");
    }
    out.push('\n');
}

/// An `ldapmodify` add record for person `i` with the given mail.
pub fn new_person_ldif(i: usize, mail: &str) -> String {
    let mut out = String::from("");
    person_with(&mut out, i, mail, "staff");
    out.replacen('\n', "\nchangetype: add\n", 1)
}
