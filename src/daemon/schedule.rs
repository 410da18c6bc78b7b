//! The schedule: a true interval from start (default 40 minutes; `*/40` cron would fire at
//! :00 and :40) or a cron expression (6 fields, UTC). tokio-cron-scheduler neither prevents
//! overlap nor waits on shutdown, so its jobs only *ask* for a cycle on the capacity-one
//! trigger channel; the worker owns the cycles.

use tokio::sync::mpsc;
use tokio_cron_scheduler::{Job, JobScheduler};

use super::{DaemonError, Trigger};
use crate::config::{ConfigError, ScheduleConfig, ScheduleTrigger};

pub async fn start(schedule: &ScheduleConfig, triggers: mpsc::Sender<Trigger>) -> Result<JobScheduler, DaemonError> {
    let scheduler = JobScheduler::new().await.map_err(|e| DaemonError::startup("scheduler", e))?;
    let ask = move |_id, _lock| {
        let triggers = triggers.clone();
        Box::pin(async move {
            // A full channel means a cycle is already queued: this tick coalesces into it.
            let _ = triggers.try_send(Trigger::Schedule);
        }) as std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
    };
    let job = match &schedule.trigger {
        ScheduleTrigger::Interval(every) => {
            Job::new_repeated_async(*every, ask).map_err(|e| DaemonError::startup("scheduler job", e))?
        }
        ScheduleTrigger::Cron(expr) => Job::new_async(expr.as_str(), ask).map_err(|e| {
            DaemonError::Config(ConfigError::Invalid { key: "schedule.cron".into(), problem: format!("{expr:?}: {e}") })
        })?,
    };
    scheduler.add(job).await.map_err(|e| DaemonError::startup("scheduler job", e))?;
    scheduler.start().await.map_err(|e| DaemonError::startup("scheduler", e))?;
    Ok(scheduler)
}
