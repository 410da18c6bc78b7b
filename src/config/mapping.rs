//! `[mapping]` as validated data: which directory attribute, constant or template feeds each
//! managed field. `mapping::map_user` applies it; `validate/mapping.rs` builds it.

use std::collections::{BTreeMap, BTreeSet};

use crate::expr::Expr;
use crate::model::Field;

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
    /// A compiled expression (`crate::expr`): computed values, group membership, omit.
    Expression(Expr),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplatePart {
    Text(String),
    Attribute(String),
}

impl MappingRule {
    pub fn uses_groups(&self) -> bool {
        matches!(&self.source, ValueSource::Expression(e) if e.uses_groups())
    }
}

impl MappingConfig {
    /// Whether a rule reads group membership (`member_of`): those rules are evaluated once
    /// the groups are read (`sync::memberships`), and need `[groups]`.
    pub fn uses_groups(&self) -> bool {
        self.rules.values().any(MappingRule::uses_groups)
    }

    /// Whether any rule is an expression (the rules worth remembering the results of).
    pub fn has_expressions(&self) -> bool {
        self.rules.values().any(|r| matches!(r.source, ValueSource::Expression(_)))
    }

    /// The group names `member_of` asks about, as written (each is read with `[groups]`).
    pub fn groups_read(&self) -> BTreeSet<String> {
        self.rules
            .values()
            .filter_map(|r| match &r.source {
                ValueSource::Expression(e) => Some(e.groups()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// Every field zoomsync manages: `userName` and each rule's.
    pub fn managed(&self) -> BTreeSet<Field> {
        std::iter::once(Field::UserName).chain(self.rules.keys().copied()).collect()
    }

    /// Fields sent on create only.
    pub fn create_only(&self) -> BTreeSet<Field> {
        self.rules.iter().filter(|(_, r)| r.only_on_create).map(|(f, _)| *f).collect()
    }

    /// What an admin should know about the mapping but that does not stop it: attributes
    /// outside Zoom's catalogue, deprecated ones, constants outside the documented values.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (field, rule) in &self.rules {
            let def = field.def();
            let key = format!("mapping.{}", field.config_name());
            if !def.known {
                out.push(format!("{key}: not in Zoom's documented attributes (a custom attribute, or a generic SCIM server's); sent as a string"));
            }
            if let Some(why) = def.deprecated {
                out.push(format!("{key}: deprecated: {why}"));
            }
            if let ValueSource::Constant(c) = &rule.source
                && !def.allowed.is_empty()
                && !def.allowed.iter().any(|a| a.eq_ignore_ascii_case(c))
            {
                out.push(format!("{key}: {c:?} is not one of the documented values ({})", def.allowed.join(", ")));
            }
        }
        out
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
                ValueSource::Expression(e) => out.extend(e.attributes()),
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
