//! The change channel: the directory tells the daemon what changed, within seconds, and
//! the worker applies it between cycles (`Engine::run_changes`), while the scheduled cycle
//! stays the safety net that repairs anything the channel missed.
//!
//! Which mechanism (`[directory] changes`, `source::changes::choose`): syncrepl
//! refreshAndPersist where the server offers it (`syncrepl.rs`), uSNChanged polling on
//! Active Directory, DirSync when asked for (`poll.rs`). This task only listens and
//! gathers (`collect.rs`); the worker owns every write, so batches and cycles never
//! overlap, and it stores the channel's position with the meta of the run that applied
//! everything before it. A restart resumes from that position; anything after it arrives
//! again, and applying a change twice is a no-op (the plan compares with the state).
//!
//! While the channel is down (`zoomsync_change_channel_up 0`) it reconnects with backoff
//! (`source::changes::next_step`) and the cycles carry on as before.

mod collect;
mod poll;
mod syncrepl;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use metrics::{counter, gauge};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, watch};

use crate::config::{Config, LdapConfig, SourceConfig};
use crate::metrics::{CHANGE_CHANNEL_UP, CHANGE_EVENTS_TOTAL};
use crate::model::{ChannelRecord, unix_now};
use crate::source::changes::{ChangeError, ChangeSearch, Chosen, NextStep, SearchKind, choose, next_step};
use crate::source::{AnyDirectory, root_dse};
use crate::state::StateStore;
use crate::state::sled_store::SledStore;
use crate::sync::ChangeBatch;

/// What the channel hands the worker.
#[derive(Debug)]
pub enum ToWorker {
    /// Apply these changes (`Engine::run_changes`), or, with `[groups]`, run a cycle.
    Batch(ChangeBatch),
    /// Run a cycle, then store `position`: the channel (re)started without a usable
    /// position, the server asked for a full refresh, or departures can only be concluded
    /// from a whole read.
    Cycle { position: ChannelRecord, reason: String },
}

/// Whether the channel is connected, for readiness and `status`.
#[derive(Debug, Default)]
pub struct ChannelState {
    pub up: AtomicBool,
    /// The mechanism in use ("" when none).
    pub mechanism: std::sync::Mutex<String>,
}

impl ChannelState {
    /// Whether a channel was started (a mechanism was chosen).
    pub fn running(&self) -> bool {
        !self.mechanism.lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_empty()
    }

    fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::Release);
        gauge!(CHANGE_CHANNEL_UP).set(if up { 1.0 } else { 0.0 });
    }
}

/// What every mechanism's loop needs.
struct Ctx {
    ldap: LdapConfig,
    users: ChangeSearch,
    groups: Option<ChangeSearch>,
    store: SledStore,
    to_worker: mpsc::Sender<ToWorker>,
    shutdown: watch::Receiver<bool>,
    state: Arc<ChannelState>,
}

impl Ctx {
    /// The stored position when it is this mechanism's and readable.
    fn stored<P: DeserializeOwned>(&self, mechanism: &str) -> Option<P> {
        let record = self.store.meta().ok()?.change_channel?;
        if record.mechanism != mechanism {
            return None;
        }
        serde_json::from_str(&record.position).ok()
    }

    async fn send(&self, message: ToWorker) -> bool {
        self.to_worker.send(message).await.is_ok()
    }

    /// Waits `after`, or less when shutting down; false when the daemon stops.
    async fn pause(&mut self, after: Duration) -> bool {
        tokio::select! {
            _ = self.shutdown.changed() => false,
            _ = tokio::time::sleep(after) => !*self.shutdown.borrow(),
        }
    }

    /// What to do after `error`: wait and go on (true), or give up on the channel (false).
    async fn recover(&mut self, error: &ChangeError, failures: &mut u32) -> Recovery {
        self.state.set_up(false);
        *failures += 1;
        match next_step(error, *failures) {
            NextStep::Resume { after } => {
                tracing::warn!(%error, retry_in = ?after, "change channel down; cycles carry on; resuming from the stored position");
                if self.pause(after).await { Recovery::Resume } else { Recovery::Stop }
            }
            NextStep::FullRefresh { after } => {
                tracing::warn!(%error, retry_in = ?after, "change channel: the server asks for a full refresh");
                if self.pause(after).await { Recovery::FullRefresh } else { Recovery::Stop }
            }
            NextStep::FallBack { reason } => {
                tracing::error!(%error, %reason, "change channel given up: scheduled cycles only until a restart");
                Recovery::Stop
            }
        }
    }
}

enum Recovery {
    Resume,
    FullRefresh,
    Stop,
}

/// A position as stored: the mechanism's own form as JSON.
fn record<P: Serialize>(mechanism: &str, position: &P, describe: String) -> ChannelRecord {
    ChannelRecord {
        mechanism: mechanism.to_string(),
        position: serde_json::to_string(position).unwrap_or_default(),
        describe,
        stored_at: unix_now(),
        last_batch: None,
    }
}

fn count_events(counted: &[(&'static str, u64)]) {
    for (kind, n) in counted {
        counter!(CHANGE_EVENTS_TOTAL, "kind" => *kind).increment(*n);
    }
}

/// The searches a full read makes: users, and groups with `[groups]`.
fn searches(config: &Config, ldap: &LdapConfig) -> (ChangeSearch, Option<ChangeSearch>) {
    let users = ChangeSearch {
        kind: SearchKind::Users,
        base: ldap.base_dn.clone(),
        filter: ldap.user_filter.clone(),
        attributes: config.directory.decode.requested_attributes(),
    };
    let groups = config.groups.as_ref().map(|g| {
        let mut attributes = vec![g.name_attribute.clone()];
        attributes.extend(g.member_attributes.iter().cloned());
        let rules = &config.directory.decode;
        attributes.push(rules.anchor_attribute.clone());
        attributes.extend(rules.anchor_fallback.clone());
        ChangeSearch { kind: SearchKind::Groups, base: g.base_dn.clone(), filter: g.class_filter.clone(), attributes }
    });
    (users, groups)
}

/// Chooses the mechanism and starts its task; `None` when the channel is off (the reason
/// logged: `check` says the same).
pub async fn start(
    config: &Config,
    store: SledStore,
    to_worker: mpsc::Sender<ToWorker>,
    shutdown: watch::Receiver<bool>,
    state: Arc<ChannelState>,
) -> Option<tokio::task::JoinHandle<()>> {
    let SourceConfig::Ldap(ldap) = &config.directory.source else {
        tracing::info!("change channel off: the directory is an LDIF file");
        return None;
    };
    let chosen = match choose_for(config).await {
        Ok(Chosen::Off { reason }) | Err(reason) => {
            tracing::info!(%reason, "change channel off: scheduled cycles only");
            return None;
        }
        Ok(chosen) => chosen,
    };
    let (users, groups) = searches(config, ldap);
    let ctx = Ctx { ldap: ldap.clone(), users, groups, store, to_worker, shutdown, state };
    let every = ldap.poll_interval;
    let mechanism = match chosen {
        Chosen::Syncrepl => "syncrepl",
        Chosen::Usn => "usn",
        Chosen::DirSync => "dirsync",
        Chosen::Off { .. } => return None,
    };
    *ctx.state.mechanism.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = mechanism.to_string();
    tracing::info!(mechanism, "change channel starting");
    Some(tokio::spawn(async move {
        match chosen {
            Chosen::Syncrepl => syncrepl::run(ctx).await,
            Chosen::Usn => poll::usn(ctx, every).await,
            Chosen::DirSync => poll::dirsync(ctx, every).await,
            Chosen::Off { .. } => {}
        }
    }))
}

/// The mechanism `[directory] changes` asks for on this server, or why there is none.
pub async fn choose_for(config: &Config) -> Result<Chosen, String> {
    let SourceConfig::Ldap(ldap) = &config.directory.source else {
        return Ok(Chosen::Off { reason: "the directory is an LDIF file".into() });
    };
    let directory = AnyDirectory::from_config(&config.directory);
    let dse = match root_dse::read(&directory).await {
        Ok(Some(dse)) => dse,
        Ok(None) => return Err("the server's root DSE could not be read".into()),
        Err(e) => return Err(format!("the server's root DSE could not be read: {e}")),
    };
    choose(ldap.changes, &dse, config.directory.decode.flavor).map_err(|why| why.reason)
}
