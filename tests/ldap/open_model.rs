//! The open attribute model's first must-show against a private slapd and the emulator, with
//! 5,000 inetOrgPerson users: the scenario and the expected values are
//! `tests/support/open_model.rs`'s (shared with the Samba AD test). "Zoom Phone Users" is a
//! groupOfNames read only because `member_of` asks about it (`[groups]` names nothing to push).

use std::fmt::Write;
use std::time::Instant;

use crate::support::data;
use crate::support::data::groups::{group_of_names, membership_change, user_dn, user_name};
use crate::support::http_recorder::HttpRecorder;
use crate::support::open_model::{
    MAPPING, OpenModelWorld, PHONE_GROUP, Person, attribute_lines, groups_section, must_show, people, target_section,
};
use crate::support::world::World;
use zoomsync::emulator::RunningEmulator;
use zoomsync::sync::{CycleOptions, CycleReport};

const USERS: usize = 5_000;

struct SlapdWorld {
    world: World,
    recorder: HttpRecorder,
}

impl OpenModelWorld for SlapdWorld {
    fn zoom(&self) -> &RunningEmulator {
        &self.world.zoom
    }

    fn recorder(&self) -> &HttpRecorder {
        &self.recorder
    }

    async fn cycle(&self, options: CycleOptions) -> CycleReport {
        self.world.cycle(options).await
    }

    fn add_to_phone_group(&self, i: usize) {
        self.world.ldap_modify(&membership_change(&[(PHONE_GROUP, "add", i)]));
    }
}

/// The base entries, the people (managers before the people they manage) and the group.
fn directory_ldif(people: &[Person]) -> String {
    let mut out = String::with_capacity(people.len() * 500);
    data::base_entries(&mut out);
    for p in people {
        let _ = writeln!(
            out,
            "dn: {}\nobjectClass: inetOrgPerson\nuid: user{:06}\ncn: {} {}\nemployeeType: staff\n{}",
            user_dn(p.i),
            p.i,
            p.given,
            p.sn,
            attribute_lines(p, user_dn)
        );
    }
    out.push_str(&group_of_names(PHONE_GROUP, people.iter().filter(|p| p.phone_user).map(|p| p.i), &[]));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_model_mapping_creates_exact_values_then_converges_on_slapd() {
    let started = Instant::now();
    let people = people(USERS, user_name);
    let mut world = World::start(&directory_ldif(&people)).await;
    let recorder = HttpRecorder::start(world.zoom.origin()).await;
    world.target_section = Some(target_section(&world.zoom, &recorder));
    world.extra_config = format!("{MAPPING}{}", groups_section("ou=groups,dc=example,dc=com"));
    world.write_config();
    eprintln!("slapd with {USERS} users and the emulator: {:.1?}", started.elapsed());
    must_show(&SlapdWorld { world, recorder }, &people).await;
    eprintln!("whole test: {:.1?}", started.elapsed());
}
