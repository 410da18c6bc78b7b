//! The in-process API: start an emulator on a port (0 works), talk to it over HTTP, inspect
//! and steer it directly from Rust, shut it down.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::config::{EmulatorConfig, FaultConfig, Knobs, RateLimit};
use super::log::{RequestCounts, RequestRecord};
use super::seed::{self, ControlError, SeedUser, UserEdit};
use super::server::{self, StartError};
use super::shared::{Shared, lock};
use super::state::{Group, User};

/// Entry point: `Emulator::start(config, "127.0.0.1:0".parse()?)`.
pub struct Emulator;

impl Emulator {
    /// Binds `addr` and serves until [`RunningEmulator::shutdown`] (or until the handle is
    /// dropped). Refuses a non-loopback address unless `config.allow_remote`.
    pub async fn start(config: EmulatorConfig, addr: SocketAddr) -> Result<RunningEmulator, StartError> {
        if !addr.ip().is_loopback() && !config.allow_remote {
            return Err(StartError::NotLoopback(addr));
        }
        config.knobs.validate().map_err(StartError::Config)?;
        config.faults.validate().map_err(StartError::Config)?;
        let (stop, stop_rx) = watch::channel(false);
        let (shared, task) =
            server::spawn(|local| Arc::new(Shared::new(config, format!("http://{local}"))), addr, stop_rx).await?;
        let addr = shared.origin.trim_start_matches("http://").parse().unwrap_or(addr);
        Ok(RunningEmulator { shared, stop, task, addr })
    }
}

/// A running emulator. Dropping it also stops the server (without waiting).
pub struct RunningEmulator {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    addr: SocketAddr,
}

impl RunningEmulator {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn origin(&self) -> &str {
        &self.shared.origin
    }

    /// SCIM base, e.g. `http://127.0.0.1:PORT/scim2`.
    pub fn base_url(&self) -> String {
        format!("{}/scim2", self.shared.origin)
    }

    /// Token URL, e.g. `http://127.0.0.1:PORT/oauth/token`.
    pub fn token_url(&self) -> String {
        format!("{}/oauth/token", self.shared.origin)
    }

    /// zoomsync's target settings for this emulator: S2S OAuth with its app, plain HTTP on
    /// loopback, 1,000 requests/s per label, 8 at once, 10 s timeout. Callers change fields
    /// with struct update syntax.
    pub fn target_config(&self) -> Result<crate::config::TargetConfig, url::ParseError> {
        use crate::config::{RateLimit as ClientRate, Secret, TargetAuth, TargetConfig, TargetKind};
        Ok(TargetConfig {
            kind: TargetKind::Zoom,
            base_url: url::Url::parse(&format!("{}/", self.base_url()))?,
            auth: TargetAuth::ZoomOauth {
                token_url: url::Url::parse(&self.token_url())?,
                account_id: self.account_id().to_string(),
                client_id: self.client_id().to_string(),
                client_secret: Secret::from_value(self.client_secret()),
            },
            rate: ClientRate { light_per_second: 1000.0, medium_per_second: 1000.0 },
            max_concurrency: 8,
            ca_file: None,
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(2),
        })
    }

    /// Control base, e.g. `http://127.0.0.1:PORT/_emulator`.
    pub fn control_url(&self) -> String {
        format!("{}/_emulator", self.shared.origin)
    }

    pub fn account_id(&self) -> &str {
        &self.shared.creds.account_id
    }

    pub fn client_id(&self) -> &str {
        &self.shared.creds.client_id
    }

    pub fn client_secret(&self) -> &str {
        &self.shared.creds.client_secret
    }

    /// All users (any state) in creation order.
    pub fn users(&self) -> Vec<User> {
        lock(&self.shared.store).users().cloned().collect()
    }

    pub fn user(&self, id: &str) -> Option<User> {
        lock(&self.shared.store).user(id).cloned()
    }

    pub fn user_by_name(&self, user_name: &str) -> Option<User> {
        lock(&self.shared.store).user_by_name(user_name).cloned()
    }

    /// All groups (the default group first).
    pub fn groups(&self) -> Vec<Group> {
        lock(&self.shared.store).groups().cloned().collect()
    }

    pub fn group(&self, id: &str) -> Option<Group> {
        lock(&self.shared.store).group(id).cloned()
    }

    /// Creates a pre-existing user (an admin, a pending invitee…) bypassing SCIM rules.
    pub fn seed_user(&self, seed: SeedUser) -> Result<User, ControlError> {
        seed::seed_user(&self.shared, seed)
    }

    /// Out-of-band drift: rename, change role/state/attributes of a user.
    pub fn edit_user(&self, id: &str, edit: UserEdit) -> Result<User, ControlError> {
        seed::edit_user(&self.shared, id, edit)
    }

    /// Out-of-band deletion (the userName becomes free).
    pub fn remove_user(&self, id: &str) -> Result<(), ControlError> {
        seed::remove_user(&self.shared, id)
    }

    pub fn seed_group(&self, display_name: &str, members: &[String]) -> Result<Group, ControlError> {
        seed::seed_group(&self.shared, display_name, members)
    }

    /// Request counts by route key and status since start or the last reset.
    pub fn request_counts(&self) -> RequestCounts {
        lock(&self.shared.log).counts()
    }

    /// The last `limit` logged requests, oldest first.
    pub fn requests(&self, limit: usize) -> Vec<RequestRecord> {
        lock(&self.shared.log).recent(limit)
    }

    pub fn reset_requests(&self) {
        lock(&self.shared.log).clear();
    }

    /// Fresh account data, log and buckets; keeps knobs, faults, rate settings and tokens.
    pub fn reset(&self) {
        self.shared.reset(false);
    }

    /// Like [`reset`](Self::reset) but also restores the start configuration and revokes tokens.
    pub fn reset_all(&self) {
        self.shared.reset(true);
    }

    pub fn knobs(&self) -> Knobs {
        (*self.shared.knobs()).clone()
    }

    pub fn set_knobs(&self, knobs: Knobs) -> Result<(), String> {
        self.shared.set_knobs(knobs)
    }

    /// Changes some knobs: `emu.update_knobs(|k| k.sso_enabled = false)`.
    pub fn update_knobs(&self, f: impl FnOnce(&mut Knobs)) -> Result<(), String> {
        let mut k = self.knobs();
        f(&mut k);
        self.set_knobs(k)
    }

    pub fn rate_limit(&self) -> RateLimit {
        lock(&self.shared.rate_limit).clone()
    }

    /// Replaces the rate limit (buckets start full, daily counters at zero).
    pub fn set_rate_limit(&self, rate: RateLimit) {
        self.shared.set_rate_limit(rate);
    }

    pub fn faults(&self) -> FaultConfig {
        lock(&self.shared.faults).clone()
    }

    pub fn set_faults(&self, faults: FaultConfig) -> Result<(), String> {
        self.shared.set_faults(faults)
    }

    pub fn clear_faults(&self) {
        *lock(&self.shared.faults) = FaultConfig::default();
    }

    /// Makes every issued token invalid now (next SCIM call gets the 401).
    pub fn expire_tokens(&self) {
        lock(&self.shared.tokens).expire_all();
    }

    /// Issues a token directly (not logged), following the revocation knob.
    pub fn issue_token(&self) -> String {
        let knobs = self.shared.knobs();
        let ttl = Duration::from_secs(knobs.token_ttl_secs);
        lock(&self.shared.tokens).issue(
            &self.shared.creds.client_id,
            ttl,
            knobs.invalidate_previous_token,
            Instant::now(),
        )
    }

    /// Every token issued and not revoked or expired (tests look for them where none belongs).
    pub fn live_tokens(&self) -> Vec<String> {
        lock(&self.shared.tokens).live(Instant::now())
    }

    /// Stops accepting, lets requests in flight finish (up to 2 s), and waits for the server.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}
