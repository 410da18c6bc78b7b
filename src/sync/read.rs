//! The read stage: both sides at once. The directory's users stream in and are decoded and
//! mapped as they arrive; the groups (when configured) are fetched at the same time; the
//! state loads on a blocking thread meanwhile. A no-change cycle then costs about one
//! directory read.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use super::mapping_memo::MappingMemo;
use super::{CycleError, Engine, GroupSync, desired};
use crate::config::mapping::MappingConfig;
use crate::model::{Anchor, FailureRecord, Field, KnownGroup, KnownUser, RawEntry, Rejected};
use crate::plan::{Desired, DesiredUser};
use crate::scim::Target;
use crate::source::groups::{FetchedGroups, fetch_groups};
use crate::source::{self, Decoder, Directory, DirectoryRead, Snapshot, SourceError};
use crate::state::{StateError, StateStore};

/// The state as loaded for this cycle. The stages that write keep it current, so later
/// stages read it here rather than from the store.
pub(super) struct State {
    pub known: HashMap<Anchor, KnownUser>,
    pub failures: HashMap<Anchor, FailureRecord>,
    /// Moved into the group step once the groups are resolved.
    pub groups: Vec<KnownGroup>,
}

/// What the read stage hands on.
pub(super) struct Read {
    pub desired: Desired,
    pub rejected: Vec<Rejected>,
    pub users_read: usize,
    pub disabled_read: usize,
    /// The directory groups, when the cycle has a group step.
    pub groups: Option<FetchedGroups>,
    pub state: State,
}

pub(super) async fn both_sides<D: Directory, T: Target, S: StateStore + Clone + 'static>(
    engine: &Engine<D, T, S>,
    with_groups: bool,
) -> Result<Read, CycleError> {
    both_sides_from(engine, &engine.directory, with_groups, Some(&engine.memo)).await
}

/// [`both_sides`] from a given directory: a change batch's entries (`changes.rs`), read
/// without the memo (a batch is not the whole directory the memo stands for).
pub(super) async fn both_sides_from<D: Directory, DD: Directory, T: Target, S: StateStore + Clone + 'static>(
    engine: &Engine<D, T, S>,
    directory: &DD,
    with_groups: bool,
    memo: Option<&MappingMemo>,
) -> Result<Read, CycleError> {
    let started = Instant::now();
    let loader = load_state(engine.store.clone(), with_groups);
    let groups = engine.groups.as_ref().filter(|_| with_groups);
    let side = DirectorySide {
        directory,
        decoder: &engine.decoder,
        mapping: &engine.mapping,
        create_only: &engine.create_only,
        groups,
        memo,
    };
    let (users, groups) = side.read(&mut |_| {}).await?;
    let users_read = users.snapshot().users.len();
    tracing::debug!(
        elapsed = ?started.elapsed(),
        users = users_read,
        remembered = engine.memo.remembered(),
        rss = %crate::telemetry::rss(),
        "directory read and mapped"
    );
    let disabled_read = users.snapshot().users.iter().filter(|u| !u.user.active).count();
    let (desired, rejected) = desired::desired_from_read(users);
    let state = loader.await.map_err(|e| StateError::Storage(format!("state loader stopped: {e}")))??;
    tracing::debug!(elapsed = ?started.elapsed(), known = state.known.len(), rss = %crate::telemetry::rss(), "state loaded");
    Ok(Read { desired, rejected, users_read, disabled_read, groups, state })
}

/// The directory side of the read stage, which needs neither target nor state (`check`
/// reads exactly this): the users stream in and are decoded and mapped as they arrive; the
/// groups, when given, are fetched at the same time.
pub(super) struct DirectorySide<'a, D: Directory> {
    pub directory: &'a D,
    pub decoder: &'a Decoder,
    pub mapping: &'a MappingConfig,
    pub create_only: &'a BTreeSet<Field>,
    pub groups: Option<&'a GroupSync>,
    /// The engine's memo of last read's mappings (none for one-off reads such as `check`).
    pub memo: Option<&'a MappingMemo>,
}

impl<D: Directory> DirectorySide<'_, D> {
    /// `observe` sees every user entry before it is decoded.
    pub async fn read(
        &self,
        observe: &mut (dyn FnMut(&RawEntry) + Send),
    ) -> Result<(DirectoryRead<DesiredUser>, Option<FetchedGroups>), SourceError> {
        let builder = Snapshot::converting(
            self.decoder,
            desired::mapper(self.mapping, self.create_only, self.memo.and_then(|m| m.read(self.mapping))),
        );
        let group_fetch = async {
            match self.groups {
                Some(g) => fetch_groups(self.directory, &g.config, self.decoder, g.user_search()).await.map(Some),
                None => Ok(None),
            }
        };
        let (users, groups) = tokio::join!(source::read_observed(self.directory, builder, observe), group_fetch);
        Ok((users?, groups?))
    }
}

fn load_state<S: StateStore + 'static>(
    store: S,
    with_groups: bool,
) -> tokio::task::JoinHandle<Result<State, StateError>> {
    tokio::task::spawn_blocking(move || {
        let groups = if with_groups { store.groups()? } else { Vec::new() };
        Ok(State {
            known: store.users()?.into_iter().map(|k| (k.anchor.clone(), k)).collect(),
            failures: store.failures()?.into_iter().map(|f| (f.anchor.clone(), f)).collect(),
            groups,
        })
    })
}
