//! The dependency rule of `lib.rs`, checked: reads every library source file, collects the
//! modules it refers to (`use` trees, `crate::`, `super::` and `self::` paths; test modules
//! left out) and fails when a module reaches up a layer, when two layer-2 modules import
//! each other, or when files import each other in a circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Layer of each top-level module (see `lib.rs`).
fn layer(module: &str) -> Option<u8> {
    Some(match module {
        "model" => 0,
        "config" => 1,
        "expr" => 1,
        "source" | "scim" | "state" | "mapping" | "plan" | "telemetry" | "emulator" => 2,
        "metrics" => 3,
        "sync" => 4,
        "admin" => 5,
        "daemon" => 6,
        // The binary: command bodies, the clap definitions, main.
        "commands" => 7,
        "cli" => 8,
        "main" => 9,
        _ => return None,
    })
}

/// Layer-2 imports allowed between different modules, with the reason. Empty: the one
/// candidate (the group plan's PATCH batcher) is passed in as a function instead.
const ALLOWED_SIDEWAYS: &[(&str, &str)] = &[];

/// A source file and the module path it defines (`src/sync/apply.rs` -> `sync::apply`).
struct SourceFile {
    path: PathBuf,
    module: Vec<String>,
}

fn source_files(dir: &Path, module: &[String], out: &mut Vec<SourceFile>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            let mut sub = module.to_vec();
            sub.push(name);
            source_files(&path, &sub, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let mut m = module.to_vec();
            match name.as_str() {
                "mod" | "lib" => {}
                "tests" => continue, // test-only files
                _ => m.push(name),
            }
            out.push(SourceFile { path, module: m });
        }
    }
}

/// The text without comments and `#[cfg(test)]` items (a test module may use anything).
fn without_tests(text: &str) -> String {
    let text: String = text
        .lines()
        .map(|line| {
            match line.match_indices("//").find(|(at, _)| line[..*at].chars().last().is_none_or(char::is_whitespace)) {
                Some((at, _)) => &line[..at],
                None => line,
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        let end = match (after.find(';'), after.find('{')) {
            (Some(semi), Some(brace)) if semi < brace => semi + 1,
            (_, Some(brace)) => brace + matching_brace(&after[brace..]),
            (Some(semi), None) => semi + 1,
            (None, None) => after.len(),
        };
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Length up to and including the brace closing the one `text` starts with.
fn matching_brace(text: &str) -> usize {
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    text.len()
}

/// Every path a `use` tree names: `a::{b, c::{d, e}}` -> a::b, a::c::d, a::c::e.
fn expand_use(tree: &str) -> Vec<Vec<String>> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or("").trim();
        return vec![path.split("::").map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()];
    };
    let prefix: Vec<String> =
        tree[..open].split("::").map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    let inner = &tree[open + 1..open + matching_brace(&tree[open..]) - 1];
    let mut out = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices().chain([(inner.len(), ',')]) {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                for tail in expand_use(&inner[start..i]) {
                    let mut path = prefix.clone();
                    path.extend(tail.into_iter().filter(|s| s != "self"));
                    out.push(path);
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    out
}

/// Makes a path absolute: `crate::` dropped, `super::`/`self::` resolved from `module`, a
/// declared child module prefixed with it; `None` for an external crate or a local name.
fn absolute(path: Vec<String>, module: &[String], children: &BTreeSet<String>) -> Option<Vec<String>> {
    let mut base: Vec<String> = match path.first().map(String::as_str) {
        Some("crate") => Vec::new(),
        Some("super") | Some("self") => module.to_vec(),
        Some(first) if children.contains(first) => module.to_vec(),
        _ => return None,
    };
    for s in path.into_iter().skip_while(|s| s == "crate") {
        match s.as_str() {
            "super" => {
                base.pop();
            }
            "self" => {}
            _ => base.push(s),
        }
    }
    Some(base)
}

/// `use` trees of the text (each statement's tree; `pub use` included).
fn use_trees(text: &str) -> Vec<(bool, Vec<Vec<String>>)> {
    let mut out = Vec::new();
    for statement in text.split(';') {
        let s = statement.trim_start();
        let (public, s) = match s.strip_prefix("pub(crate) ").or_else(|| s.strip_prefix("pub ")) {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        if let Some(tree) = s.strip_prefix("use ") {
            out.push((public, expand_use(tree)));
        }
    }
    out
}

/// Child modules the file declares (`mod x;`, `pub mod x;`).
fn child_modules(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l.strip_prefix("pub(crate) ").or_else(|| l.strip_prefix("pub ")).unwrap_or(l);
            l.strip_prefix("mod ")?.strip_suffix(';').map(|n| n.trim().to_string())
        })
        .collect()
}

/// Paths the file refers to, made absolute.
fn referenced_paths(text: &str, module: &[String]) -> Vec<Vec<String>> {
    let children = child_modules(text);
    let mut raw: Vec<Vec<String>> = use_trees(text).into_iter().flat_map(|(_, paths)| paths).collect();
    let starts: Vec<&str> = ["crate::", "super::", "self::"].into_iter().collect();
    let child_starts: Vec<String> = children.iter().map(|c| format!("{c}::")).collect();
    for start in starts.iter().copied().chain(child_starts.iter().map(String::as_str)) {
        for (at, _) in text.match_indices(start) {
            let before = text[..at].chars().last();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let path: String =
                text[at..].chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
            raw.push(path.split("::").filter(|s| !s.is_empty()).map(String::from).collect());
        }
    }
    raw.into_iter()
        .map(|mut p| {
            if p.last().is_some_and(|s| s == "*") {
                p.pop();
            }
            p
        })
        .filter_map(|p| absolute(p, module, &children))
        .filter(|p| !p.is_empty())
        .collect()
}

/// What one module file is: its path, text (tests left out) and public re-exports.
struct Module {
    path: PathBuf,
    text: String,
    /// Re-exported name -> absolute path; globs under `*` (module paths).
    reexports: BTreeMap<String, Vec<Vec<String>>>,
}

fn defines(text: &str, name: &str) -> bool {
    ["struct", "enum", "fn", "type", "const", "static", "trait", "async fn", "mod"].iter().any(|kind| {
        [format!("pub {kind} {name}"), format!("pub(crate) {kind} {name}")].iter().any(|decl| {
            text.match_indices(decl.as_str()).any(|(at, _)| {
                text[at + decl.len()..].chars().next().is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
            })
        })
    })
}

/// The file that defines what `path` names, following re-exports.
fn file_of(path: &[String], modules: &BTreeMap<Vec<String>, Module>, depth: usize) -> Option<PathBuf> {
    let n = (1..=path.len()).rev().find(|n| modules.contains_key(&path[..*n]))?;
    let module = &modules[&path[..n]];
    let Some(name) = path.get(n) else { return Some(module.path.clone()) };
    if depth > 8 || defines(&module.text, name) {
        return Some(module.path.clone());
    }
    let targets = module.reexports.get(name.as_str()).cloned().unwrap_or_default();
    for target in targets {
        if let Some(f) = file_of(&target, modules, depth + 1) {
            return Some(f);
        }
    }
    for glob in module.reexports.get("*").into_iter().flatten() {
        if let Some(m) = modules.get(glob).filter(|m| defines(&m.text, name)) {
            return Some(m.path.clone());
        }
    }
    Some(module.path.clone())
}

struct Graph {
    /// (importing file, imported file, importing module, imported module path)
    edges: Vec<(PathBuf, PathBuf, Vec<String>, Vec<String>)>,
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut sources = Vec::new();
    source_files(&src, &[], &mut sources);
    let mut modules = BTreeMap::new();
    for f in &sources {
        let text = without_tests(&std::fs::read_to_string(&f.path).unwrap());
        let children = child_modules(&text);
        let mut reexports: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
        for (public, paths) in use_trees(&text) {
            for mut path in paths.into_iter().filter(|_| public) {
                let name = path.last().cloned().unwrap_or_default();
                if name == "*" {
                    path.pop();
                }
                if let Some(abs) = absolute(path, &f.module, &children) {
                    reexports.entry(name).or_default().push(abs);
                }
            }
        }
        modules.insert(f.module.clone(), Module { path: f.path.clone(), text, reexports });
    }
    let mut edges = Vec::new();
    for f in &sources {
        let module = &modules[&f.module];
        for path in referenced_paths(&module.text, &f.module) {
            if let Some(target) = file_of(&path, &modules, 0).filter(|t| *t != f.path) {
                edges.push((f.path.clone(), target, f.module.clone(), path));
            }
        }
    }
    Graph { edges }
}

#[test]
fn no_module_imports_a_higher_layer_or_a_sibling_adapter() {
    let mut breaches = BTreeSet::new();
    for (from, _, module, path) in graph().edges {
        let (Some(own), Some(used)) = (module.first(), path.first()) else { continue };
        if own == used {
            continue;
        }
        let (Some(own_layer), Some(used_layer)) = (layer(own), layer(used)) else { continue };
        let sideways = own_layer == used_layer && own_layer == 2;
        let allowed = ALLOWED_SIDEWAYS.contains(&(own.as_str(), used.as_str()));
        if (used_layer > own_layer || sideways) && !allowed {
            breaches.insert(format!(
                "{} ({own}, layer {own_layer}) -> {} (layer {used_layer})",
                from.display(),
                path.join("::")
            ));
        }
    }
    assert!(
        breaches.is_empty(),
        "imports against the layering of lib.rs:\n{}",
        breaches.into_iter().collect::<Vec<_>>().join("\n")
    );
}

/// An edge between a module's root file (`mod.rs`, `lib.rs`) and a file inside that module.
/// The root declares its children and holds what they share (the trait they implement, the
/// error they return); that is the module's own structure, not a circle between rooms.
fn structural(a: &Path, b: &Path) -> bool {
    let inside = |root: &Path, file: &Path| {
        let dir = match root.file_name().and_then(|n| n.to_str()) {
            Some("mod.rs" | "lib.rs") => root.parent().map(Path::to_path_buf),
            // `a/b.rs` with its children in `a/b/`.
            _ => Some(root.with_extension("")),
        };
        dir.is_some_and(|dir| file.starts_with(dir))
    };
    inside(a, b) || inside(b, a)
}

#[test]
fn no_two_files_import_each_other() {
    let mut next: BTreeMap<PathBuf, BTreeMap<PathBuf, String>> = BTreeMap::new();
    for (from, to, _, path) in graph().edges.into_iter().filter(|(from, to, _, _)| !structural(from, to)) {
        next.entry(from).or_default().entry(to).or_insert_with(|| path.join("::"));
    }
    let reaches = |from: &PathBuf, to: &PathBuf| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from];
        while let Some(f) = stack.pop() {
            if f == to {
                return true;
            }
            if seen.insert(f) {
                stack.extend(next.get(f).into_iter().flat_map(|m| m.keys()));
            }
        }
        false
    };
    // An edge lies on a circle when its target leads back to its source.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let short = |p: &PathBuf| p.strip_prefix(root).unwrap_or(p).display().to_string();
    let mut circular = Vec::new();
    for (from, targets) in &next {
        for (to, via) in targets {
            if reaches(to, from) {
                circular.push(format!("{} -> {} ({via})", short(from), short(to)));
            }
        }
    }
    assert!(circular.is_empty(), "imports on a circle:\n{}", circular.join("\n"));
}

#[test]
fn the_scanner_sees_imports() {
    let text = "use crate::{model::Anchor, scim::{self, Target}};\nuse super::x::Y;\nfn f() { crate::sync::run(); }\n#[cfg(test)]\nmod tests { use crate::daemon::Z; }";
    let paths = referenced_paths(&without_tests(text), &["plan".to_string(), "guard".to_string()]);
    let joined: BTreeSet<String> = paths.iter().map(|p| p.join("::")).collect();
    let want: BTreeSet<String> =
        ["model::Anchor", "scim", "scim::Target", "plan::x::Y", "sync::run"].into_iter().map(String::from).collect();
    assert_eq!(joined, want);
}
