//! The schedule: a true interval from start (default 40 minutes; `*/40` cron would fire at
//! :00 and :40) or a cron expression (6 fields, UTC). Neither prevents overlap nor waits on
//! shutdown, so they only *ask* for a cycle on the capacity-one trigger channel; the worker
//! owns the cycles.
//!
//! The interval is a tokio interval (monotonic clock, a missed tick fires once, then the
//! period goes on), not tokio-cron-scheduler's repeated job: after a pause longer than the
//! period (SIGSTOP, a suspended VM) that job's next tick stays behind its last check and it
//! never fires again (0.15.1, `Job::tick`), which the standby test showed on a thawed host.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_cron_scheduler::{Job, JobScheduler};

use super::{DaemonError, Trigger};
use crate::config::{ConfigError, ScheduleConfig, ScheduleTrigger};

/// The running schedule.
pub enum Scheduler {
    Interval(tokio::task::JoinHandle<()>),
    Cron(JobScheduler),
}

impl Scheduler {
    pub async fn shutdown(&mut self) {
        match self {
            Scheduler::Interval(task) => task.abort(),
            Scheduler::Cron(scheduler) => {
                let _ = scheduler.shutdown().await;
            }
        }
    }
}

pub async fn start(schedule: &ScheduleConfig, triggers: mpsc::Sender<Trigger>) -> Result<Scheduler, DaemonError> {
    match &schedule.trigger {
        ScheduleTrigger::Interval(every) => Ok(Scheduler::Interval(tokio::spawn(interval(*every, triggers)))),
        ScheduleTrigger::Cron(expr) => cron(expr, triggers).await.map(Scheduler::Cron),
    }
}

/// A tick every `every` from now (the first after one period).
async fn interval(every: Duration, triggers: mpsc::Sender<Trigger>) {
    let mut ticks = tokio::time::interval_at(Instant::now() + every, every);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        // A full channel means a cycle is already queued: this tick coalesces into it.
        let _ = triggers.try_send(Trigger::Schedule);
    }
}

async fn cron(expr: &str, triggers: mpsc::Sender<Trigger>) -> Result<JobScheduler, DaemonError> {
    let scheduler = JobScheduler::new().await.map_err(|e| DaemonError::startup("scheduler", e))?;
    let ask = move |_id, _lock| {
        let triggers = triggers.clone();
        Box::pin(async move {
            let _ = triggers.try_send(Trigger::Schedule);
        }) as std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
    };
    let job = Job::new_async(expr, ask).map_err(|e| {
        DaemonError::Config(ConfigError::Invalid { key: "schedule.cron".into(), problem: format!("{expr:?}: {e}") })
    })?;
    scheduler.add(job).await.map_err(|e| DaemonError::startup("scheduler job", e))?;
    scheduler.start().await.map_err(|e| DaemonError::startup("scheduler", e))?;
    Ok(scheduler)
}
