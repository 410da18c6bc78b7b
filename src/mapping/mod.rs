//! PURE: a directory user -> the SCIM user we want on the target.
//!
//! Each managed field takes its value from a source attribute, a constant, a template such
//! as `"{givenName} {sn}"` or an expression (`crate::expr`), optionally lower-cased.
//! `userName` is always the decoded login (validated as an e-mail by decode). Fields marked
//! only-on-create are sent when the user is created and never updated afterwards. Rules that
//! read group membership wait for the group read: [`map_user`] leaves them out and
//! [`map_group_rules`] evaluates them once the memberships are known.

use std::collections::BTreeMap;

use crate::config::mapping::{MappingConfig, MappingRule, TemplatePart, ValueSource};
use crate::expr::{Evaluated, Input};
use crate::model::attribute::Kind;
use crate::model::{DirectoryUser, Field, ScimUser};

pub mod explain;

/// The groups a user is in, by display name: flattened through nesting, and direct.
#[derive(Clone, Copy, Debug, Default)]
pub struct Memberships<'a> {
    pub groups: &'a [&'a str],
    pub direct: &'a [&'a str],
}

/// One rule's outcome for one user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleValue {
    /// The value to send; empty means absent (never sent as "", cleared on an update).
    Value(String),
    /// `omit()`: nothing sent, and an update leaves the target's value alone.
    Omit,
}

/// Maps one user with every rule that needs no group membership. `Err` is a reason for a
/// rejection (the user is then present-but-unreadable).
pub fn map_user(user: &DirectoryUser, mapping: &MappingConfig) -> Result<ScimUser, String> {
    let mut out = ScimUser { active: !user.disabled, ..Default::default() };
    let mut fields = BTreeMap::new();
    fields.insert(Field::UserName, user.user_name.clone());
    let mut omitted = Vec::new();
    for (field, rule) in mapping.rules.iter().filter(|(_, r)| !r.uses_groups()) {
        match evaluate(*field, rule, user, None)? {
            RuleValue::Value(v) if !v.is_empty() => {
                fields.insert(*field, v);
            }
            RuleValue::Value(_) => {}
            RuleValue::Omit => omitted.push(*field),
        }
    }
    out.fields = fields.into_iter().collect();
    out.omitted = omitted.into_boxed_slice();
    Ok(out)
}

/// Adds the values of the rules that read group membership to a user [`map_user`] mapped.
pub fn map_group_rules(
    user: &DirectoryUser,
    mapping: &MappingConfig,
    groups: Memberships<'_>,
    into: &mut ScimUser,
) -> Result<(), String> {
    let mut omitted = into.omitted.to_vec();
    for (field, rule) in mapping.rules.iter().filter(|(_, r)| r.uses_groups()) {
        match evaluate(*field, rule, user, Some(groups))? {
            RuleValue::Value(v) if !v.is_empty() => into.fields.insert(*field, v),
            RuleValue::Value(_) => {}
            RuleValue::Omit => omitted.push(*field),
        }
    }
    into.omitted = omitted.into_boxed_slice();
    Ok(())
}

/// One rule for one user, checked and in its attribute's canonical form. `groups` is
/// `None` before the group read (a rule that reads membership then sees none).
pub fn evaluate(
    field: Field,
    rule: &MappingRule,
    user: &DirectoryUser,
    groups: Option<Memberships<'_>>,
) -> Result<RuleValue, String> {
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
        ValueSource::Expression(e) => {
            let m = groups.unwrap_or_default();
            let input = Input { user, groups: m.groups, direct_groups: m.direct };
            match e.eval(&input).map_err(|why| format!("mapping.{}: {why}", field.config_name()))? {
                Evaluated::Value(v) => v,
                Evaluated::Omit => return Ok(RuleValue::Omit),
            }
        }
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
    let def = field.def();
    if value.is_empty() || (def.kind == Kind::String && def.refused.is_empty()) {
        return Ok(RuleValue::Value(value)); // already canonical: no copy per value
    }
    typed_value(field, &value).map(RuleValue::Value)
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
    use crate::config::mapping::parse_template;
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
