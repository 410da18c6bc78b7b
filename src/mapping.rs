//! PURE: a directory user -> the SCIM user we want on the target.
//!
//! Each managed field takes its value from a source attribute, a constant or a template
//! such as `"{givenName} {sn}"`, optionally lower-cased. `userName` is always the decoded
//! login (validated as an e-mail by decode). Fields marked only-on-create are sent when the
//! user is created and never updated afterwards.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::DirectoryUser;
use crate::model::{Field, ScimUser};

/// Validated `[mapping]` rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingConfig {
    pub rules: BTreeMap<Field, MappingRule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingRule {
    pub source: ValueSource,
    pub lowercase: bool,
    pub only_on_create: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueSource {
    Attribute(String),
    Constant(String),
    Template(Vec<TemplatePart>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplatePart {
    Text(String),
    Attribute(String),
}

impl MappingConfig {
    /// Fields sent on create only.
    pub fn create_only(&self) -> BTreeSet<Field> {
        self.rules.iter().filter(|(_, r)| r.only_on_create).map(|(f, _)| *f).collect()
    }

    /// Directory attributes the rules read (they must be requested from the server).
    pub fn attributes(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for rule in self.rules.values() {
            match &rule.source {
                ValueSource::Attribute(a) => {
                    out.insert(a.clone());
                }
                ValueSource::Template(parts) => {
                    for p in parts {
                        if let TemplatePart::Attribute(a) = p {
                            out.insert(a.clone());
                        }
                    }
                }
                ValueSource::Constant(_) => {}
            }
        }
        out
    }
}

/// Parses `"{givenName} {sn}"`; `{{` and `}}` are literal braces.
pub fn parse_template(text: &str) -> Result<Vec<TemplatePart>, String> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                literal.push('}');
            }
            '{' => {
                let mut name = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '}' {
                        closed = true;
                        break;
                    }
                    name.push(c);
                }
                let valid = closed
                    && !name.is_empty()
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ';');
                if !valid {
                    return Err(format!(
                        "template {text:?}: {{{name}}} is not an attribute name (or an unclosed brace)"
                    ));
                }
                if !literal.is_empty() {
                    parts.push(TemplatePart::Text(std::mem::take(&mut literal)));
                }
                parts.push(TemplatePart::Attribute(name));
            }
            '}' => return Err(format!("template {text:?}: unmatched '}}' (write '}}}}' for a literal brace)")),
            c => literal.push(c),
        }
    }
    if !literal.is_empty() {
        parts.push(TemplatePart::Text(literal));
    }
    Ok(parts)
}

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
        if value.chars().count() > 256 {
            return Err(format!("mapping.{}: value is longer than 256 characters", field.config_name()));
        }
        if !value.is_empty() {
            fields.insert(*field, value);
        }
    }
    Ok(ScimUser { fields: fields.into_iter().collect(), active: !user.disabled })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
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
    fn template_parsing_table() {
        use TemplatePart::*;
        let cases: [(&str, Result<Vec<TemplatePart>, &str>); 5] = [
            ("{givenName} {sn}", Ok(vec![Attribute("givenName".into()), Text(" ".into()), Attribute("sn".into())])),
            ("Dept {{x}}", Ok(vec![Text("Dept {x}".into())])),
            ("{ bad }", Err("not an attribute name")),
            ("{open", Err("not an attribute name")),
            ("x}", Err("unmatched")),
        ];
        for (text, want) in cases {
            match (parse_template(text), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{text}"),
                (Err(e), Err(w)) => assert!(e.contains(w), "{text}: {e}"),
                (got, want) => panic!("{text}: {got:?} vs {want:?}"),
            }
        }
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
