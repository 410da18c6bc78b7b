//! Active Directory test settings shared by the Samba tests: the service account zoomsync
//! binds as, the default AD user filter, and a `[directory]` config for a DC.

use std::path::Path;

use zoomsync::config::{self, Config};

use super::servers::samba::{self, SambaDc};

pub const SERVICE: &str = "svc-zoomsync";
pub const SERVICE_PASSWORD: &str = "Passw0rd!Svc1";
/// The AD filter zoomsync uses by default (checked against the parsed config below).
pub const AD_FILTER: &str = "(&(objectCategory=person)(objectClass=user))";

pub fn service_dn() -> String {
    format!("CN={SERVICE},CN=Users,{}", samba::BASE)
}

/// `[directory]` for the DC, flavour active_directory with its defaults; `extra` lines added.
pub fn directory_section(url: &str, base_dn: &str, extra: &str) -> String {
    directory_section_as(url, base_dn, &service_dn(), extra)
}

/// [`directory_section`] bound as `bind_dn` (Administrator, for what needs its rights).
pub fn directory_section_as(url: &str, base_dn: &str, bind_dn: &str, extra: &str) -> String {
    // Samba answers an in-chain search of a 5,000-member group in 10-14 s on a quiet machine
    // and took over 60 s (the default `timeout`) on a busy one: the tests prove results, not
    // speed, so each LDAP operation may take up to 10 minutes here.
    format!(
        "[directory]\nflavor = \"active_directory\"\nurl = \"{url}\"\nbind_dn = \"{bind_dn}\"\n\
         bind_password_file = \"ldap-password\"\nbase_dn = \"{base_dn}\"\ntimeout = \"600s\"\n{extra}\n"
    )
}

pub fn config(dir: &Path, url: &str, base_dn: &str, extra: &str, password: &str) -> Config {
    zoomsync::install_crypto_provider();
    std::fs::write(dir.join("ldap-password"), password).unwrap();
    let text = directory_section(url, base_dn, extra);
    let cfg = config::parse(&text, dir, None).unwrap_or_else(|e| panic!("config: {e}\n{text}"));
    if let config::SourceConfig::Ldap(l) = &cfg.directory.source {
        assert_eq!(l.user_filter, AD_FILTER, "the active_directory default filter");
    }
    cfg
}

pub fn ldaps(dc: &SambaDc, base_dn: &str, page_size: u32) -> Config {
    let extra = format!("ca_file = {:?}\npage_size = {page_size}", dc.ca_file());
    config(dc.dir(), &dc.ldaps_url(), base_dn, &extra, SERVICE_PASSWORD)
}

/// LDAP_MATCHING_RULE_IN_CHAIN, which zoomsync's AD group membership searches use.
pub const IN_CHAIN: &str = "1.2.840.113556.1.4.1941";

/// A group's DN under OU=Sync (where `samba::group_entry` puts it).
pub fn group_dn(name: &str) -> String {
    format!("CN={name},{}", samba::SYNC_OU)
}

/// A DC with the service account zoomsync binds as.
pub fn start_dc() -> SambaDc {
    let dc = SambaDc::start();
    dc.add_service_account(SERVICE, SERVICE_PASSWORD);
    dc
}
