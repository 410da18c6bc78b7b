//! PURE: a directory user -> the SCIM user we want on the target.
//!
//! Each managed field takes its value from a source attribute, a constant or a template
//! such as `"{givenName} {sn}"`, optionally lower-cased. `userName` is always the decoded
//! login (validated as an e-mail by decode). Fields marked only-on-create are sent when the
//! user is created and never updated afterwards.

use std::collections::BTreeMap;

use crate::config::mapping::{MappingConfig, TemplatePart, ValueSource};
use crate::model::{DirectoryUser, Field, ScimUser};

/// Maps one user. `Err` is a reason for a rejection (the user is then present-but-unreadable).
pub fn map_user(user: &DirectoryUser, mapping: &MappingConfig) -> Result<ScimUser, String> {
    let mut fields = BTreeMap::new();
    fields.insert(Field::UserName, user.user_name.clone());
    for (field, rule) in &mapping.rules {
        let raw = match &rule.source {
            ValueSource::Attribute(a) => user.attr(a).unwrap_or("").to_string(),
            ValueSource::Constant(c) => c.clone(),
            ValueSource::Template(parts) => parts
                .iter()
                .map(|p| match p {
                    TemplatePart::Text(t) => t.as_str(),
                    TemplatePart::Attribute(a) => user.attr(a).unwrap_or(""),
                })
                .collect(),
        };
        // Templates with a missing part leave doubled or trailing spaces: normalise them.
        let mut value = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        if rule.lowercase {
            value = value.to_lowercase();
        }
        if value.chars().any(char::is_control) {
            return Err(format!("mapping.{}: value contains a control character", field.config_name()));
        }
        // A reference (a manager's DN) is not sent, its target id is; deep DNs run past 256.
        if value.chars().count() > 256 && !field.def().reference {
            return Err(format!("mapping.{}: value is longer than 256 characters", field.config_name()));
        }
        if !value.is_empty() {
            fields.insert(*field, typed_value(*field, &value)?);
        }
    }
    Ok(ScimUser { fields: fields.into_iter().collect(), active: !user.disabled })
}

/// The value in its attribute's canonical form (booleans, integers); a value Zoom refuses
/// (`userType` "Basic") is a reason to reject the user rather than a request that fails.
fn typed_value(field: Field, value: &str) -> Result<String, String> {
    let canonical = field.canonical(value).map_err(|e| format!("mapping.{e}"))?;
    match field.def().refused.iter().find(|(v, _)| v.eq_ignore_ascii_case(&canonical)) {
        Some((_, why)) => Err(format!("mapping.{}: {canonical:?}: {why}", field.config_name())),
        None => Ok(canonical),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::mapping::{MappingRule, parse_template};
    use crate::model::{Anchor, Attributes};

    fn user(attrs: &[(&str, &str)], disabled: bool) -> DirectoryUser {
        let mut a = Attributes::default();
        for (k, v) in attrs {
            a.push(Arc::from(k.to_ascii_lowercase().as_str()), v);
        }
        DirectoryUser {
            anchor: Anchor::new("x").unwrap(),
            dn: "uid=x".into(),
            user_name: "ann@example.com".into(),
            disabled,
            attrs: a,
        }
    }

    fn rule(source: ValueSource) -> MappingRule {
        MappingRule { source, lowercase: false, only_on_create: false }
    }

    #[test]
    fn mapping_table() {
        let mut rules = BTreeMap::new();
        rules.insert(Field::GivenName, rule(ValueSource::Attribute("givenName".into())));
        rules.insert(Field::DisplayName, rule(ValueSource::Template(parse_template("{givenName} {sn}").unwrap())));
        rules.insert(Field::Department, rule(ValueSource::Constant("Sales".into())));
        rules.insert(Field::WorkEmail, MappingRule { lowercase: true, ..rule(ValueSource::Attribute("mail".into())) });
        rules.insert(Field::Title, rule(ValueSource::Attribute("title".into())));
        let m = MappingConfig { rules };
        let u =
            map_user(&user(&[("givenName", "Ann"), ("sn", " Lee "), ("mail", "Ann@Example.COM")], false), &m).unwrap();
        assert_eq!(u.get(Field::UserName), Some("ann@example.com"));
        assert_eq!(u.get(Field::DisplayName), Some("Ann Lee"));
        assert_eq!(u.get(Field::Department), Some("Sales"));
        assert_eq!(u.get(Field::WorkEmail), Some("ann@example.com"));
        assert_eq!(u.get(Field::Title), None, "missing attribute: field absent");
        assert!(u.active);
        let partial = map_user(&user(&[("sn", "Lee")], true), &m).unwrap();
        assert_eq!(partial.get(Field::DisplayName), Some("Lee"));
        assert!(!partial.active);
        let bad = map_user(&user(&[("title", "a\u{7}b")], false), &m).unwrap_err();
        assert!(bad.contains("mapping.title"), "{bad}");
    }
}
