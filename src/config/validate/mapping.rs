//! `[mapping]`: which directory attribute feeds each SCIM field, with flavour defaults.

use std::collections::BTreeMap;

use super::super::raw::{RawMappingRule, RawMappingValue};
use super::super::{ConfigError, Flavor};
use crate::config::mapping::{MappingConfig, MappingRule, ValueSource, parse_template};
use crate::expr::Expr;
use crate::model::Field;

/// Defaults: (field, attribute) per flavour. `employeeNumber` is not managed by default
/// (Zoom requires it to be unique across the account).
fn defaults(flavor: Flavor) -> Vec<(Field, &'static str)> {
    let (display, department) = match flavor {
        Flavor::ActiveDirectory => ("displayName", "department"),
        Flavor::OpenLdap | Flavor::Ds389 | Flavor::Generic => ("cn", "departmentNumber"),
    };
    vec![
        (Field::GivenName, "givenName"),
        (Field::FamilyName, "sn"),
        (Field::DisplayName, display),
        (Field::WorkEmail, "mail"),
        (Field::Title, "title"),
        (Field::WorkPhone, "telephoneNumber"),
        (Field::Department, department),
    ]
}

pub(super) fn validate(
    raw: Option<BTreeMap<String, RawMappingValue>>,
    flavor: Flavor,
) -> Result<MappingConfig, ConfigError> {
    let mut rules: BTreeMap<Field, MappingRule> = defaults(flavor)
        .into_iter()
        .map(|(f, a)| {
            (f, MappingRule { source: ValueSource::Attribute(a.into()), lowercase: false, only_on_create: false })
        })
        .collect();
    for (name, value) in raw.unwrap_or_default() {
        let key = format!("mapping.{name}");
        let field = Field::resolve(&name).map_err(|e| {
            ConfigError::invalid(
                &key,
                format!(
                    "{e}; use a catalogue name (title, zoomPhoneSite, ... see docs/configuration.md) or a SCIM path"
                ),
            )
        })?;
        if field == Field::UserName {
            return Err(ConfigError::invalid(key, "userName comes from directory.user_name_attribute"));
        }
        match value {
            RawMappingValue::Managed(false) => {
                rules.remove(&field);
            }
            RawMappingValue::Managed(true) => {
                return Err(ConfigError::invalid(key, "use an attribute name or a table; `false` stops managing it"));
            }
            RawMappingValue::Attribute(a) => {
                rules.insert(field, rule(&key, field, RawMappingRule { attribute: Some(a), ..Default::default() })?);
            }
            RawMappingValue::Rule(r) => {
                rules.insert(field, rule(&key, field, r)?);
            }
        }
    }
    Ok(MappingConfig { rules })
}

fn rule(key: &str, field: Field, raw: RawMappingRule) -> Result<MappingRule, ConfigError> {
    let source = match (raw.attribute, raw.constant, raw.template, raw.expression) {
        (None, None, None, Some(e)) => {
            ValueSource::Expression(Expr::compile(&e).map_err(|why| ConfigError::invalid(key, why))?)
        }
        (Some(a), None, None, None) => {
            if a.is_empty() || !a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ';') {
                return Err(ConfigError::invalid(key, format!("{a:?} is not an attribute name")));
            }
            ValueSource::Attribute(a)
        }
        (None, Some(c), None, None) => ValueSource::Constant(constant(key, field, &c)?),
        (None, None, Some(t), None) => {
            ValueSource::Template(parse_template(&t).map_err(|e| ConfigError::invalid(key, e))?)
        }
        _ => return Err(ConfigError::invalid(key, "set exactly one of attribute, constant, template or expression")),
    };
    Ok(MappingRule {
        source,
        lowercase: raw.lowercase.unwrap_or(false),
        only_on_create: raw.only_on_create.unwrap_or(false),
    })
}

/// A constant in its canonical form; a value Zoom refuses is a config error.
fn constant(key: &str, field: Field, value: &str) -> Result<String, ConfigError> {
    let canonical = field.canonical(value).map_err(|e| ConfigError::invalid(key, e))?;
    if let Some((_, why)) = field.def().refused.iter().find(|(v, _)| v.eq_ignore_ascii_case(&canonical)) {
        return Err(ConfigError::invalid(key, format!("{canonical:?}: {why}")));
    }
    Ok(canonical)
}
