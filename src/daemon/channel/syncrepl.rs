//! syncrepl refreshAndPersist: one persistent search for the users (and one for the groups
//! with `[groups]`), resumed from the stored cookies; without them (first start, or after
//! the server asked for a full refresh) the refresh is skipped and a cycle runs once it is
//! done, so every change from then on arrives through the channel.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::collect::{Collected, Collector};
use super::{Ctx, Recovery, ToWorker, count_events, record};
use crate::model::printable;
use crate::source::changes::{ChangeError, ChangeEvent, SearchKind, SyncreplChannel};

/// The stored position: each search's cookie.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cookies {
    pub users: Option<Vec<u8>>,
    pub groups: Option<Vec<u8>>,
}

const MECHANISM: &str = "syncrepl";

fn position(cookies: &Cookies) -> crate::model::ChannelRecord {
    let describe = match &cookies.users {
        Some(c) => format!("cookie {}", printable(&String::from_utf8_lossy(c))),
        None => "no cookie yet".to_string(),
    };
    record(MECHANISM, cookies, describe)
}

pub async fn run(mut ctx: Ctx) {
    let mut failures = 0;
    let mut discard_stored = false;
    loop {
        let stored: Cookies =
            if discard_stored { Cookies::default() } else { ctx.stored(MECHANISM).unwrap_or_default() };
        discard_stored = false;
        let error = match session(&mut ctx, stored, &mut failures).await {
            Ok(()) => return,
            Err(e) => e,
        };
        match ctx.recover(&error, &mut failures).await {
            Recovery::Resume => {}
            Recovery::FullRefresh => discard_stored = true,
            Recovery::Stop => return,
        }
    }
}

/// One session: open, listen, hand over batches, until an error (or shutdown: `Ok`).
async fn session(ctx: &mut Ctx, stored: Cookies, failures: &mut u32) -> Result<(), ChangeError> {
    let mut users = SyncreplChannel::open(&ctx.ldap, ctx.users.clone(), stored.users.clone()).await?;
    let mut groups = match &ctx.groups {
        Some(search) => Some(SyncreplChannel::open(&ctx.ldap, search.clone(), stored.groups.clone()).await?),
        None => None,
    };
    ctx.state.set_up(true);
    *failures = 0;
    let mut refreshing = Vec::new();
    if stored.users.is_none() {
        refreshing.push(SearchKind::Users);
    }
    if groups.is_some() && stored.groups.is_none() {
        refreshing.push(SearchKind::Groups);
    }
    tracing::info!(resumed = refreshing.is_empty(), "change channel up (syncrepl)");
    let mut collector = Collector::new(refreshing);
    let mut cookies = stored;
    loop {
        let deadline = collector.deadline();
        let event = tokio::select! {
            biased;
            _ = ctx.shutdown.changed() => return Ok(()),
            e = users.next() => Some(e?),
            e = next_group(&mut groups) => Some(e?),
            _ = sleep_until(deadline) => None,
        };
        let now = Instant::now();
        if let Some(event) = event {
            collector.push(event, now);
        }
        if collector.take_refreshed() {
            let (u, g) = collector.cookies();
            cookies = Cookies { users: u.or(cookies.users), groups: g.or(cookies.groups) };
            let reason = "the change channel started without a stored position".to_string();
            if !ctx.send(ToWorker::Cycle { position: position(&cookies), reason }).await {
                return Ok(());
            }
        }
        if collector.ready(now) && !hand_over(ctx, collector.take(), &mut cookies).await {
            return Ok(());
        }
    }
}

/// Sends what was collected: a batch, or a cycle when only a whole read will do.
async fn hand_over(ctx: &Ctx, collected: Collected, cookies: &mut Cookies) -> bool {
    let Collected { mut batch, needs_cycle, users_cookie, groups_cookie, counted } = collected;
    count_events(&counted);
    cookies.users = users_cookie.or(cookies.users.take());
    cookies.groups = groups_cookie.or(cookies.groups.take());
    let position = position(cookies);
    tracing::debug!(entries = batch.entries.len(), gone = batch.gone.len(), needs_cycle, "change batch");
    if needs_cycle {
        let reason = "group changes, or departures only a whole read can conclude".to_string();
        return ctx.send(ToWorker::Cycle { position, reason }).await;
    }
    batch.position = Some(position);
    ctx.send(ToWorker::Batch(batch)).await
}

async fn next_group(groups: &mut Option<SyncreplChannel>) -> Result<ChangeEvent, ChangeError> {
    match groups {
        Some(g) => g.next().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
