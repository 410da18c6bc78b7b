//! `zoomsync demo`: the whole product in one command, with nothing to set up.
//!
//! A bundled directory of 50 people (an LDIF kept in memory), the Zoom emulator on a free
//! loopback port in this process, state in memory. It runs a first cycle, then a hire, a
//! title change, a leaver and a rename, then a mass removal that trips the guard — printing
//! each plan before applying it. Nothing is written to disk and nothing leaves the machine.

use std::process::ExitCode;
use std::time::Instant;

use zoomsync::config::{self, SourceConfig};
use zoomsync::emulator::{Emulator, EmulatorConfig, RunningEmulator, UserState};
use zoomsync::model::RawEntry;
use zoomsync::scim::client::ScimClient;
use zoomsync::source::memory::MemoryDirectory;
use zoomsync::state::memory::MemoryStore;
use zoomsync::sync::{CycleOptions, CycleReport, Engine, Shutdown};

use super::plan_view;

const PEOPLE: &str = include_str!("../../demo/people.ldif");

/// The demo's settings: the bundled directory, OpenLDAP defaults (disabled = locked),
/// the default safety limits, and two groups pushed (one holding a nested group).
const CONFIG: &str = r#"
[directory]
kind = "ldif"
flavor = "openldap"
path = "demo/people.ldif"

[safety]
max_deactivations = 50
max_deactivation_percent = 10

[groups]
names = ["Zoom Phone Users", "Engineering"]

[groups.zoom_names]
"Engineering" = "Zoom Developers"
"#;

struct Demo {
    zoom: RunningEmulator,
    engine: Engine<MemoryDirectory, ScimClient, MemoryStore>,
}

impl Demo {
    async fn cycle(&self, dry_run: bool) -> anyhow::Result<CycleReport> {
        Ok(self.engine.run_cycle(&CycleOptions { dry_run, ..Default::default() }, &Shutdown::never()).await?)
    }

    /// Shows the plan, then applies it and shows what happened.
    async fn step(&self, title: &str) -> anyhow::Result<CycleReport> {
        println!("\n=== {title} ===\n-- plan (`zoomsync plan`) --");
        let planned = self.cycle(true).await?;
        plan_view::show(&planned, self.engine.store(), false)?;
        println!("-- sync (`zoomsync sync --once`) --");
        let done = self.cycle(false).await?;
        plan_view::print_outcomes(&done);
        println!("{}", done.summary());
        Ok(done)
    }

    fn zoom_counts(&self) -> (usize, usize) {
        let members: Vec<_> = self.zoom.users().into_iter().filter(|u| u.user_name != "owner@example.com").collect();
        let active = members.iter().filter(|u| u.state == UserState::Active).count();
        (active, members.len() - active)
    }
}

fn person<'a>(entries: &'a mut [RawEntry], uid: &str) -> Option<&'a mut RawEntry> {
    entries.iter_mut().find(|e| e.first_text("uid") == Some(uid))
}

pub async fn run() -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let zoom = Emulator::start(EmulatorConfig::unlimited(), "127.0.0.1:0".parse()?).await?;
    let mut config = config::parse(CONFIG, std::path::Path::new("."), None)?;
    let SourceConfig::Ldif { filter, .. } = &config.directory.source else {
        anyhow::bail!("demo config must use the LDIF source");
    };
    let directory = MemoryDirectory::from_ldif(PEOPLE, filter.clone())?;
    let target = zoom.target_config()?;
    let client = ScimClient::new(&target)?;
    config.target = Some(target);
    let demo = Demo { engine: Engine::with_adapters(&config, directory, client, MemoryStore::default()), zoom };
    println!(
        "zoomsync demo: a bundled directory of 50 people (4 locked) and a local Zoom emulator at {}",
        demo.zoom.base_url()
    );
    println!("(nothing to set up, nothing written to disk, nothing leaves this machine)");

    demo.step("1. First cycle against an empty Zoom account").await?;

    demo.engine.directory().edit(|people| {
        let mut hire = RawEntry::new("uid=nnewcomer,ou=people,dc=example,dc=com");
        for (k, v) in [
            ("objectClass", "inetOrgPerson"),
            ("entryUUID", "0b9f3f1e-5a2c-4d7e-9c1a-6f0e2b7d4a11"),
            ("uid", "nnewcomer"),
            ("cn", "Nia Newcomer"),
            ("givenName", "Nia"),
            ("sn", "Newcomer"),
            ("mail", "nnewcomer@example.com"),
            ("title", "Software Engineer"),
            ("departmentNumber", "Engineering"),
        ] {
            hire.push(k, v.as_bytes().to_vec());
        }
        people.push(hire);
        if let Some(engineering) = people.iter_mut().find(|e| e.first_text("cn") == Some("Engineering")) {
            engineering.push("member", b"uid=nnewcomer,ou=people,dc=example,dc=com".to_vec());
        }
        if let Some(p) = person(people, "alovelace") {
            p.set("title", Some("Principal Engineer"));
        }
        if let Some(p) = person(people, "bokafor") {
            p.set("pwdAccountLockedTime", Some("000001010000Z"));
        }
        if let Some(p) = person(people, "cmartin") {
            p.set("mail", Some("chloe.martin@example.com"));
        }
    });
    println!(
        "\nDirectory changes: Nia Newcomer hired (and added to Engineering); Ada Lovelace promoted; Ben Okafor left (account locked);"
    );
    println!("Chloe Martin's mail renamed. (Zoom keeps a login's old address unless the domain is managed:");
    println!("the emulator behaves that way, and zoomsync shows a warning instead of retrying or duplicating.)");
    demo.step("2. A hire, a title change, a leaver and a rename").await?;

    demo.engine.directory().edit(|people| {
        people.retain(|p| !p.first_text("departmentNumber").is_some_and(|d| d == "Sales" || d == "Support"));
    });
    println!(
        "\nDirectory change: the Sales and Support OUs vanish (a bad filter or a migration gone wrong: 20 people)."
    );
    let last = demo.step("3. A mass removal trips the guard").await?;

    let (active, inactive) = demo.zoom_counts();
    println!("\n=== Summary ===");
    println!(
        "Zoom now has {active} active and {inactive} deactivated users; {} deactivations are held.",
        last.plan.held.len()
    );
    println!("In production: `zoomsync status` shows the held operations, `zoomsync approve` applies them,");
    println!("and nothing is deactivated until someone does. Next: README.md, \"Path to production\".");
    println!("demo finished in {:.1}s", started.elapsed().as_secs_f64());
    demo.zoom.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
