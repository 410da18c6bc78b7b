//! `zoomsync generate man|completions <dir>` (hidden): the man pages and the bash, zsh and
//! fish completions, written from the same clap definitions that print `--help`, so the
//! packaged documentation cannot drift from the binary it ships with. `scripts/package.sh`
//! runs it on the release binary before cargo-deb picks the files up.
//!
//! The command is handed the clap [`clap::Command`] by `cli` (commands sit below the clap
//! definitions and never import them); it is hidden, so neither the man pages nor the
//! completions it writes list it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use clap_complete::Shell;

/// The shells whose completions are packaged (Debian ships completion directories for each).
pub const SHELLS: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

#[derive(Debug, Subcommand)]
pub enum GenerateAction {
    /// Write zoomsync.1 and one page per subcommand (zoomsync-check.1, ...) into DIR.
    Man {
        /// Output directory (created if missing).
        dir: PathBuf,
    },
    /// Write the bash (zoomsync.bash), zsh (_zoomsync) and fish (zoomsync.fish) completions
    /// into DIR.
    Completions {
        /// Output directory (created if missing).
        dir: PathBuf,
    },
}

/// Runs `generate`: writes the files and prints each path written.
pub fn run(action: GenerateAction, cmd: clap::Command) -> anyhow::Result<ExitCode> {
    let written = match action {
        GenerateAction::Man { dir } => man_pages(cmd, &dir)?,
        GenerateAction::Completions { dir } => completions(cmd, &dir)?,
    };
    for path in written {
        println!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the man pages (section 1) of `cmd` and its visible subcommands into `dir`.
pub fn man_pages(cmd: clap::Command, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    create_dir(dir)?;
    clap_mangen::generate_to(cmd, dir).with_context(|| format!("writing man pages to {}", dir.display()))?;
    files_in(dir, |name| name.ends_with(".1"))
}

/// Writes one completion script per shell in [`SHELLS`] into `dir`.
pub fn completions(cmd: clap::Command, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    create_dir(dir)?;
    let name = cmd.get_name().to_string();
    let mut cmd = without_hidden_subcommands(&cmd);
    SHELLS
        .iter()
        .map(|shell| {
            clap_complete::generate_to(*shell, &mut cmd, &name, dir)
                .with_context(|| format!("writing {shell} completions to {}", dir.display()))
        })
        .collect()
}

/// clap_complete's generators offer hidden subcommands too (they skip only hidden values),
/// and clap cannot remove a subcommand: so the completions are written for a copy with the
/// same top-level arguments and the visible subcommands, each cloned whole. (`about` is not
/// copied: no completion shows the top-level one.)
fn without_hidden_subcommands(cmd: &clap::Command) -> clap::Command {
    clap::Command::new("zoomsync")
        .version(env!("CARGO_PKG_VERSION"))
        .args(cmd.get_arguments().cloned())
        .subcommands(cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned())
}

fn create_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

/// The files in `dir` whose name `keep` accepts, sorted (for a stable listing).
fn files_in(dir: &Path, keep: impl Fn(&str) -> bool) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.file_name().and_then(|n| n.to_str()).is_some_and(&keep) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use clap::CommandFactory;

    use super::*;
    use crate::cli::Cli;

    /// Every visible subcommand, at any depth, as its man page's name (`zoomsync-quarantine-list`).
    fn visible_pages(cmd: &clap::Command, prefix: &str, out: &mut Vec<String>) {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            let page = format!("{prefix}-{}", sub.get_name());
            visible_pages(sub, &page, out);
            out.push(page);
        }
    }

    #[test]
    fn the_man_pages_cover_every_subcommand_and_hide_generate() {
        let dir = tempfile::tempdir().unwrap();
        man_pages(Cli::command(), dir.path()).unwrap();
        let main = std::fs::read_to_string(dir.path().join("zoomsync.1")).unwrap();

        let mut pages = Vec::new();
        visible_pages(&Cli::command(), "zoomsync", &mut pages);
        assert!(pages.len() >= 15, "{pages:?}");
        for page in &pages {
            let text = std::fs::read_to_string(dir.path().join(format!("{page}.1")))
                .unwrap_or_else(|e| panic!("{page}.1: {e}"));
            assert!(text.contains(".TH"), "{page}.1 is not a man page");
        }
        for sub in Cli::command().get_subcommands().filter(|s| !s.is_hide_set()) {
            let name = sub.get_name();
            assert!(main.contains(&format!("zoomsync\\-{name}(1)")), "zoomsync.1 does not list `{name}`:\n{main}");
        }
        assert!(!main.contains("generate"), "the hidden `generate` is in zoomsync.1");
        assert!(!dir.path().join("zoomsync-generate.1").exists());
        // The text is --help's: the about line and a subcommand's help appear verbatim.
        let about = Cli::command().get_about().unwrap().to_string();
        assert!(main.contains(&about.replace('-', "\\-")), "{about:?} not in:\n{main}");
        let check = std::fs::read_to_string(dir.path().join("zoomsync-check.1")).unwrap();
        assert!(check.contains("rejected entries"), "{check}");
    }

    #[test]
    fn completions_generate_for_bash_zsh_and_fish() {
        let dir = tempfile::tempdir().unwrap();
        let written = completions(Cli::command(), dir.path()).unwrap();
        let names: Vec<_> = written.iter().map(|p| p.file_name().unwrap().to_string_lossy().to_string()).collect();
        assert_eq!(names, ["zoomsync.bash", "_zoomsync", "zoomsync.fish"]);
        for path in &written {
            let text = std::fs::read_to_string(path).unwrap();
            for sub in ["check", "plan", "approve", "quarantine", "history", "json-logs", "no-sync"] {
                assert!(text.contains(sub), "{} lacks `{sub}`", path.display());
            }
            assert!(!text.contains("generate"), "{} offers the hidden `generate`", path.display());
        }
    }
}
