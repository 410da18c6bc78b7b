//! Validated configuration.
//!
//! The file is parsed strictly (`deny_unknown_fields`) into [`raw::RawConfig`], then
//! [`validate`] checks every key and resolves secrets into a [`Config`] whose fields need no
//! further checking. Every error names the key path (`directory.page_size`) and the problem,
//! and the binary exits with status 2 before it opens state or talks to a server.

pub mod changes;
pub mod mapping;
mod raw;
mod secret;
mod state_path;
mod validate;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use changes::ChangesMode;
pub use secret::{Secret, SecretError, read_credential, read_secret_file};
pub use validate::validate;

/// Where the daemon reads its config when `--config` is not given.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/zoomsync/zoomsync.toml";

/// A config problem, with the key it concerns. The caller prints it and exits 2.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("{key}: {problem}")]
    Invalid { key: String, problem: String },
    /// Several keys at once (every required key missing), so one run names them all.
    #[error("{}", several(.0))]
    Several(Vec<ConfigError>),
}

fn several(errors: &[ConfigError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

impl ConfigError {
    pub(crate) fn invalid(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Invalid { key: key.into(), problem: problem.into() }
    }

    /// None for no error, the error itself for one, [`ConfigError::Several`] for more.
    pub(crate) fn all(mut errors: Vec<ConfigError>) -> Option<Self> {
        match errors.len() {
            0 => None,
            1 => errors.pop(),
            _ => Some(Self::Several(errors)),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub directory: DirectoryConfig,
    pub mapping: mapping::MappingConfig,
    pub target: Option<TargetConfig>,
    pub schedule: ScheduleConfig,
    pub safety: SafetyConfig,
    pub state: StateConfig,
    pub metrics: MetricsConfig,
    pub logging: LoggingConfig,
    pub admin: AdminConfig,
    /// `None`: users only; no group is read or pushed.
    pub groups: Option<GroupsConfig>,
    /// `[lease]` with `enabled = true`: one of several hosts writes, the others stand by.
    /// `None` (the default): this host always writes, as before.
    pub lease: Option<LeaseConfig>,
}

/// `[lease]`: which host may write to Zoom, decided by a lease in the directory: the value
/// `<holder> <expires-unix>` of `attribute` on the entry `dn`, taken and renewed by one
/// atomic LDAP Modify (delete the old value, add the new one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseConfig {
    pub dn: String,
    pub attribute: String,
    /// This host's name in the lease (default: the host name); no whitespace.
    pub holder: String,
    /// How long a lease lasts without renewal; renewed every third of it.
    pub ttl: Duration,
}

/// `[groups]`: which directory groups become Zoom groups, how nesting is flattened, and
/// which groups put users in scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupsConfig {
    /// Where groups are searched (default: `directory.base_dn`; empty for LDIF = everywhere).
    pub base_dn: String,
    /// Which entries are groups: nested groups and scoping groups are looked up among these.
    pub class_filter: String,
    /// Groups pushed to Zoom: those this filter matches (searched under `base_dn`)...
    pub filter: Option<String>,
    /// ...and those with these names (values of `name_attribute`). At least one of the two
    /// is set, so no directory's every group is pushed by accident.
    pub names: Vec<String>,
    pub name_attribute: String,
    /// Attributes holding member DNs (`member`, `uniqueMember`).
    pub member_attributes: Vec<String>,
    pub nesting: Nesting,
    /// Group-based scope: when non-empty, only users in (the flattened membership of) one of
    /// these groups are in scope; leaving them deactivates, under the guards.
    pub scope: Vec<String>,
    /// Delete a Zoom group zoomsync created when its directory group is gone. Groups
    /// zoomsync found and linked by name are never deleted.
    pub delete_created: bool,
    /// Directory group name (lower-cased) -> Zoom group name; default: the same name.
    pub zoom_names: std::collections::BTreeMap<String, String>,
    /// Groups the mapping asks about (`member_of` in an expression): read and flattened for
    /// the mapping, never pushed and never scoping. Filled from `[mapping]`, not a key.
    pub mapped: Vec<String>,
}

impl GroupsConfig {
    /// The Zoom name for a directory group name.
    pub fn zoom_name(&self, directory_name: &str) -> String {
        self.zoom_names.get(&directory_name.to_lowercase()).cloned().unwrap_or_else(|| directory_name.to_string())
    }
}

/// How nested groups are flattened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nesting {
    /// AD: one search per group with LDAP_MATCHING_RULE_IN_CHAIN (1.2.840.113556.1.4.1941);
    /// the server walks the nesting.
    InChain,
    /// Member DNs that name groups are expanded here, with cycle detection.
    Expand,
    /// Direct members only; member groups are ignored.
    Direct,
}

/// The daemon's admin socket (`status`, `sync now`, `approve`... while it runs).
#[derive(Debug, Clone)]
pub struct AdminConfig {
    pub socket: PathBuf,
}

#[derive(Debug, Clone)]
pub struct DirectoryConfig {
    pub source: SourceConfig,
    pub decode: DecodeRules,
}

#[derive(Debug, Clone)]
pub enum SourceConfig {
    Ldap(LdapConfig),
    /// An LDIF file; `filter` picks the user entries, as `user_filter` does on a server.
    Ldif {
        path: PathBuf,
        filter: crate::model::ldap_filter::Filter,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    OpenLdap,
    ActiveDirectory,
    /// 389 Directory Server and what is built on it (Red Hat Directory Server, FreeIPA).
    Ds389,
    Generic,
}

impl Flavor {
    /// The value of `directory.flavor` that selects it.
    pub fn config_name(self) -> &'static str {
        match self {
            Flavor::OpenLdap => "openldap",
            Flavor::ActiveDirectory => "active_directory",
            Flavor::Ds389 => "389ds",
            Flavor::Generic => "generic",
        }
    }
}

/// How the connection is protected. Plain is only reachable through `insecure = true`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    Ldaps,
    StartTls,
    Plain,
}

#[derive(Debug, Clone)]
pub struct LdapConfig {
    pub url: String,
    pub tls: TlsMode,
    pub ca_file: Option<PathBuf>,
    pub bind: Option<Bind>,
    pub base_dn: String,
    pub user_filter: String,
    pub page_size: i32,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// `directory.changes`: the change channel between cycles (the daemon's).
    pub changes: ChangesMode,
    /// `directory.poll_interval`: how often uSNChanged or DirSync is polled.
    pub poll_interval: Duration,
}

#[derive(Debug, Clone)]
pub struct Bind {
    pub dn: String,
    pub password: Secret,
}

/// Everything decode needs to turn an entry into a user; pure data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeRules {
    pub flavor: Flavor,
    pub anchor_attribute: String,
    /// Read when an entry has no (readable) `anchor_attribute`: 389-ds's `nsUniqueId` under
    /// the 389ds flavour's default anchor (entryUUID). Same `anchor_format`.
    pub anchor_fallback: Option<String>,
    pub anchor_format: AnchorFormat,
    pub user_name_attribute: String,
    pub disabled: DisabledRule,
    /// Text attributes kept on each user for mapping (and requested from the server).
    pub keep_attributes: Vec<String>,
}

impl DecodeRules {
    /// The attribute list to request: operational ones (entryUUID, pwdAccountLockedTime)
    /// are only returned when named, so everything decode reads is named here.
    pub fn requested_attributes(&self) -> Vec<String> {
        let mut names = vec![self.anchor_attribute.clone()];
        names.extend(self.anchor_fallback.iter().cloned());
        names.push(self.user_name_attribute.clone());
        match &self.disabled {
            DisabledRule::Never => {}
            DisabledRule::Present { attribute } | DisabledRule::Equals { attribute, .. } => {
                names.push(attribute.clone())
            }
            DisabledRule::AccountControl => names.push("userAccountControl".into()),
            DisabledRule::AccountLock => names.extend([ACCOUNT_LOCK_ATTRIBUTE.to_string(), ROLE_ATTRIBUTE.to_string()]),
        }
        names.extend(self.keep_attributes.iter().cloned());
        let mut seen = std::collections::BTreeSet::new();
        names.retain(|n| seen.insert(n.to_ascii_lowercase()));
        names
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnchorFormat {
    /// The value is text (entryUUID, employeeNumber...).
    Text,
    /// The value is a 16-byte GUID shown in AD's mixed-endian text form.
    Guid,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisabledRule {
    Never,
    /// Disabled when the attribute has any value (e.g. `pwdAccountLockedTime`).
    Present {
        attribute: String,
    },
    /// Disabled when the attribute has this value, compared case-insensitively.
    Equals {
        attribute: String,
        value: String,
    },
    /// AD: `userAccountControl` has bit 0x2 (ACCOUNTDISABLE).
    AccountControl,
    /// 389-ds: `nsAccountLock` is `true` (any case; stored, or computed by the inactivation
    /// CoS for a locked role), or `nsRole` lists the suffix's `cn=nsDisabledRole` (the role
    /// lock as 389-ds's own tools report it). `nsAccountLock: false` is not a lock. Both
    /// attributes are operational: requested by name.
    AccountLock,
}

/// 389-ds's account lock (operational).
pub const ACCOUNT_LOCK_ATTRIBUTE: &str = "nsAccountLock";
/// 389-ds's computed roles of an entry (operational; lower-cased role DNs).
pub const ROLE_ATTRIBUTE: &str = "nsRole";
/// The RDN of the role whose members 389-ds treats as locked (one per suffix).
pub const DISABLED_ROLE_RDN: &str = "cn=nsDisabledRole";

#[derive(Debug, Clone)]
pub struct TargetConfig {
    pub kind: TargetKind,
    pub base_url: url::Url,
    pub auth: TargetAuth,
    pub rate: RateLimit,
    pub max_concurrency: usize,
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
    pub connect_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    Zoom,
    Scim,
}

#[derive(Debug, Clone)]
pub enum TargetAuth {
    /// Zoom Server-to-Server OAuth (`grant_type=account_credentials`).
    ZoomOauth { token_url: url::Url, account_id: String, client_id: String, client_secret: Secret },
    /// A static bearer token (generic SCIM servers).
    Bearer { token: Secret },
}

/// Requests per second per Zoom rate-limit label.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub light_per_second: f64,
    pub medium_per_second: f64,
}

#[derive(Debug, Clone)]
pub struct ScheduleConfig {
    pub trigger: ScheduleTrigger,
    pub run_on_start: bool,
    pub full_reconcile_every: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleTrigger {
    Interval(Duration),
    Cron(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SafetyConfig {
    pub max_deactivations: u64,
    pub max_deactivation_percent: f64,
    /// `None`: never DELETE, only deactivate.
    pub delete_after: Option<Duration>,
    /// The change channel's deactivations and deletions within this long count together
    /// against the limits above, as one cycle's do.
    pub change_window: Duration,
}

#[derive(Debug, Clone)]
pub struct StateConfig {
    pub path: PathBuf,
    /// At most this often (after a committed cycle), a snapshot of the state is written to
    /// `<path>/snapshots`; also after the first cycle and whenever the held operations change.
    pub snapshot_every: Duration,
    /// Snapshots kept (the newest); 0 writes none.
    pub snapshots_keep: usize,
}

#[derive(Debug, Clone)]
pub struct MetricsConfig {
    pub listen: Option<SocketAddr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct LoggingConfig {
    pub format: LogFormat,
    pub level: String,
}

/// Reads and validates a config file; `$CREDENTIALS_DIRECTORY` resolves `*_credential` keys.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::Unreadable { path: path.to_path_buf(), reason: e.kind().to_string() })?;
    let credentials = std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from);
    let base = path.parent().unwrap_or(Path::new("."));
    let config = parse(&text, base, credentials.as_deref())?;
    state_path::check(&config.state.path)?;
    Ok(config)
}

/// Parses config text. Relative paths in it are resolved against `base_dir`.
pub fn parse(text: &str, base_dir: &Path, credentials_dir: Option<&Path>) -> Result<Config, ConfigError> {
    let raw = validate::parse_raw(text)?;
    validate(raw, base_dir, credentials_dir)
}

/// The `[logging]` settings of a config file, read before anything else so the log format
/// and level apply from the first line. Any problem yields `None` (the full load reports it).
pub fn logging_of(path: &Path) -> Option<LoggingConfig> {
    #[derive(serde::Deserialize)]
    struct OnlyLogging {
        #[serde(default)]
        logging: raw::RawLogging,
    }
    let text = std::fs::read_to_string(path).ok()?;
    let table: toml::Table = toml::from_str(&text).ok()?;
    let only: OnlyLogging = toml::Value::Table(table).try_into().ok()?;
    let format = match only.logging.format.as_deref() {
        Some(f) if f.eq_ignore_ascii_case("json") => LogFormat::Json,
        _ => LogFormat::Text,
    };
    Some(LoggingConfig { format, level: only.logging.level.unwrap_or_else(|| "info".into()) })
}
