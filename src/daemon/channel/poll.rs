//! Active Directory: uSNChanged polling every `poll_interval` (any reader may; one DC,
//! remembered by name and invocationID: another DC or a restored one means a cycle), or
//! DirSync when asked for (replication rights; it also reports deletions).
//!
//! The position of the last batch handed over is polled from next (the worker applies
//! batches in order); the stored one only as the task starts. A poll that finds nothing
//! stores nothing: an idle directory costs one root DSE read and one search per interval.

use std::time::Duration;

use super::{Ctx, Recovery, ToWorker, count_events, record};
use crate::model::ChannelRecord;
use crate::source::changes::{
    ChangeError, Changed, DirSyncBatch, DirSyncPoller, PollOutcome, SearchKind, UsnPoller, UsnPosition,
};
use crate::sync::{ChangeBatch, Departure};

fn usn_record(p: &UsnPosition) -> ChannelRecord {
    record("usn", p, format!("USN {} on {}", p.highest_committed_usn, p.dns_host_name))
}

fn dirsync_record(cookie: &[u8]) -> ChannelRecord {
    record("dirsync", &cookie, format!("DirSync cookie of {} bytes", cookie.len()))
}

pub async fn usn(ctx: Ctx, every: Duration) {
    let mut poller = UsnPoller::new(ctx.ldap.clone(), ctx.users.clone());
    if let Some(groups) = &ctx.groups {
        poller = poller.with_groups(groups.clone());
    }
    let position = ctx.stored("usn");
    poll_every(ctx, every, Usn { poller, position }).await
}

pub async fn dirsync(ctx: Ctx, every: Duration) {
    let poller = DirSyncPoller::new(ctx.ldap.clone(), ctx.users.clone());
    let cookie = ctx.stored("dirsync");
    poll_every(ctx, every, DirSync { poller, cookie }).await
}

/// One way of polling the directory: what one poll asks of the worker (nothing when nothing
/// changed), and forgetting the position when the server wants a full refresh.
trait Poll {
    async fn poll(&mut self) -> Result<Option<ToWorker>, ChangeError>;
    fn forget(&mut self);
}

/// Polls every `every` until the worker or the daemon stops, backing off after failures.
async fn poll_every(mut ctx: Ctx, every: Duration, mut source: impl Poll) {
    let mut failures = 0;
    loop {
        let sent = match source.poll().await {
            Ok(message) => {
                ctx.state.set_up(true);
                failures = 0;
                match message {
                    Some(m) => ctx.send(m).await,
                    None => true,
                }
            }
            Err(e) => match ctx.recover(&e, &mut failures).await {
                Recovery::Resume => continue,
                Recovery::FullRefresh => {
                    source.forget();
                    continue;
                }
                Recovery::Stop => return,
            },
        };
        if !sent || !ctx.pause(every).await {
            return;
        }
    }
}

struct Usn {
    poller: UsnPoller,
    position: Option<UsnPosition>,
}

impl Poll for Usn {
    async fn poll(&mut self) -> Result<Option<ToWorker>, ChangeError> {
        let outcome = self.poller.poll(self.position.as_ref()).await?;
        let (message, next) = usn_message(outcome);
        self.position = Some(next);
        Ok(message)
    }

    fn forget(&mut self) {
        self.position = None;
    }
}

/// What a poll asks of the worker (nothing when nothing changed), and the position polled
/// from next.
fn usn_message(outcome: PollOutcome) -> (Option<ToWorker>, UsnPosition) {
    match outcome {
        PollOutcome::FullCycleNeeded { reason, position } => {
            tracing::info!(%reason, "change channel: a full cycle, then polling from USN {}", position.highest_committed_usn);
            (Some(ToWorker::Cycle { position: usn_record(&position), reason: reason.to_string() }), position)
        }
        PollOutcome::Changes { changed, deleted, position } => {
            let message = changes(changed, deleted, usn_record(&position));
            (message, position)
        }
    }
}

struct DirSync {
    poller: DirSyncPoller,
    cookie: Option<Vec<u8>>,
}

impl Poll for DirSync {
    async fn poll(&mut self) -> Result<Option<ToWorker>, ChangeError> {
        let first = self.cookie.is_none();
        let DirSyncBatch { changed, deleted, cookie: next } = self.poller.poll(self.cookie.as_deref()).await?;
        let position = dirsync_record(&next);
        self.cookie = Some(next);
        // The first poll returns everything: a cycle reads it as well, and safer.
        Ok(match first {
            true => Some(ToWorker::Cycle { position, reason: "no stored DirSync cookie".into() }),
            false => {
                let changed = changed.into_iter().map(|entry| Changed { search: SearchKind::Users, entry });
                changes(changed.collect(), deleted, position)
            }
        })
    }

    fn forget(&mut self) {
        self.cookie = None;
    }
}

/// A batch of changed users and tombstones, or a cycle when groups changed; nothing when
/// the poll found nothing.
fn changes(changed: Vec<Changed>, deleted: Vec<crate::model::RawEntry>, position: ChannelRecord) -> Option<ToWorker> {
    if changed.is_empty() && deleted.is_empty() {
        return None;
    }
    let groups_changed = changed.iter().any(|c| c.search == SearchKind::Groups);
    let mut counted = vec![("change", changed.len() as u64), ("delete", deleted.len() as u64)];
    if groups_changed {
        counted.push(("group", changed.iter().filter(|c| c.search == SearchKind::Groups).count() as u64));
        count_events(&counted);
        return Some(ToWorker::Cycle { position, reason: "group entries changed".into() });
    }
    count_events(&counted);
    let gone = deleted.into_iter().map(|t| Departure { dn: Some(t.dn.clone()), tombstone: Some(t), entry_uuid: None });
    Some(ToWorker::Batch(ChangeBatch {
        entries: changed.into_iter().map(|c| c.entry).collect(),
        gone: gone.collect(),
        position: Some(position),
    }))
}
