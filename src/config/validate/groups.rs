//! `[groups]`: group selection, nesting, Zoom names and group-based scope.

use std::collections::{BTreeMap, BTreeSet};

use super::super::raw::RawGroups;
use super::super::{ConfigError, DirectoryConfig, Flavor, GroupsConfig, Nesting, SourceConfig};
use super::choice;
use crate::model::ldap_filter::Filter;

/// Zoom refuses longer group names.
const ZOOM_NAME_MAX_CHARS: usize = 128;

/// `read_by_mapping`: a `[mapping]` rule reads membership (`member_of`), so the section is
/// needed even when no group is pushed.
pub(super) fn validate(
    raw: RawGroups,
    directory: &DirectoryConfig,
    read_by_mapping: bool,
) -> Result<GroupsConfig, ConfigError> {
    let active_directory = directory.decode.flavor == Flavor::ActiveDirectory;
    let ldap = matches!(directory.source, SourceConfig::Ldap(_));
    let base_dn = match (&raw.base_dn, &directory.source) {
        (Some(b), _) => b.trim().to_string(),
        (None, SourceConfig::Ldap(l)) => l.base_dn.clone(),
        (None, SourceConfig::Ldif { .. }) => String::new(),
    };
    if !base_dn.is_empty() {
        super::dn_syntax("groups.base_dn", &base_dn)?;
    }
    let default_class = if active_directory {
        "(objectClass=group)"
    } else {
        "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))"
    };
    let class_filter = raw.class_filter.unwrap_or_else(|| default_class.to_string());
    Filter::parse(&class_filter)
        .map_err(|e| ConfigError::invalid("groups.class_filter", format!("{class_filter:?}: {e}")))?;
    if let Some(filter) = &raw.filter {
        Filter::parse(filter).map_err(|e| ConfigError::invalid("groups.filter", format!("{filter:?}: {e}")))?;
    }
    let names = name_list("groups.names", raw.names.unwrap_or_default())?;
    if names.is_empty() && raw.filter.is_none() && !read_by_mapping {
        return Err(ConfigError::invalid(
            "groups.names",
            "set names (or filter) to choose the groups pushed to Zoom, or read groups with member_of in \
             [mapping]; no group is pushed by default",
        ));
    }
    let scope = name_list("groups.scope", raw.scope.unwrap_or_default())?;
    let name_attribute = attribute("groups.name_attribute", raw.name_attribute.unwrap_or_else(|| "cn".into()))?;
    let member_attributes = raw.member_attributes.unwrap_or_else(|| vec!["member".into(), "uniqueMember".into()]);
    if member_attributes.is_empty() {
        return Err(ConfigError::invalid("groups.member_attributes", "needs at least one attribute"));
    }
    for (i, a) in member_attributes.iter().enumerate() {
        attribute(&format!("groups.member_attributes[{i}]"), a.clone())?;
    }
    let default_nesting = if active_directory && ldap { "in_chain" } else { "expand" };
    let nesting = match choice("groups.nesting", raw.nesting, default_nesting, &["in_chain", "expand", "direct"])? {
        "in_chain" => Nesting::InChain,
        "direct" => Nesting::Direct,
        _ => Nesting::Expand,
    };
    if nesting == Nesting::InChain && !ldap {
        return Err(ConfigError::invalid(
            "groups.nesting",
            "in_chain needs an LDAP server (Active Directory); use expand for an LDIF file",
        ));
    }
    let zoom_names = zoom_names(raw.zoom_names.unwrap_or_default(), &names, raw.filter.is_some())?;
    Ok(GroupsConfig {
        base_dn,
        class_filter,
        filter: raw.filter,
        names,
        name_attribute,
        member_attributes,
        nesting,
        scope,
        delete_created: raw.delete_created.unwrap_or(true),
        zoom_names,
        mapped: Vec::new(),
    })
}

/// Non-empty, trimmed, no duplicates (names compare case-insensitively, as LDAP does).
fn name_list(key: &str, names: Vec<String>) -> Result<Vec<String>, ConfigError> {
    let mut seen = BTreeSet::new();
    names
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            let n = n.trim().to_string();
            if n.is_empty() {
                return Err(ConfigError::invalid(format!("{key}[{i}]"), "is empty"));
            }
            if !seen.insert(n.to_lowercase()) {
                return Err(ConfigError::invalid(format!("{key}[{i}]"), format!("{n:?} is listed twice")));
            }
            Ok(n)
        })
        .collect()
}

fn attribute(key: &str, name: String) -> Result<String, ConfigError> {
    let ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ';');
    if ok { Ok(name) } else { Err(ConfigError::invalid(key, format!("{name:?} is not an attribute name"))) }
}

/// Keys must be pushed groups (when only `names` chooses them); Zoom names non-empty,
/// short, unique.
fn zoom_names(
    raw: BTreeMap<String, String>,
    names: &[String],
    by_filter: bool,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut taken = BTreeSet::new();
    let mut out = BTreeMap::new();
    for (directory_name, zoom_name) in raw {
        let key = format!("groups.zoom_names.{directory_name:?}");
        if !by_filter && !names.iter().any(|n| n.eq_ignore_ascii_case(&directory_name)) {
            return Err(ConfigError::invalid(key, "is not one of groups.names"));
        }
        let zoom_name = zoom_name.trim().to_string();
        if zoom_name.is_empty() || zoom_name.chars().count() > ZOOM_NAME_MAX_CHARS {
            return Err(ConfigError::invalid(
                key,
                format!("a Zoom group name has 1 to {ZOOM_NAME_MAX_CHARS} characters"),
            ));
        }
        if !taken.insert(zoom_name.to_lowercase()) {
            return Err(ConfigError::invalid(key, format!("Zoom name {zoom_name:?} is used twice")));
        }
        out.insert(directory_name.to_lowercase(), zoom_name);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoom_names_must_name_listed_groups_and_be_unique() {
        let names = vec!["Phone".to_string(), "Agents".to_string()];
        let map = |pairs: &[(&str, &str)]| pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        assert!(zoom_names(map(&[("phone", "Zoom Phone Users")]), &names, false).is_ok());
        assert!(zoom_names(map(&[("other", "Other")]), &names, true).is_ok(), "a filter may choose any group");
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("other", "X")], "is not one of groups.names"),
            (&[("Phone", " ")], "1 to 128"),
            (&[("Phone", "Same"), ("Agents", "same")], "used twice"),
        ];
        for (pairs, expected) in cases {
            let err = zoom_names(map(pairs), &names, false).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn name_lists_refuse_blanks_and_duplicates() {
        assert!(name_list("groups.names", vec!["a".into(), "b".into()]).is_ok());
        let err = name_list("groups.names", vec!["a".into(), "A".into()]).unwrap_err().to_string();
        assert!(err.starts_with("groups.names[1]"), "{err}");
        let err = name_list("groups.scope", vec!["".into()]).unwrap_err().to_string();
        assert!(err.starts_with("groups.scope[0]"), "{err}");
    }
}
