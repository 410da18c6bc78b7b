//! The engine: every adapter and setting a cycle runs with, built once from a validated
//! config. The daemon (again on each SIGHUP reload), every command, the demo and the tests
//! build it here, so no caller assembles a cycle by hand; [`Engine::run_cycle`] (in
//! `sync/mod.rs`) is what it is for.

use std::collections::BTreeSet;

use super::change_window::ChangeWindow;
use super::mapping_memo::MappingMemo;
use crate::config::mapping::MappingConfig;
use crate::config::{Config, GroupsConfig, SourceConfig};
use crate::model::Field;
use crate::plan::Limits;
use crate::scim::{ScimClient, ScimError, Target};
use crate::source::{AnyDirectory, Decoder, Directory};
use crate::state::StateStore;

/// Called after each applied operation with (done, total): the CLI draws a progress bar.
pub type Progress = Box<dyn Fn(usize, usize) + Send + Sync>;

/// Why no engine could be built from a config that validated.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The command talks to the target but the config has no `[target]`: a config error
    /// (exit 2); the daemon logs it and fails each cycle until a reload brings one.
    #[error("target: section is required for this command")]
    NoTarget,
    /// The HTTP client could not be built (an unreadable `target.ca_file`): fix the config.
    #[error("target: {0}")]
    Client(ScimError),
}

/// The adapters (directory, target, store) and the settings of one config.
pub struct Engine<D: Directory, T: Target, S: StateStore + Clone + 'static> {
    pub(super) directory: D,
    pub(super) decoder: Decoder,
    pub(super) mapping: MappingConfig,
    /// Fields sent on create only (excluded from fingerprints and updates).
    pub(super) create_only: BTreeSet<Field>,
    /// Fields the mapping manages: a target user's other attributes are left out of every
    /// comparison.
    pub(super) managed: BTreeSet<Field>,
    pub(super) target: T,
    pub(super) store: S,
    pub(super) limits: Limits,
    pub(super) concurrency: usize,
    /// `[groups]`, when configured.
    pub(super) groups: Option<GroupSync>,
    pub(super) progress: Option<Progress>,
    /// Last read's mapped users, so unchanged ones are not mapped again (`mapping_memo`).
    pub(super) memo: MappingMemo,
    /// The change channel's recent removals (`changes`).
    pub(super) window: ChangeWindow,
}

impl<S: StateStore + Clone + 'static> Engine<AnyDirectory, ScimClient, S> {
    /// The production engine: the configured directory and the HTTP client for `[target]`.
    pub fn from_config(config: &Config, store: S) -> Result<Self, EngineError> {
        let target = config.target.as_ref().ok_or(EngineError::NoTarget)?;
        let client = ScimClient::new(target).map_err(EngineError::Client)?;
        Ok(Self::with_adapters(config, AnyDirectory::from_config(&config.directory), client, store))
    }
}

impl<D: Directory, T: Target, S: StateStore + Clone + 'static> Engine<D, T, S> {
    /// The engine over given adapters (the demo's in-memory directory, a test's client);
    /// every setting still comes from the config.
    pub fn with_adapters(config: &Config, directory: D, target: T, store: S) -> Self {
        Self {
            directory,
            decoder: Decoder::new(config.directory.decode.clone()),
            create_only: config.mapping.create_only(),
            managed: config.mapping.managed(),
            mapping: config.mapping.clone(),
            target,
            store,
            limits: Limits::from_config(&config.safety),
            concurrency: config.target.as_ref().map_or(1, |t| t.max_concurrency).max(1),
            groups: GroupSync::from_config(config),
            progress: None,
            memo: MappingMemo::default(),
            window: ChangeWindow::default(),
        }
    }

    /// Reports progress of the apply step (the CLI's progress bar).
    pub fn with_progress(mut self, progress: Progress) -> Self {
        self.progress = Some(progress);
        self
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn directory(&self) -> &D {
        &self.directory
    }

    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    pub fn target(&self) -> &T {
        &self.target
    }

    pub fn groups(&self) -> Option<&GroupSync> {
        self.groups.as_ref()
    }
}

/// Group settings for the engine: the `[groups]` section and the user search it needs for
/// AD's in-chain membership searches.
#[derive(Clone, Debug)]
pub struct GroupSync {
    pub config: GroupsConfig,
    /// (base DN, filter) of the user search; `None` for LDIF.
    user_search: Option<(String, String)>,
    /// The mapping and its only-on-create fields: rules that read membership are
    /// evaluated once the groups are resolved (`memberships::complete`).
    pub mapping: MappingConfig,
    pub create_only: BTreeSet<Field>,
}

impl GroupSync {
    /// `None` when the config has no `[groups]` section.
    pub fn from_config(config: &Config) -> Option<Self> {
        let user_search = match &config.directory.source {
            SourceConfig::Ldap(l) => Some((l.base_dn.clone(), l.user_filter.clone())),
            SourceConfig::Ldif { .. } => None,
        };
        config.groups.as_ref().map(|g| Self {
            config: g.clone(),
            user_search,
            mapping: config.mapping.clone(),
            create_only: config.mapping.create_only(),
        })
    }

    pub fn user_search(&self) -> Option<(&str, &str)> {
        self.user_search.as_ref().map(|(base, filter)| (base.as_str(), filter.as_str()))
    }
}
