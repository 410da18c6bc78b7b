//! `[directory]`: source kind, connection, TLS rules, and the flavour's decode defaults.

use std::time::Duration;

use super::super::raw::RawDirectory;
use super::super::{
    ACCOUNT_LOCK_ATTRIBUTE, AnchorFormat, Bind, ConfigError, DecodeRules, DirectoryConfig, DisabledRule, Flavor,
    LdapConfig, SourceConfig, TlsMode,
};
use super::{SecretResolver, choice, positive_duration};
use crate::model::ldap_filter::Filter;

/// Attributes kept for mapping when `directory.attributes` is not set.
const OPENLDAP_ATTRIBUTES: &[&str] = &[
    "uid",
    "cn",
    "givenName",
    "sn",
    "displayName",
    "mail",
    "title",
    "departmentNumber",
    "ou",
    "telephoneNumber",
    "mobile",
    "employeeNumber",
    "employeeType",
];
const AD_ATTRIBUTES: &[&str] = &[
    "sAMAccountName",
    "userPrincipalName",
    "cn",
    "givenName",
    "sn",
    "displayName",
    "mail",
    "title",
    "department",
    "telephoneNumber",
    "mobile",
    "employeeID",
    "employeeNumber",
];

pub(super) fn validate(raw: RawDirectory, secrets: &SecretResolver<'_>) -> Result<DirectoryConfig, ConfigError> {
    let flavor = flavor(raw.flavor.clone())?;
    let ldif = choice("directory.kind", raw.kind.clone(), "ldap", &["ldap", "ldif"])? == "ldif";
    if let Some(error) = ConfigError::all(missing_keys(&raw, flavor, ldif)) {
        return Err(error);
    }
    let decode = decode_rules(&raw, flavor)?;
    let source = if ldif {
        for (key, set) in
            [("url", raw.url.is_some()), ("bind_dn", raw.bind_dn.is_some()), ("base_dn", raw.base_dn.is_some())]
        {
            if set {
                return Err(ConfigError::invalid(
                    format!("directory.{key}"),
                    "not used with kind = \"ldif\"; remove it",
                ));
            }
        }
        let path = raw.path.ok_or_else(|| ConfigError::invalid("directory.path", "required when kind = \"ldif\""))?;
        let filter = user_filter(raw.user_filter, flavor, true)?;
        let filter = Filter::parse(&filter).map_err(|e| ConfigError::invalid("directory.user_filter", e))?;
        SourceConfig::Ldif { path: secrets.path(path), filter }
    } else {
        if raw.path.is_some() {
            return Err(ConfigError::invalid("directory.path", "only used with kind = \"ldif\""));
        }
        SourceConfig::Ldap(ldap(raw, flavor, secrets)?)
    };
    Ok(DirectoryConfig { source, decode })
}

/// Other names of the 389ds flavour: the same server family.
const DS389_ALIASES: &[&str] = &["389-ds", "rhds", "freeipa"];

fn flavor(value: Option<String>) -> Result<Flavor, ConfigError> {
    let value =
        value.map(|v| if DS389_ALIASES.iter().any(|a| a.eq_ignore_ascii_case(&v)) { "389ds".into() } else { v });
    let names = [Flavor::OpenLdap, Flavor::ActiveDirectory, Flavor::Ds389, Flavor::Generic].map(Flavor::config_name);
    Ok(match choice("directory.flavor", value, "openldap", &names)? {
        "active_directory" => Flavor::ActiveDirectory,
        "389ds" => Flavor::Ds389,
        "generic" => Flavor::Generic,
        _ => Flavor::OpenLdap,
    })
}

/// Every required key that is not set, so one run names them all (the generic flavour has
/// three of its own).
fn missing_keys(raw: &RawDirectory, flavor: Flavor, ldif: bool) -> Vec<ConfigError> {
    let mut missing = Vec::new();
    let mut require = |set: bool, key: &str, problem: &str| {
        if !set {
            missing.push(ConfigError::invalid(format!("directory.{key}"), problem));
        }
    };
    if ldif {
        require(raw.path.is_some(), "path", "required when kind = \"ldif\"");
    } else {
        require(raw.url.is_some(), "url", "required");
        let base_dn = raw.base_dn.as_ref().is_some_and(|b| !b.trim().is_empty());
        require(base_dn, "base_dn", BASE_DN_REQUIRED);
    }
    if flavor == Flavor::Generic {
        for (key, set) in [
            ("anchor_attribute", raw.anchor_attribute.is_some()),
            ("user_name_attribute", raw.user_name_attribute.is_some()),
            ("user_filter", raw.user_filter.is_some()),
        ] {
            require(set, key, GENERIC_REQUIRED);
        }
    }
    missing
}

const BASE_DN_REQUIRED: &str = "required, e.g. \"ou=people,dc=example,dc=com\"";
const GENERIC_REQUIRED: &str = "required for flavor = \"generic\"";

fn ldap(raw: RawDirectory, flavor: Flavor, secrets: &SecretResolver<'_>) -> Result<LdapConfig, ConfigError> {
    let url = raw.url.ok_or_else(|| ConfigError::invalid("directory.url", "required"))?;
    let start_tls = raw.start_tls.unwrap_or(false);
    let insecure = raw.insecure.unwrap_or(false);
    let tls = if let Some(rest) = url.strip_prefix("ldaps://") {
        if start_tls {
            return Err(ConfigError::invalid(
                "directory.start_tls",
                "ldaps:// is already TLS; StartTLS is for ldap:// URLs",
            ));
        }
        host_required(rest)?;
        TlsMode::Ldaps
    } else if let Some(rest) = url.strip_prefix("ldap://") {
        host_required(rest)?;
        match (start_tls, insecure) {
            (true, _) => TlsMode::StartTls,
            (false, true) => TlsMode::Plain,
            (false, false) => {
                return Err(ConfigError::invalid(
                    "directory.url",
                    "ldap:// sends the bind password in clear; use ldaps://, start_tls = true, \
                     or insecure = true for a test server",
                ));
            }
        }
    } else {
        return Err(ConfigError::invalid("directory.url", format!("{url:?} must start with ldaps:// or ldap://")));
    };
    let ca_file = raw.ca_file.map(|p| secrets.path(p));
    if let Some(ca) = &ca_file {
        if tls == TlsMode::Plain {
            return Err(ConfigError::invalid("directory.ca_file", "set but the connection is not TLS"));
        }
        if !ca.is_file() {
            return Err(ConfigError::invalid(
                "directory.ca_file",
                format!("{} does not exist or is not a file", ca.display()),
            ));
        }
    }
    let password = secrets.resolve(
        "directory",
        "bind_password",
        raw.bind_password_file,
        raw.bind_password_credential,
        raw.bind_dn.is_some(),
    )?;
    let bind = match (raw.bind_dn, password) {
        (Some(dn), Some(password)) if !dn.trim().is_empty() => Some(Bind { dn, password }),
        (Some(_), _) => {
            return Err(ConfigError::invalid("directory.bind_dn", "must not be empty"));
        }
        (None, Some(_)) => {
            return Err(ConfigError::invalid("directory.bind_dn", "required when a bind password is set"));
        }
        (None, None) => None,
    };
    let base_dn = raw
        .base_dn
        .filter(|b| !b.trim().is_empty())
        .ok_or_else(|| ConfigError::invalid("directory.base_dn", BASE_DN_REQUIRED))?;
    super::dn_syntax("directory.base_dn", &base_dn)?;
    let user_filter = user_filter(raw.user_filter, flavor, false)?;
    Filter::parse(&user_filter).map_err(|e| ConfigError::invalid("directory.user_filter", e))?;
    let page_size = raw.page_size.unwrap_or(500);
    // AD caps pages at MaxPageSize (1000); asking for more silently truncates there.
    let max_page = if flavor == Flavor::ActiveDirectory { 1000 } else { 100_000 };
    if !(1..=max_page).contains(&page_size) {
        return Err(ConfigError::invalid("directory.page_size", format!("{page_size} is outside 1..={max_page}")));
    }
    Ok(LdapConfig {
        url,
        tls,
        ca_file,
        bind,
        base_dn,
        user_filter,
        page_size: page_size as i32,
        timeout: positive_duration("directory.timeout", raw.timeout.unwrap_or(Duration::from_secs(60)))?,
        connect_timeout: positive_duration(
            "directory.connect_timeout",
            raw.connect_timeout.unwrap_or(Duration::from_secs(10)),
        )?,
        changes: raw.changes.unwrap_or_default(),
        poll_interval: poll_interval(raw.poll_interval)?,
    })
}

/// At least a second (a tighter poll loads the DC for nothing), at most a day.
fn poll_interval(raw: Option<Duration>) -> Result<Duration, ConfigError> {
    let every = raw.unwrap_or(Duration::from_secs(30));
    if !(Duration::from_secs(1)..=Duration::from_secs(86_400)).contains(&every) {
        return Err(ConfigError::invalid("directory.poll_interval", "must be between 1s and 24h"));
    }
    Ok(every)
}

fn host_required(rest: &str) -> Result<(), ConfigError> {
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') {
        return Err(ConfigError::invalid("directory.url", "has no host name"));
    }
    Ok(())
}

/// The configured filter, or the flavour's default. AD's server treats
/// `objectCategory=person` specially; an LDIF export has the category's DN there instead.
fn user_filter(configured: Option<String>, flavor: Flavor, ldif: bool) -> Result<String, ConfigError> {
    Ok(match (configured, flavor) {
        (Some(f), _) => f.trim().to_string(),
        (None, Flavor::ActiveDirectory) if ldif => "(&(objectClass=user)(!(objectClass=computer)))".into(),
        (None, Flavor::ActiveDirectory) => "(&(objectCategory=person)(objectClass=user))".into(),
        (None, Flavor::OpenLdap | Flavor::Ds389) => "(objectClass=inetOrgPerson)".into(),
        (None, Flavor::Generic) => {
            return Err(ConfigError::invalid("directory.user_filter", GENERIC_REQUIRED));
        }
    })
}

fn attribute_name(key: &str, name: String) -> Result<String, ConfigError> {
    let ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ';' || c == '.');
    if ok { Ok(name) } else { Err(ConfigError::invalid(key, format!("{name:?} is not an attribute name"))) }
}

fn decode_rules(raw: &RawDirectory, flavor: Flavor) -> Result<DecodeRules, ConfigError> {
    let (anchor_default, user_name_default) = match flavor {
        Flavor::OpenLdap | Flavor::Ds389 => (Some("entryUUID"), Some("mail")),
        Flavor::ActiveDirectory => (Some("objectGUID"), Some("userPrincipalName")),
        Flavor::Generic => (None, None),
    };
    let anchor_attribute = match (&raw.anchor_attribute, anchor_default) {
        (Some(a), _) => attribute_name("directory.anchor_attribute", a.clone())?,
        (None, Some(d)) => d.to_string(),
        (None, None) => {
            return Err(ConfigError::invalid("directory.anchor_attribute", GENERIC_REQUIRED));
        }
    };
    let user_name_attribute = match (&raw.user_name_attribute, user_name_default) {
        (Some(a), _) => attribute_name("directory.user_name_attribute", a.clone())?,
        (None, Some(d)) => d.to_string(),
        (None, None) => {
            return Err(ConfigError::invalid("directory.user_name_attribute", GENERIC_REQUIRED));
        }
    };
    // 389-ds: entries made before the entryUUID plugin (or hidden from the bind account)
    // have no entryUUID; every entry has a nsUniqueId. Only under the flavour's own anchor.
    let anchor_fallback = (flavor == Flavor::Ds389 && raw.anchor_attribute.is_none()).then(|| "nsUniqueId".to_string());
    let guid_default = if anchor_attribute.eq_ignore_ascii_case("objectGUID") { "guid" } else { "text" };
    let anchor_format =
        match choice("directory.anchor_format", raw.anchor_format.clone(), guid_default, &["text", "guid"])? {
            "guid" => AnchorFormat::Guid,
            _ => AnchorFormat::Text,
        };
    let disabled = match (&raw.disabled_attribute, &raw.disabled_value, flavor) {
        (None, Some(_), _) => {
            return Err(ConfigError::invalid("directory.disabled_value", "needs directory.disabled_attribute"));
        }
        (Some(a), Some(v), _) => DisabledRule::Equals {
            attribute: attribute_name("directory.disabled_attribute", a.clone())?,
            value: v.clone(),
        },
        (Some(a), None, _) if a.eq_ignore_ascii_case("userAccountControl") => DisabledRule::AccountControl,
        // 389-ds writes `nsAccountLock: false` to unlock: its value matters, not its presence.
        (Some(a), None, _) if a.eq_ignore_ascii_case(ACCOUNT_LOCK_ATTRIBUTE) => DisabledRule::AccountLock,
        (Some(a), None, _) => {
            DisabledRule::Present { attribute: attribute_name("directory.disabled_attribute", a.clone())? }
        }
        (None, None, Flavor::ActiveDirectory) => DisabledRule::AccountControl,
        (None, None, Flavor::OpenLdap) => DisabledRule::Present { attribute: "pwdAccountLockedTime".into() },
        (None, None, Flavor::Ds389) => DisabledRule::AccountLock,
        (None, None, Flavor::Generic) => DisabledRule::Never,
    };
    let keep_attributes = match &raw.attributes {
        Some(list) => {
            list.iter().map(|a| attribute_name("directory.attributes", a.clone())).collect::<Result<Vec<_>, _>>()?
        }
        None => {
            let defaults = if flavor == Flavor::ActiveDirectory { AD_ATTRIBUTES } else { OPENLDAP_ATTRIBUTES };
            defaults.iter().map(|s| s.to_string()).collect()
        }
    };
    Ok(DecodeRules {
        flavor,
        anchor_attribute,
        anchor_fallback,
        anchor_format,
        user_name_attribute,
        disabled,
        keep_attributes,
    })
}
