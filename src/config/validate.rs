//! Raw config -> [`Config`]: defaults, cross-key rules, secrets. One function per section.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::raw::{RawConfig, RawLogging, RawMetrics, RawSafety, RawSchedule, RawState};
use super::{
    Config, ConfigError, LogFormat, LoggingConfig, MetricsConfig, SafetyConfig, ScheduleConfig, ScheduleTrigger,
    Secret, StateConfig, read_credential, read_secret_file,
};

mod directory;
mod dn;
mod groups;
mod lease;
mod mapping;
mod target;

/// TOML text -> raw config; a syntax error or an unknown key names the key path.
pub(super) fn parse_raw(text: &str) -> Result<RawConfig, ConfigError> {
    let deserializer =
        toml::Deserializer::parse(text).map_err(|e| ConfigError::invalid("<file>", one_line(&e.to_string())))?;
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        let key = if path == "." || path.is_empty() { "<file>".to_string() } else { path };
        ConfigError::invalid(key, one_line(&e.inner().to_string()))
    })
}

/// toml errors span several lines with a source excerpt; keep the message line.
fn one_line(message: &str) -> String {
    let lines: Vec<&str> = message.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let text = lines
        .iter()
        .find(|l| !l.starts_with("TOML parse error") && !l.contains('|') && !l.starts_with('^'))
        .or(lines.first())
        .copied()
        .unwrap_or("invalid");
    match lines.first() {
        Some(head) if head.starts_with("TOML parse error") && *head != text => {
            format!("{text} ({})", head.trim_start_matches("TOML parse error ").trim_end_matches(':'))
        }
        _ => text.to_string(),
    }
}

pub fn validate(raw: RawConfig, base_dir: &Path, credentials_dir: Option<&Path>) -> Result<Config, ConfigError> {
    let secrets = SecretResolver { base_dir, credentials_dir };
    let mut directory = directory::validate(
        raw.directory.ok_or_else(|| ConfigError::invalid("directory", "section is required"))?,
        &secrets,
    )?;
    let mapping = mapping::validate(raw.mapping, directory.decode.flavor)?;
    // Whatever mapping reads must be requested from the server and kept by decode.
    for attribute in mapping.attributes() {
        let keep = &mut directory.decode.keep_attributes;
        if !keep.iter().any(|k| k.eq_ignore_ascii_case(&attribute)) {
            keep.push(attribute);
        }
    }
    let target = raw.target.map(|t| target::validate(t, &secrets)).transpose()?;
    let groups =
        raw.groups.map(|g| groups::validate(g, &directory, mapping.groups_read().into_iter().collect())).transpose()?;
    if groups.is_none()
        && let Some((field, _)) = mapping.rules.iter().find(|(_, r)| r.uses_groups())
    {
        return Err(ConfigError::invalid(
            format!("mapping.{}", field.config_name()),
            "member_of reads the groups zoomsync reads: add a [groups] section (its base_dn and the groups to read)",
        ));
    }
    let lease = lease::validate(raw.lease, &directory)?;
    Ok(Config {
        directory,
        mapping,
        target,
        schedule: schedule(raw.schedule)?,
        safety: safety(raw.safety)?,
        state: state(raw.state, base_dir)?,
        metrics: metrics(raw.metrics)?,
        logging: logging(raw.logging)?,
        admin: super::AdminConfig {
            socket: raw
                .admin
                .socket
                .map(|p| secrets.path(p))
                .unwrap_or_else(|| PathBuf::from("/run/zoomsync/admin.sock")),
        },
        groups,
        lease,
    })
}

/// Resolves `<name>_file` / `<name>_credential` pairs and relative paths.
pub(super) struct SecretResolver<'a> {
    pub base_dir: &'a Path,
    pub credentials_dir: Option<&'a Path>,
}

impl SecretResolver<'_> {
    pub fn path(&self, p: PathBuf) -> PathBuf {
        if p.is_absolute() { p } else { self.base_dir.join(p) }
    }

    /// Exactly one of the two keys must be set when `required`; neither may be set twice.
    pub fn resolve(
        &self,
        section: &str,
        name: &str,
        file: Option<PathBuf>,
        credential: Option<String>,
        required: bool,
    ) -> Result<Option<Secret>, ConfigError> {
        let file_key = format!("{section}.{name}_file");
        let cred_key = format!("{section}.{name}_credential");
        match (file, credential) {
            (Some(_), Some(_)) => {
                Err(ConfigError::invalid(file_key, format!("set either {name}_file or {name}_credential, not both")))
            }
            (Some(path), None) => {
                read_secret_file(&self.path(path)).map(Some).map_err(|e| ConfigError::invalid(file_key, e.to_string()))
            }
            (None, Some(cred)) => read_credential(&cred, self.credentials_dir)
                .map(Some)
                .map_err(|e| ConfigError::invalid(cred_key, e.to_string())),
            (None, None) if required => {
                Err(ConfigError::invalid(file_key, format!("required (or {name}_credential with LoadCredential=)")))
            }
            (None, None) => Ok(None),
        }
    }
}

/// An enum-like string key: the value lower-cased must be one of `allowed`.
pub(super) fn choice<'a>(
    key: &str,
    value: Option<String>,
    default: &'a str,
    allowed: &[&'a str],
) -> Result<&'a str, ConfigError> {
    let Some(v) = value else { return Ok(default) };
    allowed
        .iter()
        .copied()
        .find(|a| a.eq_ignore_ascii_case(&v))
        .ok_or_else(|| ConfigError::invalid(key, format!("{v:?} is not one of {}", allowed.join(", "))))
}

/// A DN-valued key must be an RFC 4514 DN.
pub(super) fn dn_syntax(key: &str, dn: &str) -> Result<(), ConfigError> {
    dn::check(dn).map_err(|e| ConfigError::invalid(key, format!("{dn:?} is not a distinguished name: {e}")))
}

pub(super) fn positive_duration(key: &str, d: Duration) -> Result<Duration, ConfigError> {
    if d.is_zero() { Err(ConfigError::invalid(key, "must be greater than zero")) } else { Ok(d) }
}

fn schedule(raw: RawSchedule) -> Result<ScheduleConfig, ConfigError> {
    let trigger = match (raw.interval, raw.cron) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::invalid("schedule.cron", "set either interval or cron, not both"));
        }
        (None, Some(expr)) => {
            let fields = expr.split_whitespace().count();
            if !(6..=7).contains(&fields) {
                return Err(ConfigError::invalid(
                    "schedule.cron",
                    format!("{expr:?} needs 6 fields, seconds first (UTC), e.g. \"0 15 * * * *\""),
                ));
            }
            // The parser tokio-cron-scheduler builds its jobs with (`Job::new_async`), set up the
            // same way: `run` must not refuse what `check` accepted.
            let parser = croner::parser::CronParser::builder()
                .seconds(croner::parser::Seconds::Required)
                .dom_and_dow(true)
                .build();
            if let Err(e) = parser.parse(&expr) {
                return Err(ConfigError::invalid("schedule.cron", format!("{expr:?}: {e}")));
            }
            ScheduleTrigger::Cron(expr)
        }
        (Some(i), None) => {
            if i < Duration::from_secs(1) {
                return Err(ConfigError::invalid("schedule.interval", "must be at least 1s"));
            }
            ScheduleTrigger::Interval(i)
        }
        (None, None) => ScheduleTrigger::Interval(Duration::from_secs(40 * 60)),
    };
    let full = raw.full_reconcile_every.unwrap_or(Duration::from_secs(24 * 3600));
    Ok(ScheduleConfig {
        trigger,
        run_on_start: raw.run_on_start.unwrap_or(true),
        full_reconcile_every: positive_duration("schedule.full_reconcile_every", full)?,
    })
}

fn safety(raw: RawSafety) -> Result<SafetyConfig, ConfigError> {
    let max = raw.max_deactivations.unwrap_or(50);
    if max < 0 {
        return Err(ConfigError::invalid("safety.max_deactivations", "must be 0 or more"));
    }
    let percent = raw.max_deactivation_percent.unwrap_or(10.0);
    if !(0.0..=100.0).contains(&percent) || percent.is_nan() {
        return Err(ConfigError::invalid("safety.max_deactivation_percent", "must be between 0 and 100"));
    }
    let delete_after = raw.delete_after.map(|d| positive_duration("safety.delete_after", d)).transpose()?;
    let change_window =
        positive_duration("safety.change_window", raw.change_window.unwrap_or(Duration::from_secs(3600)))?;
    Ok(SafetyConfig { max_deactivations: max as u64, max_deactivation_percent: percent, delete_after, change_window })
}

fn state(raw: RawState, base_dir: &Path) -> Result<StateConfig, ConfigError> {
    let path = raw.path.unwrap_or_else(|| PathBuf::from("/var/lib/zoomsync"));
    let every = raw.snapshot_every.unwrap_or(Duration::from_secs(24 * 3600));
    let keep = raw.snapshots_keep.unwrap_or(3);
    if !(0..=1000).contains(&keep) {
        return Err(ConfigError::invalid("state.snapshots_keep", "must be between 0 and 1000"));
    }
    Ok(StateConfig {
        path: if path.is_absolute() { path } else { base_dir.join(path) },
        snapshot_every: positive_duration("state.snapshot_every", every)?,
        snapshots_keep: keep as usize,
    })
}

fn metrics(raw: RawMetrics) -> Result<MetricsConfig, ConfigError> {
    if raw.enabled == Some(false) {
        return Ok(MetricsConfig { listen: None });
    }
    let text = raw.listen.unwrap_or_else(|| "127.0.0.1:9464".to_string());
    let addr: SocketAddr = text.parse().map_err(|_| {
        ConfigError::invalid("metrics.listen", format!("{text:?} is not an address like 127.0.0.1:9464"))
    })?;
    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "metrics listen on a non-loopback address; protect it with a firewall");
    }
    Ok(MetricsConfig { listen: Some(addr) })
}

fn logging(raw: RawLogging) -> Result<LoggingConfig, ConfigError> {
    let format = match choice("logging.format", raw.format, "text", &["text", "json"])? {
        "json" => LogFormat::Json,
        _ => LogFormat::Text,
    };
    let level = raw.level.unwrap_or_else(|| "info".to_string());
    if tracing_subscriber::EnvFilter::try_new(&level).is_err() {
        return Err(ConfigError::invalid("logging.level", format!("{level:?} is not a log filter")));
    }
    Ok(LoggingConfig { format, level })
}
