//! `[lease]`: the standby's lease. Off by default; when on, it needs an LDAP directory (the
//! lease is an entry there), a DN, and a TTL long enough to be renewed every third of it.

use std::time::Duration;

use super::super::raw::RawLease;
use super::super::{ConfigError, DirectoryConfig, LeaseConfig, SourceConfig};
use super::dn_syntax;

/// The default TTL: a stalled holder stops writing at most this long before another host
/// may take over.
const DEFAULT_TTL: Duration = Duration::from_secs(5 * 60);
/// The shortest TTL: renewed every third of it, in whole seconds.
const MIN_TTL: Duration = Duration::from_secs(3);
const DEFAULT_ATTRIBUTE: &str = "description";
/// Where Linux keeps the host name (the default holder).
const HOSTNAME_FILE: &str = "/proc/sys/kernel/hostname";

pub(super) fn validate(raw: RawLease, directory: &DirectoryConfig) -> Result<Option<LeaseConfig>, ConfigError> {
    let enabled = raw.enabled.unwrap_or(false);
    if !enabled {
        return Ok(None);
    }
    if !matches!(directory.source, SourceConfig::Ldap(_)) {
        return Err(ConfigError::invalid(
            "lease.enabled",
            "the lease is an entry in the LDAP directory; directory.kind = \"ldif\" has none",
        ));
    }
    let dn = raw.dn.ok_or_else(|| {
        ConfigError::invalid(
            "lease.dn",
            "required with enabled = true: an entry the service account may write, e.g. \
             \"cn=zoomsync-lease,ou=services,dc=example,dc=com\"",
        )
    })?;
    dn_syntax("lease.dn", &dn)?;
    let attribute = raw.attribute.unwrap_or_else(|| DEFAULT_ATTRIBUTE.to_string());
    if !is_attribute_name(&attribute) {
        return Err(ConfigError::invalid(
            "lease.attribute",
            format!("{attribute:?} is not an attribute name (a letter, then letters, digits and '-')"),
        ));
    }
    let holder = match raw.holder {
        Some(h) => h,
        None => host_name().ok_or_else(|| {
            ConfigError::invalid("lease.holder", format!("the host name cannot be read from {HOSTNAME_FILE}: set it"))
        })?,
    };
    if let Some(problem) = holder_problem(&holder) {
        return Err(ConfigError::invalid("lease.holder", format!("{holder:?} {problem}")));
    }
    let ttl = raw.ttl.unwrap_or(DEFAULT_TTL);
    if ttl < MIN_TTL {
        return Err(ConfigError::invalid("lease.ttl", "must be at least 3s (it is renewed every third of it)"));
    }
    Ok(Some(LeaseConfig { dn, attribute, holder, ttl }))
}

fn is_attribute_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Why a holder name cannot stand in `<holder> <expires>`; `none` is what the bootstrap
/// value `none 0` names (nobody).
fn holder_problem(holder: &str) -> Option<&'static str> {
    if holder.is_empty() {
        Some("is empty")
    } else if holder.len() > 255 {
        Some("is longer than 255 bytes")
    } else if holder.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some("contains whitespace (the lease value is `<holder> <expires>`)")
    } else if holder.eq_ignore_ascii_case("none") {
        Some("is the name of nobody (the bootstrap value is `none 0`)")
    } else {
        None
    }
}

fn host_name() -> Option<String> {
    let name = std::fs::read_to_string(HOSTNAME_FILE).ok()?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holder_names() {
        let cases = [
            ("sync-a.example.com", None),
            ("", Some("is empty")),
            ("a b", Some("contains whitespace (the lease value is `<holder> <expires>`)")),
            ("NONE", Some("is the name of nobody (the bootstrap value is `none 0`)")),
        ];
        for (holder, want) in cases {
            assert_eq!(holder_problem(holder), want, "{holder:?}");
        }
        assert!(is_attribute_name("description") && is_attribute_name("x-lease1"));
        assert!(!is_attribute_name("1x") && !is_attribute_name("a;b") && !is_attribute_name(""));
    }
}
