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

pub async fn usn(mut ctx: Ctx, every: Duration) {
    let mut poller = UsnPoller::new(ctx.ldap.clone(), ctx.users.clone());
    if let Some(groups) = &ctx.groups {
        poller = poller.with_groups(groups.clone());
    }
    let mut position: Option<UsnPosition> = ctx.stored("usn");
    let mut failures = 0;
    loop {
        let sent = match poller.poll(position.as_ref()).await {
            Ok(outcome) => {
                ctx.state.set_up(true);
                failures = 0;
                let (message, next) = usn_message(outcome);
                position = Some(next);
                match message {
                    Some(m) => ctx.send(m).await,
                    None => true,
                }
            }
            Err(e) => match wait_after(&mut ctx, &e, &mut failures).await {
                Some(drop_position) => {
                    if drop_position {
                        position = None;
                    }
                    continue;
                }
                None => return,
            },
        };
        if !sent || !ctx.pause(every).await {
            return;
        }
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

pub async fn dirsync(mut ctx: Ctx, every: Duration) {
    let poller = DirSyncPoller::new(ctx.ldap.clone(), ctx.users.clone());
    let mut cookie: Option<Vec<u8>> = ctx.stored("dirsync");
    let mut failures = 0;
    loop {
        let first = cookie.is_none();
        let sent = match poller.poll(cookie.as_deref()).await {
            Ok(DirSyncBatch { changed, deleted, cookie: next }) => {
                ctx.state.set_up(true);
                failures = 0;
                let position = dirsync_record(&next);
                cookie = Some(next);
                // The first poll returns everything: a cycle reads it as well, and safer.
                let message = match first {
                    true => Some(ToWorker::Cycle { position, reason: "no stored DirSync cookie".into() }),
                    false => {
                        let changed = changed.into_iter().map(|entry| Changed { search: SearchKind::Users, entry });
                        changes(changed.collect(), deleted, position)
                    }
                };
                match message {
                    Some(m) => ctx.send(m).await,
                    None => true,
                }
            }
            Err(e) => match wait_after(&mut ctx, &e, &mut failures).await {
                Some(drop_cookie) => {
                    if drop_cookie {
                        cookie = None;
                    }
                    continue;
                }
                None => return,
            },
        };
        if !sent || !ctx.pause(every).await {
            return;
        }
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

/// After a failed poll: `Some(drop_position)` to poll again (after the backoff), `None` to
/// give up on the channel.
async fn wait_after(ctx: &mut Ctx, error: &ChangeError, failures: &mut u32) -> Option<bool> {
    match ctx.recover(error, failures).await {
        Recovery::Resume => Some(false),
        Recovery::FullRefresh => Some(true),
        Recovery::Stop => None,
    }
}
