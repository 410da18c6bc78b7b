//! The open attribute model's first must-show against a private Samba AD DC and the
//! emulator: the scenario and the expected values are `tests/support/open_model.rs`'s
//! (shared with the slapd test). AD users (objectClass user, UPN as the login, enabled
//! without a password: UAC 544) carry the same attributes as the slapd people;
//! "Zoom Phone Users" is an AD group read only because `member_of` asks about it, its
//! members found by the DC (in-chain, the AD default).
//!
//! All 5,000 users, as on slapd: their `ldapadd` (a manager on all but one, and the group)
//! took 33 s on a 2-core machine with `ldb:nosync`, the whole test about 105 s.

use std::time::Instant;

use crate::support::ad::{SERVICE_PASSWORD, directory_section, group_dn, start_dc};
use crate::support::http_recorder::HttpRecorder;
use crate::support::open_model::{
    MAPPING, OpenModelWorld, PHONE_GROUP, Person, attribute_lines, groups_section, must_show, people, target_section,
};
use crate::support::servers::samba::{self, SYNC_OU, SambaDc, UAC_ENABLED_NO_PASSWORD};
use crate::support::world::library_cycle;
use zoomsync::config;
use zoomsync::emulator::{Emulator, EmulatorConfig, RunningEmulator};
use zoomsync::source::AnyDirectory;
use zoomsync::sync::{CycleOptions, CycleReport};

const USERS: usize = 5_000;

struct AdWorld {
    dc: SambaDc,
    zoom: RunningEmulator,
    recorder: HttpRecorder,
}

impl AdWorld {
    fn config_path(&self) -> std::path::PathBuf {
        self.dc.dir().join("zoomsync.toml")
    }
}

impl OpenModelWorld for AdWorld {
    fn zoom(&self) -> &RunningEmulator {
        &self.zoom
    }

    fn recorder(&self) -> &HttpRecorder {
        &self.recorder
    }

    async fn cycle(&self, options: CycleOptions) -> CycleReport {
        let config = config::load(&self.config_path()).unwrap_or_else(|e| panic!("config: {e}"));
        assert_eq!(config.groups.as_ref().unwrap().nesting, config::Nesting::InChain, "the AD default");
        let directory = AnyDirectory::from_config(&config.directory);
        library_cycle(&config, &self.dc.dir().join("state"), &directory, &options).await
    }

    fn add_to_phone_group(&self, i: usize) {
        self.dc.ldapmodify(&format!(
            "dn: {}\nchangetype: modify\nadd: member\nmember: {}\n-\n",
            group_dn(PHONE_GROUP),
            samba::user_dn(i)
        ));
    }
}

/// OU=Sync, the users (managers before the people they manage: AD checks the DN exists)
/// and the group.
fn directory_ldif(people: &[Person]) -> String {
    let mut s = format!("dn: {SYNC_OU}\nobjectClass: organizationalUnit\nou: Sync\n\n");
    for p in people {
        s.push_str(&format!(
            "dn: {}\nobjectClass: user\nsAMAccountName: {}\nuserPrincipalName: {}\n\
             userAccountControl: {UAC_ENABLED_NO_PASSWORD}\n{}\n",
            samba::user_dn(p.i),
            samba::sam_name(p.i),
            samba::upn(p.i),
            attribute_lines(p, samba::user_dn)
        ));
    }
    let members: Vec<String> = people.iter().filter(|p| p.phone_user).map(|p| samba::user_dn(p.i)).collect();
    s.push_str(&samba::group_entry(PHONE_GROUP, &members));
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_model_mapping_creates_exact_values_then_converges_on_samba_ad() {
    let started = Instant::now();
    let dc = start_dc();
    zoomsync::install_crypto_provider();
    let zoom = Emulator::start(EmulatorConfig::unlimited(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let recorder = HttpRecorder::start(zoom.origin()).await;
    eprintln!("DC and emulator: {:.1?}", started.elapsed());

    let people = people(USERS, samba::upn);
    let load = Instant::now();
    dc.ldapadd(&directory_ldif(&people));
    eprintln!("ldapadd of {USERS} users (managers set) and the group: {:.1?}", load.elapsed());

    std::fs::write(dc.dir().join("ldap-password"), SERVICE_PASSWORD).unwrap();
    std::fs::write(dc.dir().join("zoom-secret"), zoom.client_secret()).unwrap();
    let text = format!(
        "{}\n{}\n[state]\npath = \"state\"\n\n[admin]\nsocket = \"admin.sock\"\n\n[metrics]\nenabled = false\n{MAPPING}{}",
        directory_section(&dc.ldaps_url(), SYNC_OU, &format!("ca_file = {:?}\npage_size = 1000", dc.ca_file())),
        target_section(&zoom, &recorder),
        groups_section(SYNC_OU),
    );
    let world = AdWorld { dc, zoom, recorder };
    std::fs::write(world.config_path(), text).unwrap();
    must_show(&world, &people).await;
    eprintln!("whole test: {:.1?}", started.elapsed());
}
