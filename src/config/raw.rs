//! The configuration file exactly as written: every key optional where a default exists,
//! unknown keys refused. `validate` turns this into [`super::Config`]; nothing else reads it.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub directory: Option<RawDirectory>,
    pub target: Option<RawTarget>,
    #[serde(default)]
    pub schedule: RawSchedule,
    #[serde(default)]
    pub safety: RawSafety,
    #[serde(default)]
    pub state: RawState,
    #[serde(default)]
    pub metrics: RawMetrics,
    #[serde(default)]
    pub logging: RawLogging,
    #[serde(default)]
    pub admin: RawAdmin,
    pub groups: Option<RawGroups>,
    #[serde(default)]
    pub lease: RawLease,
    /// Field name (`givenName`, `title`, ...) -> rule.
    pub mapping: Option<std::collections::BTreeMap<String, RawMappingValue>>,
}

/// A mapping entry: an attribute name, `false` to stop managing the field, or a table.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawMappingValue {
    Attribute(String),
    Managed(bool),
    Rule(RawMappingRule),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMappingRule {
    pub attribute: Option<String>,
    pub constant: Option<String>,
    pub template: Option<String>,
    pub expression: Option<String>,
    pub lowercase: Option<bool>,
    pub only_on_create: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDirectory {
    pub kind: Option<String>,
    pub flavor: Option<String>,
    pub url: Option<String>,
    pub start_tls: Option<bool>,
    pub insecure: Option<bool>,
    pub ca_file: Option<PathBuf>,
    pub bind_dn: Option<String>,
    pub bind_password_file: Option<PathBuf>,
    pub bind_password_credential: Option<String>,
    pub base_dn: Option<String>,
    pub user_filter: Option<String>,
    pub page_size: Option<i64>,
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub connect_timeout: Option<Duration>,
    pub path: Option<PathBuf>,
    pub anchor_attribute: Option<String>,
    pub anchor_format: Option<String>,
    pub user_name_attribute: Option<String>,
    pub disabled_attribute: Option<String>,
    pub disabled_value: Option<String>,
    pub attributes: Option<Vec<String>>,
    pub changes: Option<crate::config::ChangesMode>,
    #[serde(default, with = "humantime_serde")]
    pub poll_interval: Option<Duration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    pub kind: Option<String>,
    pub base_url: Option<String>,
    pub token_url: Option<String>,
    pub account_id: Option<String>,
    pub client_id: Option<String>,
    pub client_secret_file: Option<PathBuf>,
    pub client_secret_credential: Option<String>,
    pub bearer_token_file: Option<PathBuf>,
    pub bearer_token_credential: Option<String>,
    pub rate_limit: Option<String>,
    pub requests_per_second: Option<f64>,
    pub max_concurrency: Option<i64>,
    pub ca_file: Option<PathBuf>,
    pub insecure: Option<bool>,
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub connect_timeout: Option<Duration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSchedule {
    #[serde(default, with = "humantime_serde")]
    pub interval: Option<Duration>,
    pub cron: Option<String>,
    pub run_on_start: Option<bool>,
    #[serde(default, with = "humantime_serde")]
    pub full_reconcile_every: Option<Duration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSafety {
    pub max_deactivations: Option<i64>,
    pub max_deactivation_percent: Option<f64>,
    #[serde(default, with = "humantime_serde")]
    pub delete_after: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub change_window: Option<Duration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawState {
    pub path: Option<PathBuf>,
    #[serde(default, with = "humantime_serde")]
    pub snapshot_every: Option<Duration>,
    pub snapshots_keep: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetrics {
    pub enabled: Option<bool>,
    pub listen: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLogging {
    pub format: Option<String>,
    pub level: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAdmin {
    pub socket: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGroups {
    pub base_dn: Option<String>,
    pub class_filter: Option<String>,
    pub filter: Option<String>,
    pub names: Option<Vec<String>>,
    pub name_attribute: Option<String>,
    pub member_attributes: Option<Vec<String>>,
    pub nesting: Option<String>,
    pub scope: Option<Vec<String>>,
    pub delete_created: Option<bool>,
    pub zoom_names: Option<std::collections::BTreeMap<String, String>>,
}

/// `[lease]`: the standby's lease in the directory (off unless `enabled = true`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLease {
    pub enabled: Option<bool>,
    pub dn: Option<String>,
    pub attribute: Option<String>,
    pub holder: Option<String>,
    #[serde(default, with = "humantime_serde")]
    pub ttl: Option<Duration>,
}
