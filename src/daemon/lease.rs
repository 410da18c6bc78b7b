//! `[lease]`: a standby that takes over. Several hosts run the daemon against the same
//! directory and Zoom account; the one holding the lease (an attribute of an entry in the
//! directory, `source::lease`) writes, the others run read-only cycles that keep their state
//! warm (`role`, `cycle_options`) and drop the change channel's batches.
//!
//! A task looks at the lease every third of the TTL: it renews it while this host holds it,
//! takes it once the holder let it expire, and otherwise stands by. What it learns opens or
//! closes a [`WriteDeadline`]: every cycle and batch checks it before each operation
//! (`Shutdown::with_deadline`), by the wall clock, so a host frozen past its lease (SIGSTOP,
//! a paused VM) stops before its next write without waiting for this task. The holder writes
//! only until a third of the TTL before the expiry (`source::lease::write_until_ms`).
//!
//! Without `[lease]` the deadline is not used and every host writes, as before.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, watch};

use super::Trigger;
use crate::admin::render::LeaseStatus;
use crate::config::{Config, LdapConfig, LeaseConfig, SourceConfig, TargetKind};
use crate::metrics::LEASE_ACTIVE;
use crate::model::{UnixTime, unix_now};
use crate::source::ldap::lease::{LeaseConn, LeaseError};
use crate::source::lease::{Decision, Lease, TakeKind, decide, released, renew_every, write_until_ms};
use crate::sync::{CycleOptions, Shutdown, WriteDeadline};

/// The lease as the daemon's tasks share it: the worker asks it what this host may do, the
/// admin socket shows it, its own task keeps it current.
#[derive(Default)]
pub struct LeaseState {
    /// `None` without `[lease]` (or with a directory that is not LDAP).
    settings: Option<(LeaseConfig, LdapConfig)>,
    deadline: WriteDeadline,
    view: Mutex<LeaseStatus>,
    /// This host took the lease (rather than renewed it): its next cycle reconciles in full.
    took_over: AtomicBool,
}

/// What this host may do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// No `[lease]`: it always writes.
    Sole,
    /// It holds the lease: it writes.
    Active,
    /// Another host holds it (or this one could not renew): read-only cycles, no batches.
    Standby,
}

impl Role {
    pub fn writes(&self) -> bool {
        !matches!(self, Role::Standby)
    }
}

impl LeaseState {
    pub fn new(config: &Config) -> Self {
        let settings = match (&config.lease, &config.directory.source) {
            (Some(lease), SourceConfig::Ldap(ldap)) => Some((lease.clone(), ldap.clone())),
            _ => None,
        };
        let me = settings.as_ref().map(|(l, _)| l.holder.clone()).unwrap_or_default();
        Self { settings, view: Mutex::new(LeaseStatus { me, ..Default::default() }), ..Default::default() }
    }

    pub fn enabled(&self) -> bool {
        self.settings.is_some()
    }

    /// Active while the write deadline is ahead (by the clock, not by this task's last look).
    pub fn role(&self) -> Role {
        match self.enabled() {
            false => Role::Sole,
            true if self.deadline.passed() => Role::Standby,
            true => Role::Active,
        }
    }

    /// The cycle's stop: the daemon's shutdown, and with `[lease]` the write deadline.
    pub fn shutdown(&self, stop: &watch::Receiver<bool>) -> Shutdown {
        let shutdown = Shutdown::new(stop.clone());
        match self.enabled() {
            true => shutdown.with_deadline(self.deadline.clone()),
            false => shutdown,
        }
    }

    /// The options of a cycle in `role`: a standby reads both sides and records the full
    /// reconcile's repairs and adoptions in its own state, and plans and sends nothing. On
    /// Zoom that writes nothing to the target (marking an adopted user is a no-op there);
    /// a generic SCIM server would get a PATCH per adopted user, so there it is a dry run.
    /// The first cycle after a takeover reconciles in full.
    pub fn cycle_options(&self, role: &Role, full: bool, target: Option<TargetKind>) -> CycleOptions {
        match role {
            Role::Standby if target == Some(TargetKind::Zoom) => {
                CycleOptions { full: true, reconcile_only: true, ..Default::default() }
            }
            Role::Standby => CycleOptions { full: true, dry_run: true, ..Default::default() },
            Role::Active => {
                CycleOptions { full: full || self.took_over.swap(false, Ordering::AcqRel), ..Default::default() }
            }
            Role::Sole => CycleOptions { full, ..Default::default() },
        }
    }

    /// What `status` shows; `None` without `[lease]`.
    pub fn status(&self) -> Option<LeaseStatus> {
        self.enabled().then(|| {
            let mut view = lock(&self.view).clone();
            view.active = self.role() == Role::Active;
            view
        })
    }

    /// One look: read the lease, and take, renew or stand by.
    async fn look(&self, triggers: &mpsc::Sender<Trigger>) {
        let Some((lease, ldap)) = &self.settings else { return };
        let was_active = self.role() == Role::Active;
        let now = unix_now();
        let result = self.exchange(lease, ldap, now).await;
        let mut view = lock(&self.view);
        view.problem = None;
        // Held as far as this host knew: by the clock, or by its last look (a host frozen
        // past its deadline learns here that it lost the lease).
        let held_before = was_active || view.holder.as_deref() == Some(lease.holder.as_str());
        match result {
            Ok(Look::Held { lease: new, kind }) => {
                self.deadline.open_until(write_until_ms(new.expires, lease.ttl));
                metrics::gauge!(LEASE_ACTIVE).set(1.0);
                view.holder = Some(new.holder);
                view.expires = Some(new.expires);
                if !was_active {
                    self.took_over.store(true, Ordering::Release);
                    tracing::warn!(holder = %lease.holder, ?kind, expires = new.expires, "lease taken: this host is ACTIVE and writes to the target; a full cycle follows");
                    // The schedule's kind of trigger: it waits for a quarantine or a pause.
                    let _ = triggers.try_send(Trigger::Schedule);
                } else {
                    tracing::debug!(expires = new.expires, "lease renewed");
                }
            }
            Ok(Look::Standby { holder, expires }) => {
                self.deadline.close();
                metrics::gauge!(LEASE_ACTIVE).set(0.0);
                if held_before {
                    view.lost_at = Some(now);
                    tracing::warn!(holder = %holder, expires, me = %lease.holder, "LOST the lease: another host holds it; this host stands by and writes nothing");
                } else if view.holder.as_deref() != Some(holder.as_str()) {
                    tracing::info!(holder = %holder, expires, "lease held by another host: this host stands by (read-only cycles)");
                }
                view.holder = Some(holder);
                view.expires = Some(expires);
            }
            Err(LeaseError::Lost { detail }) => {
                self.deadline.close();
                metrics::gauge!(LEASE_ACTIVE).set(0.0);
                if held_before {
                    view.lost_at = Some(now);
                    tracing::warn!(%detail, "LOST the lease: another host changed it first; this host stands by and writes nothing");
                } else {
                    tracing::info!(%detail, "lease: another host took it first; this host stands by");
                }
                view.holder = None;
                view.problem = Some(format!("another host changed the lease first ({detail})"));
            }
            Err(e) => {
                // The deadline is left alone: a lease this host held runs out by itself.
                let active = self.role() == Role::Active;
                metrics::gauge!(LEASE_ACTIVE).set(if active { 1.0 } else { 0.0 });
                tracing::error!(error = %e, active, "lease: cannot read or renew it; a lease this host holds runs out by itself");
                view.problem = Some(e.to_string());
            }
        }
    }

    /// The LDAP part of a look: connect, read, decide, swap.
    async fn exchange(&self, lease: &LeaseConfig, ldap: &LdapConfig, now: UnixTime) -> Result<Look, LeaseError> {
        let mut conn = LeaseConn::open(ldap, lease).await?;
        let values = conn.values().await?;
        let look = match decide(&values, &lease.holder, now, lease.ttl) {
            Decision::Take { old, new, kind } => {
                if old.as_deref() != Some(new.value().as_str()) {
                    conn.swap(old.as_deref(), &new).await?;
                }
                Ok(Look::Held { lease: new, kind })
            }
            Decision::Wait { holder, expires } => Ok(Look::Standby { holder, expires }),
            Decision::Broken { why } => Err(LeaseError::Refused {
                detail: format!("{} of {}: {why}; set it to `none 0`", lease.attribute, lease.dn),
            }),
        };
        conn.close().await;
        look
    }

    /// On a clean stop: no more writes, and a lease this host holds is written as expired,
    /// so a standby takes it at its next look rather than after the TTL.
    pub async fn release(&self) {
        let Some((lease, ldap)) = &self.settings else { return };
        let held = self.role() == Role::Active;
        self.deadline.close();
        metrics::gauge!(LEASE_ACTIVE).set(0.0);
        if !held {
            return;
        }
        let result = async {
            let mut conn = LeaseConn::open(ldap, lease).await?;
            let values = conn.values().await?;
            if let [value] = values.as_slice()
                && Lease::parse(value).is_some_and(|l| l.held_by(&lease.holder))
            {
                conn.swap(Some(value), &released(&lease.holder)).await?;
            }
            conn.close().await;
            Ok::<(), LeaseError>(())
        }
        .await;
        match result {
            Ok(()) => tracing::info!("lease released: a standby may take it now"),
            Err(e) => tracing::warn!(error = %e, "lease not released; it runs out by itself"),
        }
    }
}

/// The outcome of one look.
enum Look {
    Held { lease: Lease, kind: TakeKind },
    Standby { holder: String, expires: UnixTime },
}

/// The first look before anything runs (so the start-up cycle knows its role), then one
/// every third of the TTL until the daemon stops.
pub async fn start(
    state: Arc<LeaseState>,
    triggers: mpsc::Sender<Trigger>,
    mut shutdown: watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    let every = renew_every(state.settings.as_ref()?.0.ttl);
    metrics::gauge!(LEASE_ACTIVE).set(0.0);
    state.look(&triggers).await;
    Some(tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = async { _ = shutdown.wait_for(|s| *s).await; } => break,
                _ = tokio::time::sleep(every) => state.look(&triggers).await,
            }
        }
    }))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_standby_reads_and_writes_nothing_to_the_target() {
        let state = LeaseState::default();
        let standby = state.cycle_options(&Role::Standby, false, Some(TargetKind::Zoom));
        assert!(standby.reconcile_only && standby.full && !standby.dry_run);
        let generic = state.cycle_options(&Role::Standby, false, Some(TargetKind::Scim));
        assert!(generic.dry_run && generic.full);
        let active = state.cycle_options(&Role::Active, false, Some(TargetKind::Zoom));
        assert!(!active.full && !active.reconcile_only && !active.dry_run);
        state.took_over.store(true, Ordering::Release);
        assert!(state.cycle_options(&Role::Active, false, Some(TargetKind::Zoom)).full, "after a takeover");
        assert!(!state.cycle_options(&Role::Active, false, Some(TargetKind::Zoom)).full, "once");
        assert_eq!(state.role(), Role::Sole);
        assert!(Role::Sole.writes() && Role::Active.writes() && !Role::Standby.writes());
    }
}
