//! [`HermeticWorld`]: the real engine over an in-memory directory, the in-process Zoom
//! emulator (loopback, port 0) and an in-memory state store — the demo's wiring, with ways
//! to change each side between cycles and to look at what Zoom and the state hold.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;

use zoomsync::config::{self, Config, Secret, SourceConfig, TargetAuth, TargetConfig};
use zoomsync::emulator::{Emulator, EmulatorConfig, RunningEmulator, User};
use zoomsync::model::{KnownUser, Meta, RawEntry};
use zoomsync::scim::{RetryPolicy, ScimClient, Target};
use zoomsync::source::memory::MemoryDirectory;
use zoomsync::state::StateStore;
use zoomsync::state::memory::MemoryStore;
use zoomsync::sync::{CycleOptions, CycleReport, Engine, Shutdown};

use super::directory::{self, HermeticDirectory};

/// OpenLDAP defaults (anchor entryUUID, userName from mail, disabled = pwdAccountLockedTime
/// present), mapping defaults, guards loose enough for scenario edits unless a test sets its
/// own `[safety]`. The path is never read: the directory is in memory.
const BASE_CONFIG: &str = r#"
[directory]
kind = "ldif"
flavor = "openldap"
path = "hermetic.ldif"

[metrics]
enabled = false
"#;

const DEFAULT_SAFETY: &str = "[safety]\nmax_deactivations = 50\nmax_deactivation_percent = 50\n";

pub type HermeticEngine = Engine<HermeticDirectory, ScimClient, MemoryStore>;

/// A change to the target settings, applied when the world starts.
type TargetEdit = Box<dyn FnOnce(&mut TargetConfig)>;

pub struct WorldBuilder {
    people: usize,
    extra_ldif: String,
    safety: String,
    extra_config: String,
    emulator: EmulatorConfig,
    client_secret: Option<String>,
    max_concurrency: usize,
    retries: RetryPolicy,
    target: Vec<TargetEdit>,
}

impl WorldBuilder {
    /// More LDIF records after the people (groups, odd entries).
    pub fn ldif(mut self, text: &str) -> Self {
        self.extra_ldif.push_str(text);
        self
    }

    /// A `[safety]` section replacing the loose default.
    pub fn safety(mut self, section: &str) -> Self {
        self.safety = section.to_string();
        self
    }

    /// Config sections appended as they are (e.g. `[groups]`).
    pub fn config(mut self, text: &str) -> Self {
        self.extra_config.push_str(text);
        self
    }

    pub fn emulator(mut self, emulator: EmulatorConfig) -> Self {
        self.emulator = emulator;
        self
    }

    /// The client's secret instead of the emulator's (a wrong one: 401 on the token).
    pub fn client_secret(mut self, secret: &str) -> Self {
        self.client_secret = Some(secret.to_string());
        self
    }

    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.max_concurrency = n;
        self
    }

    /// The client's retry limits instead of [`fast_retries`] (kept across `restart`).
    pub fn retries(mut self, policy: RetryPolicy) -> Self {
        self.retries = policy;
        self
    }

    /// Changes the target settings after they point at the emulator (timeouts, URLs, auth).
    pub fn target(mut self, edit: impl FnOnce(&mut TargetConfig) + 'static) -> Self {
        self.target.push(Box::new(edit));
        self
    }

    pub async fn start(self) -> HermeticWorld {
        zoomsync::install_crypto_provider();
        let zoom = Emulator::start(self.emulator, "127.0.0.1:0".parse().unwrap()).await.unwrap();
        let text = format!("{BASE_CONFIG}\n{}\n{}", self.safety, self.extra_config);
        let mut config = config::parse(&text, std::path::Path::new("."), None).unwrap();
        let SourceConfig::Ldif { filter, .. } = &config.directory.source else {
            panic!("the hermetic config uses the LDIF source");
        };
        let ldif = format!("{}{}", directory::people_ldif(self.people), self.extra_ldif);
        let directory = HermeticDirectory::new(MemoryDirectory::from_ldif(&ldif, filter.clone()).unwrap());
        let mut target = zoom.target_config().unwrap();
        target.max_concurrency = self.max_concurrency;
        if let (Some(secret), TargetAuth::ZoomOauth { client_secret, .. }) = (self.client_secret, &mut target.auth) {
            *client_secret = Secret::from_value(secret);
        }
        for edit in self.target {
            edit(&mut target);
        }
        config.target = Some(target);
        let store = MemoryStore::default();
        let engine = build_engine(&config, &directory, &store, &self.retries);
        HermeticWorld { zoom, config, directory, store, engine, retries: self.retries }
    }
}

/// Client retries for tests: production's attempts, milliseconds apart.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 6,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
        per_request: Duration::from_secs(20),
        per_cycle: Duration::from_secs(60),
    }
}

fn client(config: &Config, retries: &RetryPolicy) -> ScimClient {
    ScimClient::new(config.target.as_ref().unwrap()).unwrap().with_retry_policy(retries.clone())
}

fn build_engine(
    config: &Config,
    directory: &HermeticDirectory,
    store: &MemoryStore,
    retries: &RetryPolicy,
) -> HermeticEngine {
    Engine::with_adapters(config, directory.clone(), client(config, retries), store.clone())
}

pub struct HermeticWorld {
    pub zoom: RunningEmulator,
    pub config: Config,
    pub directory: HermeticDirectory,
    /// A handle on the engine's store (clones share it).
    pub store: MemoryStore,
    engine: HermeticEngine,
    retries: RetryPolicy,
}

impl HermeticWorld {
    /// `people` enabled people (`user000`..), an unlimited emulator, loose guards.
    pub fn builder(people: usize) -> WorldBuilder {
        WorldBuilder {
            people,
            extra_ldif: String::new(),
            safety: DEFAULT_SAFETY.to_string(),
            extra_config: String::new(),
            emulator: EmulatorConfig::unlimited(),
            client_secret: None,
            max_concurrency: 8,
            retries: fast_retries(),
            target: Vec::new(),
        }
    }

    pub async fn start(people: usize) -> Self {
        Self::builder(people).start().await
    }

    /// One cycle, as `sync --once` runs it.
    pub async fn cycle(&self) -> CycleReport {
        self.cycle_with(CycleOptions::default()).await
    }

    pub async fn cycle_with(&self, options: CycleOptions) -> CycleReport {
        self.engine.run_cycle(&options, &Shutdown::never()).await.unwrap()
    }

    /// A dry run, as `zoomsync plan` runs it.
    pub async fn plan(&self) -> CycleReport {
        self.cycle_with(CycleOptions { dry_run: true, ..Default::default() }).await
    }

    /// Changes the directory (every entry, people and groups).
    pub fn edit(&self, edit: impl FnOnce(&mut Vec<RawEntry>)) {
        self.directory.edit(edit);
    }

    /// A copy of every directory entry (to put back later).
    pub fn directory_snapshot(&self) -> Vec<RawEntry> {
        let mut copy = Vec::new();
        self.edit(|entries| copy = entries.clone());
        copy
    }

    /// Changes person `i` (or the entry with that uid); panics when there is none.
    pub fn edit_person(&self, i: usize, edit: impl FnOnce(&mut RawEntry)) {
        let uid = directory::uid(i);
        self.edit(|entries| {
            let entry = entries.iter_mut().find(|e| e.first_text("uid") == Some(uid.as_str())).unwrap();
            edit(entry);
        });
    }

    /// Locks person `i` (OpenLDAP ppolicy): disabled under the openldap defaults.
    pub fn lock(&self, i: usize) {
        self.edit_person(i, |e| e.set("pwdAccountLockedTime", Some("000001010000Z")));
    }

    pub fn unlock(&self, i: usize) {
        self.edit_person(i, |e| e.set("pwdAccountLockedTime", None));
    }

    /// Removes person `i`'s entry.
    pub fn remove_person(&self, i: usize) {
        let uid = directory::uid(i);
        self.edit(|entries| entries.retain(|e| e.first_text("uid") != Some(uid.as_str())));
    }

    /// The process restarts: a new engine and client over the same directory and a clone of
    /// the same store.
    pub fn restart(&mut self) {
        self.engine = build_engine(&self.config, &self.directory, &self.store, &self.retries);
    }

    /// Changes the client secret the next engine uses (call `restart` after).
    pub fn set_client_secret(&mut self, secret: &str) {
        if let Some(TargetAuth::ZoomOauth { client_secret, .. }) = self.config.target.as_mut().map(|t| &mut t.auth) {
            *client_secret = Secret::from_value(secret);
        }
    }

    /// Changes the target settings the next engine uses (call `restart` after).
    pub fn edit_target(&mut self, edit: impl FnOnce(&mut TargetConfig)) {
        if let Some(target) = self.config.target.as_mut() {
            edit(target);
        }
    }

    /// A new client for this world's emulator (fast retries).
    pub fn client(&self) -> ScimClient {
        client(&self.config, &self.retries)
    }

    /// An engine over another target (a wrapper), same directory and store.
    pub fn engine_with<T: Target>(&self, target: T) -> Engine<HermeticDirectory, T, MemoryStore> {
        Engine::with_adapters(&self.config, self.directory.clone(), target, self.store.clone())
    }

    /// Zoom users other than the account owner, in creation order.
    pub fn zoom_users(&self) -> Vec<User> {
        self.zoom.users().into_iter().filter(|u| u.user_name != "owner@example.com").collect()
    }

    /// The Zoom user with person `i`'s original userName.
    pub fn zoom_user(&self, i: usize) -> User {
        let name = directory::user_name(i);
        self.zoom.user_by_name(&name).unwrap_or_else(|| panic!("{name} is not on Zoom"))
    }

    pub fn known(&self) -> Vec<KnownUser> {
        self.store.users().unwrap()
    }

    pub fn known_by_name(&self, user_name: &str) -> KnownUser {
        self.known()
            .into_iter()
            .find(|k| k.user_name == user_name)
            .unwrap_or_else(|| panic!("{user_name} not in state"))
    }

    pub fn meta(&self) -> Meta {
        self.store.meta().unwrap()
    }

    /// SCIM user writes (create, PUT, PATCH, DELETE) since the last request reset.
    pub fn user_writes(&self) -> u64 {
        let c = self.zoom.request_counts();
        ["POST /scim2/Users", "PUT /scim2/Users/{id}", "PATCH /scim2/Users/{id}", "DELETE /scim2/Users/{id}"]
            .iter()
            .map(|k| c.key(k))
            .sum()
    }

    /// Asserts that nothing at all reached the emulator since the last request reset (token
    /// endpoint included), naming what did.
    pub fn assert_no_requests(&self, context: &str) {
        let c = self.zoom.request_counts();
        let recent: Vec<String> = self.zoom.requests(20).iter().map(|r| format!("{} {}", r.method, r.path)).collect();
        assert_eq!(c.total, 0, "{context}: requests sent: {recent:?}");
    }

    /// The Zoom side agrees with state: every directory user in `expected` exactly once on
    /// Zoom, no other users, every known anchor pointing at its own existing Zoom user.
    pub fn assert_converged(&self, expected: &BTreeSet<String>) {
        let users = self.zoom_users();
        let names: Vec<String> = users.iter().map(|u| u.user_name.to_lowercase()).collect();
        let unique: BTreeSet<String> = names.iter().cloned().collect();
        assert_eq!(names.len(), unique.len(), "a userName exists twice on Zoom: {names:?}");
        assert_eq!(&unique, expected, "Zoom's users");
        let known = self.known();
        assert_eq!(known.len(), expected.len(), "state records");
        let ids: HashSet<&str> = known.iter().map(|k| k.zoom_id.as_str()).collect();
        assert_eq!(ids.len(), known.len(), "two anchors share a Zoom id");
        let by_id: BTreeMap<&str, &str> = users.iter().map(|u| (u.id.as_str(), u.user_name.as_str())).collect();
        for k in &known {
            assert_eq!(by_id.get(k.zoom_id.as_str()).copied(), Some(k.user_name.as_str()), "{k:?}");
        }
    }
}

/// userNames of people `range`.
pub fn names(range: impl IntoIterator<Item = usize>) -> BTreeSet<String> {
    range.into_iter().map(directory::user_name).collect()
}
