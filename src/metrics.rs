//! Every metric zoomsync exports, declared once, with its description. A leaf: the cycle
//! records its figures in `sync::record`, the HTTP client in `scim::client`.
//!
//! Labels are bounded (actions, results, classes) — never a DN, an e-mail or an id. The
//! HTTP client's names live next to it in [`crate::scim::metric_names`] and are re-exported.

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram, gauge};

pub use crate::scim::metric_names::{
    HTTP_REQUEST_DURATION_SECONDS, HTTP_REQUESTS_TOTAL, HTTP_RETRIES_TOTAL, OAUTH_TOKEN_RENEWALS_TOTAL,
    THROTTLE_WAIT_SECONDS,
};

/// Counter `{outcome}`: cycles by outcome (success, attention, incomplete, fatal, interrupted, error).
pub const CYCLES_TOTAL: &str = "zoomsync_cycles_total";
/// Histogram (seconds): cycle wall time.
pub const CYCLE_DURATION_SECONDS: &str = "zoomsync_cycle_duration_seconds";
/// Buckets for the cycle histogram: a small no-change cycle takes well under a second, a
/// first cycle of 100,000 users at 1 request/s takes a day.
pub const CYCLE_DURATION_BUCKETS: &[f64] =
    &[0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 4.0 * 3600.0, 24.0 * 3600.0];
/// Gauge: Unix time of the last cycle that finished without a fatal error.
pub const LAST_SUCCESS_TIMESTAMP_SECONDS: &str = "zoomsync_last_success_timestamp_seconds";
/// Gauge `{state}`: directory entries in scope by state (enabled, disabled, rejected).
pub const DIRECTORY_ENTRIES: &str = "zoomsync_directory_entries";
/// Counter `{action, result}`: operations applied.
pub const OPERATIONS_TOTAL: &str = "zoomsync_operations_total";
/// Gauge: destructive operations held by a guard until `zoomsync approve`.
pub const HELD_OPERATIONS: &str = "zoomsync_held_operations";
/// Gauge `{reason}`: objects skipped after repeated failures (reason: rejected, refused,
/// unavailable, conflict, not_found, fatal).
pub const QUARANTINED_OBJECTS: &str = "zoomsync_quarantined_objects";
/// Gauge: 1 while the whole connector is quarantined (fatal errors or too many failures).
pub const CONNECTOR_QUARANTINED: &str = "zoomsync_connector_quarantined";
/// Gauge: Unix time until which the target refuses requests (Zoom's daily rate limit); the
/// last cycle stopped at the first refusal and scheduled cycles wait until then. 0 when not
/// paused.
pub const TARGET_PAUSED_UNTIL_TIMESTAMP_SECONDS: &str = "zoomsync_target_paused_until_timestamp_seconds";
/// Gauge: users whose userName change Zoom kept refusing.
pub const RENAME_REFUSED_USERS: &str = "zoomsync_rename_refused_users";
pub const VALUES_NOT_KEPT_USERS: &str = "zoomsync_values_not_kept_users";
/// Gauge `{outcome}`: mapped manager references in the last cycle by what became of them
/// (resolved, not_yet_on_target, disabled, out_of_scope, self_reference, not_read).
pub const MANAGER_REFERENCES: &str = "zoomsync_manager_references";
/// Gauge `{state}`: configured directory groups by state (found, missing, rejected).
pub const DIRECTORY_GROUPS: &str = "zoomsync_directory_groups";
/// Counter `{operation, result}`: group operations (group_link, group_create, group_rename,
/// group_add, group_remove, group_delete, group_unlink).
pub const GROUP_OPERATIONS_TOTAL: &str = "zoomsync_group_operations_total";
/// Counter `{change}`: group memberships added or removed on the target.
pub const GROUP_MEMBER_CHANGES_TOTAL: &str = "zoomsync_group_member_changes_total";
/// Gauge: nesting cycles among the directory groups (members are still counted once).
pub const GROUP_NESTING_CYCLES: &str = "zoomsync_group_nesting_cycles";
/// Gauge: 1 while the state store matches its integrity record; 0 while the daemon refuses
/// to run on a store that was emptied, truncated, replaced or cannot be read (`state restore`).
pub const STATE_INTEGRITY_OK: &str = "zoomsync_state_integrity_ok";
/// Gauge: Unix time the newest state snapshot was written (`<state.path>/snapshots`).
pub const STATE_LAST_SNAPSHOT_TIMESTAMP_SECONDS: &str = "zoomsync_state_last_snapshot_timestamp_seconds";
/// Gauge: 1 while the directory's change channel (syncrepl, DirSync, uSNChanged polling)
/// is connected and delivering, 0 while it is down and only the scheduled cycles run.
/// Declared ahead of the channel itself so the Grafana dashboard can chart it.
pub const CHANGE_CHANNEL_UP: &str = "zoomsync_change_channel_up";
/// Counter `{kind}`: changes the channel delivered, by kind (e.g. add, modify, delete).
pub const CHANGE_EVENTS_TOTAL: &str = "zoomsync_change_events_total";
/// Histogram (seconds): from a change in the directory to its operation on the target.
pub const CHANGE_LATENCY_SECONDS: &str = "zoomsync_change_latency_seconds";
/// Its buckets: the channel's target is seconds; the scheduled cycle (the fallback) 40 minutes.
pub const CHANGE_LATENCY_BUCKETS: &[f64] = &[0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 2400.0, 3600.0];
/// Gauge: with `[lease]`, 1 while this host holds the lease and writes to the target, 0
/// while it stands by (another host holds it, or it could not be renewed). Not exported
/// without `[lease]`.
pub const LEASE_ACTIVE: &str = "zoomsync_lease_active";
/// Gauge `{version}`: always 1.
pub const BUILD_INFO: &str = "zoomsync_build_info";

/// Registers help texts (call once after installing a recorder).
pub fn describe() {
    describe_counter!(CYCLES_TOTAL, "Sync cycles by outcome");
    describe_histogram!(CYCLE_DURATION_SECONDS, Unit::Seconds, "Sync cycle wall time");
    describe_gauge!(LAST_SUCCESS_TIMESTAMP_SECONDS, Unit::Seconds, "Unix time of the last successful cycle");
    describe_gauge!(DIRECTORY_ENTRIES, "Directory entries in scope by state");
    describe_counter!(OPERATIONS_TOTAL, "SCIM operations applied, by action and result");
    describe_gauge!(HELD_OPERATIONS, "Deactivations/deletions held by a safety guard until approved");
    describe_gauge!(QUARANTINED_OBJECTS, "Objects skipped after repeated failures, by reason");
    describe_gauge!(CONNECTOR_QUARANTINED, "1 while the whole connector is quarantined");
    describe_gauge!(
        TARGET_PAUSED_UNTIL_TIMESTAMP_SECONDS,
        Unit::Seconds,
        "Unix time until which the target refuses requests (daily rate limit); 0 when not paused"
    );
    describe_gauge!(RENAME_REFUSED_USERS, "Users whose userName change the target kept refusing");
    describe_gauge!(
        VALUES_NOT_KEPT_USERS,
        "Users with an attribute value the target answered differently (not re-sent)"
    );
    describe_gauge!(MANAGER_REFERENCES, "Mapped manager references in the last cycle, by outcome");
    describe_gauge!(DIRECTORY_GROUPS, "Configured directory groups by state");
    describe_counter!(GROUP_OPERATIONS_TOTAL, "Group operations on the target, by operation and result");
    describe_counter!(GROUP_MEMBER_CHANGES_TOTAL, "Group memberships added or removed on the target");
    describe_gauge!(GROUP_NESTING_CYCLES, "Nesting cycles among the directory groups");
    describe_gauge!(STATE_INTEGRITY_OK, "1 while the state store matches its integrity record, 0 while refused");
    describe_gauge!(
        STATE_LAST_SNAPSHOT_TIMESTAMP_SECONDS,
        Unit::Seconds,
        "Unix time the newest state snapshot was written"
    );
    describe_gauge!(CHANGE_CHANNEL_UP, "1 while the directory change channel is connected, 0 while down");
    describe_counter!(CHANGE_EVENTS_TOTAL, "Directory changes the change channel delivered, by kind");
    describe_histogram!(
        CHANGE_LATENCY_SECONDS,
        Unit::Seconds,
        "Time from a directory change to its operation on the target"
    );
    describe_gauge!(LEASE_ACTIVE, "With [lease]: 1 while this host holds the lease and writes, 0 on standby");
    describe_gauge!(BUILD_INFO, "Build information");
    describe_counter!(HTTP_REQUESTS_TOTAL, "HTTP attempts to the SCIM target by method and status class");
    describe_histogram!(HTTP_REQUEST_DURATION_SECONDS, Unit::Seconds, "HTTP attempt duration");
    describe_histogram!(THROTTLE_WAIT_SECONDS, Unit::Seconds, "Time waiting for the rate budget");
    describe_counter!(HTTP_RETRIES_TOTAL, "HTTP attempts repeated, by reason");
    describe_counter!(OAUTH_TOKEN_RENEWALS_TOTAL, "OAuth access tokens fetched");
    gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
}
