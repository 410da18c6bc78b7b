//! OpenLDAP's command-line tools against a running directory (slapd, 389-ds, Samba):
//! `ldapadd` / `ldapmodify` with the LDIF on stdin, and a paged `ldapsearch` read back as
//! entries.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::support::data::samba::{Entry, parse_ldif};

/// Where and as whom the tools connect (simple bind).
pub struct LdapTools<'a> {
    pub url: String,
    /// Empty: anonymous (`ldapsearch` only).
    pub bind_dn: &'a str,
    pub password: &'a str,
    /// Passed as `LDAPTLS_CACERT`: the CA that checks the server on ldaps://.
    pub ca_file: Option<PathBuf>,
}

impl LdapTools<'_> {
    fn command(&self, tool: &str) -> Command {
        let mut command = Command::new(tool);
        command.args(["-x", "-H", &self.url]);
        if let Some(ca) = &self.ca_file {
            command.env("LDAPTLS_CACERT", ca);
        }
        if !self.bind_dn.is_empty() {
            command.args(["-D", self.bind_dn, "-w", self.password]);
        }
        command
    }

    /// Runs `tool` (`ldapadd`, or `ldapmodify` for `changetype:` records) with `ldif` on
    /// stdin. Panics with the tool's stderr and the start of the LDIF when it fails.
    pub fn apply(&self, tool: &str, ldif: &str) {
        let mut child =
            self.command(tool).stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(ldif.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{tool} on {} failed: {}\n{}",
            self.url,
            String::from_utf8_lossy(&out.stderr),
            ldif.chars().take(2000).collect::<String>()
        );
    }

    /// `ldapsearch`, paged (1000), LDIF unwrapped; the attribute values of each entry by
    /// lower-case name, keyed by DN (base64 values decoded).
    pub fn search(&self, base: &str, filter: &str, attributes: &[&str]) -> BTreeMap<String, Entry> {
        let out = self
            .command("ldapsearch")
            .arg("-LLL")
            .args(["-o", "ldif-wrap=no", "-E", "pr=1000/noprompt", "-b", base, filter])
            .args(attributes)
            .output()
            .unwrap();
        assert!(out.status.success(), "ldapsearch {filter} failed: {}", String::from_utf8_lossy(&out.stderr));
        parse_ldif(&String::from_utf8_lossy(&out.stdout))
    }
}
