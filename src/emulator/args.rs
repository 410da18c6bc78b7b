//! `zoomsync emulate`: command-line arguments and the foreground runner.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::config::{Credentials, EmulatorConfig, FaultConfig, RateLimit};
use super::running::Emulator;
use super::seed::SeedUser;

/// Command-line arguments of `zoomsync emulate`.
#[derive(Debug, clap::Args)]
pub struct EmulateArgs {
    /// Address to listen on; loopback unless --allow-remote.
    #[arg(long, default_value = "127.0.0.1:9780")]
    pub listen: SocketAddr,

    /// Allow a non-loopback --listen address (no TLS, unauthenticated /_emulator endpoints).
    #[arg(long)]
    pub allow_remote: bool,

    /// Rate limit: legacy_1rps (default), free, pro, business_plus, off, or N (requests/s per label).
    #[arg(long, default_value = "legacy_1rps")]
    pub preset: RateLimit,

    /// Fault injection, repeatable: `[ROUTE@]key=value,…`, e.g. `error_rate=0.05,latency=100ms`
    /// or `POST /scim2/Users@drop_rate=1,times=2`. Keys: error_rate, error_status, latency,
    /// jitter, timeout_rate, timeout_hold, drop_rate, apply_before_fault, times.
    #[arg(long = "faults", value_name = "SPEC")]
    pub faults: Vec<String>,

    /// Knob override, repeatable: `name=value` (value is JSON, or a bare string), e.g.
    /// `sso_enabled=false`, `retry_after=iso`, `managed_domains=["example.com"]`.
    #[arg(long = "knob", value_name = "NAME=VALUE")]
    pub knobs: Vec<String>,

    /// Accept every attribute value as given: no check of userType, plan fields, value kinds,
    /// manager references or phone numbers (knob `validate_attribute_values=false`).
    #[arg(long)]
    pub lenient_attributes: bool,

    /// Values the licence (plan) fields accept, comma-separated (knob `plan_values`; default
    /// US_CA,UK_IR,AU_NZ,JP,GLOBAL_SELECT).
    #[arg(long, value_delimiter = ',', value_name = "VALUE,…")]
    pub plan_values: Vec<String>,

    /// Server-to-Server OAuth client id to accept.
    #[arg(long, env = "ZOOMSYNC_EMULATOR_CLIENT_ID", default_value = "emulator-client")]
    pub client_id: String,

    /// Client secret to accept.
    #[arg(long, env = "ZOOMSYNC_EMULATOR_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,

    /// Account id to accept.
    #[arg(long, env = "ZOOMSYNC_EMULATOR_ACCOUNT_ID", default_value = "emulator-account")]
    pub account_id: String,

    /// userName of the account owner seeded at start.
    #[arg(long, default_value = "owner@example.com")]
    pub owner: String,

    /// Start without an owner user.
    #[arg(long)]
    pub no_owner: bool,

    /// JSON file with an array of users to create at start, as for `POST /_emulator/users`.
    #[arg(long, value_name = "FILE")]
    pub seed_file: Option<PathBuf>,
}

impl EmulateArgs {
    /// The emulator configuration these arguments describe.
    pub fn to_config(&self) -> Result<EmulatorConfig, String> {
        let mut faults = FaultConfig::default();
        for f in &self.faults {
            faults.add_cli(f).map_err(|e| format!("--faults {f}: {e}"))?;
        }
        let mut knobs = super::config::Knobs::default();
        for k in &self.knobs {
            let (name, value) = k.split_once('=').ok_or_else(|| format!("--knob {k}: expected NAME=VALUE"))?;
            let value = serde_json::from_str(value).unwrap_or_else(|_| serde_json::Value::String(value.to_string()));
            knobs = knobs.merged(&serde_json::json!({ name: value })).map_err(|e| format!("--knob {k}: {e}"))?;
        }
        if self.lenient_attributes {
            knobs.validate_attribute_values = false;
        }
        if !self.plan_values.is_empty() {
            knobs.plan_values = self.plan_values.clone();
            knobs.validate().map_err(|e| format!("--plan-values: {e}"))?;
        }
        Ok(EmulatorConfig {
            credentials: Credentials {
                account_id: self.account_id.clone(),
                client_id: self.client_id.clone(),
                client_secret: self.client_secret.clone().unwrap_or_else(|| Credentials::default().client_secret),
                extra_clients: Vec::new(),
            },
            knobs,
            rate_limit: self.preset.clone(),
            faults,
            owner_user_name: (!self.no_owner).then(|| self.owner.clone()),
            allow_remote: self.allow_remote,
            ..EmulatorConfig::default()
        })
    }
}

/// Runs the emulator in the foreground until Ctrl-C or SIGTERM.
pub async fn run(args: EmulateArgs) -> Result<(), String> {
    let config = args.to_config()?;
    let seeds: Vec<SeedUser> = match &args.seed_file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => Vec::new(),
    };
    // Watched before anything is printed: whoever reads the URLs (a script, a test) may send
    // SIGTERM at once, and a SIGTERM nobody watches yet kills the process.
    let stop = StopSignals::watch()?;
    let emu = Emulator::start(config, args.listen).await.map_err(|e| e.to_string())?;
    for s in seeds {
        emu.seed_user(s).map_err(|e| format!("seed file: {e}"))?;
    }
    println!("zoomsync emulator listening on {}", emu.origin());
    println!("  SCIM base URL:  {}", emu.base_url());
    println!("  token URL:      {}", emu.token_url());
    println!("  account_id:     {}", emu.account_id());
    println!("  client_id:      {}", emu.client_id());
    println!("  client_secret:  {}", emu.client_secret());
    println!("  rate limit:     {:?}", emu.rate_limit().table());
    println!("  control:        {} (see docs/emulator.md)", emu.control_url());
    stop.wait().await;
    println!("zoomsync emulator stopping");
    emu.shutdown().await;
    Ok(())
}

/// SIGTERM and SIGINT, registered when built (not when first awaited).
struct StopSignals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn watch() -> Result<Self, String> {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate()).map_err(|e| format!("cannot watch SIGTERM: {e}"))?;
        let int = signal(SignalKind::interrupt()).map_err(|e| format!("cannot watch SIGINT: {e}"))?;
        Ok(Self { term, int })
    }

    async fn wait(mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: EmulateArgs,
    }

    #[test]
    fn args_build_a_config() {
        let cli = Cli::try_parse_from([
            "x",
            "--preset",
            "pro",
            "--faults",
            "latency=10ms",
            "--faults",
            "POST /scim2/Users@error_rate=1",
            "--knob",
            "sso_enabled=false",
            "--knob",
            "retry_after=iso",
            "--no-owner",
        ])
        .unwrap();
        let c = cli.args.to_config().unwrap();
        assert_eq!(c.faults.global.latency_ms, 10);
        assert_eq!(c.faults.routes["POST /scim2/Users"].error_rate, 1.0);
        assert!(!c.knobs.sso_enabled);
        assert_eq!(c.owner_user_name, None);
        assert_eq!(c.rate_limit.table().light.per_second, Some(80 - 50));
        assert!(c.knobs.validate_attribute_values, "values are checked by default");
        let bad = Cli::try_parse_from(["x", "--knob", "nope=1"]).unwrap();
        assert!(bad.args.to_config().is_err());
    }

    #[test]
    fn attribute_flags_relax_checks_and_set_plan_values() {
        let cli = Cli::try_parse_from(["x", "--lenient-attributes", "--plan-values", "Gold,Silver"]).unwrap();
        let c = cli.args.to_config().unwrap();
        assert!(!c.knobs.validate_attribute_values);
        assert_eq!(c.knobs.plan_values, ["Gold", "Silver"]);
        let empty = Cli::try_parse_from(["x", "--plan-values", "Gold,"]).unwrap();
        assert!(empty.args.to_config().is_err());
    }
}
