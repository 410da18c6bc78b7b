//! PURE: what the mapping does for one user, attribute by attribute (`zoomsync map`): each
//! rule, the directory values it read, and its result or error. Uses [`super::evaluate`],
//! the function the cycle maps with, so the explanation cannot drift from what is sent.

use crate::config::mapping::{MappingConfig, MappingRule, TemplatePart, ValueSource};
use crate::model::{DirectoryUser, Field};

use super::{Memberships, RuleValue, evaluate};

/// One target attribute for one user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explained {
    pub field: Field,
    /// The rule as configured, in words.
    pub rule: String,
    /// The directory attributes the rule read, with their values (none: absent), and the
    /// user's groups when the rule reads membership.
    pub inputs: Vec<(String, Vec<String>)>,
    /// The value sent (`Value("")`: nothing, the attribute is absent), omitted, or why the
    /// user is rejected.
    pub result: Result<RuleValue, String>,
}

/// Every rule of the mapping, `userName` first (it always comes from decode).
pub fn explain(user: &DirectoryUser, mapping: &MappingConfig, groups: Memberships<'_>) -> Vec<Explained> {
    let mut out = vec![Explained {
        field: Field::UserName,
        rule: "directory.user_name_attribute (decoded, lower-cased)".into(),
        inputs: Vec::new(),
        result: Ok(RuleValue::Value(user.user_name.clone())),
    }];
    for (field, rule) in &mapping.rules {
        let mut inputs: Vec<(String, Vec<String>)> = read_attributes(rule)
            .into_iter()
            .map(|a| (a.clone(), user.attrs.values(&a).map(String::from).collect()))
            .collect();
        if rule.uses_groups() {
            inputs.push(("groups".into(), groups.groups.iter().map(|g| g.to_string()).collect()));
        }
        out.push(Explained {
            field: *field,
            rule: describe(rule),
            inputs,
            result: evaluate(*field, rule, user, Some(groups)),
        });
    }
    out
}

fn read_attributes(rule: &MappingRule) -> Vec<String> {
    match &rule.source {
        ValueSource::Attribute(a) => vec![a.clone()],
        ValueSource::Constant(_) => Vec::new(),
        ValueSource::Template(parts) => parts
            .iter()
            .filter_map(|p| match p {
                TemplatePart::Attribute(a) => Some(a.clone()),
                TemplatePart::Text(_) => None,
            })
            .collect(),
        ValueSource::Expression(e) => e.attributes().into_iter().collect(),
    }
}

/// The rule in words: `attribute mail, lower-cased`.
pub fn describe(rule: &MappingRule) -> String {
    let mut text = match &rule.source {
        ValueSource::Attribute(a) => format!("attribute {a}"),
        ValueSource::Constant(c) => format!("constant {c:?}"),
        ValueSource::Template(parts) => {
            let t: String = parts
                .iter()
                .map(|p| match p {
                    TemplatePart::Text(t) => t.replace('{', "{{").replace('}', "}}"),
                    TemplatePart::Attribute(a) => format!("{{{a}}}"),
                })
                .collect();
            format!("template {t:?}")
        }
        ValueSource::Expression(e) => format!("expression {:?}", e.source()),
    };
    if rule.lowercase {
        text.push_str(", lower-cased");
    }
    if rule.only_on_create {
        text.push_str(", on create only");
    }
    text
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::expr::Expr;
    use crate::model::{Anchor, Attributes};

    #[test]
    fn each_rule_shows_its_inputs_and_result_or_error() {
        let mut attrs = Attributes::default();
        attrs.push(Arc::from("telephonenumber"), "+44 (0)20 7946 0018");
        attrs.push(Arc::from("mail"), "Ann@Example.com");
        let user = DirectoryUser {
            anchor: Anchor::new("a").unwrap(),
            dn: "uid=ann".into(),
            user_name: "ann@example.com".into(),
            disabled: false,
            attrs,
        };
        let rule = |source| MappingRule { source, lowercase: false, only_on_create: false };
        let expr = |s: &str| rule(ValueSource::Expression(Expr::compile(s).unwrap()));
        let mut rules = BTreeMap::new();
        rules.insert(Field::WorkEmail, MappingRule { lowercase: true, ..rule(ValueSource::Attribute("mail".into())) });
        rules.insert(Field::WorkPhone, expr("e164(telephoneNumber, \"GB\")"));
        rules.insert(Field::Title, expr("e164(title, \"GB\") if title else omit()"));
        rules.insert(
            Field::from_config_name("zoomPhoneCallingPlan").unwrap(),
            expr("3000 if member_of(\"Phone\") else none"),
        );
        let mapping = MappingConfig { rules };
        let shown = explain(&user, &mapping, Memberships { groups: &["Phone"], direct: &[] });
        let by = |f: Field| shown.iter().find(|e| e.field == f).unwrap();
        assert_eq!(by(Field::UserName).result, Ok(RuleValue::Value("ann@example.com".into())));
        assert_eq!(by(Field::WorkEmail).rule, "attribute mail, lower-cased");
        assert_eq!(by(Field::WorkEmail).result, Ok(RuleValue::Value("ann@example.com".into())));
        let phone = by(Field::WorkPhone);
        assert_eq!(phone.inputs, [("telephonenumber".to_string(), vec!["+44 (0)20 7946 0018".to_string()])]);
        assert_eq!(phone.result, Ok(RuleValue::Value("+442079460018".into())));
        assert_eq!(by(Field::Title).result, Ok(RuleValue::Omit));
        let plan = by(Field::from_config_name("zoomPhoneCallingPlan").unwrap());
        assert_eq!(plan.inputs.last().unwrap(), &("groups".to_string(), vec!["Phone".to_string()]));
        assert_eq!(plan.result, Ok(RuleValue::Value("3000".into())));
    }
}
