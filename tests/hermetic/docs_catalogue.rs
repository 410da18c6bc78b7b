//! docs/configuration.md's attribute table is zoomsync's catalogue (`Field::catalogue()`),
//! row for row: name, SCIM path, kind, whether Zoom returns it, and its documented, refused
//! and deprecated values. The table sits between `<!-- catalogue -->` and
//! `<!-- /catalogue -->`; when it is out of step, the failure prints the table to paste.

use std::collections::BTreeMap;
use std::path::Path;

use zoomsync::model::Field;
use zoomsync::model::attribute::{Kind, Returned};

const START: &str = "<!-- catalogue -->";
const END: &str = "<!-- /catalogue -->";
const HEADER: &str =
    "| `[mapping]` key | SCIM path | kind | returned by Zoom | values and notes |\n|---|---|---|---|---|";

fn docs() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md");
    std::fs::read_to_string(path).unwrap()
}

/// The row the docs must have for one attribute.
fn row(field: Field) -> String {
    let def = field.def();
    let kind = match def.kind {
        Kind::String => "string",
        Kind::Boolean => "boolean",
        Kind::Integer => "integer",
    };
    let returned = match def.returned {
        Returned::Yes => "yes",
        Returned::Never => "never (compared with what was sent)",
    };
    let mut notes = Vec::new();
    if field == Field::UserName {
        notes.push("not a `[mapping]` key: it comes from `directory.user_name_attribute`".to_string());
    }
    if !def.allowed.is_empty() {
        notes.push(format!("values: {}", def.allowed.join(", ")));
    }
    for (value, why) in def.refused {
        notes.push(format!("{value} refused: {why}"));
    }
    if let Some(why) = def.deprecated {
        notes.push(format!("deprecated, a warning: {why}"));
    }
    if def.folds_case {
        notes.push("Zoom keeps it lower-cased: a change of case alone is no change".into());
    }
    if def.reference {
        notes.push("the mapped value is a DN, sent as that user's Zoom id".into());
    }
    format!("| `{}` | `{}` | {kind} | {returned} | {} |", def.name, def.path, notes.join("; "))
}

fn expected_table() -> String {
    let rows: Vec<String> = Field::catalogue().map(row).collect();
    format!("{HEADER}\n{}", rows.join("\n"))
}

/// The documented rows by attribute name (the first cell), in the docs' order.
fn documented(docs: &str) -> Result<Vec<(String, String)>, String> {
    let start = docs.find(START).ok_or("no <!-- catalogue --> marker")? + START.len();
    let end = start + docs[start..].find(END).ok_or("no <!-- /catalogue --> marker")?;
    let table = docs[start..end].trim();
    let body = table.strip_prefix(HEADER).ok_or_else(|| format!("the table's header is not\n{HEADER}"))?;
    body.lines()
        .skip(1)
        .map(|line| {
            let name = line.split('|').nth(1).map(|c| c.trim().trim_matches('`').to_string());
            name.filter(|n| !n.is_empty()).map(|n| (n, line.to_string())).ok_or(format!("not a table row: {line}"))
        })
        .collect()
}

/// Every disagreement, one line each.
fn mismatches(docs: &str) -> Vec<String> {
    let rows = match documented(docs) {
        Ok(rows) => rows,
        Err(e) => return vec![e],
    };
    let mut problems = Vec::new();
    let by_name: BTreeMap<&str, &str> = rows.iter().map(|(n, r)| (n.as_str(), r.as_str())).collect();
    if by_name.len() != rows.len() {
        problems.push("an attribute is documented twice".to_string());
    }
    for field in Field::catalogue() {
        let want = row(field);
        match by_name.get(field.config_name()) {
            None => problems.push(format!("{}: not in the table", field.config_name())),
            Some(got) if *got != want => {
                problems.push(format!("{}: documented as\n  {got}\nis\n  {want}", field.config_name()))
            }
            Some(_) => {}
        }
    }
    for (name, _) in &rows {
        if Field::from_config_name(name).is_none_or(|f| !f.def().known) {
            problems.push(format!("{name}: in the table, not in the catalogue"));
        }
    }
    problems
}

#[test]
fn the_attribute_table_is_the_catalogue() {
    let problems = mismatches(&docs());
    assert!(
        problems.is_empty(),
        "docs/configuration.md's attribute table is out of step with the catalogue:\n{}\n\nThe table:\n\n{START}\n{}\n{END}\n",
        problems.join("\n"),
        expected_table()
    );
    assert!(Field::catalogue().count() >= 50, "the catalogue shrank?");
}

/// The check can fail: a row changed, dropped or invented is reported.
#[test]
fn a_wrong_missing_or_extra_row_is_reported() {
    let docs = docs();
    let site = row(Field::from_config_name("zoomPhoneSite").unwrap());
    assert!(docs.contains(&site), "the zoomPhoneSite row is in the docs");

    let returned = docs.replace(&site, &site.replace("never (compared with what was sent)", "yes"));
    assert_eq!(mismatches(&returned).len(), 1);
    assert!(mismatches(&returned)[0].starts_with("zoomPhoneSite: documented as"), "{:?}", mismatches(&returned));

    let user_type = row(Field::from_config_name("userType").unwrap());
    let without_refusal = docs.replace(&user_type, &user_type.replace("; Basic refused", "; Basic"));
    assert!(mismatches(&without_refusal)[0].starts_with("userType: documented as"));

    let dropped = docs.replace(&format!("{site}\n"), "");
    assert_eq!(mismatches(&dropped), vec!["zoomPhoneSite: not in the table".to_string()]);

    let invented = docs.replace(&format!("{site}\n"), &format!("{site}\n| `zoomTeleport` | `x` | string | yes |  |\n"));
    assert_eq!(mismatches(&invented), vec!["zoomTeleport: in the table, not in the catalogue".to_string()]);
}
