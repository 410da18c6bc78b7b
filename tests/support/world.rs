//! A whole test world: a private slapd, the Zoom emulator in-process, a config file and a
//! state directory, plus ways to change the directory as an admin would.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use zoomsync::config::{self, Config};
use zoomsync::emulator::{Emulator, EmulatorConfig, RunningEmulator};
use zoomsync::scim::client::ScimClient;
use zoomsync::source::{AnyDirectory, Directory};
use zoomsync::state::sled_store::SledStore;
use zoomsync::sync::{CycleOptions, CycleReport, Engine, Shutdown};

use super::data::{SERVICE_DN, SERVICE_PASSWORD};
use super::servers::ldap_tools::LdapTools;
use super::servers::slapd::Slapd;

pub struct World {
    pub slapd: Slapd,
    pub zoom: RunningEmulator,
    pub dir: tempfile::TempDir,
    /// Extra lines for the config file (appended), e.g. `[safety]` settings.
    pub extra_config: String,
    /// A whole `[target]` section replacing the emulator's (e.g. a scim2-server tenant).
    pub target_section: Option<String>,
    /// `[metrics] listen`, when the test wants the daemon's HTTP listener.
    pub metrics_listen: Option<String>,
}

impl World {
    /// slapd loaded with `ldif`, an unlimited emulator (no rate limit), empty state.
    pub async fn start(ldif: &str) -> World {
        Self::start_with(ldif, EmulatorConfig::unlimited()).await
    }

    pub async fn start_with(ldif: &str, zoom: EmulatorConfig) -> World {
        Self::start_on(Slapd::start(ldif), zoom).await
    }

    /// slapd with the syncprov overlay (and a session log), for the change channel.
    pub async fn start_syncprov(ldif: &str, zoom: EmulatorConfig) -> World {
        Self::start_on(Slapd::start_with_syncprov(ldif, Some(10_000)), zoom).await
    }

    /// A world on a slapd started some other way.
    pub async fn start_on(slapd: Slapd, zoom: EmulatorConfig) -> World {
        zoomsync::install_crypto_provider();
        let zoom = Emulator::start(zoom, "127.0.0.1:0".parse().unwrap()).await.unwrap();
        let dir = tempfile::Builder::new().prefix("zoomsync-world-").tempdir().unwrap();
        std::fs::write(dir.path().join("ldap-password"), SERVICE_PASSWORD).unwrap();
        std::fs::write(dir.path().join("zoom-secret"), zoom.client_secret()).unwrap();
        let world = World { slapd, zoom, dir, extra_config: String::new(), target_section: None, metrics_listen: None };
        world.write_config();
        world
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("zoomsync.toml")
    }

    pub fn state_path(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// Targets a scim2-server tenant (generic SCIM profile, bearer token) instead of the
    /// emulator; call `write_config` after.
    pub fn use_scim2(&mut self, server: &super::servers::scim2::Scim2Server, tenant: &str) {
        std::fs::write(self.dir.path().join("scim-token"), &server.token).unwrap();
        self.target_section = Some(format!(
            "[target]\nkind = \"scim\"\nbase_url = \"{}\"\nbearer_token_file = \"scim-token\"\n\
             requests_per_second = 2000\nmax_concurrency = 8\ntimeout = \"30s\"\n",
            server.tenant_url(tenant)
        ));
    }

    /// (Re)writes the config file from the current settings.
    pub fn write_config(&self) {
        let text = format!(
            r#"[directory]
url = "{ldaps}"
ca_file = {ca:?}
bind_dn = "{SERVICE_DN}"
bind_password_file = "ldap-password"
base_dn = "ou=people,dc=example,dc=com"
disabled_attribute = "employeeType"
disabled_value = "former"
page_size = 500

{target}

[state]
path = "state"

[admin]
socket = "admin.sock"

{metrics}
{extra}
"#,
            ldaps = self.slapd.ldaps_url(),
            ca = self.slapd.ca_file(),
            target = self.target_section.clone().unwrap_or_else(|| format!(
                "[target]\nkind = \"zoom\"\nbase_url = \"{}\"\ntoken_url = \"{}\"\naccount_id = \"{}\"\n\
                 client_id = \"{}\"\nclient_secret_file = \"zoom-secret\"\nrequests_per_second = 5000\n\
                 max_concurrency = 8\ntimeout = \"10s\"\n",
                self.zoom.base_url(),
                self.zoom.token_url(),
                self.zoom.account_id(),
                self.zoom.client_id()
            )),
            extra = self.extra_config,
            metrics = match &self.metrics_listen {
                Some(listen) => format!("[metrics]\nlisten = \"{listen}\"\n"),
                None => "[metrics]\nenabled = false\n".to_string(),
            },
        );
        std::fs::write(self.config_path(), text).unwrap();
    }

    pub fn config(&self) -> Config {
        config::load(&self.config_path()).unwrap_or_else(|e| panic!("world config: {e}"))
    }

    /// One cycle through the library, as `sync --once` runs it.
    pub async fn cycle(&self, options: CycleOptions) -> CycleReport {
        let config = self.config();
        let directory = AnyDirectory::from_config(&config.directory);
        self.cycle_with(&directory, options).await
    }

    /// One cycle with a given directory adapter (e.g. one that breaks mid-read).
    pub async fn cycle_with<D: Directory + Sync>(&self, directory: &D, options: CycleOptions) -> CycleReport {
        library_cycle(&self.config(), &self.state_path(), directory, &options).await
    }

    /// The anchor state records for a userName.
    pub fn store_anchor(&self, user_name: &str) -> String {
        use zoomsync::state::StateStore;
        let store = self.store();
        let users = store.users().unwrap();
        users.into_iter().find(|k| k.user_name == user_name).unwrap().anchor.to_string()
    }

    /// Opens the state store (between cycles) to inspect it.
    pub fn store(&self) -> SledStore {
        SledStore::open(&self.state_path()).unwrap()
    }

    /// Applies an LDIF change (`changetype: modify` / `delete` / `add`) as the directory admin.
    pub fn ldap_modify(&self, ldif: &str) {
        let admin = LdapTools {
            url: self.slapd.ldap_url(),
            bind_dn: "cn=admin,dc=example,dc=com",
            password: "adminpass",
            ca_file: None,
        };
        admin.apply("ldapmodify", ldif);
    }

    pub fn set_attribute(&self, uid: &str, attribute: &str, value: &str) {
        self.ldap_modify(&format!(
            "dn: uid={uid},ou=people,dc=example,dc=com\nchangetype: modify\nreplace: {attribute}\n{attribute}: {value}\n"
        ));
    }

    pub fn delete_user(&self, uid: &str) {
        self.ldap_modify(&format!("dn: uid={uid},ou=people,dc=example,dc=com\nchangetype: delete\n"));
    }

    /// Seconds `ldapsearch` takes to read these entries over LDAPS as the sync account
    /// (paged like zoomsync): the yardstick the benches compare a cycle with.
    pub fn ldapsearch_seconds(&self, base: &str, filter: &str, attributes: &[&str]) -> f64 {
        let start = std::time::Instant::now();
        let status = Command::new("ldapsearch")
            .env("LDAPTLS_CACERT", self.slapd.ca_file())
            .args(["-LLL", "-x", "-H", &self.slapd.ldaps_url(), "-D", SERVICE_DN, "-w", SERVICE_PASSWORD])
            .args(["-b", base, "-E", "pr=500/noprompt", filter])
            .args(attributes)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        start.elapsed().as_secs_f64()
    }

    /// Runs the real binary with this world's config.
    pub fn zoomsync(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_zoomsync"))
            .args(args)
            .arg("--config")
            .arg(self.config_path())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs the real binary without blocking the runtime (needed on a current-thread
    /// runtime, where the in-process emulator must keep answering the child).
    pub async fn zoomsync_async(&self, args: &[&str]) -> (i32, String, String) {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_zoomsync"))
            .args(args)
            .arg("--config")
            .arg(self.config_path())
            .output()
            .await
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Zoom users other than the account owner the emulator starts with.
    pub fn zoom_members(&self) -> Vec<zoomsync::emulator::User> {
        self.zoom.users().into_iter().filter(|u| u.user_name != "owner@example.com").collect()
    }
}

/// One cycle through the library, as `sync --once` runs it: the config's target, mapping,
/// safety and groups, sled state in `state`, and the given directory adapter.
pub async fn library_cycle<D: Directory + Sync>(
    config: &Config,
    state: &Path,
    directory: &D,
    options: &CycleOptions,
) -> CycleReport {
    let client = ScimClient::new(config.target.as_ref().unwrap()).unwrap();
    std::fs::create_dir_all(state).unwrap();
    let store = SledStore::open(state).unwrap();
    let engine = Engine::with_adapters(config, directory, client, store);
    engine.run_cycle(options, &Shutdown::never()).await.unwrap()
}
