//! The root DSE (RFC 4512 §5.1): what the server says it is — vendor, supported controls
//! and capabilities — read with one Base search of `""` through [`Directory::search`].
//!
//! `check` names the server and warns when `directory.flavor` does not match it (the
//! openldap defaults on 389-ds see no lock at all). The supported controls are kept so a
//! later reader can tell whether the server offers content synchronization (syncrepl).

use super::{Directory, SearchRequest, SearchScope, SourceError};
use crate::config::{DecodeRules, DisabledRule, Flavor};
use crate::model::RawEntry;

/// RFC 4533 content synchronization (syncrepl): OpenLDAP, and 389-ds with its plugin.
pub const SYNCREPL_CONTROL: &str = "1.3.6.1.4.1.4203.1.9.1.1";
/// `supportedCapabilities` of an Active Directory DC (LDAP_CAP_ACTIVE_DIRECTORY_OID); Samba
/// announces it too.
pub const AD_CAPABILITY: &str = "1.2.840.113556.1.4.800";
/// The objectClass OpenLDAP gives its root DSE (OpenLDAP announces no vendor by default).
const OPENLDAP_ROOT_CLASS: &str = "OpenLDAProotDSE";
/// `vendorVersion` prefixes of the 389 family (389-ds, Red Hat Directory Server under FreeIPA
/// too, and their ancestors).
const DS389_VERSIONS: &[&str] = &["389-directory/", "red hat-directory/", "fedora-directory/", "netscape-directory/"];

/// The root DSE attributes asked for (all operational: named, never `*`).
pub const ATTRIBUTES: &[&str] =
    &["vendorName", "vendorVersion", "supportedControl", "supportedCapabilities", "objectClass"];

/// What the root DSE said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RootDse {
    pub vendor_name: Option<String>,
    pub vendor_version: Option<String>,
    pub supported_controls: Vec<String>,
    pub supported_capabilities: Vec<String>,
    pub object_classes: Vec<String>,
}

/// The server families whose flavour zoomsync has defaults for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    OpenLdap,
    ActiveDirectory,
    Ds389,
}

impl ServerKind {
    pub fn name(self) -> &'static str {
        match self {
            ServerKind::OpenLdap => "OpenLDAP",
            ServerKind::ActiveDirectory => "Active Directory",
            ServerKind::Ds389 => "389 Directory Server",
        }
    }

    /// The flavour with this server's defaults.
    pub fn flavor(self) -> Flavor {
        match self {
            ServerKind::OpenLdap => Flavor::OpenLdap,
            ServerKind::ActiveDirectory => Flavor::ActiveDirectory,
            ServerKind::Ds389 => Flavor::Ds389,
        }
    }
}

/// The one search that reads the root DSE.
pub fn request() -> SearchRequest {
    SearchRequest {
        base: String::new(),
        scope: SearchScope::Base,
        filter: "(objectClass=*)".into(),
        attributes: ATTRIBUTES.iter().map(|a| a.to_string()).collect(),
    }
}

/// Reads the root DSE; `None` when the directory has none (an LDIF file) or the server
/// returned no entry (a read that ends early without it also gives `None`).
pub async fn read<D: Directory>(directory: &D) -> Result<Option<RootDse>, SourceError> {
    let mut found = None;
    directory
        .search(&[request()], &mut |_, entry| {
            if found.is_none() && entry.dn.trim().is_empty() {
                found = Some(RootDse::from_entry(&entry));
            }
        })
        .await?;
    Ok(found)
}

impl RootDse {
    /// PURE: the attributes of a root DSE entry (names compared without case).
    pub fn from_entry(entry: &RawEntry) -> Self {
        let texts = |name: &str| -> Vec<String> {
            entry
                .values(name)
                .iter()
                .filter_map(|v| std::str::from_utf8(v).ok())
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect()
        };
        Self {
            vendor_name: texts("vendorName").into_iter().next(),
            vendor_version: texts("vendorVersion").into_iter().next(),
            supported_controls: texts("supportedControl"),
            supported_capabilities: texts("supportedCapabilities"),
            object_classes: texts("objectClass"),
        }
    }

    pub fn supports_control(&self, oid: &str) -> bool {
        self.supported_controls.iter().any(|c| c == oid)
    }

    /// Content synchronization (RFC 4533): what a change-driven reader would need.
    pub fn supports_syncrepl(&self) -> bool {
        self.supports_control(SYNCREPL_CONTROL)
    }

    /// Which server family this is, when the root DSE says so.
    pub fn server(&self) -> Option<ServerKind> {
        let version = self.vendor_version.as_deref().unwrap_or("").to_ascii_lowercase();
        let vendor = self.vendor_name.as_deref().unwrap_or("");
        if self.supported_capabilities.iter().any(|c| c == AD_CAPABILITY) {
            Some(ServerKind::ActiveDirectory)
        } else if DS389_VERSIONS.iter().any(|p| version.starts_with(p)) || vendor.starts_with("389 ") {
            Some(ServerKind::Ds389)
        } else if self.object_classes.iter().any(|c| c.eq_ignore_ascii_case(OPENLDAP_ROOT_CLASS)) {
            Some(ServerKind::OpenLdap)
        } else {
            None
        }
    }

    /// One line for `check`: the vendor and version as the server gives them, and the family
    /// when it is known (`389 Project 389-Directory/2.3.1 B2025.016.1616 (389 Directory Server)`).
    pub fn describe(&self) -> String {
        let vendor: Vec<&str> =
            [self.vendor_name.as_deref(), self.vendor_version.as_deref()].into_iter().flatten().collect();
        match (vendor.is_empty(), self.server()) {
            (false, Some(kind)) => format!("{} ({})", vendor.join(" "), kind.name()),
            (false, None) => vendor.join(" "),
            (true, Some(kind)) => format!("{} (no vendorName; known by its root DSE)", kind.name()),
            (true, None) => "unknown (the root DSE names no vendor)".into(),
        }
    }

    /// PURE: a warning when `directory.flavor` is made for another server than this one,
    /// with what goes wrong and the flavour to use. `generic` is never warned about.
    pub fn flavor_mismatch(&self, rules: &DecodeRules) -> Option<String> {
        let server = self.server()?;
        if rules.flavor == Flavor::Generic || rules.flavor == server.flavor() {
            return None;
        }
        let consequence = match (server, &rules.disabled) {
            (ServerKind::Ds389, DisabledRule::AccountLock) => {
                "its other defaults (anchor, user filter, mapping) are not this server's".to_string()
            }
            (ServerKind::Ds389, _) => {
                "accounts locked with nsAccountLock or through a role would sync as active".to_string()
            }
            (ServerKind::OpenLdap, _) => format!(
                "the {} defaults read attributes OpenLDAP does not have (accounts locked with \
                 pwdAccountLockedTime would sync as active)",
                rules.flavor.config_name()
            ),
            (ServerKind::ActiveDirectory, _) => {
                "AD's anchor (objectGUID), login (userPrincipalName) and disabled bit (userAccountControl) \
                 are not read"
                    .to_string()
            }
        };
        Some(format!(
            "the server is {} ({}) but directory.flavor = \"{}\": {consequence}. Set flavor = \"{}\"",
            server.name(),
            self.evidence(server),
            rules.flavor.config_name(),
            server.flavor().config_name()
        ))
    }

    /// What in the root DSE identified the server.
    fn evidence(&self, server: ServerKind) -> String {
        match (server, &self.vendor_name) {
            (ServerKind::ActiveDirectory, _) => format!("supportedCapabilities {AD_CAPABILITY}"),
            (ServerKind::OpenLdap, _) => format!("root DSE objectClass {OPENLDAP_ROOT_CLASS}"),
            (ServerKind::Ds389, Some(name)) => format!("vendorName {name:?}"),
            (ServerKind::Ds389, None) => format!("vendorVersion {:?}", self.vendor_version.as_deref().unwrap_or("")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AnchorFormat;

    fn entry(attrs: &[(&str, &str)]) -> RawEntry {
        let mut e = RawEntry::new("");
        for (k, v) in attrs {
            e.push(k, v.as_bytes().to_vec());
        }
        e
    }

    fn rules(flavor: Flavor, disabled: DisabledRule) -> DecodeRules {
        DecodeRules {
            flavor,
            anchor_attribute: "entryUUID".into(),
            anchor_fallback: None,
            anchor_format: AnchorFormat::Text,
            user_name_attribute: "mail".into(),
            disabled,
            keep_attributes: vec![],
        }
    }

    fn ds389() -> RootDse {
        // As Debian 12's 389-ds-base answers (tests/ds389).
        RootDse::from_entry(&entry(&[
            ("vendorName", "389 Project"),
            ("vendorVersion", "389-Directory/2.3.1 B2025.016.1616"),
            ("objectClass", "top"),
            ("supportedControl", "1.2.840.113556.1.4.319"),
        ]))
    }

    #[test]
    fn servers_are_told_apart_by_vendor_capability_or_root_class() {
        assert_eq!(ds389().server(), Some(ServerKind::Ds389));
        let rhds = entry(&[("vendorName", "Red Hat, Inc."), ("vendorVersion", "Red Hat-Directory/11.7")]);
        assert_eq!(RootDse::from_entry(&rhds).server(), Some(ServerKind::Ds389));
        let openldap = entry(&[
            ("objectclass", "top"),
            ("objectclass", "OpenLDAProotDSE"),
            ("supportedControl", SYNCREPL_CONTROL),
        ]);
        let openldap = RootDse::from_entry(&openldap);
        assert_eq!(openldap.server(), Some(ServerKind::OpenLdap));
        assert!(openldap.supports_syncrepl() && !ds389().supports_syncrepl());
        let samba =
            entry(&[("vendorName", "Samba Team (https://www.samba.org)"), ("supportedCapabilities", AD_CAPABILITY)]);
        assert_eq!(RootDse::from_entry(&samba).server(), Some(ServerKind::ActiveDirectory));
        assert_eq!(RootDse::from_entry(&entry(&[("vendorName", "Example Corp")])).server(), None);
        assert_eq!(ds389().describe(), "389 Project 389-Directory/2.3.1 B2025.016.1616 (389 Directory Server)");
        assert_eq!(openldap.describe(), "OpenLDAP (no vendorName; known by its root DSE)");
    }

    #[test]
    fn a_flavour_made_for_another_server_is_named_with_the_one_to_use() {
        let warning = ds389().flavor_mismatch(&rules(Flavor::OpenLdap, DisabledRule::Never)).unwrap();
        assert!(warning.contains("389 Directory Server (vendorName \"389 Project\")"), "{warning}");
        assert!(warning.contains("directory.flavor = \"openldap\"") && warning.contains("sync as active"), "{warning}");
        assert!(warning.ends_with("Set flavor = \"389ds\""), "{warning}");
        assert_eq!(ds389().flavor_mismatch(&rules(Flavor::Ds389, DisabledRule::AccountLock)), None);
        assert_eq!(ds389().flavor_mismatch(&rules(Flavor::Generic, DisabledRule::Never)), None);
        assert_eq!(RootDse::default().flavor_mismatch(&rules(Flavor::OpenLdap, DisabledRule::Never)), None);
        let openldap = RootDse::from_entry(&entry(&[("objectClass", "OpenLDAProotDSE")]));
        let warning = openldap.flavor_mismatch(&rules(Flavor::Ds389, DisabledRule::AccountLock)).unwrap();
        assert!(warning.ends_with("Set flavor = \"openldap\""), "{warning}");
    }
}
