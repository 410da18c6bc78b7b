//! `map <user>`: what the mapping makes of one directory user, attribute by attribute — the
//! rule, the directory values it read, and the value sent (or absent, omitted, or the error
//! that would reject the user). Reads the directory (and, with `[groups]`, the groups) as a
//! cycle does; needs neither the target nor the state. The explanation is the library's
//! (`mapping::explain`, the function the cycle maps with).

use std::path::Path;
use std::process::ExitCode;

use serde_json::{Value, json};
use zoomsync::config::Config;
use zoomsync::mapping::explain::{Explained, explain};
use zoomsync::mapping::{Memberships, RuleValue};
use zoomsync::model::{DirectoryUser, normalize_dn};
use zoomsync::source::groups::read_groups;
use zoomsync::source::{self, AnyDirectory, Decoder, DirectoryRead, SourceError};
use zoomsync::sync::GroupSync;
use zoomsync::sync::locate::{Located, locate};

use super::{EXIT_INCOMPLETE, load_config};

/// The groups the user is in, among those `[groups]` reads (pushed, scoping, and those
/// `member_of` names).
#[derive(Debug, Default)]
struct UserGroups {
    all: Vec<String>,
    direct: Vec<String>,
    /// The group read was cut short: rules that read membership would wait (rejected).
    incomplete: Option<String>,
    /// `groups.scope` is set and the user is in none of its groups.
    out_of_group_scope: bool,
}

pub async fn map(path: &Path, selector: &str, as_json: bool) -> anyhow::Result<ExitCode> {
    let config = match load_config(path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let directory = AnyDirectory::from_config(&config.directory);
    let decoder = Decoder::new(config.directory.decode.clone());
    let read = source::read_users(&directory, &decoder).await?;
    let user = match locate(selector, read.snapshot(), Vec::new()) {
        Located::InScope(u) => u,
        Located::Rejected(r) => {
            esay!("zoomsync: {} is rejected when read: {}", r.dn, r.reason);
            return Ok(ExitCode::FAILURE);
        }
        Located::Managed(_) | Located::Nowhere => return Ok(not_found(selector, &read)),
    };
    let groups = match GroupSync::from_config(&config) {
        Some(settings) => Some(user_groups(&settings, &directory, &decoder, user).await?),
        None => None,
    };
    let explained = explained(user, &config, groups.as_ref());
    let failed = explained.iter().any(|e| e.result.is_err());
    if as_json {
        println!("{}", serde_json::to_string_pretty(&as_value(user, &config, groups.as_ref(), &explained))?);
    } else {
        print_text(user, &config, groups.as_ref(), &explained);
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn not_found(selector: &str, read: &DirectoryRead) -> ExitCode {
    match read {
        DirectoryRead::Incomplete { reason, .. } => {
            esay!("zoomsync: {selector:?} not found, but the directory read was INCOMPLETE: {reason}");
            ExitCode::from(EXIT_INCOMPLETE)
        }
        DirectoryRead::Complete(_) => {
            esay!("zoomsync: no user {selector:?} in the directory scope (uid, mail, userName, DN or anchor)");
            ExitCode::FAILURE
        }
    }
}

/// Reads the groups `[groups]` reads, matched against this one user.
async fn user_groups(
    settings: &GroupSync,
    directory: &AnyDirectory,
    decoder: &Decoder,
    user: &DirectoryUser,
) -> Result<UserGroups, SourceError> {
    let users_by_dn = [(normalize_dn(&user.dn), user.anchor.clone())].into_iter().collect();
    let read = read_groups(directory, &settings.config, decoder, settings.user_search(), &users_by_dn).await?;
    let named = |direct: bool| -> Vec<String> {
        read.groups
            .iter()
            .filter(|g| if direct { g.direct.contains(&user.anchor) } else { g.members.contains(&user.anchor) })
            .map(|g| g.name.clone())
            .collect()
    };
    let all = named(false);
    let scope = &settings.config.scope;
    let out_of_group_scope = read.incomplete.is_none()
        && !scope.is_empty()
        && !scope.iter().any(|s| all.iter().any(|g| g.eq_ignore_ascii_case(s)));
    Ok(UserGroups { direct: named(true), all, incomplete: read.incomplete, out_of_group_scope })
}

/// Every rule's explanation; with a group read cut short, the rules that read membership
/// fail as the cycle fails them (`sync::memberships`).
fn explained(user: &DirectoryUser, config: &Config, groups: Option<&UserGroups>) -> Vec<Explained> {
    let all: Vec<&str> = groups.map(|g| g.all.iter().map(String::as_str).collect()).unwrap_or_default();
    let direct: Vec<&str> = groups.map(|g| g.direct.iter().map(String::as_str).collect()).unwrap_or_default();
    let mut out = explain(user, &config.mapping, Memberships { groups: &all, direct: &direct });
    if let Some(why) = groups.and_then(|g| g.incomplete.as_deref()) {
        for e in &mut out {
            if config.mapping.rules.get(&e.field).is_some_and(|r| r.uses_groups()) {
                e.result = Err(format!(
                    "group membership could not be read whole ({why}); mapped values that depend on it wait"
                ));
            }
        }
    }
    out
}

/// What a reader should know besides the rules: disabled, out of the group scope.
fn notes(user: &DirectoryUser, groups: Option<&UserGroups>) -> Vec<String> {
    let mut out = Vec::new();
    if user.disabled {
        out.push("disabled in the directory: a sync does not create it, and deactivates it if it exists".into());
    }
    if groups.is_some_and(|g| g.out_of_group_scope) {
        out.push("in none of the groups.scope groups: a sync leaves it out (deactivates it if it exists)".into());
    }
    out
}

/// The result in words: the value, `absent`, `omitted` or `ERROR: reason`.
fn result_text(e: &Explained) -> String {
    match &e.result {
        Ok(RuleValue::Value(v)) if v.is_empty() => "absent (nothing sent)".into(),
        Ok(RuleValue::Value(v)) if e.field.def().reference => format!("{v:?} (a DN: sent as that user's Zoom id)"),
        Ok(RuleValue::Value(v)) => format!("{v:?}"),
        Ok(RuleValue::Omit) => "omitted (nothing sent; an update leaves Zoom's value alone)".into(),
        Err(why) => format!("ERROR: {why}"),
    }
}

fn inputs_text(inputs: &[(String, Vec<String>)]) -> String {
    let one = |(name, values): &(String, Vec<String>)| match values.as_slice() {
        [] if name == "groups" => format!("{name} = (none)"),
        [] => format!("{name} = (absent)"),
        values => format!("{name} = {}", values.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join(", ")),
    };
    inputs.iter().map(one).collect::<Vec<_>>().join("; ")
}

fn print_text(user: &DirectoryUser, config: &Config, groups: Option<&UserGroups>, explained: &[Explained]) {
    say!("user: {} (anchor {}, {})", user.dn, user.anchor, if user.disabled { "disabled" } else { "enabled" });
    if let Some(g) = groups {
        let list = |names: &[String]| if names.is_empty() { "none".to_string() } else { names.join(", ") };
        say!("groups: {} (direct: {})", list(&g.all), list(&g.direct));
        if let Some(why) = &g.incomplete {
            say!("groups: read INCOMPLETE: {why}");
        }
    }
    for warning in config.mapping.warnings() {
        say!("warning: {warning}");
    }
    for note in notes(user, groups) {
        say!("note: {note}");
    }
    for e in explained {
        say!("");
        say!("{}  {}", e.field.config_name(), e.field.scim_path());
        say!("  rule:   {}", e.rule);
        if !e.inputs.is_empty() {
            say!("  read:   {}", inputs_text(&e.inputs));
        }
        say!("  result: {}", result_text(e));
    }
    say!("");
    match explained.iter().filter(|e| e.result.is_err()).count() {
        0 => {
            let sent = explained.iter().filter(|e| matches!(&e.result, Ok(RuleValue::Value(v)) if !v.is_empty()));
            say!("every rule succeeded: {} attributes to send", sent.count());
        }
        n => say!(
            "{n} rule(s) failed: a sync rejects {} (not created; left as it is on Zoom if it exists) until fixed",
            user.dn
        ),
    }
}

fn as_value(user: &DirectoryUser, config: &Config, groups: Option<&UserGroups>, explained: &[Explained]) -> Value {
    let attributes: Vec<Value> = explained.iter().map(attribute_value).collect();
    json!({
        "user": {"dn": user.dn, "anchor": user.anchor, "user_name": user.user_name, "disabled": user.disabled},
        "groups": groups.map(|g| json!({"member_of": g.all, "direct": g.direct, "incomplete": g.incomplete})),
        "warnings": config.mapping.warnings(),
        "notes": notes(user, groups),
        "attributes": attributes,
        "ok": !explained.iter().any(|e| e.result.is_err()),
    })
}

fn attribute_value(e: &Explained) -> Value {
    let inputs: Vec<Value> = e.inputs.iter().map(|(name, values)| json!({"name": name, "values": values})).collect();
    let mut v = json!({
        "name": e.field.config_name(),
        "path": e.field.scim_path(),
        "rule": e.rule,
        "inputs": inputs,
    });
    let (result, extra) = match &e.result {
        Ok(RuleValue::Value(s)) if s.is_empty() => ("absent", None),
        Ok(RuleValue::Value(s)) => ("value", Some(("value", s.clone()))),
        Ok(RuleValue::Omit) => ("omitted", None),
        Err(why) => ("error", Some(("error", why.clone()))),
    };
    v["result"] = json!(result);
    if let Some((key, text)) = extra {
        v[key] = json!(text);
    }
    v
}
