//! docs/configuration.md and config.example.toml name the same keys.
//!
//! A key of config.example.toml is `key = value` at the start of a line under a `[section]`,
//! commented out or not: the file's own TOML keys, plus every comment line that is, without
//! its `#`, a one-key TOML document (`# bind_password_file = "/etc/..."`), so prose such as
//! `# active_directory = userAccountControl bit 0x2` is not taken for a key. A key of
//! docs/configuration.md is a `### `section.key`` heading; one marked
//! `(not in config.example.toml)` must not be in the example (drop the mark when it is added).

use std::collections::BTreeSet;
use std::path::Path;

const NOT_IN_EXAMPLE: &str = " (not in config.example.toml)";

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// `section.key` for every key of the example, commented out or not.
fn example_keys(text: &str) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let table: toml::Table = toml::from_str(text).expect("config.example.toml is valid TOML");
    for (section, value) in &table {
        match value.as_table() {
            Some(inner) => keys.extend(inner.keys().map(|k| format!("{section}.{k}"))),
            None => {
                keys.insert(section.clone());
            }
        }
    }
    let mut section = String::new();
    for line in text.lines() {
        let line = line.trim_start();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.split(']').next()) {
            section = name.trim().to_string();
            continue;
        }
        let Some(comment) = line.strip_prefix('#') else { continue };
        let candidate = comment.trim_start_matches('#').trim_start();
        if !candidate.starts_with(|c: char| c.is_ascii_alphabetic()) {
            continue;
        }
        if let Ok(one) = toml::from_str::<toml::Table>(candidate) {
            if let (1, Some(key)) = (one.len(), one.keys().next()) {
                keys.insert(format!("{section}.{key}"));
            }
        }
    }
    keys
}

/// (documented keys, keys marked as not in the example). Fails on a malformed key heading
/// or a key documented twice.
fn doc_keys(text: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut keys = BTreeSet::new();
    let mut marked = BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        let Some(heading) = line.strip_prefix("### ") else { continue };
        let (heading, is_marked) = match heading.strip_suffix(NOT_IN_EXAMPLE) {
            Some(h) => (h, true),
            None => (heading, false),
        };
        let key = heading
            .strip_prefix('`')
            .and_then(|h| h.strip_suffix('`'))
            .filter(|k| {
                k.split_once('.').is_some_and(|(s, name)| {
                    !s.is_empty()
                        && !name.is_empty()
                        && s.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                })
            })
            .unwrap_or_else(|| {
                panic!(
                    "docs/configuration.md line {}: `{line}` is not a key heading (### `section.key`, optionally followed by{NOT_IN_EXAMPLE})",
                    n + 1
                )
            });
        assert!(keys.insert(key.to_string()), "docs/configuration.md documents {key} twice");
        if is_marked {
            marked.insert(key.to_string());
        }
    }
    (keys, marked)
}

/// Every disagreement between the two files, one line each.
fn mismatches(example: &str, docs: &str) -> Vec<String> {
    let in_example = example_keys(example);
    let (documented, marked) = doc_keys(docs);
    let mut problems = Vec::new();
    for key in in_example.difference(&documented) {
        problems.push(format!("{key}: in config.example.toml, not documented in docs/configuration.md"));
    }
    for key in documented.difference(&in_example) {
        if !marked.contains(key) {
            problems.push(format!("{key}: documented in docs/configuration.md, not in config.example.toml"));
        }
    }
    for key in marked.intersection(&in_example) {
        problems.push(format!("{key}: in config.example.toml now; remove `{NOT_IN_EXAMPLE}` from its heading"));
    }
    problems
}

#[test]
fn configuration_docs_and_example_name_the_same_keys() {
    let problems = mismatches(&read("config.example.toml"), &read("docs/configuration.md"));
    assert!(
        problems.is_empty(),
        "config.example.toml and docs/configuration.md disagree:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn the_parsers_see_commented_keys_and_skip_prose() {
    let example = example_keys(&read("config.example.toml"));
    for key in
        ["directory.url", "directory.bind_password_file", "directory.path", "safety.delete_after", "logging.level"]
    {
        assert!(example.contains(key), "{key} not found in config.example.toml: {example:?}");
    }
    // Prose in comments that merely contains `word =` is not a key.
    assert!(!example.contains("directory.active_directory"), "{example:?}");
    assert!(!example.contains("mapping.lowercase"), "{example:?}");
    assert!(example.len() >= 50, "suspiciously few keys: {example:?}");
    let (documented, _) = doc_keys(&read("docs/configuration.md"));
    assert!(documented.len() >= 50, "suspiciously few documented keys: {documented:?}");
}

/// The check can fail: drop one key from either file, or mark a key wrongly.
#[test]
fn a_key_missing_on_either_side_is_reported() {
    let example = read("config.example.toml");
    let docs = read("docs/configuration.md");

    let without_page_size: String =
        example.lines().filter(|l| !l.starts_with("page_size =")).map(|l| format!("{l}\n")).collect();
    assert_eq!(
        mismatches(&without_page_size, &docs),
        vec!["directory.page_size: documented in docs/configuration.md, not in config.example.toml".to_string()]
    );

    let without_commented: String =
        example.lines().filter(|l| !l.starts_with("# delete_after =")).map(|l| format!("{l}\n")).collect();
    assert_eq!(
        mismatches(&without_commented, &docs),
        vec!["safety.delete_after: documented in docs/configuration.md, not in config.example.toml".to_string()]
    );

    let undocumented = docs.replace("### `metrics.listen`", "#### metrics.listen");
    assert_eq!(
        mismatches(&example, &undocumented),
        vec!["metrics.listen: in config.example.toml, not documented in docs/configuration.md".to_string()]
    );

    let wrongly_marked = docs.replace("### `schedule.cron`", &format!("### `schedule.cron`{NOT_IN_EXAMPLE}"));
    assert_eq!(
        mismatches(&example, &wrongly_marked),
        vec![format!("schedule.cron: in config.example.toml now; remove `{NOT_IN_EXAMPLE}` from its heading")]
    );
}
