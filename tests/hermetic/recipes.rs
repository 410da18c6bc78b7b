//! The recipes of docs/configuration.md ("Mapping recipes") do what their tables say.
//!
//! Read from the docs, not copied: the sample directory (`<!-- recipe-directory -->`, an LDIF
//! block), each recipe (`<!-- recipe: NAME -->`, a TOML block) and its table
//! (`<!-- recipe-result: NAME -->`: user, attribute, what zoomsync sends). Each recipe is
//! loaded as a config with the sample directory as an LDIF file (`config::parse`, as the
//! binary does), synced by the real engine into the in-process emulator until a cycle has
//! nothing left to do, and every row compared with what the state says was sent, the
//! rejections, the plan's notes and the emulator's groups. Every mapping key of a recipe must
//! be in its table, so a block that changes meaning, or a table that stops covering it,
//! fails. The docs' other `[mapping]` examples must load, and their `zoomsync map` sample
//! must be what the binary prints.

use std::collections::BTreeMap;
use std::path::Path;

use zoomsync::config;
use zoomsync::emulator::{Emulator, EmulatorConfig, RunningEmulator};
use zoomsync::model::{Field, KnownUser, normalize_dn};
use zoomsync::state::StateStore;
use zoomsync::state::memory::MemoryStore;
use zoomsync::sync::{CycleOptions, CycleOutcome, CycleReport, Engine, Shutdown};

/// Every recipe the docs must have.
const RECIPES: [&str; 7] = [
    "entra-default",
    "okta-default",
    "licence-group-push",
    "licence-membership",
    "zoom-phone",
    "ad-manager",
    "preferred-name",
];

/// Cycles a recipe may take to settle (the manager is set in the cycle after the create).
const MAX_CYCLES: usize = 4;

fn docs() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md")).unwrap()
}

/// (name, text after the marker) for each `<!-- {kind}: name -->`.
fn marked<'d>(docs: &'d str, kind: &str) -> Vec<(String, &'d str)> {
    let open = format!("<!-- {kind}: ");
    docs.match_indices(&open)
        .map(|(at, _)| {
            let rest = &docs[at + open.len()..];
            let end = rest.find(" -->").unwrap_or_else(|| panic!("unclosed marker {open}"));
            (rest[..end].to_string(), &rest[end + 4..])
        })
        .collect()
}

/// The fenced block right after a marker (blank lines allowed between).
fn fenced(after: &str) -> String {
    let mut lines = after.lines().skip_while(|l| l.trim().is_empty());
    let fence = lines.next().unwrap_or_default();
    assert!(fence.starts_with("```"), "a marker must be followed by a fenced block, not {fence:?}");
    lines.take_while(|l| !l.starts_with("```")).map(|l| format!("{l}\n")).collect()
}

/// One row of a result table: `| user | attribute | zoomsync sends |`.
#[derive(Clone, Debug)]
struct Claim {
    user: String,
    subject: String,
    sends: String,
}

fn claims(after: &str) -> Vec<Claim> {
    let rows = after.lines().skip_while(|l| l.trim().is_empty()).take_while(|l| l.starts_with('|'));
    rows.skip(2)
        .map(|row| {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let [_, user, subject, sends, _] = cells[..] else { panic!("a result row has three cells: {row}") };
            Claim { user: user.into(), subject: subject.into(), sends: sends.into() }
        })
        .collect()
}

fn directory(docs: &str) -> String {
    let at = docs.find("<!-- recipe-directory -->").expect("the sample directory");
    fenced(&docs[at + "<!-- recipe-directory -->".len()..])
}

/// The recipe as a whole config: its own sections, plus the sample directory as an LDIF
/// file, a state path and no metrics listener.
fn whole_config(recipe: &str) -> Result<String, String> {
    let mut table: toml::Table = toml::from_str(recipe).map_err(|e| format!("not TOML: {e}"))?;
    let base: toml::Table = toml::from_str(
        "[directory]\nkind = \"ldif\"\npath = \"sample.ldif\"\n[state]\npath = \"state\"\n[metrics]\nenabled = false\n",
    )
    .unwrap();
    for (section, keys) in base {
        let into = table.entry(section.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let into = into.as_table_mut().ok_or(format!("[{section}] is not a table"))?;
        for (key, value) in keys.as_table().unwrap() {
            if into.insert(key.clone(), value.clone()).is_some() {
                return Err(format!("a recipe does not set {section}.{key} (the test chooses it)"));
            }
        }
    }
    Ok(toml::to_string(&table).unwrap())
}

/// What became of a recipe: the emulator and store after the cycles, and the reports.
struct Synced {
    zoom: RunningEmulator,
    store: MemoryStore,
    reports: Vec<CycleReport>,
    /// uid -> DN of the sample people.
    people: BTreeMap<String, String>,
}

fn people(ldif: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    zoomsync::source::ldif::parse(ldif.as_bytes(), "sample", &mut |e| {
        if let Some(uid) = e.first_text("uid") {
            out.insert(uid.to_string(), e.dn.clone());
        }
    })
    .unwrap();
    out
}

fn settled(report: &CycleReport) -> bool {
    let groups_idle =
        report.groups.as_ref().is_none_or(|g| g.done.is_empty() && g.members_added + g.members_removed == 0);
    report.attempted() == 0 && groups_idle
}

/// Loads the recipe and syncs until nothing is left to do (or says why it could not).
async fn sync(recipe: &str, ldif: &str) -> Result<Synced, String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sample.ldif"), ldif).unwrap();
    let mut config =
        config::parse(&whole_config(recipe)?, dir.path(), None).map_err(|e| format!("does not load: {e}"))?;
    zoomsync::install_crypto_provider();
    let zoom = Emulator::start(EmulatorConfig::unlimited(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    config.target = Some(zoom.target_config().unwrap());
    let store = MemoryStore::default();
    let engine = Engine::from_config(&config, store.clone()).map_err(|e| e.to_string())?;
    let mut reports = Vec::new();
    for _ in 0..MAX_CYCLES {
        let report = engine.run_cycle(&CycleOptions::default(), &Shutdown::never()).await.map_err(|e| e.to_string())?;
        if report.outcome() != CycleOutcome::Success {
            return Err(format!("cycle {}: {:?}: {}", reports.len() + 1, report.outcome(), report.summary()));
        }
        let done = settled(&report);
        reports.push(report);
        if done {
            return Ok(Synced { zoom, store, reports, people: people(ldif) });
        }
    }
    Err(format!("still changing after {MAX_CYCLES} cycles"))
}

impl Synced {
    fn known(&self, uid: &str) -> Option<KnownUser> {
        let dn = normalize_dn(self.people.get(uid)?);
        self.store.users().unwrap().into_iter().find(|k| normalize_dn(&k.dn) == dn)
    }

    fn dn(&self, uid: &str) -> String {
        self.people.get(uid).cloned().unwrap_or_else(|| panic!("no {uid} in the sample directory"))
    }

    /// What happened for `subject`, written as a table cell is.
    fn observed(&self, uid: &str, subject: &str) -> Result<String, String> {
        let dn = normalize_dn(&self.dn(uid));
        let texts = |items: Vec<String>| match items.is_empty() {
            true => "nothing".to_string(),
            false => items.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", "),
        };
        let rejected = self.reports.iter().flat_map(|r| &r.rejected).filter(|r| normalize_dn(&r.dn) == dn);
        match subject {
            "rejected" => return Ok(texts(rejected.map(|r| r.reason.clone()).take(1).collect())),
            "note" => {
                let notes = self.reports.iter().flat_map(|r| &r.plan.notes).filter(|n| normalize_dn(&n.dn) == dn);
                let mut notes: Vec<String> = notes.map(|n| n.note.clone()).collect();
                notes.dedup();
                return Ok(texts(notes));
            }
            _ => {}
        }
        let known = self.known(uid).ok_or_else(|| format!("{uid} was not created"))?;
        if subject == "Zoom groups" {
            let groups = self.zoom.groups().into_iter().filter(|g| !g.is_default && g.members.contains(&known.zoom_id));
            return Ok(texts(groups.map(|g| g.display_name).collect()));
        }
        let field = Field::resolve(subject.trim_matches('`')).map_err(|e| format!("{subject}: {e}"))?;
        let pushed = self.store.pushed(&known.anchor).unwrap().unwrap_or_default();
        Ok(match pushed.get(field) {
            None => "nothing".to_string(),
            Some(id) if field.def().reference => {
                let owner = self.people.keys().find(|u| self.known(u).is_some_and(|k| k.zoom_id == id));
                owner.map_or(format!("`{id}`"), |u| format!("{u}'s Zoom id"))
            }
            Some(value) => format!("`{value}`"),
        })
    }

    /// The sample people nobody claimed rejected were created, and Zoom kept every value.
    fn sound(&self, claims: &[Claim]) -> Vec<String> {
        let mut problems = Vec::new();
        for uid in self.people.keys() {
            let claimed_rejected = claims.iter().any(|c| c.user == *uid && c.subject == "rejected");
            match self.known(uid) {
                None if !claimed_rejected => {
                    problems.push(format!("{uid}: not created, and the table does not say so"))
                }
                Some(k) if !k.not_kept.is_empty() => {
                    problems.push(format!("{uid}: Zoom did not keep {:?}", k.not_kept))
                }
                _ => {}
            }
        }
        problems
    }
}

/// Every mapping key of the recipe has a row; a recipe says at least three things.
fn covered(recipe: &str, claims: &[Claim]) -> Vec<String> {
    let table: toml::Table = toml::from_str(recipe).unwrap_or_default();
    let keys: Vec<String> =
        table.get("mapping").and_then(|m| m.as_table()).map(|m| m.keys().cloned().collect()).unwrap_or_default();
    let mut problems: Vec<String> = keys
        .iter()
        .filter(|k| !claims.iter().any(|c| c.subject == format!("`{k}`")))
        .map(|k| format!("mapping.{k} has no row in the result table"))
        .collect();
    if claims.len() < 3 {
        problems.push(format!("only {} rows", claims.len()));
    }
    problems
}

/// Every way the recipe differs from its table (empty: it does what the docs say).
async fn problems(recipe: &str, claims: &[Claim], ldif: &str) -> Vec<String> {
    let mut problems = covered(recipe, claims);
    let synced = match sync(recipe, ldif).await {
        Ok(s) => s,
        Err(e) => return [problems, vec![e]].concat(),
    };
    problems.extend(synced.sound(claims));
    for c in claims {
        match synced.observed(&c.user, &c.subject) {
            Ok(seen) if seen == c.sends => {}
            Ok(seen) => {
                problems.push(format!("{} {}: the docs say {}, zoomsync sent {seen}", c.user, c.subject, c.sends))
            }
            Err(e) => problems.push(format!("{} {}: {e}", c.user, c.subject)),
        }
    }
    problems
}

/// The recipe and its table as the docs have them.
fn recipe(name: &str) -> (String, Vec<Claim>, String) {
    let docs = docs();
    let find = |kind: &str| marked(&docs, kind).into_iter().find(|(n, _)| n == name).map(|(_, after)| after);
    let block = fenced(find("recipe").unwrap_or_else(|| panic!("no recipe {name} in the docs")));
    let table = claims(find("recipe-result").unwrap_or_else(|| panic!("recipe {name} has no result table")));
    (block, table, directory(&docs))
}

async fn check(name: &str) {
    let (block, claims, ldif) = recipe(name);
    let problems = problems(&block, &claims, &ldif).await;
    assert!(
        problems.is_empty(),
        "recipe {name} (docs/configuration.md) does not do what it says:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn the_docs_have_every_recipe_and_only_those() {
    let docs = docs();
    let names = |kind| marked(&docs, kind).into_iter().map(|(n, _)| n).collect::<Vec<_>>();
    let mut want = RECIPES.to_vec();
    want.sort_unstable();
    for kind in ["recipe", "recipe-result"] {
        let mut got = names(kind);
        got.sort_unstable();
        assert_eq!(got, want, "<!-- {kind}: … --> markers");
    }
    assert_eq!(people(&directory(&docs)).len(), 4, "ann, bob, cy, dee");
}

/// The other `[mapping]` examples of the docs load too (with the sample directory).
#[test]
fn every_mapping_example_in_the_docs_loads() {
    let docs = docs();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sample.ldif"), directory(&docs)).unwrap();
    let examples: Vec<String> =
        docs.split("```toml\n").skip(1).filter_map(|b| b.split("```").next()).map(str::to_string).collect();
    let mapping: Vec<&String> = examples.iter().filter(|b| b.contains("[mapping]")).collect();
    assert!(mapping.len() >= 8, "{} examples: six recipes, expressions, custom attributes", mapping.len());
    for example in mapping {
        let text = whole_config(example).unwrap_or_else(|e| panic!("{e}:\n{example}"));
        if let Err(e) = config::parse(&text, dir.path(), None) {
            panic!("docs/configuration.md: this example does not load: {e}\n{example}");
        }
    }
}

/// The `zoomsync map` sample in the docs is what the binary prints for it.
#[test]
fn the_map_sample_in_the_docs_is_real() {
    let docs = docs();
    let (block, _, ldif) = recipe("zoom-phone");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sample.ldif"), ldif).unwrap();
    std::fs::write(dir.path().join("zoomsync.toml"), whole_config(&block).unwrap()).unwrap();
    let prompt = "```text\n$ zoomsync map dee\n";
    let at = docs.find(prompt).expect("the map sample") + prompt.len();
    let sample = &docs[at..at + docs[at..].find("```").unwrap()];
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zoomsync"))
        .args(["map", "dee", "--config"])
        .arg(dir.path().join("zoomsync.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "Dee's number cannot be read");
    assert_eq!(String::from_utf8_lossy(&out.stdout), sample, "docs/configuration.md's map sample");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recipe_entra_default() {
    check("entra-default").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recipe_okta_default() {
    check("okta-default").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recipe_licence_group_push() {
    check("licence-group-push").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recipe_licence_membership() {
    check("licence-membership").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recipe_zoom_phone() {
    check("zoom-phone").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recipe_ad_manager() {
    check("ad-manager").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recipe_preferred_name() {
    check("preferred-name").await;
}

/// The check can fail: a recipe that changes meaning, a row that claims something else, or a
/// mapping key without a row is reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recipe_that_changes_meaning_fails() {
    let (block, claims, ldif) = recipe("zoom-phone");
    let us = problems(&block.replace("\"GB\"", "\"US\""), &claims, &ldif).await;
    assert!(us.contains(&"ann: not created, and the table does not say so".to_string()), "{us:#?}");
    let plan = problems(&block.replace("3000", "3001"), &claims, &ldif).await;
    assert_eq!(plan, ["ann `zoomPhoneCallingPlan`: the docs say `3000`, zoomsync sent `3001`"]);

    let wrong_row: Vec<Claim> =
        claims.iter().cloned().map(|c| Claim { sends: c.sends.replace("3000", "3001"), ..c }).collect();
    let seen = problems(&block, &wrong_row, &ldif).await;
    assert_eq!(seen, ["ann `zoomPhoneCallingPlan`: the docs say `3001`, zoomsync sent `3000`"]);

    let fewer: Vec<Claim> = claims.iter().filter(|c| c.subject != "`zoomPhoneSite`").cloned().collect();
    assert_eq!(covered(&block, &fewer), ["mapping.zoomPhoneSite has no row in the result table"]);

    let (block, claims, ldif) = recipe("ad-manager");
    let none = problems(&block.replace("manager = \"manager\"", "manager = false"), &claims, &ldif).await;
    assert!(
        none.iter().any(|p| p.starts_with("bob `manager`: the docs say ann's Zoom id, zoomsync sent nothing")),
        "{none:#?}"
    );
}
