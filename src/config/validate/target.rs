//! `[target]`: the SCIM endpoint, its credentials and the request budget.

use std::time::Duration;

use super::super::raw::RawTarget;
use super::super::{ConfigError, RateLimit, TargetAuth, TargetConfig, TargetKind};
use super::{SecretResolver, choice, positive_duration};

/// Zoom's documented per-label limits (requests/s). The budget is per account and shared
/// with every other app on it, so the default is the strictest reading (1 request/s).
pub const RATE_PRESETS: &[(&str, RateLimit)] = &[
    ("legacy_1rps", RateLimit { light_per_second: 1.0, medium_per_second: 1.0 }),
    ("free", RateLimit { light_per_second: 4.0, medium_per_second: 2.0 }),
    ("pro", RateLimit { light_per_second: 30.0, medium_per_second: 20.0 }),
    ("business_plus", RateLimit { light_per_second: 80.0, medium_per_second: 60.0 }),
];

pub(super) fn validate(raw: RawTarget, secrets: &SecretResolver<'_>) -> Result<TargetConfig, ConfigError> {
    let kind = match choice("target.kind", raw.kind, "zoom", &["zoom", "scim"])? {
        "scim" => TargetKind::Scim,
        _ => TargetKind::Zoom,
    };
    let default_base = (kind == TargetKind::Zoom).then_some("https://api.zoom.us/scim2");
    let base_text = raw
        .base_url
        .or(default_base.map(String::from))
        .ok_or_else(|| ConfigError::invalid("target.base_url", "required for kind = \"scim\""))?;
    let insecure = raw.insecure.unwrap_or(false);
    let base_url = http_url("target.base_url", &base_text, insecure, true)?;
    let auth = match kind {
        TargetKind::Zoom => {
            for (key, set) in [
                ("bearer_token_file", raw.bearer_token_file.is_some()),
                ("bearer_token_credential", raw.bearer_token_credential.is_some()),
            ] {
                if set {
                    return Err(ConfigError::invalid(
                        format!("target.{key}"),
                        "Zoom uses Server-to-Server OAuth (client_id/client_secret), not a bearer token",
                    ));
                }
            }
            let token_text = raw.token_url.unwrap_or_else(|| "https://zoom.us/oauth/token".into());
            let token_url = http_url("target.token_url", &token_text, insecure, false)?;
            let account_id = non_empty("target.account_id", raw.account_id)?;
            let client_id = non_empty("target.client_id", raw.client_id)?;
            let client_secret = secrets
                .resolve("target", "client_secret", raw.client_secret_file, raw.client_secret_credential, true)?
                .ok_or_else(|| ConfigError::invalid("target.client_secret_file", "required"))?;
            TargetAuth::ZoomOauth { token_url, account_id, client_id, client_secret }
        }
        TargetKind::Scim => {
            for (key, set) in [
                ("token_url", raw.token_url.is_some()),
                ("account_id", raw.account_id.is_some()),
                ("client_id", raw.client_id.is_some()),
                ("client_secret_file", raw.client_secret_file.is_some()),
                ("client_secret_credential", raw.client_secret_credential.is_some()),
            ] {
                if set {
                    return Err(ConfigError::invalid(
                        format!("target.{key}"),
                        "only used with kind = \"zoom\"; generic SCIM uses bearer_token_file",
                    ));
                }
            }
            let token = secrets
                .resolve("target", "bearer_token", raw.bearer_token_file, raw.bearer_token_credential, true)?
                .ok_or_else(|| ConfigError::invalid("target.bearer_token_file", "required"))?;
            TargetAuth::Bearer { token }
        }
    };
    let preset = choice(
        "target.rate_limit",
        raw.rate_limit,
        "legacy_1rps",
        &RATE_PRESETS.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
    )?;
    let mut rate = RATE_PRESETS.iter().find(|(n, _)| *n == preset).map(|(_, r)| *r).unwrap_or(RATE_PRESETS[0].1);
    if let Some(rps) = raw.requests_per_second {
        if !(rps > 0.0 && rps <= 10_000.0) {
            return Err(ConfigError::invalid("target.requests_per_second", "must be > 0 and <= 10000"));
        }
        rate = RateLimit { light_per_second: rps, medium_per_second: rps };
    }
    let max_concurrency = raw.max_concurrency.unwrap_or(8);
    if !(1..=256).contains(&max_concurrency) {
        return Err(ConfigError::invalid("target.max_concurrency", "must be between 1 and 256"));
    }
    let ca_file = raw.ca_file.map(|p| secrets.path(p));
    if let Some(ca) = &ca_file {
        if !ca.is_file() {
            return Err(ConfigError::invalid("target.ca_file", format!("{} is not a file", ca.display())));
        }
    }
    Ok(TargetConfig {
        kind,
        base_url,
        auth,
        rate,
        max_concurrency: max_concurrency as usize,
        ca_file,
        timeout: positive_duration("target.timeout", raw.timeout.unwrap_or(Duration::from_secs(60)))?,
        connect_timeout: positive_duration(
            "target.connect_timeout",
            raw.connect_timeout.unwrap_or(Duration::from_secs(10)),
        )?,
    })
}

fn non_empty(key: &str, value: Option<String>) -> Result<String, ConfigError> {
    value.filter(|v| !v.trim().is_empty()).ok_or_else(|| ConfigError::invalid(key, "required"))
}

/// https everywhere; http only to a loopback host (the emulator, a local proxy) or when
/// `insecure = true` says so, which is logged.
fn http_url(key: &str, text: &str, insecure: bool, as_base: bool) -> Result<url::Url, ConfigError> {
    let mut url = url::Url::parse(text).map_err(|e| ConfigError::invalid(key, format!("{text:?}: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            };
            if !loopback && !insecure {
                return Err(ConfigError::invalid(
                    key,
                    "http:// to a remote host sends credentials in clear; use https://",
                ));
            }
            if !loopback {
                tracing::warn!(url = %url, "insecure = true: talking plain HTTP to a remote host");
            }
        }
        other => {
            return Err(ConfigError::invalid(key, format!("scheme {other:?} is not http(s)")));
        }
    }
    // Url::join drops the last segment of a base without a trailing slash.
    if as_base && !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}
